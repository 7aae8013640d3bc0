/**
 * `auth/kubernetes/login {role, jwt}`: the role's bounds are checked against the names the token claims, then
 * the API server's TokenReview must confirm the token and the same service account (and the role's audience).
 */
import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { anyGlob } from '../../shared/glob.js';
import { loginRole } from '../roles.js';
import { assertLoginAddress, loginPath, loginRequest, roleJwtIdentity, roleJwtLoginFields } from '../tokenutil.js';
import { readConfig } from './path_config.js';
import type { KubernetesRole } from './path_role.js';
import { reviewToken } from './tokenreview.js';

const denied = (msg: string) => new CofferError(403, msg);

interface ServiceAccount {
  name: string;
  namespace: string;
  uid: string;
}

const claimsSchema = z.object({
  'kubernetes.io': z
    .object({ namespace: z.string(), serviceaccount: z.object({ name: z.string(), uid: z.string().optional() }) })
    .optional(),
  'kubernetes.io/serviceaccount/namespace': z.string().optional(),
  'kubernetes.io/serviceaccount/service-account.name': z.string().optional(),
  'kubernetes.io/serviceaccount/service-account.uid': z.string().optional(),
});

/** Who the token says it is: projected tokens nest it under `kubernetes.io`, legacy secret tokens flatten it. */
function claimedAccount(jwt: string): ServiceAccount {
  let claims: z.infer<typeof claimsSchema>;
  try {
    claims = claimsSchema.parse(decodeJwt(jwt));
  } catch {
    throw badRequest('invalid jwt: not a Kubernetes service account token');
  }
  const projected = claims['kubernetes.io'];
  const account = projected
    ? { name: projected.serviceaccount.name, namespace: projected.namespace, uid: projected.serviceaccount.uid ?? '' }
    : {
        name: claims['kubernetes.io/serviceaccount/service-account.name'] ?? '',
        namespace: claims['kubernetes.io/serviceaccount/namespace'] ?? '',
        uid: claims['kubernetes.io/serviceaccount/service-account.uid'] ?? '',
      };
  if (!account.name || !account.namespace) throw badRequest('invalid jwt: not a Kubernetes service account token');
  return account;
}

async function login(req: Request<z.infer<typeof roleJwtLoginFields>>) {
  const roleName = req.data.role ?? '';
  const jwt = (req.data.jwt ?? '').trim();
  if (!roleName) throw badRequest('missing role');
  if (!jwt) throw badRequest('missing jwt');
  const role = await loginRole<KubernetesRole>(req, roleName, (name) => `invalid role name "${name}"`);
  assertLoginAddress(req.caller.remoteAddr, role);
  const config = await readConfig(req);
  if (!config) throw badRequest('could not load backend configuration');

  const sa = claimedAccount(jwt);
  if (!anyGlob(role.bound_service_account_names, sa.name)) throw denied('service account name not authorized');
  if (!anyGlob(role.bound_service_account_namespaces, sa.namespace)) throw denied('namespace not authorized');

  const review = await reviewToken(config, jwt, role.audience);
  if (!review.authenticated) {
    throw denied('lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token');
  }
  if (review.username !== `system:serviceaccount:${sa.namespace}:${sa.name}`) throw denied('JWT names did not match');
  if (sa.uid && review.uid && review.uid !== sa.uid) throw denied('JWT UIDs did not match');
  if (role.audience && !review.audiences.includes(role.audience)) throw denied('invalid audience');

  return loginRequest(role, {
    role: roleName,
    displayName: `${sa.namespace}-${sa.name}`,
    metadata: {
      role: roleName,
      service_account_name: sa.name,
      service_account_namespace: sa.namespace,
      service_account_uid: review.uid || sa.uid,
      service_account_secret_name: '',
    },
  });
}

/** Lockout per role and claimed service account. */
const lockoutIdentity = roleJwtIdentity((jwt) => {
  const sa = claimedAccount(jwt);
  return `${sa.namespace}/${sa.name}`;
});

export const loginPaths: PathSpec[] = [
  loginPath(roleJwtLoginFields, login, 'Log in with a service account token, verified by the Kubernetes TokenReview API.', lockoutIdentity),
];
