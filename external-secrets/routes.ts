/**
 * The External Secrets Operator endpoints, served by coffer's listener under `/eso/v1/` (beside Vault's `/v1/`,
 * whose namespace belongs to mounts):
 *
 *   GET    /eso/v1/kv/<mount>?key=K[&property=P][&version=N]   read, shaped for `result.jsonPath: $.data`
 *   POST   /eso/v1/kv/<mount>?key=K[&property=P]               PushSecret (PUT too): body = value, or the Secret as JSON
 *   DELETE /eso/v1/kv/<mount>?key=K                            PushSecret deletion: 204, or 404 when already gone
 *   POST   /eso/v1/generate/<path>                             Webhook generator: dynamic credentials (GET too);
 *                                                               a JSON body is written (pki/issue/<role>)
 *
 * Each endpoint is translated into ordinary core requests made with the caller's token (KV v2 `data/`,
 * `metadata/`, `database/creds/...`), so token lookup, policies, audit and leases apply exactly as on `/v1/`.
 * The Kubernetes namespace header fills `{{kubernetes.namespace}}` in the token's policies.
 *
 * Errors carry their message in the HTTP reason phrase as well as in `{"errors": [...]}`: ESO reports only the
 * status line of a failed call ("endpoint gave error 400 key is required ...").
 */
import { z } from 'zod';
import type { CoreRequest, CoreResponse, HttpRoutes, RouteRequest } from '../src/server/extension.js';
import { parseGoDuration } from '../src/shared/duration.js';
import { KUBERNETES_NAMESPACE } from '../src/shared/kubernetes.js';
import type { CoreGateway } from './gateway.js';
import { OwnerLeases } from './owners.js';
import { flatten, isPlainObject, secretString, selectProperty } from './values.js';

export const ESO_PREFIX = '/eso/v1/';

/** Header naming the ExternalSecret's namespace (`{{ .remoteRef.namespace }}` in the store's headers). */
export const NAMESPACE_HEADER = 'x-coffer-kubernetes-namespace';
/** Header naming the owning ExternalSecret as `namespace/name` (generator requests). */
export const OWNER_HEADER = 'x-coffer-owner';
/** How long an owner's previous credentials stay valid after new ones were issued (Vault duration forms). */
export const GRACE_HEADER = 'x-coffer-revoke-grace';
export const DEFAULT_GRACE_SECONDS = 600;
export const MAX_GRACE_SECONDS = 24 * 3600;

/** What Go's text/template prints for a missing value: ESO sends it when a template names data it lacks. */
const NO_VALUE = '<no value>';

class EsoError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** ASCII only and bounded: a reason phrase must be a valid header token sequence. */
const reasonPhrase = (message: string) => message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

function failure(status: number, message: string): CoreResponse {
  const answer: CoreResponse = { status, reason: reasonPhrase(message), body: { errors: [message] } };
  // A 401 names the scheme it takes. Basic matters: ESO's `auth.ntlm` transport sends every request without
  // credentials first and, on a 401 that offers neither NTLM nor Negotiate, again with Basic credentials.
  if (status === 401) answer.headers = { 'www-authenticate': 'Basic realm="coffer"' };
  return answer;
}

const optionalText = z
  .string()
  .max(1024)
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const KEY_REQUIRED = 'key is required (the store url must pass key={{ .remoteRef.key }})';

const queryFields = z.object({
  key: z.string({ error: KEY_REQUIRED }).min(1, KEY_REQUIRED).max(1024),
  property: optionalText,
  version: optionalText.refine((v) => v === undefined || /^\d{1,9}$/.test(v), 'version must be a KV version number'),
});
type QueryFields = z.infer<typeof queryFields>;

function parseQueryFields(query: Record<string, string>): QueryFields {
  const result = queryFields.safeParse(query);
  if (!result.success) throw new EsoError(400, result.error.issues[0]!.message);
  return result.data;
}

function header(req: RouteRequest, name: string): string | undefined {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text.trim();
}

const OWNER = /^([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)$/;
const shown = (input: unknown, max: number) => JSON.stringify(String(input).slice(0, max));

/** coffer's own headers; the token headers are read apart, since they are forwarded to the core as they are. */
const esoHeaders = z.object({
  [NAMESPACE_HEADER]: z
    .string()
    .regex(KUBERNETES_NAMESPACE, { error: (issue) => `${NAMESPACE_HEADER} must be a Kubernetes namespace name, got ${shown(issue.input, 64)}` })
    .optional(),
  [OWNER_HEADER]: z
    .string()
    .regex(OWNER, { error: (issue) => `${OWNER_HEADER} must be namespace/name of the ExternalSecret, got ${shown(issue.input, 80)}` })
    .optional(),
  [GRACE_HEADER]: z
    .string()
    .transform((text, ctx) => {
      const seconds = parseGoDuration(text);
      if (seconds !== null && seconds <= MAX_GRACE_SECONDS) return seconds;
      ctx.addIssue({ code: 'custom', message: `${GRACE_HEADER} must be a duration from 0s to 24h (e.g. 10m), got ${shown(text, 40)}` });
      return z.NEVER;
    })
    .optional(),
});
type EsoHeaders = z.infer<typeof esoHeaders>;

/** The caller as the core will see it: token headers only, and the namespace the policies are bound to. */
interface Caller {
  token: string;
  namespace?: string;
  headers: EsoHeaders;
  remoteAddr: string;
}

/**
 * The token from `Authorization: Basic` (any user name, the token as password): what ESO's `auth.ntlm` store
 * option sends from Secrets, on every call including PushSecret deletion, whose headers ESO renders without the
 * store's `secrets`.
 */
function basicToken(authorization: string | undefined): string | undefined {
  const encoded = authorization?.match(/^basic\s+(\S+)$/i)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1) || undefined;
}

function caller(req: RouteRequest): Caller {
  const direct = header(req, 'x-vault-token');
  const authorization = header(req, 'authorization');
  const bearer = authorization?.match(/^bearer\s+(.+)$/i)?.[1]?.trim();
  const token = direct ?? bearer ?? basicToken(authorization);
  if (!token) throw new EsoError(401, 'no token: send the coffer token in X-Vault-Token, Authorization: Bearer, or as the Basic password');
  if (token === NO_VALUE) {
    // ESO renders the headers of a DELETE without the store's `secrets` (see README): say so instead of a bare 403.
    throw new EsoError(401, 'no token: the token header rendered as "<no value>" (the template names data ESO did not provide)');
  }
  const parsed = esoHeaders.safeParse(Object.fromEntries([NAMESPACE_HEADER, OWNER_HEADER, GRACE_HEADER].map((name) => [name, header(req, name)])));
  if (!parsed.success) throw new EsoError(400, parsed.error.issues[0]!.message);
  return {
    token,
    namespace: parsed.data[NAMESPACE_HEADER],
    headers: parsed.data,
    remoteAddr: req.remoteAddr,
  };
}

const encodeKey = (key: string) => key.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');

interface VaultEnvelope {
  lease_id?: string;
  lease_duration?: number;
  data?: Record<string, unknown> | null;
  errors?: string[];
}

/** One ordinary core request with the caller's token; core errors become EsoErrors with the core's message. */
async function call(
  gateway: CoreGateway,
  who: Caller,
  method: string,
  rawPath: string,
  options: { query?: Record<string, string>; body?: unknown; allow404?: boolean; noRoute?: string } = {},
): Promise<{ status: number; body: VaultEnvelope }> {
  const request: CoreRequest = {
    method,
    rawPath,
    query: options.query ?? {},
    headers: { 'x-vault-token': who.token, 'content-type': 'application/json' },
    body: options.body,
    remoteAddr: who.remoteAddr,
    kubernetesNamespace: who.namespace,
  };
  const res = await gateway.handle(request);
  const body = (res.body ?? {}) as VaultEnvelope;
  // A 404 with a message is the router's (no such mount or path), not an engine's "no secret here": ESO would take
  // a 404 for a deleted secret (and may delete the Kubernetes Secret), so a misconfigured url is a 400.
  if (res.status === 404 && body.errors?.length) throw new EsoError(400, options.noRoute ?? `no secrets engine serves ${rawPath}`);
  if (res.status === 404 && options.allow404) return { status: 404, body };
  if (res.status >= 400) {
    const message = body.errors?.filter(Boolean).join('; ') || (res.status === 404 ? 'secret not found' : 'request failed');
    throw new EsoError(res.status, res.status === 403 && who.namespace ? `${message} (namespace ${who.namespace})` : message);
  }
  return { status: res.status, body };
}

const kvPath = (mount: string, section: 'data' | 'metadata', key: string) => `${mount}/${section}/${encodeKey(key)}`;
const noKv = (mount: string) => `no KV v2 secret engine at ${decodeURIComponent(mount)}`;

// ---- KV: read, push, delete ----------------------------------------------------------------------------------

async function readSecret(gateway: CoreGateway, who: Caller, mount: string, q: QueryFields): Promise<CoreResponse> {
  const { status, body } = await call(gateway, who, 'GET', kvPath(mount, 'data', q.key), {
    query: q.version ? { version: q.version } : {},
    allow404: true,
    noRoute: noKv(mount),
  });
  const secret = body.data?.data;
  if (status === 404 || !isPlainObject(secret)) {
    throw new EsoError(404, q.version ? `secret ${q.key} has no version ${q.version}` : `secret ${q.key} not found`);
  }
  const version = (body.data?.metadata as { version?: number } | undefined)?.version;
  // The whole secret as the flat map `extract` takes; one property as the text ESO's Vault provider gives it (an
  // object or array as its JSON text, which `extract` parses in turn).
  if (q.property === undefined) return { status: 200, body: { key: q.key, version, data: flatten(secret) } };
  const selected = selectProperty(secret, q.property);
  if (selected === undefined) throw new EsoError(404, `secret ${q.key} has no property ${q.property}`);
  return { status: 200, body: { key: q.key, version, data: secretString(selected) } };
}

const MAX_CAS_ATTEMPTS = 3;

/** What a push builds on: the key's current version (0 when it has none) and that version's data. */
interface Current {
  version: number;
  data: Record<string, unknown>;
}

/**
 * The key as it stands. When its current version is deleted or destroyed, the data read answers 404 but the key
 * still has versions: check-and-set must name the current one, taken from the key's metadata.
 */
async function currentSecret(gateway: CoreGateway, who: Caller, mount: string, key: string): Promise<Current> {
  const current = await call(gateway, who, 'GET', kvPath(mount, 'data', key), { allow404: true, noRoute: noKv(mount) });
  if (current.status !== 404) {
    const data = isPlainObject(current.body.data?.data) ? current.body.data.data : {};
    return { version: (current.body.data?.metadata as { version?: number } | undefined)?.version ?? 0, data };
  }
  const metadata = await call(gateway, who, 'GET', kvPath(mount, 'metadata', key), { allow404: true, noRoute: noKv(mount) });
  return { version: metadata.status === 404 ? 0 : ((metadata.body.data as { current_version?: number } | null)?.current_version ?? 0), data: {} };
}

/**
 * KV v2 write of `build(current data)` with check-and-set (so a key with `cas_required` takes it too), retried
 * when another writer got in between the read and the write.
 */
async function pushWithCas(gateway: CoreGateway, who: Caller, mount: string, key: string, build: (data: Record<string, unknown>) => Record<string, unknown>) {
  for (let attempt = 1; ; attempt++) {
    const current = await currentSecret(gateway, who, mount, key);
    try {
      return await call(gateway, who, 'POST', kvPath(mount, 'data', key), { body: { data: build(current.data), options: { cas: current.version } }, noRoute: noKv(mount) });
    } catch (err) {
      if (!(err instanceof EsoError && err.status === 400 && /check-and-set/.test(err.message)) || attempt >= MAX_CAS_ATTEMPTS) throw err;
    }
  }
}

/** The body of a push without property: ESO sends the whole Secret as a JSON object of its decoded values. */
function wholeSecret(raw: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!isPlainObject(parsed)) {
    throw new EsoError(400, 'push without property expects the whole Secret as a JSON object (or pass property={{ .remoteRef.secretKey }})');
  }
  return parsed;
}

async function pushSecret(gateway: CoreGateway, who: Caller, mount: string, q: QueryFields, raw: Buffer): Promise<CoreResponse> {
  if (q.version) throw new EsoError(400, 'version cannot be given when pushing (KV v2 assigns the next version)');
  const { property } = q;
  // One property joins the key's other properties; the whole Secret replaces them (checked before any read).
  const whole = property === undefined ? wholeSecret(raw) : undefined;
  const build = (data: Record<string, unknown>) => whole ?? { ...data, [property!]: raw.toString('utf8') };
  const written = await pushWithCas(gateway, who, mount, q.key, build);
  const version = (written.body.data as { version?: number } | null | undefined)?.version;
  return { status: 200, body: { key: q.key, version } };
}

/** Removes the secret with all its versions (as ESO's Vault provider does); 404 when there is nothing to delete. */
async function deleteSecret(gateway: CoreGateway, who: Caller, mount: string, q: QueryFields): Promise<CoreResponse> {
  if (q.property !== undefined || q.version) throw new EsoError(400, 'DELETE removes the whole secret: property and version are not accepted');
  const existing = await call(gateway, who, 'GET', kvPath(mount, 'metadata', q.key), { allow404: true, noRoute: noKv(mount) });
  if (existing.status === 404) throw new EsoError(404, `secret ${q.key} not found`);
  await call(gateway, who, 'DELETE', kvPath(mount, 'metadata', q.key));
  return { status: 204 };
}

// ---- generator ---------------------------------------------------------------------------------------------------

/** The owning ExternalSecret and grace period of a generator request; the owner's namespace binds the policies. */
function ownerOf(who: Caller): { owner: string; graceMs: number } | null {
  const owner = who.headers[OWNER_HEADER];
  const grace = who.headers[GRACE_HEADER];
  if (owner === undefined) {
    if (grace !== undefined) throw new EsoError(400, `${GRACE_HEADER} needs ${OWNER_HEADER} (namespace/name of the ExternalSecret)`);
    return null;
  }
  const namespace = owner.slice(0, owner.indexOf('/'));
  if (who.namespace !== undefined && who.namespace !== namespace) {
    throw new EsoError(400, `${OWNER_HEADER} names namespace ${namespace} but ${NAMESPACE_HEADER} is ${who.namespace}`);
  }
  who.namespace ??= namespace;
  return { owner, graceMs: (grace ?? DEFAULT_GRACE_SECONDS) * 1000 };
}

/**
 * A generator request's parameters: a POST with a JSON object body is a write of that body (`pki/issue/<role>`
 * with `{"common_name": ...}`); a GET or an empty POST is a read (`database/creds/<role>`).
 */
function generatorBody(method: string, raw: Buffer): Record<string, unknown> | undefined {
  const text = raw.toString('utf8').trim();
  if (method !== 'POST' || text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isPlainObject(parsed)) throw new EsoError(400, 'generator body must be a JSON object of the path\'s parameters (e.g. {"common_name": "..."})');
  return parsed;
}

/** PEM lists (a certificate's `ca_chain`) become one PEM bundle, as a Kubernetes Secret holds them. */
function joinPemLists(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const pems = Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'string' && e.startsWith('-----BEGIN '));
    out[k] = pems ? (v as string[]).join('\n') : v;
  }
  return out;
}

async function generate(gateway: CoreGateway, owners: OwnerLeases, who: Caller, path: string, params?: Record<string, unknown>): Promise<CoreResponse> {
  const owner = ownerOf(who);
  const { body } = params ? await call(gateway, who, 'POST', path, { body: params }) : await call(gateway, who, 'GET', path);
  if (!isPlainObject(body.data)) throw new EsoError(502, `${path} returned no data`);
  const answer: Record<string, unknown> = { data: flatten(joinPemLists(body.data)) };
  if (body.lease_id) {
    answer.lease_id = body.lease_id;
    answer.lease_duration = body.lease_duration;
    if (owner) answer.revokes = await owners.supersede(who.token, path, owner.owner, body.lease_id, owner.graceMs);
  } else if (owner) {
    throw new EsoError(400, `${path} issued no lease, so there is nothing to track for ${OWNER_HEADER}`);
  }
  return { status: 200, body: answer };
}

// ---- routing -------------------------------------------------------------------------------------------------------

const KV_METHODS = 'GET (read), POST/PUT (push) or DELETE';

export function esoRoutes(gateway: CoreGateway): HttpRoutes {
  const owners = new OwnerLeases(gateway);
  const route = async (req: RouteRequest): Promise<CoreResponse> => {
    const path = req.path.replace(/\/+$/, '');
    const [section, ...rest] = path.split('/');
    const target = rest.join('/');
    if (section === 'kv' && target) {
      const who = caller(req);
      const q = parseQueryFields(req.query);
      switch (req.method) {
        case 'GET':
          return readSecret(gateway, who, target, q);
        case 'POST':
        case 'PUT':
          return pushSecret(gateway, who, target, q, req.body);
        case 'DELETE':
          return deleteSecret(gateway, who, target, q);
        default:
          throw new EsoError(405, `method ${req.method} is not allowed here: use ${KV_METHODS}`);
      }
    }
    if (section === 'generate' && target) {
      if (req.method !== 'GET' && req.method !== 'POST') throw new EsoError(405, `method ${req.method} is not allowed here: use POST or GET`);
      return generate(gateway, owners, caller(req), target, generatorBody(req.method, req.body));
    }
    // 400, not 404: ESO reads a 404 as "the secret was deleted".
    throw new EsoError(400, 'unknown ESO endpoint: use /eso/v1/kv/<mount>?key=... or /eso/v1/generate/<path>');
  };
  return {
    prefix: ESO_PREFIX,
    handle: async (req) => {
      try {
        return await route(req);
      } catch (err) {
        if (err instanceof EsoError) return failure(err.status, err.message);
        // Only the error's class: a message could quote data.
        gateway.logError(`eso endpoint failed: ${err instanceof Error ? err.name : 'unknown error'}`);
        return failure(500, 'internal error');
      }
    },
  };
}
