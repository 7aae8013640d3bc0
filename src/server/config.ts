/**
 * The server configuration file, in Vault's shape (HCL or JSON):
 *   listener "tcp" { address, tls_disable, tls_cert_file, tls_key_file, max_request_size, max_json_depth,
 *                    http_read_header_timeout }
 *   storage "sqlite" { path }
 *   storage "postgresql" { connection_url, table, max_parallel, ha_enabled, ha_table, connect_attempts }
 *   user_lockout "all" | "<method type>" { lockout_threshold, lockout_duration, lockout_counter_reset, disable_lockout }
 *   api_addr, default_lease_ttl, max_lease_ttl, ui, disable_mlock, log_level, login_failure_limit, login_failure_window
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { cidrList } from '../sdk/cidr.js';
import { parseDuration } from '../sdk/duration.js';
import type { LockoutSettings, LockoutStanzas } from '../core/login/lockout.js';
import type { ForwardedForConfig } from './forwarded.js';
import { DEFAULT_PG_TABLE } from '../storage/postgresql.js';
import type { StorageConfig } from '../storage/open.js';

export type { StorageConfig };

export interface ListenerConfig {
  address: string;
  tlsDisable: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  maxRequestSize: number;
  /** Vault's `max_json_depth`: deeper request bodies are refused with 400 (default 500). */
  maxJsonDepth?: number;
  /** Vault's `http_read_header_timeout` in ms: connections without complete headers by then are closed (10 s). */
  readHeaderTimeoutMs?: number;
  /** Vault's `x_forwarded_for_*` options; unset: the header is ignored. */
  forwardedFor?: ForwardedForConfig;
}

export interface ServerConfig {
  listeners: ListenerConfig[];
  storage: StorageConfig;
  apiAddr?: string;
  defaultLeaseTTL: number;
  maxLeaseTTL: number;
  ui: boolean;
  logLevel: string;
  /** Failed logins allowed per remote address and window before 429 (defaults: 100 per 15 minutes). */
  loginRateLimit?: { maxFailures?: number; windowMs?: number };
  /** `user_lockout "all"` / `user_lockout "<method type>"` stanzas. */
  userLockout?: LockoutStanzas;
}

export const DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 500;
export const DEFAULT_READ_HEADER_TIMEOUT_MS = 10_000;
const DEFAULT_TTL = 768 * 3600;

export class ConfigError extends Error {}

const boolish = z.union([z.boolean(), z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  const s = v.toLowerCase();
  if (['true', '1', 't'].includes(s)) return true;
  if (['false', '0', 'f', ''].includes(s)) return false;
  ctx.addIssue({ code: 'custom', message: `expected a boolean, got "${v.slice(0, 20)}"` });
  return z.NEVER;
});

const listenerSchema = z
  .object({
    address: z.string().default('127.0.0.1:8200'),
    tls_disable: boolish.optional(),
    tls_cert_file: z.string().optional(),
    tls_key_file: z.string().optional(),
    max_request_size: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
    max_json_depth: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/)]).optional(),
    http_read_header_timeout: z.union([z.number(), z.string()]).optional(),
    x_forwarded_for_authorized_addrs: cidrList().optional(),
    x_forwarded_for_hop_skips: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).optional(),
    x_forwarded_for_reject_not_authorized: boolish.optional(),
    x_forwarded_for_reject_not_present: boolish.optional(),
  })
  .passthrough();

const durationField = z.union([z.number(), z.string()]).optional();

/** A `user_lockout` stanza, with Vault's names (numbers and booleans may be strings, as in Vault's examples). */
const lockoutSchema = z
  .object({
    lockout_threshold: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/)]).optional(),
    lockout_duration: durationField,
    lockout_counter_reset: durationField,
    disable_lockout: boolish.optional(),
  })
  .strict();

/** Where `user_lockout` stanzas may apply: every method, or one of coffer's login methods by type. */
const LOCKOUT_TARGETS = ['all', 'approle', 'kubernetes', 'jwt', 'oidc'];

const fileSchema = z
  .object({
    listener: z.record(z.string(), z.array(listenerSchema)).optional(),
    storage: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).optional(),
    api_addr: z.string().optional(),
    cluster_addr: z.string().optional(),
    default_lease_ttl: durationField,
    max_lease_ttl: durationField,
    ui: boolish.optional(),
    disable_mlock: boolish.optional(),
    log_level: z.string().optional(),
    login_failure_limit: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/)]).optional(),
    login_failure_window: durationField,
    user_lockout: z.record(z.string(), z.array(z.lazy(() => lockoutSchema))).optional(),
  })
  .passthrough();

/** HCL and JSON configs normalise to the same block-list form: `{listener: {tcp: [{...}]}}`. */
function normaliseJson(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const block of ['listener', 'storage', 'user_lockout', 'storage_source', 'storage_destination']) {
    const value = raw[block];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      out[block] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
      );
    }
  }
  return out;
}

/** `http_read_header_timeout`: a Go duration (`500ms` too) or seconds; 0 is refused (Node would never close). */
function readHeaderTimeout(value: unknown, where: string): number {
  if (value === undefined) return DEFAULT_READ_HEADER_TIMEOUT_MS;
  const ms = typeof value === 'string' && /^\d+ms$/.test(value.trim()) ? parseInt(value, 10) : (parseDurationOrNull(value) ?? NaN) * 1000;
  if (!Number.isFinite(ms) || ms <= 0) throw new ConfigError(`${where}: http_read_header_timeout must be a positive duration such as "10s"`);
  return ms;
}

function parseDurationOrNull(value: unknown): number | null {
  try {
    return parseDuration(value, 'http_read_header_timeout') ?? null;
  } catch {
    return null;
  }
}

/** The config text (HCL, or JSON) as blocks: `{listener: {tcp: [{...}]}, storage: {sqlite: [{...}]}, ...}`. */
async function readConfigObject(text: string, filename: string): Promise<Record<string, unknown>> {
  if (filename.endsWith('.json') || text.trimStart().startsWith('{')) {
    try {
      return normaliseJson(JSON.parse(text) as Record<string, unknown>);
    } catch {
      throw new ConfigError(`${filename}: invalid JSON`);
    }
  }
  const { parse } = await import('@cdktf/hcl2json');
  try {
    return (await parse(filename, text)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${filename}: ${(err as Error).message}`);
  }
}

export async function parseConfigText(text: string, filename: string): Promise<ServerConfig> {
  const raw = await readConfigObject(text, filename);
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${filename}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  const c = parsed.data;

  const listeners: ListenerConfig[] = [];
  for (const [type, blocks] of Object.entries(c.listener ?? {})) {
    if (type !== 'tcp') throw new ConfigError(`${filename}: listener "${type}" is not supported (only "tcp")`);
    for (const l of blocks) {
      const tlsDisable = l.tls_disable ?? false;
      if (!tlsDisable && (!l.tls_cert_file || !l.tls_key_file)) {
        throw new ConfigError(`${filename}: listener "tcp" at ${l.address}: tls_cert_file and tls_key_file are required unless tls_disable = true`);
      }
      listeners.push({
        address: l.address,
        tlsDisable,
        tlsCertFile: l.tls_cert_file,
        tlsKeyFile: l.tls_key_file,
        maxRequestSize: l.max_request_size !== undefined ? Number(l.max_request_size) : DEFAULT_MAX_REQUEST_SIZE,
        maxJsonDepth: l.max_json_depth !== undefined ? Number(l.max_json_depth) : DEFAULT_MAX_JSON_DEPTH,
        readHeaderTimeoutMs: readHeaderTimeout(l.http_read_header_timeout, `${filename}: listener "tcp" at ${l.address}`),
        forwardedFor: l.x_forwarded_for_authorized_addrs?.length
          ? {
              authorizedAddrs: l.x_forwarded_for_authorized_addrs,
              hopSkips: Number(l.x_forwarded_for_hop_skips ?? 0),
              rejectNotAuthorized: l.x_forwarded_for_reject_not_authorized ?? true,
              rejectNotPresent: l.x_forwarded_for_reject_not_present ?? true,
            }
          : undefined,
      });
    }
  }
  if (listeners.length === 0) throw new ConfigError(`${filename}: at least one listener "tcp" block is required`);

  const storageBlocks = Object.entries(c.storage ?? {});
  if (storageBlocks.length !== 1 || storageBlocks[0][1].length !== 1) {
    throw new ConfigError(`${filename}: exactly one storage block is required`);
  }
  const [storageType, [storageOptions]] = storageBlocks[0];
  const storage = parseStorageStanza(storageType, storageOptions, `${filename}: storage "${storageType}"`);

  const ttl = (v: unknown, name: string, fallback: number) => {
    try {
      return parseDuration(v, name) ?? fallback;
    } catch {
      throw new ConfigError(`${filename}: invalid duration for ${name}`);
    }
  };
  const defaultLeaseTTL = ttl(c.default_lease_ttl, 'default_lease_ttl', DEFAULT_TTL);
  const maxLeaseTTL = ttl(c.max_lease_ttl, 'max_lease_ttl', DEFAULT_TTL);
  if (defaultLeaseTTL > maxLeaseTTL) throw new ConfigError(`${filename}: default_lease_ttl is greater than max_lease_ttl`);

  const window = ttl(c.login_failure_window, 'login_failure_window', 15 * 60);
  if (window < 1) throw new ConfigError(`${filename}: login_failure_window must be at least 1s`);

  return {
    listeners,
    storage,
    loginRateLimit: { maxFailures: c.login_failure_limit !== undefined ? Number(c.login_failure_limit) : undefined, windowMs: window * 1000 },
    userLockout: lockoutStanzas(c.user_lockout ?? {}, filename, ttl),
    apiAddr: c.api_addr,
    defaultLeaseTTL,
    maxLeaseTTL,
    ui: c.ui ?? false,
    logLevel: c.log_level ?? 'info',
  };
}

/** PostgreSQL identifiers coffer will put into SQL: plain names only (optionally schema-qualified). */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/, 'must be a plain SQL name (letters, digits, _; optionally schema.name)');
const positiveInt = z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, 'must be a positive integer')]).transform(Number);

/** Vault's keys for `storage "postgresql"` (values may be strings, as in Vault's examples). */
const postgresSchema = z
  .object({
    connection_url: z.string().min(1).optional(),
    table: identifier.optional(),
    max_parallel: positiveInt.optional(),
    ha_enabled: boolish.optional(),
    ha_table: identifier.optional(),
    connect_attempts: positiveInt.optional(),
  })
  .strict();

/**
 * One storage stanza (`storage`, `storage_source`, `storage_destination`). `where` names it in errors. The
 * PostgreSQL URL may come from the environment, as in Vault: COFFER_PG_CONNECTION_URL, then VAULT_PG_CONNECTION_URL.
 */
export function parseStorageStanza(type: string, options: Record<string, unknown>, where: string, env = process.env): StorageConfig {
  if (type === 'sqlite') {
    const path = options.path;
    if (typeof path !== 'string' || !path) throw new ConfigError(`${where} needs a path`);
    return { type: 'sqlite', path };
  }
  if (type !== 'postgresql') throw new ConfigError(`${where} is not supported (available: sqlite, postgresql)`);
  const parsed = postgresSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'options');
    throw new ConfigError(`${where}: ${key}: ${issue.message}`);
  }
  const o = parsed.data;
  const connectionUrl = o.connection_url ?? env.COFFER_PG_CONNECTION_URL ?? env.VAULT_PG_CONNECTION_URL;
  if (!connectionUrl) throw new ConfigError(`${where} needs connection_url (or COFFER_PG_CONNECTION_URL / VAULT_PG_CONNECTION_URL in the environment)`);
  if (!/^postgres(ql)?:\/\//.test(connectionUrl)) throw new ConfigError(`${where}: connection_url must be a postgres:// or postgresql:// URL`);
  // Refused rather than ignored: a node configured for HA must not silently run as a lone active.
  if (o.ha_enabled) throw new ConfigError(`${where}: ha_enabled = "true" is not available yet in coffer (HA election is not implemented); remove it or set it to "false"`);
  return {
    type: 'postgresql',
    connectionUrl,
    table: o.table ?? DEFAULT_PG_TABLE,
    maxParallel: o.max_parallel,
    haEnabled: false,
    haTable: o.ha_table,
    connectAttempts: o.connect_attempts,
  };
}

function lockoutStanzas(
  raw: Record<string, z.infer<typeof lockoutSchema>[]>,
  filename: string,
  ttl: (v: unknown, name: string, fallback: number) => number,
): LockoutStanzas {
  const out: LockoutStanzas = {};
  for (const [target, blocks] of Object.entries(raw)) {
    if (!LOCKOUT_TARGETS.includes(target)) throw new ConfigError(`${filename}: user_lockout "${target}" is not supported (one of ${LOCKOUT_TARGETS.join(', ')})`);
    if (blocks.length !== 1) throw new ConfigError(`${filename}: user_lockout "${target}" is given more than once`);
    const b = blocks[0];
    const settings: Partial<LockoutSettings> = {};
    if (b.lockout_threshold !== undefined) settings.threshold = Number(b.lockout_threshold);
    if (b.lockout_duration !== undefined) settings.durationMs = ttl(b.lockout_duration, 'lockout_duration', 0) * 1000;
    if (b.lockout_counter_reset !== undefined) settings.counterResetMs = ttl(b.lockout_counter_reset, 'lockout_counter_reset', 0) * 1000;
    if (b.disable_lockout !== undefined) settings.disabled = b.disable_lockout;
    out[target] = settings;
  }
  return out;
}

async function readConfigFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export async function loadConfig(file: string): Promise<ServerConfig> {
  return parseConfigText(await readConfigFile(file), file);
}

export interface MigrateConfig {
  source: StorageConfig;
  destination: StorageConfig;
}

const storageBlocksSchema = z.record(z.string(), z.array(z.record(z.string(), z.unknown())));

/** `operator migrate`'s file: exactly one `storage_source` and one `storage_destination` stanza, as in Vault. */
export async function loadMigrateConfig(file: string): Promise<MigrateConfig> {
  const raw = await readConfigObject(await readConfigFile(file), file);
  const stanza = (name: 'storage_source' | 'storage_destination'): StorageConfig => {
    const blocks = storageBlocksSchema.safeParse(raw[name] ?? {});
    const entries = blocks.success ? Object.entries(blocks.data) : [];
    if (entries.length !== 1 || entries[0][1].length !== 1) throw new ConfigError(`${file}: exactly one ${name} block is required`);
    const [type, [options]] = entries[0];
    return parseStorageStanza(type, options, `${file}: ${name} "${type}"`);
  };
  return { source: stanza('storage_source'), destination: stanza('storage_destination') };
}

/** Where the storage lives, for banners and log lines (never the connection URL: it may hold a password). */
export function describeStorage(config: StorageConfig): string {
  if (config.type === 'sqlite') return config.path;
  let where = 'PostgreSQL';
  try {
    const url = new URL(config.connectionUrl);
    where = `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    // the URL was checked at start; keep the generic name
  }
  return `${where}, table ${config.table}`;
}
