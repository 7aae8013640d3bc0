/**
 * Audit entries: the request and response entries the broker writes, shaped like Vault's (`omitempty` fields,
 * RFC 3339 times), and their form for one device (list responses elided, every string but the clear fields
 * hashed with the device's salt).
 */
import { randomUUID } from 'node:crypto';
import type { AuthResult, Operation, WrapInfo } from '../../sdk/backend.js';
import type { AuditDevice } from './device.js';
import { hashStructure, hmacSha256Hex } from './hash.js';

/** What the broker needs to write one request entry. Tokens and accessors are given in the clear. */
export interface AuditRequestInput {
  requestId: string;
  operation: Operation;
  /** Full request path (e.g. `secret/data/app`), no leading slash. */
  path: string;
  /** Type of the mount that handled the request (`kv`, `system`, `token`...). */
  mountType?: string;
  /** Path of that mount (`secret/`). */
  mountPoint?: string;
  /** Clear client token; hashed before writing. Omitted for unauthenticated requests. */
  clientToken?: string;
  /** Clear token accessor; hashed unless the device sets hmac_accessor=false. */
  accessor?: string;
  displayName?: string;
  policies?: string[];
  tokenPolicies?: string[];
  metadata?: Record<string, string> | null;
  entityId?: string;
  tokenType?: string;
  remoteAddress?: string;
  /** Request body (or query for reads); every string in it is hashed. */
  data?: Record<string, unknown> | null;
  /** Headers to record; values are hashed. */
  headers?: Record<string, string | string[] | undefined>;
  /** Defaults to now. */
  time?: Date;
  /** Error text when the request was refused or failed. Must not contain secret values (it is not hashed). */
  error?: string;
}

/** The auth block of a response (a login / token creation), AuthResult-like. */
export type AuditAuthInput = Partial<AuthResult> & { display_name?: string };

export interface AuditResponseInput extends AuditRequestInput {
  /** HTTP status sent to the client. */
  status: number;
  responseData?: Record<string, unknown> | null;
  auth?: AuditAuthInput | null;
  /** Lease id of a leased secret (logged in the clear, like Vault). */
  secret?: { lease_id: string } | null;
  warnings?: string[] | null;
  /** The wrapping token a wrapped response was answered with (its token and accessors are hashed). */
  wrapInfo?: WrapInfo | null;
}

/** Fields logged in the clear; every other string of an entry is hashed. */
const NON_HMAC_PATHS = [
  'time',
  'type',
  'error',
  'status',
  'auth.display_name',
  'auth.policies',
  'auth.token_policies',
  'auth.metadata',
  'auth.entity_id',
  'auth.token_type',
  'request.id',
  'request.operation',
  'request.mount_type',
  'request.mount_point',
  'request.path',
  'request.remote_address',
  'response.mount_type',
  'response.mount_point',
  'response.secret',
  'response.warnings',
  'response.auth.display_name',
  'response.auth.policies',
  'response.auth.token_policies',
  'response.auth.metadata',
  'response.auth.entity_id',
  'response.auth.token_type',
  'response.wrap_info.ttl',
  'response.wrap_info.creation_time',
  'response.wrap_info.creation_path',
];
const ACCESSOR_PATHS = [
  'auth.accessor',
  'request.client_token_accessor',
  'response.auth.accessor',
  'response.wrap_info.accessor',
  'response.wrap_info.wrapped_accessor',
];
const NON_HMAC_NO_ACCESSOR = [...NON_HMAC_PATHS, ...ACCESSOR_PATHS];

/** RFC 3339 with the sub-second digits Go's RFC3339Nano would print (trailing zeros trimmed). */
export function formatAuditTime(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return iso.replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

export type AuditEntry = Record<string, unknown>;

/** Drops undefined fields so the JSON stays compact and Vault-like (`omitempty`). */
function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === undefined) delete obj[key];
  return obj;
}

function normalizeHeaders(headers: AuditRequestInput['headers']): Record<string, string[]> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? [...value] : [value];
  }
  return Object.keys(out).length ? out : undefined;
}

function requestParts(input: AuditRequestInput): { auth: AuditEntry; request: AuditEntry } {
  const auth = compact({
    client_token: input.clientToken || undefined,
    accessor: input.accessor || undefined,
    display_name: input.displayName,
    policies: input.policies,
    token_policies: input.tokenPolicies,
    metadata: input.metadata ?? undefined,
    entity_id: input.entityId,
    token_type: input.tokenType,
  });
  const request = compact({
    id: input.requestId,
    operation: input.operation,
    mount_type: input.mountType,
    mount_point: input.mountPoint,
    client_token: input.clientToken || undefined,
    client_token_accessor: input.accessor || undefined,
    path: input.path,
    data: input.data ?? undefined,
    remote_address: input.remoteAddress,
    headers: normalizeHeaders(input.headers),
  });
  return { auth, request };
}

/** The entry written when a device is enabled, shaped like Vault's test message (a request to `sys/audit/test`). */
export function testEntry(): AuditEntry {
  return buildRequestEntry({ requestId: randomUUID(), operation: 'update', path: 'sys/audit/test', mountType: 'system', mountPoint: 'sys/' });
}

export function buildRequestEntry(input: AuditRequestInput): AuditEntry {
  const { auth, request } = requestParts(input);
  return compact({ time: formatAuditTime(input.time ?? new Date()), type: 'request', auth, request, error: input.error || undefined });
}

export function buildResponseEntry(input: AuditResponseInput): AuditEntry {
  const { auth, request } = requestParts(input);
  let responseAuth: AuditEntry | undefined;
  if (input.auth) {
    const a = input.auth;
    responseAuth = compact({
      client_token: a.client_token || undefined,
      accessor: a.accessor || undefined,
      display_name: a.display_name,
      policies: a.policies,
      token_policies: a.token_policies,
      metadata: a.metadata ?? undefined,
      entity_id: a.entity_id,
      token_type: a.token_type,
      token_ttl: a.lease_duration,
      renewable: a.renewable,
      orphan: a.orphan,
      num_uses: a.num_uses,
    });
  }
  const response = compact({
    mount_type: input.mountType,
    mount_point: input.mountPoint,
    data: input.responseData ?? undefined,
    secret: input.secret?.lease_id ? { lease_id: input.secret.lease_id } : undefined,
    auth: responseAuth,
    wrap_info: input.wrapInfo ? { ...input.wrapInfo } : undefined,
    warnings: input.warnings && input.warnings.length ? [...input.warnings] : undefined,
  });
  return compact({
    time: formatAuditTime(input.time ?? new Date()),
    type: 'response',
    status: input.status,
    error: input.error || undefined,
    auth,
    request,
    response,
  });
}

/** Vault's elide_list_responses: list results are replaced by their counts. */
function elideList(entry: AuditEntry): AuditEntry {
  const request = entry.request as AuditEntry | undefined;
  const response = entry.response as AuditEntry | undefined;
  const data = response?.data as Record<string, unknown> | undefined;
  if (request?.operation !== 'list' || !data) return entry;
  const elided: Record<string, unknown> = { ...data };
  if (Array.isArray(data.keys)) elided.keys = data.keys.length;
  if (data.key_info && typeof data.key_info === 'object') elided.key_info = Object.keys(data.key_info).length;
  return { ...entry, response: { ...response, data: elided } };
}

/** The JSON line one device writes for an entry: list responses elided if it asks, strings hashed unless raw. */
export function formatFor(device: AuditDevice, clear: AuditEntry): string {
  const entry = device.elideListResponses ? elideList(clear) : clear;
  if (device.logRaw) return JSON.stringify(entry);
  const hmac = (value: string) => hmacSha256Hex(device.salt, value);
  return JSON.stringify(hashStructure(entry, hmac, { nonHmacPaths: device.hmacAccessor ? NON_HMAC_PATHS : NON_HMAC_NO_ACCESSOR }));
}

