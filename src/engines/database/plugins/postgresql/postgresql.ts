/**
 * `postgresql-database-plugin`: PostgreSQL through node-postgres, one pool per configured connection.
 *
 * Behaviour follows Vault's plugin: connection_url with {{username}}/{{password}} (URL-escaped unless
 * disable_escaping), a username_template (default `v-<display>-<role>-<random>-<time>`, 63 chars), creation
 * statements required, renewals via `ALTER ROLE ... VALID UNTIL`, password changes via `ALTER ROLE ... WITH
 * PASSWORD`, and a default revocation that revokes privileges and drops the role. Beyond Vault: revocation first
 * terminates the user's open sessions, statements are split with a real tokenizer (quotes, comments, $$ bodies),
 * and a failed creation runs the rollback statements then makes sure the user does not exist.
 */
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { bool, duration, int } from '../../../../sdk/fields.js';
import { expandStatements, formatExpiration, renderStatement } from '../../statements.js';
import { UsernameTemplate, validateUsernameTemplate } from '../../username.js';
import {
  checkNoPlaceholders,
  generateUsername,
  type Database,
  DatabaseError,
  type DeleteUserRequest,
  flag,
  type InitializeRequest,
  type InitializeResponse,
  type NewUserRequest,
  type NewUserResponse,
  num,
  type PluginDefinition,
  str,
  toDatabaseError,
  type UpdateUserRequest,
} from '../plugin.js';

export const DEFAULT_USERNAME_TEMPLATE =
  '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}';
const DEFAULT_EXPIRATION_STATEMENT = `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`;
const DEFAULT_CHANGE_PASSWORD_STATEMENT = `ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}';`;
const DEFAULT_MAX_OPEN = 4;
const CONNECT_TIMEOUT_MS = 10_000;

const pbkdf2Async = promisify(pbkdf2);

/** A SCRAM-SHA-256 verifier, so that the clear password never reaches the server (password_authentication). */
export async function scramSha256(password: string): Promise<string> {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = await pbkdf2Async(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** A string literal that reads the same whatever `standard_conforming_strings` says (as quote_literal does). */
const quoteLiteral = (s: string) =>
  s.includes('\\') ? `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'` : `'${s.replace(/'/g, "''")}'`;
/**
 * The number of sessions of role `nameExpr` ended. Reads the backend status functions rather than the
 * pg_stat_activity view over them: the view's joins and per-session detail cost four times the CPU with 40
 * sessions open (measured 0.43 vs 0.11 ms), and this runs on every revocation.
 */
const countTerminated = (nameExpr: string) =>
  `(SELECT count(pg_catalog.pg_terminate_backend(pg_catalog.pg_stat_get_backend_pid(b)))
      FROM pg_catalog.pg_stat_get_backend_idset() b
     WHERE pg_catalog.pg_stat_get_backend_userid(b) = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ${nameExpr})
       AND pg_catalog.pg_stat_get_backend_pid(b) <> pg_catalog.pg_backend_pid())`;
/**
 * Ends every session of `username` but the caller's (revocation's first step; a user already gone is fine).
 * Exported for bench/dbcreds, whose baseline runs exactly what the engine runs.
 */
export const terminateSessions = (username: string) => `SELECT ${countTerminated(quoteLiteral(username))}`;

/** A statements list split and rendered, all up front: a template error must not leave half of it applied. */
const renderQueries = (statements: string[], vars: Record<string, string>) =>
  expandStatements(statements, 'postgres').map((query) => renderStatement(query, vars));

/** pgx-style rendering of a server error (`ERROR: message (SQLSTATE 42601)`), or the network error. */
function formatPgError(err: unknown): string {
  const e = err as { message?: string; code?: string; severity?: string };
  if (e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity) {
    return `${e.severity}: ${e.message} (SQLSTATE ${e.code})`;
  }
  return e?.message || e?.code || String(err);
}

const MAX_ATTEMPTS = 10;

/** Conflicts between concurrent transactions that succeed when retried. */
const isRetryable = (err: unknown) => {
  const e = err as { code?: string; message?: string };
  return e?.code === '40001' || e?.code === '40P01' || (e?.code === 'XX000' && /tuple concurrently (updated|deleted)/.test(e.message ?? ''));
};

/** An arbitrary advisory-lock key ("coffer" in ASCII) serialising coffer's statement lists. */
const CONFLICT_LOCK_KEY = '109330110506354';

/** Runs `fn`, again after a short random pause when it fails with a transient conflict. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
  }
}

const isServerError = (err: unknown) => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
};

/** Parses a libpq key/value DSN (`host=... port=... user=... dbname=...`) into pg's client config. */
function parseKeyValueDsn(dsn: string, subst: (v: string) => string): pg.PoolConfig {
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z_]+)\s*=\s*('((?:[^'\\]|\\.)*)'|\S+)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(dsn)) !== null) {
    out[m[1]] = subst(m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]);
    consumed = re.lastIndex;
  }
  if (dsn.slice(consumed).trim() !== '') throw new DatabaseError('invalid connection_url: expected a postgres:// URL or key=value pairs');
  const config: pg.PoolConfig = {};
  if (out.host) config.host = out.host;
  if (out.port) config.port = parseInt(out.port, 10);
  if (out.user) config.user = out.user;
  if (out.password !== undefined) config.password = out.password;
  if (out.dbname) config.database = out.dbname;
  if (out.application_name) config.application_name = out.application_name;
  if (out.connect_timeout) config.connectionTimeoutMillis = parseInt(out.connect_timeout, 10) * 1000;
  const sslmode = out.sslmode ?? 'prefer';
  if (sslmode === 'disable' || sslmode === 'allow' || sslmode === 'prefer') config.ssl = false;
  else if (sslmode === 'require') config.ssl = { rejectUnauthorized: false };
  else config.ssl = { rejectUnauthorized: true, ...(sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}) };
  return config;
}

class PostgreSQL implements Database {
  private pool: pg.Pool | null = null;
  private template = new UsernameTemplate(DEFAULT_USERNAME_TEMPLATE);
  private scram = false;
  private rootPassword = '';

  async initialize(req: InitializeRequest): Promise<InitializeResponse> {
    const details = req.config;
    const url = str(details, 'connection_url');
    if (!url) throw new DatabaseError('connection_url cannot be empty');
    const username = str(details, 'username');
    const password = str(details, 'password');
    checkNoPlaceholders(username, password);
    this.rootPassword = password;

    const templateSource = str(details, 'username_template') || DEFAULT_USERNAME_TEMPLATE;
    try {
      this.template = validateUsernameTemplate(templateSource);
    } catch (err) {
      throw new DatabaseError(`unable to initialize username template: ${(err as Error).message}`);
    }
    const auth = str(details, 'password_authentication') || 'password';
    if (auth !== 'password' && auth !== 'scram-sha-256') {
      throw new DatabaseError(`'${auth}' is not a valid password authentication type`);
    }
    this.scram = auth === 'scram-sha-256';

    const escape = flag(details, 'disable_escaping') ? (s: string) => s : encodeURIComponent;
    let config: pg.PoolConfig;
    if (/^postgres(ql)?:\/\//i.test(url)) {
      const connectionString = url.split('{{username}}').join(escape(username)).split('{{password}}').join(escape(password));
      config = { connectionString };
    } else {
      config = parseKeyValueDsn(url, (v) => v.split('{{username}}').join(username).split('{{password}}').join(password));
    }
    const maxOpen = num(details, 'max_open_connections', 0) || DEFAULT_MAX_OPEN;
    const lifetime = num(details, 'max_connection_lifetime', 0);
    const pool = new pg.Pool({
      application_name: 'coffer',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      ...config,
      max: maxOpen,
      maxLifetimeSeconds: lifetime,
      // Idle pooled connections never keep the process alive.
      allowExitOnIdle: true,
    });
    // An idle client whose server goes away emits 'error' on the pool; without a listener Node would crash.
    pool.on('error', () => undefined);
    this.pool = pool;

    if (req.verifyConnection) {
      try {
        const client = await pool.connect();
        try {
          await client.query('SELECT 1');
        } finally {
          client.release();
        }
      } catch (err) {
        await this.close();
        throw toDatabaseError(err, { root: [password] }, 'error verifying connection', formatPgError);
      }
    }
    return { config: details };
  }

  private getPool(): pg.Pool {
    if (!this.pool) throw new DatabaseError('plugin is not initialized');
    return this.pool;
  }

  /**
   * Runs the statements in one transaction. Concurrent GRANTs/REVOKEs on the same objects make PostgreSQL fail
   * one of them with "tuple concurrently updated" (contention can also bring serialization failures or
   * deadlocks); the transaction rolled back as a whole, so it is retried after a short random pause.
   */
  private async runStatements(statements: string[], vars: Record<string, string>): Promise<void> {
    await this.runQueries(renderQueries(statements, vars));
  }

  /** `queries` in one transaction behind the advisory lock; `unlocked` run first in it, before the lock. */
  private runQueries(queries: string[], unlocked: string[] = []): Promise<void> {
    // One round trip per statement list: PostgreSQL runs a multi-statement simple query as one implicit
    // transaction, so the advisory lock below is held only while the server executes, never while this
    // process's event loop gets round to sending the next statement.
    // Statement lists queue behind that transaction-scoped lock because concurrent GRANT/REVOKE on the same
    // objects would otherwise keep failing each other; retrying stays for conflicts with sessions outside coffer.
    // The newline before each `;` keeps a statement's trailing `-- comment` from swallowing the separator.
    const batch = [...unlocked, `SELECT pg_catalog.pg_advisory_xact_lock(${CONFLICT_LOCK_KEY})`, ...queries].join('\n;\n');
    return retrying(async () => {
      await this.getPool().query(batch);
    });
  }

  /** Ends the role's sessions and tells whether it exists, in one round trip (revocation's first step). */
  private async terminateIfExists(username: string): Promise<boolean> {
    const res = await this.getPool().query(
      `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AS present, ${countTerminated('$1')} AS terminated`,
      [username],
    );
    return res.rows[0]?.present === true;
  }

  private async roleExists(username: string): Promise<boolean> {
    const res = await this.getPool().query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [username]);
    return (res.rowCount ?? 0) > 0;
  }

  async newUser(req: NewUserRequest): Promise<NewUserResponse> {
    const statements = req.statements.filter((s) => s.trim() !== '');
    if (statements.length === 0) throw new DatabaseError('empty creation statements');
    const username = generateUsername(req, this.template);
    const vars = {
      name: username,
      username,
      password: this.scram ? await scramSha256(req.password) : req.password,
      expiration: formatExpiration(req.expiration),
    };
    const secrets = { root: [this.rootPassword], generated: [req.password, vars.password] };
    try {
      await this.runStatements(statements, vars);
    } catch (err) {
      if (isServerError(err)) await this.rollback(username, req.rollbackStatements);
      throw toDatabaseError(err, secrets, 'failed to execute query', formatPgError);
    }
    return { username };
  }

  /** After a failed creation: the rollback statements, then make sure the (freshly named) user is gone. */
  private async rollback(username: string, rollbackStatements: string[]): Promise<void> {
    const vars = { name: username, username };
    if (rollbackStatements.some((s) => s.trim() !== '')) {
      await this.runStatements(rollbackStatements, vars).catch(() => undefined);
    }
    try {
      if (await this.roleExists(username)) await this.defaultDeleteUser(username);
    } catch {
      // best effort: the creation error is what the caller needs to see
    }
  }

  async updateUser(req: UpdateUserRequest): Promise<void> {
    if (!req.username) throw new DatabaseError('missing username');
    if (!req.password && !req.expiration) throw new DatabaseError('no changes requested');
    if (req.password) {
      const newPassword = req.password.newPassword;
      if (!newPassword) throw new DatabaseError('missing password');
      const password = this.scram ? await scramSha256(newPassword) : newPassword;
      const statements = req.password.statements.some((s) => s.trim()) ? req.password.statements : [DEFAULT_CHANGE_PASSWORD_STATEMENT];
      try {
        await this.runStatements(statements, { name: req.username, username: req.username, password });
      } catch (err) {
        throw toDatabaseError(err, { root: [this.rootPassword], generated: [newPassword, password] }, 'failed to change password', formatPgError);
      }
    }
    if (req.expiration) {
      const statements = req.expiration.statements.some((s) => s.trim()) ? req.expiration.statements : [DEFAULT_EXPIRATION_STATEMENT];
      const vars = { name: req.username, username: req.username, expiration: formatExpiration(req.expiration.newExpiration) };
      try {
        await this.runStatements(statements, vars);
      } catch (err) {
        throw toDatabaseError(err, { root: [this.rootPassword] }, 'failed to change expiration', formatPgError);
      }
    }
  }

  async deleteUser(req: DeleteUserRequest): Promise<void> {
    const secrets = { root: [this.rootPassword] };
    const username = req.username;
    try {
      const statements = req.statements.filter((s) => s.trim() !== '');
      if (statements.length === 0) {
        // Idempotent: a user that is already gone is revoked. Unreachable database: this throws.
        if (await this.terminateIfExists(username)) await this.defaultDeleteUser(username);
        return;
      }
      const vars = { name: username, username };
      const queries = renderQueries(statements, vars);
      try {
        // The user's sessions end in the same round trip, before the lock is taken.
        await this.runQueries(queries, [terminateSessions(username)]);
      } catch (err) {
        if (!isServerError(err)) throw err;
        // Checked only after a failure, to keep the usual revocation at one round trip: statements naming a
        // user that is already gone fail, and revocation is idempotent.
        if (!(await this.roleExists(username))) return;
        // `DROP ROLE` refused because the role still holds privileges (the usual `DROP ROLE IF EXISTS` after
        // `GRANT SELECT ...`): strip them as the default revocation does, then run the statements again.
        if ((err as { code?: string }).code !== '2BP01') throw err;
        await this.revokePrivileges(username);
        await this.runQueries(queries);
      }
    } catch (err) {
      throw toDatabaseError(err, secrets, '', formatPgError);
    }
  }

  /**
   * Vault's default revocation: revoke what the role holds in every schema it has grants in (and public), revoke
   * CONNECT on the current database, then drop the role. Revokes continue past errors to remove as much access as
   * possible; the drop decides success.
   */
  private async defaultDeleteUser(username: string): Promise<void> {
    const revokes = await this.revocationStatements(username);
    const drop = `DROP ROLE IF EXISTS ${quoteIdent(username)}`;
    try {
      await this.runQueries([...revokes, drop]);
    } catch (err) {
      if (!isServerError(err)) throw err;
      // Some revoke cannot succeed: remove as much access as possible one statement at a time; the drop decides.
      await this.revokeOneByOne(revokes);
      await retrying(() => this.getPool().query(drop));
    }
  }

  /** Strips the role's privileges (before a custom revocation's DROP ROLE is run again). */
  private async revokePrivileges(username: string): Promise<void> {
    const revokes = await this.revocationStatements(username);
    await this.runQueries(revokes).catch(() => this.revokeOneByOne(revokes));
  }

  private async revokeOneByOne(statements: string[]): Promise<void> {
    for (const statement of statements) await retrying(() => this.getPool().query(statement)).catch(() => undefined);
  }

  /** What the role holds: every schema it has grants in, public, and CONNECT on the current database. */
  private async revocationStatements(username: string): Promise<string[]> {
    const pool = this.getPool();
    const role = quoteIdent(username);
    const schemas = await pool.query<{ schema: string }>(
      `SELECT DISTINCT table_schema AS schema FROM information_schema.role_table_grants WHERE grantee = $1
       UNION SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee = $1
       UNION SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = 'public'`,
      [username],
    );
    const statements: string[] = [];
    for (const { schema } of schemas.rows) {
      const s = quoteIdent(schema);
      statements.push(
        `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA ${s} FROM ${role}`,
        `REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA ${s} FROM ${role}`,
        `REVOKE USAGE ON SCHEMA ${s} FROM ${role}`,
      );
    }
    const db = await pool.query<{ db: string }>('SELECT current_database() AS db');
    if (db.rows[0]?.db) statements.push(`REVOKE CONNECT ON DATABASE ${quoteIdent(db.rows[0].db)} FROM ${role}`);
    return statements;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool && !pool.ended) await pool.end().catch(() => undefined);
  }
}

export const postgresqlPlugin: PluginDefinition = {
  name: 'postgresql-database-plugin',
  fields: {
    connection_url: z.string(),
    username: z.string(),
    password: z.string(),
    max_open_connections: int(),
    max_idle_connections: int(),
    max_connection_lifetime: duration(),
    disable_escaping: bool(),
    username_template: z.string(),
    password_authentication: z.string(),
  },
  secretFields: ['password', 'private_key'],
  create: () => new PostgreSQL(),
};
