/**
 * The audit broker: owns the enabled audit devices, persists their table (with each device's HMAC salt) in a
 * StorageView (encrypted by the barrier), formats Vault-shaped request/response entries, hashes them per
 * device and fails closed when no device could record an entry.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { StorageView } from '../../storage/view.js';
import type { AuthResult, Operation, WrapInfo } from '../../sdk/backend.js';
import { CofferError } from '../../sdk/errors.js';
import { FileAuditDevice, parseBoolOption, type AuditDevice } from './device.js';
import { HMAC_PREFIX, hashStructure, hmacSha256Hex } from './hash.js';

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

/** One device as `GET sys/audit` shows it. */
export interface AuditDeviceInfo {
  type: string;
  description: string;
  options: Record<string, string>;
  path: string;
  local: boolean;
}

interface StoredDevice extends AuditDeviceInfo {
  /** base64 of the 32-byte HMAC key. */
  salt: string;
}

interface StoredTable {
  version: 1;
  devices: StoredDevice[];
}

interface Enabled {
  info: AuditDeviceInfo;
  device: AuditDevice;
}

/** Minimal logger (pino's `logger.error(msg)` fits). Messages never contain tokens or secret values. */
export interface AuditLogger {
  error(msg: string): void;
}

export type AuditDeviceFactory = (
  type: string,
  path: string,
  options: Record<string, string>,
  salt: Buffer,
) => AuditDevice;

export interface AuditBrokerOptions {
  logger?: AuditLogger;
  /** Creates devices; the default knows `file`. */
  factory?: AuditDeviceFactory;
}

const TABLE_KEY = 'devices';

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

export const defaultDeviceFactory: AuditDeviceFactory = (type, path, options, salt) => {
  if (type !== 'file') throw new CofferError(400, `unknown audit device type: "${type}"`);
  return new FileAuditDevice(path, options, salt);
};

/** `file`, `/file`, `file/` → `file/`; rejects empty and `..` segments. */
export function normalizeAuditPath(raw: string): string {
  const trimmed = String(raw ?? '').trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (!trimmed) throw new CofferError(400, 'audit device path is required');
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new CofferError(400, `invalid audit device path "${raw}"`);
  return trimmed + '/';
}

/** RFC 3339 with the sub-second digits Go's RFC3339Nano would print (trailing zeros trimmed). */
export function formatAuditTime(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return iso.replace(/\.(\d*?)0*Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent of the path is not a directory',
  EISDIR: 'the path is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EEXIST: 'a parent of the path exists and is not a directory',
};

/** A description of an error safe to log: an errno code (with its meaning), never the error's free text. */
function errorCode(err: unknown): string {
  if (err instanceof CofferError) return err.message;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string') return 'write failed';
  return ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} (${code})` : code;
}

export class AuditBroker {
  private devices = new Map<string, Enabled>();
  private salts = new Map<string, Buffer>();
  private readonly logger?: AuditLogger;
  private readonly factory: AuditDeviceFactory;
  /** Serializes enable/disable/load/close. */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly storage: StorageView, options: AuditBrokerOptions = {}) {
    this.logger = options.logger;
    this.factory = options.factory ?? defaultDeviceFactory;
  }

  private exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async persist(): Promise<void> {
    const table: StoredTable = {
      version: 1,
      devices: [...this.devices.values()].map(({ info }) => ({
        ...info,
        options: { ...info.options },
        salt: this.salts.get(info.path)!.toString('base64'),
      })),
    };
    await this.storage.putJSON(TABLE_KEY, table);
  }

  /**
   * Re-creates the devices stored in the table (at unseal). A device that cannot be opened stays in the table
   * and keeps trying to open on each entry. Even when every device fails the unseal goes on: requests then fail
   * closed (500) until the operator repairs the path or disables the device (the core lets that one request
   * through), whereas refusing to unseal would leave no way to disable it at all.
   */
  load(): Promise<void> {
    return this.exclusive(async () => {
      await this.closeAll();
      const table = await this.storage.getJSON<StoredTable>(TABLE_KEY);
      const stored = table?.devices ?? [];
      for (const entry of stored) {
        const salt = Buffer.from(entry.salt, 'base64');
        const info: AuditDeviceInfo = {
          type: entry.type,
          description: entry.description ?? '',
          options: { ...(entry.options ?? {}) },
          path: entry.path,
          local: !!entry.local,
        };
        let device: AuditDevice;
        try {
          device = this.factory(info.type, info.path, { ...info.options }, salt);
        } catch (err) {
          this.logger?.error(`audit: cannot re-create device "${info.path}": ${errorCode(err)}`);
          device = new BrokenDevice(info.type, info.path, info.options, salt);
        }
        try {
          await device.open();
        } catch (err) {
          this.logger?.error(`audit: cannot open device "${info.path}": ${errorCode(err)}`);
        }
        this.devices.set(info.path, { info, device });
        this.salts.set(info.path, salt);
      }
    });
  }

  /**
   * Enables a device. 400 on an unknown type, a bad option, a path conflict, or a sink that cannot be opened or
   * cannot write the test entry (Vault's test message, skipped with `skip_test`): a device that cannot record
   * would otherwise make every later request fail closed.
   */
  enable(path: string, type: string, description = '', options: Record<string, string> = {}, local = false): Promise<void> {
    return this.exclusive(async () => {
      const p = normalizeAuditPath(path);
      for (const existing of this.devices.keys()) {
        if (existing.startsWith(p) || p.startsWith(existing)) throw new CofferError(400, 'path already in use');
      }
      if (!type) throw new CofferError(400, 'type is required');
      const opts: Record<string, string> = {};
      for (const [k, v] of Object.entries(options ?? {})) {
        if (v === undefined || v === null) continue;
        opts[k] = typeof v === 'string' ? v : String(v);
      }
      const salt = randomBytes(32);
      const device = this.factory(type, p, { ...opts }, salt); // validates options (400)
      try {
        await device.open();
        if (!parseBoolOption('skip_test', opts.skip_test, false)) await device.log(formatFor(device, testEntry()));
      } catch (err) {
        await device.close().catch(() => undefined);
        const filePath = opts.file_path ?? opts.path ?? '';
        throw new CofferError(400, `sys/audit: audit device "${p}" failed its test write to "${filePath}": ${errorCode(err)}`);
      }
      const info: AuditDeviceInfo = { type, description: description ?? '', options: opts, path: p, local: !!local };
      this.devices.set(p, { info, device });
      this.salts.set(p, salt);
      try {
        await this.persist();
      } catch (err) {
        this.devices.delete(p);
        this.salts.delete(p);
        await device.close().catch(() => undefined);
        throw err;
      }
    });
  }

  /** True when a device is enabled at `path` (any form `normalizeAuditPath` accepts). */
  has(path: string): boolean {
    try {
      return this.devices.has(normalizeAuditPath(path));
    } catch {
      return false;
    }
  }

  /** Disables a device; resolves false when none was enabled at that path (Vault answers 204 either way). */
  disable(path: string): Promise<boolean> {
    return this.exclusive(async () => {
      const p = normalizeAuditPath(path);
      const enabled = this.devices.get(p);
      if (!enabled) return false;
      const salt = this.salts.get(p)!;
      this.devices.delete(p);
      this.salts.delete(p);
      try {
        await this.persist();
      } catch (err) {
        this.devices.set(p, enabled);
        this.salts.set(p, salt);
        throw err;
      }
      await enabled.device.close().catch((err) => this.logger?.error(`audit: closing "${p}" failed: ${errorCode(err)}`));
      return true;
    });
  }

  /** The device table as `GET sys/audit` returns it, keyed by path with a trailing slash. */
  list(): Record<string, AuditDeviceInfo> {
    const out: Record<string, AuditDeviceInfo> = {};
    for (const [p, { info }] of [...this.devices.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      out[p] = { type: info.type, description: info.description, options: { ...info.options }, path: info.path, local: info.local };
    }
    return out;
  }

  /** `sys/audit-hash/:path`: `hmac-sha256:<hex>` of `input` with that device's salt. 400 for an unknown device. */
  hash(path: string, input: string): string {
    let p: string;
    try {
      p = normalizeAuditPath(path);
    } catch {
      throw new CofferError(400, 'unknown audit device');
    }
    const salt = this.salts.get(p);
    if (!salt) throw new CofferError(400, `unknown audit device "${p}"`);
    return HMAC_PREFIX + hmacSha256Hex(salt, String(input ?? ''));
  }

  hasDevices(): boolean {
    return this.devices.size > 0;
  }

  /** Records a request entry on every device. Rejects with 500 "internal error" when no device recorded it. */
  logRequest(input: AuditRequestInput): Promise<void> {
    return this.dispatch(input.requestId, 'request', () => buildRequestEntry(input));
  }

  /** Records a response entry on every device. Rejects with 500 "internal error" when no device recorded it. */
  logResponse(input: AuditResponseInput): Promise<void> {
    return this.dispatch(input.requestId, 'response', () => buildResponseEntry(input));
  }

  /** Re-opens every device's sink (SIGHUP). Resolves with the paths that failed (already logged). */
  async reopen(): Promise<string[]> {
    const failed: string[] = [];
    await Promise.all(
      [...this.devices.values()].map(async ({ info, device }) => {
        try {
          await device.reopen();
        } catch (err) {
          failed.push(info.path);
          this.logger?.error(`audit: re-opening "${info.path}" failed: ${errorCode(err)}`);
        }
      }),
    );
    return failed;
  }

  /** Closes every device (seal). The table stays in storage for the next `load()`. */
  close(): Promise<void> {
    return this.exclusive(() => this.closeAll());
  }

  private async closeAll(): Promise<void> {
    const all = [...this.devices.values()];
    this.devices.clear();
    this.salts.clear();
    await Promise.all(all.map(({ info, device }) => device.close().catch((err) => this.logger?.error(`audit: closing "${info.path}" failed: ${errorCode(err)}`))));
  }

  private async dispatch(requestId: string, kind: 'request' | 'response', build: () => AuditEntry): Promise<void> {
    const targets = [...this.devices.values()];
    if (targets.length === 0) return;
    let clear: AuditEntry;
    try {
      clear = build();
    } catch {
      this.logger?.error(`audit: cannot build ${kind} entry for request ${requestId}`);
      throw new CofferError(500, 'internal error');
    }
    const results = await Promise.allSettled(targets.map(async ({ device }) => device.log(formatFor(device, clear))));
    let ok = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') ok++;
      else this.logger?.error(`audit: device "${targets[i].info.path}" failed to record ${kind} ${requestId}: ${errorCode(r.reason)}`);
    });
    if (ok === 0) throw new CofferError(500, 'internal error');
  }
}

type AuditEntry = Record<string, unknown>;

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
function testEntry(): AuditEntry {
  return buildRequestEntry({ requestId: randomUUID(), operation: 'update', path: 'sys/audit/test', mountType: 'system', mountPoint: 'sys/' });
}

function buildRequestEntry(input: AuditRequestInput): AuditEntry {
  const { auth, request } = requestParts(input);
  return compact({ time: formatAuditTime(input.time ?? new Date()), type: 'request', auth, request, error: input.error || undefined });
}

function buildResponseEntry(input: AuditResponseInput): AuditEntry {
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

function formatFor(device: AuditDevice, clear: AuditEntry): string {
  const entry = device.elideListResponses ? elideList(clear) : clear;
  if (device.logRaw) return JSON.stringify(entry);
  const hmac = (value: string) => hmacSha256Hex(device.salt, value);
  return JSON.stringify(hashStructure(entry, hmac, { nonHmacPaths: device.hmacAccessor ? NON_HMAC_PATHS : NON_HMAC_NO_ACCESSOR }));
}

/** Stands in for a stored device that can no longer be created (unknown type, invalid stored options). */
class BrokenDevice implements AuditDevice {
  readonly logRaw = false;
  readonly hmacAccessor = true;
  readonly elideListResponses = false;
  constructor(
    readonly type: string,
    readonly path: string,
    readonly options: Readonly<Record<string, string>>,
    readonly salt: Buffer,
  ) {}
  async open() { throw new Error('device unavailable'); }
  async log() { throw new Error('device unavailable'); }
  async reopen() { throw new Error('device unavailable'); }
  async close() {}
}
