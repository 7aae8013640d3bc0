/**
 * `auth/approle/login {role_id, secret_id}`. Unknown role IDs and unknown, expired or used-up secret IDs get
 * the same answer (Vault's), so a caller cannot tell which half was wrong. A secret ID's use is spent
 * atomically; its CIDR list (or the role's) bounds where it may be used from.
 */
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { addressAllowed, normalizeAddress } from '../../sdk/cidr.js';
import { badRequest } from '../../sdk/errors.js';
import { readRole } from '../roles.js';
import { assertLoginAddress, loginPath, loginRequest } from '../tokenutil.js';
import type { AppRoleRole, AppRoleStore } from './store.js';

const loginFields = z.object({ role_id: z.string().max(256).optional(), secret_id: z.string().max(4096).optional() });

const INVALID = 'invalid role or secret ID';

/** Lockout per role ID, as Vault's user lockout does for AppRole. */
function lockoutIdentity(data: Record<string, unknown>): string | null {
  const roleId = typeof data.role_id === 'string' ? data.role_id.trim() : '';
  return roleId ? `role_id:${roleId}` : null;
}

export function loginPaths(store: () => AppRoleStore): PathSpec[] {
  async function login(req: Request<z.infer<typeof loginFields>>) {
    const roleId = (req.data.role_id ?? '').trim();
    if (!roleId) throw badRequest('missing role_id');
    const name = await store().roleNameById(roleId);
    const role = name ? await readRole<AppRoleRole>(req, name) : null;
    if (!name || !role) throw badRequest(INVALID);
    const addr = req.caller.remoteAddr;
    const outsideCidrs = () => badRequest(`source address "${normalizeAddress(addr)}" unauthorized through CIDR restrictions on the secret ID`);
    if (!addressAllowed(addr, role.secret_id_bound_cidrs)) throw outsideCidrs();

    let metadata: Record<string, string> = {};
    let tokenCidrs: string[] = [];
    if (role.bind_secret_id) {
      const secretId = req.data.secret_id ?? '';
      if (!secretId) throw badRequest('missing secret_id');
      const entry = await store().consume(name, secretId, (e) => {
        // Checked before the use is spent: a refused address does not burn a use.
        if (!addressAllowed(addr, e.cidr_list)) throw outsideCidrs();
      });
      if (!entry) throw badRequest(INVALID);
      metadata = entry.metadata;
      tokenCidrs = entry.token_bound_cidrs;
    }
    assertLoginAddress(addr, tokenCidrs.length ? { ...role, token_bound_cidrs: tokenCidrs } : role);
    return loginRequest(role, { role: name, displayName: '', boundCidrs: tokenCidrs, metadata: { ...metadata, role_name: name } });
  }

  return [loginPath(loginFields, login, 'Log in with a role ID and a secret ID.', lockoutIdentity)];
}
