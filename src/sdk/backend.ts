/**
 * The contract between the core and every secrets engine / auth method. An engine is data: a list of path
 * declarations (regex pattern, zod field schema, handler per operation, optional existence check). The router,
 * ACL, audit and lease code only ever see these declarations, never an engine's internals.
 */
import type { VaultAuth, WrapInfo } from '../shared/vault-types.js';
import type { z } from 'zod';
import type { StorageView } from '../storage/view.js';

export type Operation = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list';

/** A mount's `user_lockout_config` tuning, in seconds as stored. */
export interface LockoutTune {
  lockout_threshold?: number;
  lockout_duration?: number;
  lockout_counter_reset?: number;
  lockout_disable?: boolean;
}

export interface MountConfig {
  default_lease_ttl: number; // seconds, 0 = system default
  max_lease_ttl: number; // seconds, 0 = system max
  /** Auth mounts: Vault's `user_lockout_config` tuning (unset fields fall back to the server config). */
  user_lockout_config?: LockoutTune;
}

export interface MountInfo {
  /** Full mount path with trailing slash, e.g. `secret/` or `auth/token/`. */
  path: string;
  type: string;
  accessor: string;
  uuid: string;
  description: string;
  config: MountConfig;
  options: Record<string, string>;
}

/** Effective TTL limits for a mount (mount tuning falling back to the system defaults). */
export interface SystemView {
  defaultLeaseTTL(): number;
  maxLeaseTTL(): number;
}

/** Who is calling; engines rarely need it (the token backend does). */
export interface CallerInfo {
  /** HMAC id of the calling token (never the token itself), undefined for unauthenticated paths. */
  tokenId?: string;
  accessor?: string;
  policies: string[];
  displayName?: string;
  /** Whether the caller's policies grant sudo on the requested path. */
  sudo: boolean;
  /** The clear client token, only handed to the token backend (needed for *-self paths). */
  clientToken?: string;
  remoteAddr: string;
}

export interface Request<Data = Record<string, unknown>> {
  operation: Operation;
  /** Path relative to the mount, no leading slash. */
  path: string;
  /** Named groups captured by the matched pattern. */
  params: Record<string, string>;
  /** Body (or query for reads), validated by the path's `fields` schema when one is declared. */
  data: Data;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  storage: StorageView;
  mount: MountInfo;
  system: SystemView;
  caller: CallerInfo;
  requestId: string;
}

export interface SecretLease {
  ttl: number;
  renewable: boolean;
  /** Kept by the lease manager, handed back to the engine's revoke/renew. Never returned to clients. */
  internal?: Record<string, unknown>;
}

/** The `auth` block the core answers a login or token creation with. */
export interface AuthResult extends VaultAuth {
  mfa_requirement: null;
}

/** Token types a role may ask for: coffer issues service tokens only (see README), so these all mean `service`. */
export const SERVICE_TOKEN_TYPES = ['service', 'default', 'default-service'] as const;
export type LoginTokenType = (typeof SERVICE_TOKEN_TYPES)[number];

/**
 * What a successful login handler returns: the token it wants issued. The core creates it (an orphan token,
 * under the mount's TTL limits) and answers with Vault's `auth` block; auth methods never touch the token store.
 */
export interface LoginRequest {
  policies: string[];
  /** Leave out the `default` policy. */
  noDefaultPolicy: boolean;
  /** Seconds; 0 = the mount's default TTL. */
  ttl: number;
  /** Seconds; 0 = the mount's max TTL. Capped by the mount's max either way. */
  maxTTL: number;
  /** Seconds; a hard cap that survives renewals, 0 = none. */
  explicitMaxTTL: number;
  /** Seconds; > 0 makes the token periodic (renewable forever by `period`, unless explicitMaxTTL). */
  period: number;
  /** 0 = unlimited. */
  numUses: number;
  /** The token is refused when used from outside these blocks. */
  boundCidrs: string[];
  tokenType: LoginTokenType;
  metadata: Record<string, string>;
  /** Shown in token lookups after the mount path (`kubernetes-production-my-api`). */
  displayName: string;
  /** Role name, kept on the token (lookup `role`). */
  role?: string;
}

export type { WrapInfo };

export interface Response {
  data?: Record<string, unknown> | null;
  /** Set by an engine when the response carries a leased secret. */
  secret?: SecretLease;
  /** Set by the core once the lease manager registered `secret` (or by sys/leases/renew). */
  lease?: { id: string; duration: number; renewable: boolean };
  auth?: AuthResult;
  /** Set by a login handler; the core turns it into `auth` (never both). */
  login?: LoginRequest;
  warnings?: string[];
  /** Overrides the HTTP status (KV v2 answers 404 with metadata for a deleted version). */
  status?: number;
  /** Old sys endpoints also repeat `data`'s keys at the top level of the envelope (Vault does, clients rely on it). */
  legacyTopLevel?: boolean;
  /** Set once the response has been wrapped: the envelope then carries only this (and warnings). */
  wrapInfo?: WrapInfo;
  /** Non-JSON bodies (PEM, raw), or JSON that is not wrapped in the envelope (`sys/health`, `sys/seal-status`). */
  raw?: { status: number; contentType: string; body: Buffer | string };
}

/** A handler of a path whose validated request data has type `Data`. */
export type Handler<Data = Record<string, unknown>> = (req: Request<Data>) => Promise<Response | null | void>;

/** The schema of a path that declares none: its data is the raw map (query parameters, or a free-form body). */
export type AnyFields = z.ZodType<Record<string, unknown>>;

/**
 * A path declaration, generic over its field schema `F`: its handlers receive `F`'s output as `req.data`. A
 * backend's table holds paths of many schemas (`PathSpec` without an argument); declare a typed one with `declarePath()`.
 */
export interface PathSpec<F extends z.ZodType = AnyFields> {
  /** Regex source matched against the whole mount-relative path (anchored by the router). */
  pattern: string;
  /**
   * Validation of `data`; a failure is a 400 naming the field. A path without one takes no fields: a write naming
   * any is refused, unless the path is `freeForm`.
   */
  fields?: F;
  /** The body is the caller's own map (KV v1 secrets), not fields of the path: nothing is validated or refused. */
  freeForm?: boolean;
  operations: Partial<Record<Operation, Handler<z.output<F>>>>;
  /** For create vs update: POST/PUT is `create` when this says the target does not exist. */
  existenceCheck?: (req: Request<z.output<F>>) => Promise<boolean>;
  /** Paths callable without a token (logins). */
  unauthenticated?: boolean;
  /** Paths requiring `sudo` in addition to the operation's capability (Vault's root-protected paths). */
  sudo?: boolean;
  /** `sys/` paths served while sealed (init, unseal, seal status, health, leader); they are unauthenticated too. */
  servedSealed?: boolean;
  /**
   * Paths that need a valid token but decide access themselves from the caller's policies instead of an ACL
   * grant on the path (Vault's `sys/internal/ui/mounts`, which any token may ask about mounts it can use).
   */
  aclInHandler?: boolean;
  /**
   * Login paths: who the request claims to be, from its data before any check (a role ID, a role and
   * subject), for the user lockout. Unverified by nature: it only chooses which failure count applies.
   */
  lockoutIdentity?: (data: Record<string, unknown>) => string | null;
  help?: string;
}

/**
 * The server's logger (pino underneath), by level. Engines log what happens outside any request (background
 * rotation, recovery at unseal) and would otherwise go unseen; never a secret value or a token.
 */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** What a backend receives when its mount is set up. */
export interface InitializeContext {
  /** The mount's own storage (its data prefix behind the barrier). */
  storage: StorageView;
  mount: MountInfo;
  logger: Logger;
  /** The mount's TTL limits. */
  system: SystemView;
}

/**
 * A typed path declaration as an entry of a backend's table. The core validates a request's data with the path's
 * own `fields` before any handler or existence check runs, so each handler does receive `F`'s output; the table
 * cannot say so per entry, hence this one widening.
 */
export function declarePath<F extends z.ZodType = AnyFields>(spec: PathSpec<F>): PathSpec {
  return spec as unknown as PathSpec;
}

export interface Backend {
  paths: PathSpec[];
  /** Called once when the mount is set up (at enable and at unseal). */
  initialize?(ctx: InitializeContext): Promise<void>;
  /** Called when the mount is disabled or the core seals. */
  cleanup?(): Promise<void>;
  /** Revokes a leased secret this engine issued (used by the lease manager). */
  revoke?(req: Request, internal: Record<string, unknown>): Promise<void>;
  /** Renews a leased secret; returns the new lease. */
  renew?(req: Request, internal: Record<string, unknown>): Promise<SecretLease>;
}

export interface BackendFactory {
  type: string;
  /** `options` from the mount entry (e.g. `{version: "2"}` for kv). */
  create(options: Record<string, string>): Backend;
  /**
   * The engine's rules for a new mount, called before it is enabled: checks its options (a 400 naming what is
   * wrong) and may give the type and options to store instead (KV's `kv-v2` is a `kv` mount with version 2).
   */
  validateMount?(options: Record<string, string>): { type: string; options: Record<string, string> };
}

/** A JSON body sent as-is, outside the envelope. */
export function bareJson(body: unknown, status = 200): Response {
  return { raw: { status, contentType: 'application/json', body: JSON.stringify(body) } };
}
