/** `static-creds/:name` (read): a static role's current username and password, and when it rotates next. */
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { type DatabaseContext, isRoleAllowed, NAME } from './backend.js';
import { nextRotation } from './rotation.js';

async function readStaticCreds(ctx: DatabaseContext, req: Request): Promise<Response> {
  const name = req.params.name;
  const role = await ctx.readStaticRole(req.storage, name);
  if (!role) throw badRequest(`unknown role: ${name}`);
  const config = await ctx.requireConfig(req.storage, role.db_name);
  if (!isRoleAllowed(config, name)) throw badRequest(`"${name}" is not an allowed role`);
  return {
    data: {
      username: role.username,
      password: role.password,
      last_vault_rotation: role.last_vault_rotation,
      rotation_period: role.rotation_period,
      ttl: Math.max(0, Math.round((nextRotation(role) - Date.now()) / 1000)),
    },
  };
}

export function pathStaticCreds(ctx: DatabaseContext): PathSpec[] {
  return [
    {
      pattern: `static-creds/${NAME('name')}`,
      operations: { read: (req) => readStaticCreds(ctx, req) },
      help: 'Returns the current credentials of a static role; they stay the same until the next rotation.',
    },
  ];
}
