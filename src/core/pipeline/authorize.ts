/**
 * Stage "authorize": the caller's policies must grant the operation on the path (and `sudo` on root-protected
 * paths), and the token must have a use left.
 */
import type { Request } from '../../sdk/backend.js';
import { permissionDenied } from '../../sdk/errors.js';
import type { TokenEntry } from '../tokens/store.js';
import type { LogicalRequest, PipelineHost, Route } from './types.js';

/**
 * Checks the ACL and spends one use of the token. Unauthenticated requests (no token) pass untouched. A path
 * declared `sudo` (Vault's root-protected paths) needs the `sudo` capability besides the operation's.
 */
export async function authorize(core: PipelineHost, request: LogicalRequest, route: Route, req: Request, entry: TokenEntry | null): Promise<void> {
  if (!entry) return;
  const { routePath } = request;
  const acl = await core.policies.aclFor(entry.policies, request.kubernetesNamespace);
  const verdict = acl.check(routePath, req.operation, req.data, request.wrapTTL);
  req.caller.sudo = verdict.sudo;
  const spec = route.match.spec;
  if ((!verdict.allowed && !spec.aclInHandler) || (spec.sudo === true && !verdict.sudo)) throw permissionDenied();
  if (!(await core.tokens.use(entry))) throw permissionDenied();
}
