/**
 * `static-roles/:name` (create/update, read, delete) and `static-roles/` (list): existing database users whose
 * password coffer owns and rotates every `rotation_period`. Creating a static role rotates the password at once
 * (from then on only coffer knows it), as Vault does; updates change the settings and reschedule.
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest, CofferError } from '../../sdk/errors.js';
import { duration, unsupported } from '../../sdk/fields.js';
import { type DatabaseContext, isRoleAllowed, NAME, ROLE_PREFIX, STATIC_ROLE_PREFIX, type StaticRoleEntry } from './backend.js';
import { statementList } from './fields.js';
import { listKeys } from '../../sdk/records.js';
import { checkCredentialType } from './path_roles.js';
import { nextRotation, type RotationManager, setStaticAccount } from './rotation.js';
import { statementTemplateError } from './statements.js';

/** Vault's queue tick: rotations are not scheduled more finely than this. */
export const MIN_ROTATION_PERIOD = 5;

const staticRoleFields = z.object({
  db_name: z.string().optional(),
  username: z.string().optional(),
  rotation_period: duration().optional(),
  rotation_statements: statementList().optional(),
  credential_type: z.string().optional(),
  // Vault's password_policy lives here; coffer has no password policies, so only an empty object is accepted.
  credential_config: unsupported(),
});
type StaticRoleBody = z.infer<typeof staticRoleFields>;

async function writeStaticRole(ctx: DatabaseContext, rotation: RotationManager, req: Request<StaticRoleBody>): Promise<null> {
  const name = req.params.name;
  const body = req.data;
  return ctx.locks.run(STATIC_ROLE_PREFIX + name, async () => {
    if ((await req.storage.get(ROLE_PREFIX + name)) !== null) throw badRequest('Role and Static Role names must be unique');
    const existing = await ctx.readStaticRole(req.storage, name);
    const creating = existing === null;
    const role: StaticRoleEntry = existing ?? {
      db_name: '',
      username: '',
      password: '',
      rotation_period: 0,
      rotation_statements: [],
      last_vault_rotation: '',
      credential_type: 'password',
    };
    if (body.db_name !== undefined) role.db_name = body.db_name;
    if (!role.db_name) throw badRequest('database name is a required field');
    const username = body.username ?? '';
    if (creating && !username) throw badRequest('username is a required field to create a static account');
    if (username && role.username && role.username !== username) throw badRequest('cannot update static account username');
    if (username) role.username = username;
    if (body.rotation_period === undefined && creating) throw badRequest('rotation_period is required to create static accounts');
    if (body.rotation_period !== undefined) {
      if (body.rotation_period < MIN_ROTATION_PERIOD) throw badRequest(`rotation_period must be ${MIN_ROTATION_PERIOD} seconds or more`);
      role.rotation_period = body.rotation_period;
    }
    if (body.rotation_statements !== undefined) role.rotation_statements = body.rotation_statements;
    const templateError = statementTemplateError(role.rotation_statements);
    if (templateError) throw badRequest(templateError);
    checkCredentialType(body.credential_type);

    const config = await ctx.requireConfig(req.storage, role.db_name);
    if (!isRoleAllowed(config, name)) throw badRequest(`"${name}" is not an allowed role`);

    if (creating) {
      // Take the user over now: a new password that only coffer knows.
      let rotated: StaticRoleEntry;
      try {
        rotated = await setStaticAccount(ctx, req.storage, name, role);
      } catch (err) {
        await req.storage.delete(STATIC_ROLE_PREFIX + name);
        throw err;
      }
      rotation.schedule(name, nextRotation(rotated));
    } else {
      await req.storage.putJSON(STATIC_ROLE_PREFIX + name, role);
      rotation.schedule(name, role.pending_password ? Date.now() : nextRotation(role));
    }
    return null;
  });
}

async function readStaticRole(ctx: DatabaseContext, req: Request): Promise<Response> {
  const role = await ctx.readStaticRole(req.storage, req.params.name);
  if (!role) throw new CofferError(404, []);
  const data: Record<string, unknown> = {
    db_name: role.db_name,
    username: role.username,
    rotation_period: role.rotation_period,
    rotation_statements: role.rotation_statements,
    credential_type: role.credential_type,
  };
  if (role.last_vault_rotation) data.last_vault_rotation = role.last_vault_rotation;
  return { data };
}

async function deleteStaticRole(ctx: DatabaseContext, rotation: RotationManager, req: Request): Promise<null> {
  const name = req.params.name;
  await ctx.locks.run(STATIC_ROLE_PREFIX + name, async () => {
    rotation.unschedule(name);
    await req.storage.delete(STATIC_ROLE_PREFIX + name);
  });
  return null;
}

export function pathStaticRoles(ctx: DatabaseContext, rotation: RotationManager): PathSpec[] {
  return [
    {
      pattern: 'static-roles/?',
      operations: { list: (req) => listKeys(req, STATIC_ROLE_PREFIX) },
      help: 'Lists the static roles.',
    },
    {
      pattern: `static-roles/${NAME('name')}`,
      fields: staticRoleFields,
      operations: {
        create: (req) => writeStaticRole(ctx, rotation, req),
        update: (req) => writeStaticRole(ctx, rotation, req),
        read: (req) => readStaticRole(ctx, req),
        delete: (req) => deleteStaticRole(ctx, rotation, req),
      },
      existenceCheck: async (req) => (await ctx.readStaticRole(req.storage, req.params.name)) !== null,
      help: 'Manages static roles: db_name, username (an existing database user), rotation_period (at least 5s), '
        + 'rotation_statements ({{name}}/{{username}}, {{password}}). Creating one rotates the password at once.',
    },
  ];
}
