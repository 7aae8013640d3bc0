/** `auth/approle/role/:name` and `role/:name/role-id`. Role IDs are random UUIDs unless the operator sets one. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { cidrList } from '../../sdk/cidr.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, duration, int } from '../../sdk/fields.js';
import { readRole, ROLE_NAME, rolePaths, roleKey } from '../roles.js';
import { parseTokenParams, presentRole, tokenFieldShape } from '../tokenutil.js';
import type { AppRoleRole, AppRoleStore } from './store.js';

const roleFields = z.object({
  ...tokenFieldShape,
  role_id: z.string().min(1).max(256).optional(),
  bind_secret_id: bool().optional(),
  secret_id_bound_cidrs: cidrList().optional(),
  secret_id_num_uses: int().refine((n) => n >= 0, 'cannot be negative').optional(),
  secret_id_ttl: duration().optional(),
  local_secret_ids: bool().optional(),
});

// Optional in the schema because reads are validated too; a write without it is refused in the handler.
const roleIdFields = z.object({ role_id: z.string().max(256).optional() });

/** A role that a role/NAME/... path needs; 400 `role "x" does not exist` like Vault. */
export async function existingRole(req: Request): Promise<AppRoleRole> {
  const role = await readRole<AppRoleRole>(req, req.params.name);
  if (!role) throw badRequest(`role "${req.params.name}" does not exist`);
  return role;
}

export function rolePathSpecs(store: () => AppRoleStore): PathSpec[] {
  return [
    ...rolePaths<AppRoleRole, typeof roleFields>({
      fields: roleFields,
      build: async (name, d, existing) => {
        const role: AppRoleRole = {
          ...parseTokenParams(d, existing ?? undefined),
          role_id: d.role_id ?? existing?.role_id ?? randomUUID(),
          bind_secret_id: d.bind_secret_id ?? existing?.bind_secret_id ?? true,
          secret_id_bound_cidrs: d.secret_id_bound_cidrs ?? existing?.secret_id_bound_cidrs ?? [],
          secret_id_num_uses: d.secret_id_num_uses ?? existing?.secret_id_num_uses ?? 0,
          secret_id_ttl: d.secret_id_ttl ?? existing?.secret_id_ttl ?? 0,
          local_secret_ids: existing?.local_secret_ids ?? d.local_secret_ids ?? false,
        };
        if (!role.bind_secret_id && !role.secret_id_bound_cidrs.length && !role.token_bound_cidrs.length) {
          throw badRequest('at least one constraint should be enabled on the role');
        }
        await store().setRoleId(name, role.role_id, existing?.role_id);
        return role;
      },
      // The role ID is read at role/NAME/role-id, never with the role.
      present: ({ role_id: _hidden, ...role }) => presentRole(role as AppRoleRole),
      onDelete: (_req, name, role) => store().deleteRole(name, role.role_id),
      help: 'Manage AppRole roles: secret ID requirements and token settings.',
    }),
    {
      pattern: `role/${ROLE_NAME}/role-id`,
      fields: roleIdFields,
      operations: {
        read: async (req) => ({ data: { role_id: (await existingRole(req)).role_id } }),
        update: async (req: Request<z.infer<typeof roleIdFields>>) => {
          const role = await existingRole(req);
          if (!req.data.role_id) throw badRequest('missing role_id');
          await store().setRoleId(req.params.name, req.data.role_id, role.role_id);
          await req.storage.putJSON(roleKey(req.params.name), { ...role, role_id: req.data.role_id });
          return null;
        },
      },
      help: "Read or set the role's role ID.",
    },
  ];
}
