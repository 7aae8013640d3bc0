/**
 * The database plugin contract: the same four calls as Vault's dbplugin v5 (Initialize, NewUser, UpdateUser,
 * DeleteUser) plus close(). The engine never speaks SQL or RESP itself; PostgreSQL, MySQL/MariaDB and Redis each
 * implement this in their own folder.
 *
 * Errors: a plugin throws DatabaseError whose message is the database's own text (driver message, SQLSTATE) with
 * every secret it knows (root password, the password being set) already replaced by "[password]".
 */
import { z } from 'zod';
import { checkGeneratedUsername, UsernameTemplate } from '../username.js';

export interface UsernameConfig {
  displayName: string;
  roleName: string;
}

export interface InitializeRequest {
  /** The stored connection details (plugin-specific keys: connection_url, username, password, host, ...). */
  config: Record<string, unknown>;
  /** Open a connection now and fail on a wrong password or unreachable host. */
  verifyConnection: boolean;
}

export interface InitializeResponse {
  /** The connection details to store (a plugin may normalise them). */
  config: Record<string, unknown>;
}

export interface NewUserRequest {
  usernameConfig: UsernameConfig;
  /** A role's own username_template; overrides the connection's. */
  usernameTemplate?: string;
  /** Creation statements (plugin syntax); empty means the plugin's default where it has one. */
  statements: string[];
  /** Run when a creation statement fails, before the plugin makes sure the user does not exist. */
  rollbackStatements: string[];
  password: string;
  expiration: Date;
}

export interface NewUserResponse {
  username: string;
}

export interface UpdateUserRequest {
  username: string;
  password?: { newPassword: string; statements: string[] };
  expiration?: { newExpiration: Date; statements: string[] };
}

export interface DeleteUserRequest {
  username: string;
  /** Revocation statements; empty means the plugin's default (drop the user). */
  statements: string[];
}

export interface Database {
  initialize(req: InitializeRequest): Promise<InitializeResponse>;
  /** Creates a user; on failure leaves no user behind and throws DatabaseError. */
  newUser(req: NewUserRequest): Promise<NewUserResponse>;
  /** Changes a user's password and/or expiration. */
  updateUser(req: UpdateUserRequest): Promise<void>;
  /** Removes a user. Succeeds when the user does not exist; throws when the database cannot be reached. */
  deleteUser(req: DeleteUserRequest): Promise<void>;
  /** Closes every connection this instance holds. */
  close(): Promise<void>;
}

export interface PluginDefinition {
  name: string;
  /** Connection-detail fields this plugin accepts on `config/:name` (validated by the engine). */
  fields: Record<string, z.ZodType>;
  /** Connection-detail keys that are never returned when a config is read. */
  secretFields: string[];
  create(): Database;
}

/** An error from the database or its driver, already free of secrets. */
export class DatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseError';
  }
}

const MIN_FRAGMENT = 6;

/**
 * Replaces secrets in `message` with "[password]": every occurrence of each of `secrets` (root passwords), and
 * for `generated` passwords (the ones coffer puts into statements) also every fragment of six characters or
 * more, because database errors quote the statement near the failure ("... near 'xyz' at line 1") and may cut
 * it at either end. Fragments are only checked for generated passwords: a chosen root password such as
 * "postgres1" would otherwise redact the user name in "password authentication failed for user postgres".
 */
export function sanitize(message: string, secrets: (string | undefined | null)[], generated: (string | undefined | null)[] = []): string {
  let out = message;
  const clean = (list: (string | undefined | null)[]) =>
    [...new Set(list.filter((s): s is string => typeof s === 'string' && s.length >= 3))].sort((a, b) => b.length - a.length);
  for (const secret of clean([...secrets, ...generated])) out = out.split(secret).join('[password]');
  for (const secret of clean(generated)) {
    for (let len = secret.length - 1; len >= MIN_FRAGMENT; len--) {
      for (let start = 0; start + len <= secret.length; start++) {
        const fragment = secret.slice(start, start + len);
        if (out.includes(fragment)) out = out.split(fragment).join('[password]');
      }
    }
  }
  return out;
}

/** Wraps anything thrown by a driver into a DatabaseError with a sanitised message. */
export function toDatabaseError(
  err: unknown,
  secrets: { root?: (string | undefined | null)[]; generated?: (string | undefined | null)[] },
  prefix = '',
  format?: (err: unknown) => string,
): DatabaseError {
  if (err instanceof DatabaseError && !prefix) return new DatabaseError(sanitize(err.message, secrets.root ?? [], secrets.generated ?? []));
  const text = format ? format(err) : err instanceof Error ? err.message : String(err);
  const message = (text && text.trim()) || (err as { code?: string })?.code || 'unknown database error';
  return new DatabaseError(sanitize(prefix ? `${prefix}: ${message}` : message, secrets.root ?? [], secrets.generated ?? []));
}

// ---------------------------------------------------------------------------------------------------------
// Reading connection details, which arrive already validated by the engine's field schemas.

export const str = (config: Record<string, unknown>, key: string): string => {
  const v = config[key];
  return v === undefined || v === null ? '' : String(v);
};

export const num = (config: Record<string, unknown>, key: string, fallback = 0): number => {
  const v = config[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return parseInt(v, 10);
  return fallback;
};

export const flag = (config: Record<string, unknown>, key: string): boolean => {
  const v = config[key];
  return v === true || v === 'true' || v === '1' || v === 1;
};

/** Vault's guard: the root username/password must not themselves contain URL placeholders. */
export function checkNoPlaceholders(username: string, password: string): void {
  if ([username, password].some((v) => v.includes('{{username}}') || v.includes('{{password}}'))) {
    throw new DatabaseError('username and/or password cannot contain the template variables');
  }
}

/**
 * The username for a new credential: the role's `username_template` when it has one, else the plugin's default
 * template. A template that fails or yields an unusable name is a DatabaseError.
 */
export function generateUsername(req: NewUserRequest, pluginDefault: UsernameTemplate, check?: (name: string) => void): string {
  try {
    const template = req.usernameTemplate ? new UsernameTemplate(req.usernameTemplate) : pluginDefault;
    const username = template.generate({ DisplayName: req.usernameConfig.displayName, RoleName: req.usernameConfig.roleName });
    checkGeneratedUsername(username);
    check?.(username);
    return username;
  } catch (err) {
    throw new DatabaseError(`unable to generate username: ${(err as Error).message}`);
  }
}
