/**
 * State shared by the database engine's path families: the stored records (connection configs, roles, static
 * roles), the open plugin instances (one pool per connection config), per-key locks and the mapping of plugin
 * errors onto Vault-style 400 answers.
 *
 * Storage layout inside the mount's view (encrypted underneath by the barrier):
 *   config/<name>        DatabaseConfig (connection details include the root password; never returned on read)
 *   role/<name>          RoleEntry (dynamic roles)
 *   static-role/<name>   StaticRoleEntry (includes the current password of the managed user)
 */
import { randomUUID } from 'node:crypto';
import { badRequest, CofferError } from '../../sdk/errors.js';
import type { StorageView } from '../../storage/view.js';
import { globMatch } from '../../shared/glob.js';
import { KeyedMutex } from '../../shared/mutex.js';
import { findPlugin } from './plugins/index.js';
import { type Database, sanitize } from './plugins/plugin.js';

// Moved to src/shared; re-exported for the engine's modules and tests.
export { globMatch, KeyedMutex };
export { NAME } from '../../sdk/records.js';

export const CONFIG_PREFIX = 'config/';
export const ROLE_PREFIX = 'role/';
export const STATIC_ROLE_PREFIX = 'static-role/';


export interface DatabaseConfig {
  plugin_name: string;
  plugin_version: string;
  /** Plugin-specific settings, password included. */
  connection_details: Record<string, unknown>;
  allowed_roles: string[];
  root_credentials_rotate_statements: string[];
  password_policy: string;
  verify_connection: boolean;
  /** Set while a root rotation is in flight: the new password, promoted once the database accepted it. */
  pending_root_password?: string;
}

export interface RoleEntry {
  db_name: string;
  creation_statements: string[];
  revocation_statements: string[];
  rollback_statements: string[];
  renew_statements: string[];
  /** Seconds; 0 = the mount's default lease TTL. */
  default_ttl: number;
  /** Seconds; 0 = the mount's max lease TTL. */
  max_ttl: number;
  /** Overrides the connection's username_template for this role ('' = the connection's). */
  username_template: string;
  credential_type: 'password';
}

export interface StaticRoleEntry {
  db_name: string;
  username: string;
  password: string;
  /** Seconds. */
  rotation_period: number;
  rotation_statements: string[];
  /** RFC 3339 time of the last successful rotation. */
  last_vault_rotation: string;
  credential_type: 'password';
  /** Set while a rotation is in flight (a crash leaves it; the role is then rotated again at start). */
  pending_password?: string;
}

export function isRoleAllowed(config: DatabaseConfig, role: string): boolean {
  return config.allowed_roles.some((pattern) => globMatch(pattern, role));
}

/** Any failure of a plugin call, as a 400 whose text is the database's own (secrets already redacted). */
export function dbFailure(err: unknown, secrets: (string | undefined)[] = [], generated: (string | undefined)[] = []): CofferError {
  if (err instanceof CofferError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return badRequest(sanitize(message || 'database error', secrets, generated));
}

class StaleInstance extends Error {}

/** One initialised plugin (one pool) for one connection config, closed once its in-flight calls are done. */
export class DbInstance {
  private active = 0;
  private waiters: (() => void)[] = [];
  private closing: Promise<void> | null = null;

  constructor(readonly name: string, readonly id: string, readonly pluginName: string, readonly db: Database) {}

  async use<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    if (this.closing) throw new StaleInstance();
    this.active++;
    try {
      return await fn(this.db);
    } finally {
      this.active--;
      if (this.active === 0) this.waiters.splice(0).forEach((resolve) => resolve());
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.active > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
      await this.db.close().catch(() => undefined);
    })();
    return this.closing;
  }
}

export class DatabaseContext {
  /** The mount's storage, for background work (static-role rotation); requests use their own req.storage. */
  storage: StorageView | null = null;
  readonly locks = new KeyedMutex();
  private readonly instances = new Map<string, DbInstance>();
  private readonly opening = new Map<string, Promise<DbInstance | null>>();
  /** Bumped whenever a name's instance is replaced or cleared, so that a lazy open racing it is discarded. */
  private readonly generation = new Map<string, number>();
  private closed = false;

  private bump(name: string): void {
    this.generation.set(name, (this.generation.get(name) ?? 0) + 1);
  }

  // ---- records -------------------------------------------------------------------------------------------

  readConfig(storage: StorageView, name: string): Promise<DatabaseConfig | null> {
    return storage.getJSON<DatabaseConfig>(CONFIG_PREFIX + name);
  }

  async requireConfig(storage: StorageView, name: string): Promise<DatabaseConfig> {
    const config = await this.readConfig(storage, name);
    if (!config) throw badRequest(`failed to find entry for connection with name: "${name}"`);
    return config;
  }

  writeConfig(storage: StorageView, name: string, config: DatabaseConfig): Promise<void> {
    return storage.putJSON(CONFIG_PREFIX + name, config);
  }

  readRole(storage: StorageView, name: string): Promise<RoleEntry | null> {
    return storage.getJSON<RoleEntry>(ROLE_PREFIX + name);
  }

  readStaticRole(storage: StorageView, name: string): Promise<StaticRoleEntry | null> {
    return storage.getJSON<StaticRoleEntry>(STATIC_ROLE_PREFIX + name);
  }

  // ---- connections ---------------------------------------------------------------------------------------

  /**
   * Creates and initialises a plugin instance for `config` (not registered). With `verify`, a wrong password or
   * an unreachable host fails here with the driver's message.
   */
  async openInstance(name: string, config: DatabaseConfig, verify: boolean): Promise<{ instance: DbInstance; details: Record<string, unknown> }> {
    const plugin = findPlugin(config.plugin_name);
    if (!plugin) throw badRequest(`plugin not found in the catalog: ${config.plugin_name}`);
    const db = plugin.create();
    try {
      const res = await db.initialize({ config: config.connection_details, verifyConnection: verify });
      return { instance: new DbInstance(name, randomUUID(), plugin.name, db), details: res.config };
    } catch (err) {
      await db.close().catch(() => undefined);
      throw dbFailure(err, [String(config.connection_details.password ?? '')]);
    }
  }

  /** The open instance for connection `name`, opening it (without verification, as Vault does) on first use. */
  private async instance(storage: StorageView, name: string): Promise<DbInstance> {
    for (;;) {
      const existing = this.instances.get(name);
      if (existing) return existing;
      let pending = this.opening.get(name);
      if (!pending) {
        const gen = this.generation.get(name) ?? 0;
        const opening: Promise<DbInstance | null> = (async () => {
          const config = await this.requireConfig(storage, name);
          const { instance } = await this.openInstance(name, config, false);
          if (this.closed) {
            await instance.close();
            throw new CofferError(503, 'database engine is shutting down');
          }
          if ((this.generation.get(name) ?? 0) !== gen || this.instances.has(name)) {
            // The config was rewritten (or an instance registered) while this one was opening: look again.
            await instance.close();
            return null;
          }
          this.instances.set(name, instance);
          return instance;
        })().finally(() => {
          if (this.opening.get(name) === opening) this.opening.delete(name);
        });
        this.opening.set(name, opening);
        pending = opening;
      }
      const instance = await pending;
      if (instance) return instance;
    }
  }

  /** Runs `fn` against connection `name`'s plugin; the instance is not closed while `fn` runs. */
  async withConnection<T>(storage: StorageView, name: string, fn: (db: Database, instance: DbInstance) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const instance = await this.instance(storage, name);
      try {
        return await instance.use((db) => fn(db, instance));
      } catch (err) {
        if (err instanceof StaleInstance && attempt < 3) continue;
        throw err;
      }
    }
  }

  /** Registers `instance` for `name`, closing the one it replaces. */
  async replaceConnection(name: string, instance: DbInstance): Promise<void> {
    const old = this.instances.get(name);
    this.bump(name);
    this.instances.set(name, instance);
    if (old && old !== instance) await old.close();
  }

  /** Closes and forgets the instance of `name` (config deleted, reset, root rotated). */
  async clearConnection(name: string, onlyId?: string): Promise<void> {
    const old = this.instances.get(name);
    this.bump(name);
    if (!old || (onlyId && old.id !== onlyId)) return;
    this.instances.delete(name);
    await old.close();
  }

  /** Closes every pool (mount disabled or core sealed). */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.opening.values()]);
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.close()));
  }

  reopen(): void {
    this.closed = false;
  }

  /** How many pools are open (tests and metrics). */
  get openConnections(): number {
    return this.instances.size;
  }
}
