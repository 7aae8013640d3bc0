/**
 * `auth/jwt/login {role, jwt}`: the signature is verified with jose against the configured keys, restricted to
 * `jwt_supported_algs` (all of SUPPORTED_ALGS when unset; asymmetric algorithms only, so neither `alg: none`
 * nor an HMAC signature made with a public key can pass), then the claims are checked against the role.
 */
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { loginRole } from '../roles.js';
import { assertLoginAddress, loginPath, loginRequest, roleJwtIdentity, roleJwtLoginFields } from '../tokenutil.js';
import { checkBoundClaims, checkGroups, checkIssuerAudienceSubject, checkTimes, mappedMetadata, userName } from './claims.js';
import type { KeySource } from './keys.js';
import { acceptedAlgs, readConfig, type JwtConfig } from './path_config.js';
import type { JwtRole } from './path_role.js';

const NO_KEY = 'error validating token: error verifying token signature: no known key successfully validated the token signature';

async function verifiedClaims(jwt: string, config: JwtConfig, keys: KeySource): Promise<JWTPayload> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch {
    throw badRequest('error validating token: token is not a well-formed JWT');
  }
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const algorithms = acceptedAlgs(config);
  if (!algorithms.includes(alg)) {
    throw badRequest(`error validating token: token signed with an unsupported algorithm "${alg.slice(0, 16)}"`);
  }
  const candidates = await keys.candidates(typeof header.kid === 'string' ? header.kid : undefined);
  for (const { key } of candidates) {
    try {
      const { payload } = await compactVerify(jwt, key, { algorithms });
      const claims = JSON.parse(new TextDecoder().decode(payload)) as unknown;
      if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw badRequest('error validating token: the payload is not a JSON object');
      return claims as JWTPayload;
    } catch (err) {
      if (err instanceof CofferError) throw err;
      // Wrong key for this token (or a key of another type): try the next one.
    }
  }
  throw badRequest(NO_KEY);
}

/** Lockout per role and claimed subject (Vault's user lockout has no JWT support; this follows its idea). */
const lockoutIdentity = roleJwtIdentity((jwt) => {
  const sub = decodeJwt(jwt).sub;
  return typeof sub === 'string' ? sub : null;
});

export function loginPaths(keySource: (config: JwtConfig) => KeySource): PathSpec[] {
  async function login(req: Request<z.infer<typeof roleJwtLoginFields>>) {
    const jwt = (req.data.jwt ?? '').trim();
    if (!jwt) throw badRequest('missing token');
    const config = await readConfig(req);
    if (!config) throw badRequest('could not load configuration');
    const roleName = req.data.role || config.default_role;
    if (!roleName) throw badRequest('missing role');
    const role = await loginRole<JwtRole>(req, roleName, (name) => `role "${name}" could not be found`);
    assertLoginAddress(req.caller.remoteAddr, role);

    const claims = await verifiedClaims(jwt, config, keySource(config));
    checkTimes(claims, role, Math.floor(Date.now() / 1000));
    // With discovery and no bound_issuer, the provider's own issuer (checked equal to the URL at config time).
    checkIssuerAudienceSubject(claims, role, config.bound_issuer || config.oidc_discovery_url.replace(/\/+$/, ''));
    checkBoundClaims(claims, role);
    checkGroups(claims, role);
    const name = userName(claims, role);
    return loginRequest(role, { role: roleName, displayName: name, metadata: { role: roleName, ...mappedMetadata(claims, role) } });
  }

  return [loginPath(roleJwtLoginFields, login, 'Log in with a signed JWT (a CI job ID token, a workload identity token).', lockoutIdentity)];
}
