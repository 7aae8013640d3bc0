/**
 * Turns a login handler's `LoginRequest` into a token: TTLs resolved against the mount's tuning and the system
 * max the way Vault does, the `default` policy added unless the role says not to, and Vault's `auth` block.
 */
import type { AuthResult, LoginRequest, MountInfo, SystemView } from '../../sdk/backend.js';
import { formatDuration } from '../../sdk/duration.js';
import { normalizePolicies } from '../../sdk/fields.js';
import { authResult } from '../tokens/backend.js';
import type { TokenStore } from '../tokens/store.js';

export interface IssuedLogin {
  auth: AuthResult;
  warnings: string[];
}

/** Vault's display name: the mount path (without `auth/`, slashes as dashes) then the method's own name. */
export function loginDisplayName(mount: MountInfo, name: string): string {
  const prefix = mount.path.replace(/^auth\//, '').replace(/\/+$/, '').replace(/\//g, '-');
  return name ? `${prefix}-${name}` : prefix;
}

export async function issueLoginToken(tokens: TokenStore, login: LoginRequest, mount: MountInfo, system: SystemView, path: string): Promise<IssuedLogin> {
  const warnings: string[] = [];
  const mountMax = system.maxLeaseTTL();
  let maxTTL = mountMax;
  if (login.maxTTL > 0) {
    if (login.maxTTL > mountMax) warnings.push(`max_ttl of ${formatDuration(login.maxTTL)} is greater than the mount's max TTL; using ${formatDuration(mountMax)}`);
    maxTTL = Math.min(login.maxTTL, mountMax);
  }
  let ttl = login.ttl > 0 ? login.ttl : system.defaultLeaseTTL();
  if (login.period === 0 && ttl > maxTTL) {
    warnings.push(`TTL of "${formatDuration(ttl)}" exceeded the effective max_ttl of "${formatDuration(maxTTL)}"; TTL value is capped accordingly`);
    ttl = maxTTL;
  }

  const policies = normalizePolicies(login.policies).filter((p) => p !== 'default');
  if (!login.noDefaultPolicy) policies.push('default');
  policies.sort();

  const { token, entry } = await tokens.create({
    issuer: { kind: 'auth-method' },
    parent: '',
    policies,
    meta: login.metadata,
    displayName: loginDisplayName(mount, login.displayName),
    numUses: login.numUses,
    ttl,
    explicitMaxTTL: login.explicitMaxTTL,
    period: login.period,
    renewable: true,
    path,
    role: login.role,
    mountMaxTTL: maxTTL,
    boundCidrs: login.boundCidrs,
  });
  return { auth: authResult(token, entry), warnings };
}
