/**
 * Stage "finish": what the core adds to a handler's answer — the token of a login, the lease of a secret, and
 * the wrapping of the whole answer when the client asked for it.
 */
import type { Request, Response } from '../../sdk/backend.js';
import { issueLoginToken } from '../login/issue.js';
import { rawToStored } from '../wrapping/wrap.js';
import { envelope, hasContent } from './envelope.js';
import type { LogicalRequest, PipelineHost, Route } from './types.js';

export interface Finished {
  /** The handler's answer, completed (login token, lease). */
  response: Response | null;
  /** What the client receives instead when the answer is wrapped. */
  wrapped: Response | null;
}

export async function finish(core: PipelineHost, request: LogicalRequest, route: Route, req: Request, response: Response | null, tokenId: string, onLogin: () => void): Promise<Finished> {
  const { path, wrapTTL } = request;
  if (response?.login) {
    await completeLogin(core, response, req, path);
    onLogin();
  }
  // Only an engine that can revoke what it issued has its secrets leased.
  if (response?.secret && route.mount.backend.revoke) await registerLease(core, response, path, req, tokenId);
  const wrapped = wrapTTL > 0 && wrappable(response) ? await wrapResponse(core, response, req, path, wrapTTL) : null;
  return { response, wrapped };
}

/** Issues the token a login handler asked for and answers with Vault's `auth` block instead. */
async function completeLogin(core: PipelineHost, response: Response, req: Request, path: string): Promise<void> {
  const { auth, warnings } = await issueLoginToken(core.tokens, response.login!, req.mount, req.system, path);
  delete response.login;
  response.auth = auth;
  if (warnings.length) response.warnings = [...(response.warnings ?? []), ...warnings];
}

/** Puts a freshly issued secret under a lease; if that fails the secret is revoked rather than left orphaned. */
async function registerLease(core: PipelineHost, response: Response, path: string, req: Request, tokenId: string): Promise<void> {
  const secret = response.secret!;
  try {
    const { entry, ttl, warnings } = await core.leases.register(path, req.mount, req.system, tokenId, secret);
    response.lease = { id: entry.lease_id, duration: ttl, renewable: secret.renewable };
    if (warnings.length) response.warnings = [...(response.warnings ?? []), ...warnings];
  } catch (err) {
    const backend = core.mounts.byUuid(req.mount.uuid)?.backend;
    // The registration's own error is what the client must see; the revocation is best effort on top of it.
    await backend?.revoke?.(req, secret.internal ?? {}).catch(() => undefined);
    throw err;
  }
}

/**
 * Whether an answer is wrapped when the request asks for it: one with content, not wrapped already (rewrap), and
 * not an error status (a KV v2 deleted version's 404, an unknown KV path's warning), which the client must see.
 */
function wrappable(response: Response | null): response is Response {
  return hasContent(response) && !response.wrapInfo && (response.raw?.status ?? response.status ?? 200) < 400;
}

/**
 * Stores the answer the client would have received in a new wrapping token's cubbyhole and answers with the
 * token instead (leases and tokens in it stay registered, as in Vault).
 */
async function wrapResponse(core: PipelineHost, response: Response, req: Request, path: string, ttl: number): Promise<Response> {
  const mountType = req.mount.type;
  const stored = response.raw
    ? rawToStored(response.raw, req.requestId, mountType)
    : JSON.stringify(envelope(response, req.requestId, mountType, req.operation).body);
  const secretIdAccessor = mountType === 'approle' && !response.auth ? response.data?.secret_id_accessor : undefined;
  const wrapInfo = await core.wrapping.wrap(stored, ttl, path, {
    displayName: req.caller.displayName,
    wrappedAccessor: response.auth?.accessor ?? (typeof secretIdAccessor === 'string' ? secretIdAccessor : undefined),
  });
  return { wrapInfo, warnings: response.warnings };
}
