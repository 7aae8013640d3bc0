/**
 * The request pipeline of DESIGN.md, as its list of stages (the HTTP layer has already parsed the request,
 * src/server/logical-request.ts):
 *   resolve the mount (sealed? 503) → authenticate → authorize (+ sudo, use count) → audit the request →
 *   login guard → dispatch → finish (login, lease, wrapping) → envelope → audit the response.
 * Never throws: every failure becomes a Vault error envelope, audited like an answer.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from '../../sdk/backend.js';
import { CofferError } from '../../sdk/errors.js';
import { dispatch, resolveWriteOperation } from '../router.js';
import { WRAPPING_TOKEN_PATHS } from '../wrapping/wrap.js';
import { AuditTrail } from './audit-trail.js';
import { authenticate, type Authenticated } from './authenticate.js';
import { authorize } from './authorize.js';
import { envelope, errorResponse } from './envelope.js';
import { finish } from './finish.js';
import { LoginAttempt } from './login-attempt.js';
import { resolveRoute } from './resolve.js';
import type { CoreResponse, LogicalRequest, PipelineHost, Route } from './types.js';

export async function handleRequest(core: PipelineHost, request: LogicalRequest): Promise<CoreResponse> {
  const requestId = randomUUID();
  const trail = new AuditTrail(core, requestId);
  const login = new LoginAttempt(core, request.remoteAddr);
  try {
    const route = resolveRoute(core, request);
    login.begin(route);
    trail.open(request, route);
    // Checked before the token is used, as Vault does: a bad wrapping token is a 400 (and on record), not a 403.
    if (WRAPPING_TOKEN_PATHS.has(request.path)) await core.wrapping.find(request.clientToken, request.data());
    const auth = await authenticate(core, request, route, trail);
    const data = request.data();
    trail.setData(data);
    login.identify(route, route.match.spec, data);
    const req = await engineRequest(core, request, route, auth, data, requestId);
    trail.setOperation(req.operation);
    await authorize(core, request, route, req, auth.entry);
    await trail.recordRequest(request, req.operation);
    login.guard();

    // A token's last use is served first and revoked right after (Vault's revocation-pending state).
    const answer = await dispatch(route.match.spec, req).finally(() => core.tokens.finishUse(auth.entry));
    const { response, wrapped } = await finish(core, request, route, req, answer ?? null, auth.entry?.id ?? '', () => login.succeeded());
    const result = envelope(wrapped ?? response, requestId, route.mount.entry.type, req.operation);
    await trail.recordResponse(result, response, wrapped);
    return result;
  } catch (err) {
    const failure = errorResponse(err, core.logger);
    login.failed(failure.status);
    const error = (failure.body as { errors: string[] } | undefined)?.errors?.join('; ');
    try {
      await trail.recordFailure(failure.status, error);
    } catch {
      return errorResponse(new CofferError(500, 'internal error'), core.logger);
    }
    return failure;
  }
}

/** The request as the engine sees it; a write becomes `create` or `update` by the path's existence check. */
async function engineRequest(core: PipelineHost, request: LogicalRequest, route: Route, { caller }: Authenticated, data: Record<string, unknown>, requestId: string): Promise<Request> {
  const { mount, rel, match } = route;
  const req: Request = {
    operation: request.operation,
    path: rel,
    params: match.params,
    data,
    query: request.query,
    headers: request.headers,
    storage: mount.view,
    mount: mount.entry,
    system: core.systemView(mount.entry),
    caller,
    requestId,
  };
  if (req.operation === 'update') req.operation = await resolveWriteOperation(match.spec, req);
  return req;
}
