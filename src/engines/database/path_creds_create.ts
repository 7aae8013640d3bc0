/**
 * `creds/:name` (read): a new database user with a generated password, returned as a leased secret whose TTL is
 * the role's default_ttl (or the mount's default), capped by the role's and the mount's max TTL. The user's
 * database-side expiry ({{expiration}}) is that TTL plus a few seconds of slack.
 */
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { type DatabaseContext, dbFailure, isRoleAllowed, NAME } from './backend.js';
import { generatePassword } from './password.js';
import { type CredsInternal, effectiveTtl, EXPIRATION_SLACK_SECONDS } from './secret_creds.js';

async function createCreds(ctx: DatabaseContext, req: Request): Promise<Response> {
  const name = req.params.name;
  const role = await ctx.readRole(req.storage, name);
  if (!role) throw badRequest(`unknown role: ${name}`);
  const config = await ctx.requireConfig(req.storage, role.db_name);
  if (!isRoleAllowed(config, name)) throw badRequest(`"${name}" is not an allowed role`);

  const { ttl } = effectiveTtl(0, role.default_ttl, role.max_ttl, req.system);
  const password = generatePassword();
  const issueTime = Date.now();
  const expiration = new Date(issueTime + (ttl + EXPIRATION_SLACK_SECONDS) * 1000);
  let username: string;
  try {
    ({ username } = await ctx.withConnection(req.storage, role.db_name, (db) =>
      db.newUser({
        usernameConfig: { displayName: req.caller.displayName ?? '', roleName: name },
        usernameTemplate: role.username_template || undefined,
        statements: role.creation_statements,
        rollbackStatements: role.rollback_statements,
        password,
        expiration,
      })));
  } catch (err) {
    throw dbFailure(err, [String(config.connection_details.password ?? '')], [password]);
  }

  const internal: CredsInternal = {
    username,
    role: name,
    db_name: role.db_name,
    plugin_name: config.plugin_name,
    revocation_statements: role.revocation_statements,
    renew_statements: role.renew_statements,
    max_ttl: role.max_ttl,
    // max_ttl counts from when the lease starts (after the user exists), as the lease manager's own max does;
    // counting from before a slow CREATE USER would end the lease early.
    issue_time: Date.now(),
  };
  return {
    data: { username, password },
    secret: { ttl, renewable: true, internal: { ...internal } },
  };
}

export function pathCredsCreate(ctx: DatabaseContext): PathSpec[] {
  return [
    {
      pattern: `creds/${NAME('name')}`,
      operations: { read: (req) => createCreds(ctx, req) },
      help: 'Generates a database user for the role and returns its username and password under a lease; the '
        + 'user is dropped when the lease is revoked or expires.',
    },
  ];
}
