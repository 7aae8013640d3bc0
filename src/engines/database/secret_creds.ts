/**
 * The `creds` secret type: what the lease manager calls to renew or revoke a dynamic database user.
 *
 * `internal` (stored with the lease, never shown to clients) carries everything needed even after the role or
 * its statements change or the role is deleted:
 *   username               the database user
 *   role                   the role that issued it
 *   db_name                the connection it lives in
 *   plugin_name            for diagnostics
 *   revocation_statements  the role's statements at issue (used when the role no longer exists)
 *   renew_statements       likewise for renewals
 *   max_ttl                the role's max_ttl at issue (seconds, 0 = mount max)
 *   issue_time             when the user was created (ms since the epoch), the start of max_ttl
 */
import type { Request, SecretLease, SystemView } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { type DatabaseContext, dbFailure } from './backend.js';

/** Slack added to a user's database-side expiry so it never lapses before its lease (as Vault does). */
export const EXPIRATION_SLACK_SECONDS = 5;

export interface CredsInternal {
  username: string;
  role: string;
  db_name: string;
  plugin_name: string;
  revocation_statements: string[];
  renew_statements: string[];
  max_ttl: number;
  issue_time: number;
}

/** Vault's framework.CalculateTTL: requested (or role default, or mount default), capped by role and mount max. */
export function effectiveTtl(requested: number, defaultTtl: number, maxTtl: number, system: SystemView): { ttl: number; max: number } {
  const sysMax = system.maxLeaseTTL();
  const max = maxTtl > 0 ? Math.min(maxTtl, sysMax) : sysMax;
  const ttl = requested > 0 ? requested : defaultTtl > 0 ? defaultTtl : system.defaultLeaseTTL();
  return { ttl: Math.min(ttl, max), max };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

function parseInternal(internal: Record<string, unknown>): CredsInternal {
  const username = internal.username;
  if (typeof username !== 'string' || username === '') throw badRequest('secret is missing username internal data');
  const role = typeof internal.role === 'string' ? internal.role : '';
  const dbName = typeof internal.db_name === 'string' ? internal.db_name : '';
  return {
    username,
    role,
    db_name: dbName,
    plugin_name: typeof internal.plugin_name === 'string' ? internal.plugin_name : '',
    revocation_statements: strings(internal.revocation_statements),
    renew_statements: strings(internal.renew_statements),
    max_ttl: typeof internal.max_ttl === 'number' ? internal.max_ttl : 0,
    issue_time: typeof internal.issue_time === 'number' ? internal.issue_time : Date.now(),
  };
}

/**
 * Drops the user (the role's revocation statements, or the plugin's default). Succeeds when the user is already
 * gone; throws (a CofferError carrying the database's message) when the database cannot be reached, so that the
 * lease manager retries.
 */
export async function revokeCreds(ctx: DatabaseContext, req: Request, raw: Record<string, unknown>): Promise<void> {
  const internal = parseInternal(raw);
  const role = internal.role ? await ctx.readRole(req.storage, internal.role) : null;
  // The user lives where it was created; the role's current statements apply while it still points there.
  const dbName = internal.db_name || role?.db_name;
  if (!dbName) throw badRequest(`error during revoke: could not find role with name "${internal.role}" or embedded revocation db name data`);
  const statements = role && role.db_name === dbName ? role.revocation_statements : internal.revocation_statements;
  try {
    await ctx.withConnection(req.storage, dbName, (db) => db.deleteUser({ username: internal.username, statements }));
  } catch (err) {
    throw dbFailure(err);
  }
}

/**
 * Extends the user's validity (PostgreSQL `VALID UNTIL` through renew_statements or the default) and returns
 * the granted TTL: `req.data.increment` (seconds, 0 = the role's default_ttl, else the mount's), capped so the
 * lease never outlives the role's max_ttl counted from issue. Past that point renewal fails.
 */
export async function renewCreds(ctx: DatabaseContext, req: Request, raw: Record<string, unknown>): Promise<SecretLease> {
  const internal = parseInternal(raw);
  const role = internal.role ? await ctx.readRole(req.storage, internal.role) : null;
  const increment = Number((req.data as { increment?: unknown })?.increment ?? 0);
  const { ttl: wanted, max } = effectiveTtl(
    Number.isFinite(increment) && increment > 0 ? Math.floor(increment) : 0,
    role?.default_ttl ?? 0,
    role?.max_ttl ?? internal.max_ttl,
    req.system,
  );
  const remaining = Math.floor((internal.issue_time + max * 1000 - Date.now()) / 1000);
  if (remaining <= 0) throw badRequest('past the max TTL, cannot renew');
  const ttl = Math.min(wanted, remaining);
  const dbName = internal.db_name || role?.db_name || '';
  const statements = role && role.db_name === dbName ? role.renew_statements : internal.renew_statements;
  const newExpiration = new Date(Date.now() + (ttl + EXPIRATION_SLACK_SECONDS) * 1000);
  try {
    await ctx.withConnection(req.storage, dbName, (db) =>
      db.updateUser({ username: internal.username, expiration: { newExpiration, statements } }));
  } catch (err) {
    throw dbFailure(err);
  }
  return { ttl, renewable: true, internal: { ...raw } };
}
