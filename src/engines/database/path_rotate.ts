/**
 * `rotate-root/:name`: gives the connection's own user a new random password (root_rotation_statements, or the
 * plugin's default), stores it and reopens the pool with it; the old password stops working and only coffer knows
 * the new one. `rotate-role/:name`: rotates a static role's password now.
 */
import type { PathSpec, Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { CONFIG_PREFIX, type DatabaseContext, dbFailure, NAME } from './backend.js';
import { checkPasswordPolicy, generatePassword } from './password.js';
import { nextRotation, RETRY_AFTER_FAILURE_MS, rotateStaticRole, type RotationManager } from './rotation.js';

async function rotateRoot(ctx: DatabaseContext, req: Request): Promise<null> {
  const name = req.params.name;
  await ctx.locks.run(CONFIG_PREFIX + name, async () => {
    const config = await ctx.requireConfig(req.storage, name);
    const username = config.connection_details.username;
    const oldPassword = config.connection_details.password;
    if (typeof username !== 'string' || username === '') throw badRequest('unable to rotate root credentials: no username in configuration');
    if (typeof oldPassword !== 'string' || oldPassword === '') throw badRequest('unable to rotate root credentials: no password in configuration');
    checkPasswordPolicy(config.password_policy);
    const newPassword = generatePassword();

    // Recorded first, so a crash between the database change and the config update can be recovered.
    await ctx.writeConfig(req.storage, name, { ...config, pending_root_password: newPassword });
    try {
      await ctx.withConnection(req.storage, name, (db) =>
        db.updateUser({ username, password: { newPassword, statements: config.root_credentials_rotate_statements } }));
    } catch (err) {
      await ctx.writeConfig(req.storage, name, config);
      const failure = dbFailure(err, [oldPassword], [newPassword]);
      throw badRequest(`failed to update user: ${failure.errors.join('; ')}`);
    }
    const updated = { ...config, connection_details: { ...config.connection_details, password: newPassword } };
    delete updated.pending_root_password;
    await ctx.writeConfig(req.storage, name, updated);
    // Connections opened with the old password are closed; the next use opens a pool with the new one.
    await ctx.clearConnection(name);
  });
  return null;
}

async function rotateRole(ctx: DatabaseContext, rotation: RotationManager, req: Request): Promise<null> {
  const name = req.params.name;
  if (!(await ctx.readStaticRole(req.storage, name))) throw badRequest('no static role found for role name');
  try {
    const role = await rotateStaticRole(ctx, req.storage, name);
    if (role) rotation.schedule(name, nextRotation(role));
  } catch (err) {
    rotation.schedule(name, Date.now() + RETRY_AFTER_FAILURE_MS);
    const failure = dbFailure(err);
    throw badRequest('unable to finish rotating credentials; retries will continue in the background but it is also '
      + `safe to retry manually: ${failure.errors.join('; ')}`);
  }
  return null;
}

export function pathRotate(ctx: DatabaseContext, rotation: RotationManager): PathSpec[] {
  return [
    {
      pattern: `rotate-root/${NAME('name')}`,
      operations: { update: (req) => rotateRoot(ctx, req) },
      help: 'Rotates the password of the connection\'s own database user; afterwards only coffer knows it.',
    },
    {
      pattern: `rotate-role/${NAME('name')}`,
      operations: { update: (req) => rotateRole(ctx, rotation, req) },
      help: 'Rotates a static role\'s password now.',
    },
  ];
}
