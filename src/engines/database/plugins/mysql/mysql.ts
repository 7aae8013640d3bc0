/**
 * `mysql-database-plugin` (MySQL and MariaDB) through mysql2, one pool per configured connection; also the
 * `mysql-legacy`/`mysql-rds`/`mysql-aurora` names Vault keeps for servers limited to 16-character user names.
 *
 * As in Vault: connection_url is a Go MySQL DSN (`{{username}}:{{password}}@tcp(host:3306)/`), creation statements
 * are required, the default revocation is `REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'; DROP USER
 * '{{name}}'@'%'` (skipped when the user no longer exists), password changes default to `ALTER USER
 * '{{username}}'@'%' IDENTIFIED BY '{{password}}'`, and expiration changes are a no-op (MySQL has no VALID UNTIL).
 * MySQL commits DDL implicitly, so a statement list is not atomic there: a failed creation runs the role's
 * rollback statements and then drops the freshly named user if it exists.
 */
import mysql from 'mysql2/promise';
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
import { parseMySQLDsn } from './dsn.js';

export const DEFAULT_USERNAME_TEMPLATE =
  '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}';
export const LEGACY_USERNAME_TEMPLATE = '{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}';
const DEFAULT_REVOCATION = `REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'; DROP USER '{{name}}'@'%'`;
const DEFAULT_ROTATE = `ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}';`;
const DEFAULT_MAX_OPEN = 4;
const CONNECT_TIMEOUT_MS = 10_000;

/** The Go driver's rendering of a server error (`Error 1064 (42000): ...`), or the network error. */
function formatMySQLError(err: unknown): string {
  const e = err as { message?: string; errno?: number; sqlState?: string; sqlMessage?: string; code?: string };
  if (e && typeof e.errno === 'number' && e.sqlState) return `Error ${e.errno} (${e.sqlState}): ${e.sqlMessage ?? e.message}`;
  return e?.message || e?.code || String(err);
}

const isServerError = (err: unknown) => typeof (err as { sqlState?: unknown })?.sqlState === 'string';

class MySQL implements Database {
  private pool: mysql.Pool | null = null;
  private template: UsernameTemplate;
  private rootPassword = '';

  constructor(private readonly defaultTemplate: string) {
    this.template = new UsernameTemplate(defaultTemplate);
  }

  async initialize(req: InitializeRequest): Promise<InitializeResponse> {
    const details = req.config;
    const url = str(details, 'connection_url');
    if (!url) throw new DatabaseError('connection_url cannot be empty');
    const username = str(details, 'username');
    const password = str(details, 'password');
    checkNoPlaceholders(username, password);
    this.rootPassword = password;
    try {
      this.template = validateUsernameTemplate(str(details, 'username_template') || this.defaultTemplate);
    } catch (err) {
      throw new DatabaseError(`unable to initialize username template: ${(err as Error).message}`);
    }

    const dsn = parseMySQLDsn(url, username, password);
    let ssl: mysql.SslOptions | undefined;
    const ca = str(details, 'tls_ca');
    const certKey = str(details, 'tls_certificate_key');
    const skipVerify = flag(details, 'tls_skip_verify');
    if (ca || certKey) {
      ssl = { rejectUnauthorized: !skipVerify };
      if (ca) ssl.ca = ca;
      if (certKey) Object.assign(ssl, { cert: certKey, key: certKey });
      const serverName = str(details, 'tls_server_name');
      if (serverName) (ssl as Record<string, unknown>).servername = serverName;
    } else if (dsn.params.tls === 'true') {
      ssl = { rejectUnauthorized: !skipVerify };
    } else if (dsn.params.tls === 'skip-verify' || dsn.params.tls === 'preferred') {
      ssl = { rejectUnauthorized: false };
    } else if (dsn.params.ssl === 'true' || dsn.params.ssl === '1') {
      ssl = { rejectUnauthorized: !skipVerify };
    }

    const maxOpen = num(details, 'max_open_connections', 0) || DEFAULT_MAX_OPEN;
    const maxIdle = Math.min(num(details, 'max_idle_connections', 0) || maxOpen, maxOpen);
    const pool = mysql.createPool({
      host: dsn.host,
      port: dsn.port,
      socketPath: dsn.socketPath,
      user: dsn.user,
      password: dsn.password,
      database: dsn.database,
      ssl,
      connectionLimit: maxOpen,
      maxIdle,
      idleTimeout: 30_000,
      connectTimeout: CONNECT_TIMEOUT_MS,
      waitForConnections: true,
      multipleStatements: false,
    });
    (pool as unknown as NodeJS.EventEmitter).on?.('error', () => undefined);
    this.pool = pool;

    if (req.verifyConnection) {
      try {
        const conn = await pool.getConnection();
        try {
          await conn.ping();
        } finally {
          conn.release();
        }
      } catch (err) {
        await this.close();
        throw toDatabaseError(err, { root: [password] }, 'error verifying connection', formatMySQLError);
      }
    }
    return { config: details };
  }

  private getPool(): mysql.Pool {
    if (!this.pool) throw new DatabaseError('plugin is not initialized');
    return this.pool;
  }

  /** One connection, one transaction (DDL commits implicitly in MySQL; DML statements stay atomic). */
  private async runStatements(statements: string[], vars: Record<string, string>): Promise<void> {
    // Rendered up front: a template error must not leave half the statements applied (DDL commits at once).
    const queries = expandStatements(statements, 'mysql').map((query) => renderStatement(query, vars));
    const conn = await this.getPool().getConnection();
    let broken = false;
    try {
      await conn.query('START TRANSACTION');
      // Text protocol: some statements (CREATE USER, GRANT on MariaDB) cannot be prepared (error 1295).
      for (const query of queries) await conn.query(query);
      await conn.query('COMMIT');
    } catch (err) {
      broken = !isServerError(err);
      if (!broken) await conn.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  private async userExists(username: string): Promise<boolean> {
    const [rows] = await this.getPool().query('SELECT 1 FROM mysql.user WHERE User = ? LIMIT 1', [username]);
    return (rows as unknown[]).length > 0;
  }

  private async killSessions(username: string): Promise<void> {
    try {
      const [rows] = await this.getPool().query('SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?', [username]);
      for (const row of rows as { ID: number }[]) {
        await this.getPool().query(`KILL CONNECTION ${Number(row.ID)}`).catch(() => undefined);
      }
    } catch {
      // without PROCESS privilege the user's sessions end on their own
    }
  }

  async newUser(req: NewUserRequest): Promise<NewUserResponse> {
    const statements = req.statements.filter((s) => s.trim() !== '');
    if (statements.length === 0) throw new DatabaseError('empty creation statements');
    const username = generateUsername(req, this.template);
    const vars = { name: username, username, password: req.password, expiration: formatExpiration(req.expiration) };
    try {
      await this.runStatements(statements, vars);
    } catch (err) {
      if (isServerError(err)) await this.rollback(username, req.rollbackStatements);
      throw toDatabaseError(err, { root: [this.rootPassword], generated: [req.password] }, 'failed to execute query', formatMySQLError);
    }
    return { username };
  }

  private async rollback(username: string, rollbackStatements: string[]): Promise<void> {
    const vars = { name: username, username };
    if (rollbackStatements.some((s) => s.trim() !== '')) {
      await this.runStatements(rollbackStatements, vars).catch(() => undefined);
    }
    try {
      if (await this.userExists(username)) {
        const [hosts] = await this.getPool().query('SELECT Host FROM mysql.user WHERE User = ?', [username]);
        for (const { Host } of hosts as { Host: string }[]) {
          await this.getPool().query('DROP USER ?@?', [username, Host]).catch(() => undefined);
        }
      }
    } catch {
      // best effort: the creation error is what the caller needs to see
    }
  }

  async updateUser(req: UpdateUserRequest): Promise<void> {
    if (!req.password && !req.expiration) throw new DatabaseError('no change requested');
    if (req.password) {
      if (!req.username || !req.password.newPassword) throw new DatabaseError('must provide both username and password');
      const statements = req.password.statements.some((s) => s.trim()) ? req.password.statements : [DEFAULT_ROTATE];
      const vars = { name: req.username, username: req.username, password: req.password.newPassword };
      try {
        await this.runStatements(statements, vars);
      } catch (err) {
        throw toDatabaseError(err, { root: [this.rootPassword], generated: [req.password.newPassword] }, 'failed to change password', formatMySQLError);
      }
    }
    // Expiration: MySQL users have no validity period; Vault's plugin treats renewal as a no-op too.
  }

  async deleteUser(req: DeleteUserRequest): Promise<void> {
    try {
      if (!(await this.userExists(req.username))) return;
      await this.killSessions(req.username);
      const statements = req.statements.filter((s) => s.trim() !== '');
      await this.runStatements(statements.length ? statements : [DEFAULT_REVOCATION], { name: req.username, username: req.username });
    } catch (err) {
      throw toDatabaseError(err, { root: [this.rootPassword] }, '', formatMySQLError);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.end().catch(() => undefined);
  }
}

const fields = {
  connection_url: z.string(),
  username: z.string(),
  password: z.string(),
  max_open_connections: int(),
  max_idle_connections: int(),
  max_connection_lifetime: duration(),
  username_template: z.string(),
  tls_certificate_key: z.string(),
  tls_ca: z.string(),
  tls_server_name: z.string(),
  tls_skip_verify: bool(),
};
const secretFields = ['password', 'private_key', 'tls_certificate_key'];

export const mysqlPlugin: PluginDefinition = {
  name: 'mysql-database-plugin',
  fields,
  secretFields,
  create: () => new MySQL(DEFAULT_USERNAME_TEMPLATE),
};

export const mysqlLegacyPlugins: PluginDefinition[] = ['mysql-legacy-database-plugin', 'mysql-rds-database-plugin', 'mysql-aurora-database-plugin']
  .map((name) => ({ name, fields, secretFields, create: () => new MySQL(LEGACY_USERNAME_TEMPLATE) }));
