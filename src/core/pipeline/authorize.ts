/**
 * Stage "authorize": the caller's policies must grant the operation on the path (and `sudo` on root-protected
 * paths), and the token must have a use left.
 */
import type { Request } from '../backend.js';
import { permissionDenied } from '../errors.js';
import type { TokenEntry } from '../tokens/store.js';
import type { LogicalRequest, PipelineHost, Route } from './types.js';

/** Only these prefixes hold sudo-protected paths; checked first so other requests skip the patterns. */
const SUDO_SCOPE = /^(sys|auth\/token)\//;

/** Vault's root-protected paths: the capability for the operation is not enough, `sudo` is needed too. */
const SUDO_PATTERNS = [
  /^sys\/audit(\/|$)/,
  /^sys\/auth\/.+/,
  /^sys\/remount$/,
  /^sys\/rotate$/,
  /^sys\/seal$/,
  /^sys\/key-status$/,
  /^sys\/leases\/revoke-(prefix|force)\/.*/,
  /^sys\/leases\/lookup\//, // listing leases (the lookup of one lease is `sys/leases/lookup` without a slash)
  /^auth\/token\/accessors\/?$/,
  /^auth\/token\/revoke-orphan$/,
];

/** Checks the ACL and spends one use of the token. Unauthenticated requests (no token) pass untouched. */
export async function authorize(core: PipelineHost, request: LogicalRequest, route: Route, req: Request, entry: TokenEntry | null, kubernetesNamespace?: string): Promise<void> {
  if (!entry) return;
  const { routePath } = request;
  const acl = await core.policies.aclFor(entry.policies, kubernetesNamespace);
  const verdict = acl.check(routePath, req.operation, req.data, request.wrapTTL);
  req.caller.sudo = verdict.sudo;
  const spec = route.match.spec;
  const needsSudo = spec.sudo === true || (SUDO_SCOPE.test(routePath) && SUDO_PATTERNS.some((re) => re.test(routePath)));
  if ((!verdict.allowed && !spec.aclInHandler) || (needsSudo && !verdict.sudo)) throw permissionDenied();
  if (!(await core.tokens.use(entry))) throw permissionDenied();
}
