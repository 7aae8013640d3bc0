/**
 * `redis-database-plugin`: Redis 6+ ACL users through ioredis, one connection per configured database (Redis
 * multiplexes commands on it; it is re-opened on demand after it drops).
 *
 * As Vault's plugin: the connection is `host`, `port`, `username`, `password`, `tls`, `insecure_tls`, `ca_cert`;
 * creation_statements is a JSON list of ACL rules (`["~*", "+@read"]`, the default), applied in one atomic
 * `ACL SETUSER <user> ON ><password> <rules...>`; revocation is `ACL DELUSER` (which also disconnects the user's
 * clients); a password change is `ACL SETUSER <user> RESETPASS ><password>`; expiration is a no-op.
 * Usernames default to Vault's `V_<DISPLAY>_<ROLE>_<RANDOM>_<UNIXTIME>` in upper case.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { bool, int } from '../../../../sdk/fields.js';
import { UsernameTemplate, validateUsernameTemplate } from '../../username.js';
import {
  type Database,
  generateUsername,
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
  '{{ printf "V_%s_%s_%s_%s" (.DisplayName | truncate 64) (.RoleName | truncate 64) (random 20) (unix_time) | truncate 100 | uppercase }}';
export const DEFAULT_ACL_RULES = ['~*', '+@read'];
const CONNECT_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 20_000;

/** Parses the creation statements: a JSON list of rules in the first entry, or the entries themselves as rules. */
export function aclRules(statements: string[]): string[] {
  const list = statements.map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) return DEFAULT_ACL_RULES;
  try {
    const parsed: unknown = JSON.parse(list[0]);
    if (Array.isArray(parsed) && parsed.every((r) => typeof r === 'string')) return parsed as string[];
    if (typeof parsed === 'string') return [parsed];
  } catch {
    // not JSON: the statements are the rules
  }
  return list;
}

class RedisDB implements Database {
  private options: RedisOptions | null = null;
  private client: Redis | null = null;
  private connecting: Promise<Redis> | null = null;
  private template = new UsernameTemplate(DEFAULT_USERNAME_TEMPLATE);
  private rootPassword = '';

  async initialize(req: InitializeRequest): Promise<InitializeResponse> {
    const details = req.config;
    const host = str(details, 'host');
    const port = num(details, 'port', 0);
    const username = str(details, 'username');
    const password = str(details, 'password');
    if (!host) throw new DatabaseError('host cannot be empty');
    if (!port) throw new DatabaseError('port cannot be empty');
    if (!username) throw new DatabaseError('username cannot be empty');
    if (!password) throw new DatabaseError('password cannot be empty');
    const tls = flag(details, 'tls');
    const caCert = str(details, 'ca_cert');
    if (tls && !caCert) throw new DatabaseError('ca_cert cannot be empty');
    try {
      this.template = validateUsernameTemplate(str(details, 'username_template') || DEFAULT_USERNAME_TEMPLATE);
    } catch (err) {
      throw new DatabaseError(`unable to initialize username template: ${(err as Error).message}`);
    }
    this.rootPassword = password;
    this.options = {
      host,
      port,
      username,
      password,
      tls: tls ? { ca: caCert, rejectUnauthorized: !flag(details, 'insecure_tls') } : undefined,
      lazyConnect: true,
      // The ready check runs INFO, which a least-privilege admin user may not be allowed to run.
      enableReadyCheck: false,
      // Fail fast instead of queueing: a revocation against a database that is down must throw, not hang.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
    };
    if (req.verifyConnection) {
      try {
        await (await this.connection()).ping();
      } catch (err) {
        await this.close();
        throw toDatabaseError(err, { root: [password] }, 'error verifying connection');
      }
    }
    return { config: details };
  }

  /** The live connection, opened (or re-opened after it dropped) on demand. */
  private async connection(): Promise<Redis> {
    if (!this.options) throw new DatabaseError('plugin is not initialized');
    if (this.client && this.client.status === 'ready') return this.client;
    if (this.connecting) return this.connecting;
    const client = new Redis(this.options);
    let lastError: Error | undefined;
    // ioredis reports the real cause (WRONGPASS, ECONNREFUSED) as an 'error' event; connect() only says "closed".
    client.on('error', (err: Error) => (lastError = err));
    this.connecting = client.connect().then(
      () => {
        this.client?.disconnect();
        this.client = client;
        return client;
      },
      (err: unknown) => {
        client.disconnect();
        throw lastError ?? err;
      },
    ).finally(() => (this.connecting = null));
    return this.connecting;
  }

  async newUser(req: NewUserRequest): Promise<NewUserResponse> {
    const username = generateUsername(req, this.template, (name) => {
      if (/\s/.test(name)) throw new Error('Redis user names cannot contain spaces');
    });
    const rules = aclRules(req.statements);
    const secrets = { root: [this.rootPassword], generated: [req.password] };
    try {
      const client = await this.connection();
      // SETUSER would silently amend an existing user (a username_template without randomness): refuse instead.
      if ((await client.call('ACL', 'GETUSER', username)) !== null) {
        throw new DatabaseError(`user "${username}" already exists`);
      }
      // ACL SETUSER applies all rules or none, so a bad rule leaves no user behind.
      await client.call('ACL', 'SETUSER', username, 'ON', `>${req.password}`, ...rules);
    } catch (err) {
      if (err instanceof DatabaseError) throw err;
      const error = toDatabaseError(err, secrets);
      try {
        const client = await this.connection();
        await client.call('ACL', 'DELUSER', username);
      } catch {
        // best effort
      }
      throw error;
    }
    return { username };
  }

  async updateUser(req: UpdateUserRequest): Promise<void> {
    if (!req.password) return; // expiration: Redis ACL users have none
    const { newPassword } = req.password;
    try {
      const client = await this.connection();
      const user = await client.call('ACL', 'GETUSER', req.username);
      if (user === null) throw new DatabaseError(`changeUserPassword for user ${req.username} failed: user not found`);
      await client.call('ACL', 'SETUSER', req.username, 'RESETPASS', `>${newPassword}`);
    } catch (err) {
      throw toDatabaseError(err, { root: [this.rootPassword], generated: [newPassword] });
    }
  }

  async deleteUser(req: DeleteUserRequest): Promise<void> {
    try {
      const client = await this.connection();
      // Returns 0 for a user that is already gone: revocation is idempotent.
      await client.call('ACL', 'DELUSER', req.username);
    } catch (err) {
      throw toDatabaseError(err, { root: [this.rootPassword] });
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    const pending = this.connecting;
    if (pending) await pending.then((c) => c.disconnect(), () => undefined);
    if (client) {
      await client.quit().catch(() => undefined);
      client.disconnect();
    }
  }
}

export const redisPlugin: PluginDefinition = {
  name: 'redis-database-plugin',
  fields: {
    host: z.string(),
    port: int(),
    username: z.string(),
    password: z.string(),
    tls: bool(),
    insecure_tls: bool(),
    ca_cert: z.string(),
    username_template: z.string(),
  },
  secretFields: ['password'],
  create: () => new RedisDB(),
};
