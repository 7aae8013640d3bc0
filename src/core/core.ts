/**
 * The core: everything between HTTP and the engines. It owns the seal and barrier, the mount table, tokens,
 * policies and audit, and runs the request pipeline of DESIGN.md:
 *   sealed? → path + operation → mount → token → ACL (+ sudo) → use count → audit request → handler →
 *   audit response → Vault envelope.
 * The HTTP layer (src/server/http.ts) only turns sockets into `CoreRequest`s and `CoreResponse`s back.
 */
import { randomUUID } from 'node:crypto';
import { StorageUnavailableError, type PhysicalBackend } from '../storage/types.js';
import { StorageView } from '../storage/view.js';
import { AuditBroker, type AuditRequestInput } from './audit/broker.js';
import type { Backend, BackendFactory, CallerInfo, Logger, Operation, Request, Response, SystemView } from '../sdk/backend.js';
import { destroyCubbyhole } from '../sdk/cubbyhole.js';
import { Barrier } from './barrier.js';
import { CofferError, badRequest, loggableMessage, permissionDenied, sealedError } from '../sdk/errors.js';
import { addressAllowed } from '../sdk/cidr.js';
import { LeaseManager } from './leases/manager.js';
import { issueLoginToken } from './login/issue.js';
import { effectiveLockout, UserLockout, type LockoutSettings, type LockoutStanzas } from './login/lockout.js';
import { LoginRateLimiter, type LoginRateLimitOptions } from './login/ratelimit.js';
import { MountTable, type MountEntry } from './mounts.js';
import { PolicyStore } from './policies.js';
import { dispatch, matchPath, resolveWriteOperation } from './router.js';
import { Seal } from './seal.js';
import { systemBackend } from './sys/index.js';
import { tokenBackend } from './tokens/backend.js';
import { tokenFromHeaders } from './tokens/header.js';
import { TokenStore, type TokenEntry } from './tokens/store.js';
import { ResponseWrapper, WRAPPING_TOKEN_PATHS, rawToStored, requestedWrapTTL } from './wrapping/wrap.js';

export interface CoreOptions {
  storage: PhysicalBackend;
  storageType: string;
  /** System default and max lease TTL in seconds (Vault: 768h each). */
  defaultLeaseTTL?: number;
  maxLeaseTTL?: number;
  /** Secrets engines mounted on first unseal (dev mode mounts `secret/` as kv v2). */
  initialMounts?: { path: string; type: string; options: Record<string, string>; description: string }[];
  logger?: Logger;
  /**
   * The mountable secrets engines and auth methods, and the always-mounted `cubbyhole/` engine. The server passes
   * them in (src/server/server.ts), so the core depends on the engine toolkit only, never on an engine.
   */
  secretEngines: BackendFactory[];
  authMethods: BackendFactory[];
  cubbyhole: BackendFactory;
  version?: string;
  /** Failed-login ceiling per remote address (429 past it), well above the per-identity lockout. */
  loginRateLimit?: LoginRateLimitOptions;
  /** The server config's `user_lockout` stanzas (`all` and per method type). */
  userLockout?: LockoutStanzas;
}

export interface CoreRequest {
  method: string;
  /** Path after `/v1/`, still percent-encoded. */
  rawPath: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  remoteAddr: string;
  /**
   * The Kubernetes namespace an integration acts for (set only by the ESO routes, never from a `/v1/` request);
   * fills `{{kubernetes.namespace}}` in templated policy paths.
   */
  kubernetesNamespace?: string;
}

export interface CoreResponse {
  status: number;
  body?: unknown;
  /** Set for raw (non-JSON) bodies. */
  contentType?: string;
  raw?: Buffer | string;
  /** HTTP reason phrase instead of the standard one (ESO shows only the status line of a failed call). */
  reason?: string;
  /** Extra response headers (a 401's WWW-Authenticate). */
  headers?: Record<string, string>;
}

/** Paths served while sealed and without a token. */
const UNAUTHENTICATED_SYS = new Set(['sys/init', 'sys/seal-status', 'sys/unseal', 'sys/health', 'sys/leader']);

/** Only these prefixes hold sudo-protected paths; checked first so other requests skip the patterns. */
const SUDO_SCOPE = /^(sys|auth\/token)\//;

/** Vault's root-protected paths: the capability for the operation is not enough, `sudo` is needed too. */
const SUDO_PATTERNS = [
  /^sys\/audit(\/|$)/,
  /^sys\/auth\/.+/,
  /^sys\/remount$/,
  /^sys\/rotate$/,
  /^sys\/seal$/,
  /^sys\/key-status$/,
  /^sys\/leases\/revoke-(prefix|force)\/.*/,
  /^sys\/leases\/lookup\//, // listing leases (the lookup of one lease is `sys/leases/lookup` without a slash)
  /^auth\/token\/accessors\/?$/,
  /^auth\/token\/revoke-orphan$/,
];

/** `sys/audit/:path`: disabling a device there may proceed when no device can record it (see recordAudit). */
const AUDIT_DEVICE_PATH = /^sys\/audit\/.+/;

/** The token fields of an audit entry. */
function tokenAuditFields(entry: TokenEntry): Partial<AuditRequestInput> {
  return {
    accessor: entry.accessor,
    displayName: entry.display_name,
    policies: entry.policies,
    tokenPolicies: entry.policies,
    metadata: entry.meta,
    tokenType: 'service',
  };
}

export const VERSION = '0.1.0';

export class Core {
  readonly physical: PhysicalBackend;
  readonly barrier: Barrier;
  readonly seal: Seal;
  readonly tokens = new TokenStore();
  readonly policies = new PolicyStore();
  readonly leases = new LeaseManager();
  readonly loginLimiter: LoginRateLimiter;
  readonly userLockout = new UserLockout();
  readonly lockoutStanzas: LockoutStanzas;
  readonly wrapping = new ResponseWrapper(this.tokens, () => this.cubbyholeView());
  readonly mounts: MountTable;
  audit: AuditBroker | null = null;
  readonly storageType: string;
  readonly version: string;
  readonly defaultLeaseTTL: number;
  readonly maxLeaseTTL: number;
  readonly logger: NonNullable<CoreOptions['logger']>;
  private readonly sys: Backend;
  private readonly initialMounts: NonNullable<CoreOptions['initialMounts']>;
  private unsealing: Promise<void> | null = null;
  activeSince: string | null = null;
  /** Stable identity of this installation (Vault's cluster_id), created at the first unseal. */
  clusterId: string | null = null;

  constructor(options: CoreOptions) {
    this.physical = options.storage;
    this.storageType = options.storageType;
    this.barrier = new Barrier(this.physical);
    this.seal = new Seal(this.physical, this.barrier);
    this.defaultLeaseTTL = options.defaultLeaseTTL ?? 768 * 3600;
    this.maxLeaseTTL = options.maxLeaseTTL ?? 768 * 3600;
    this.version = options.version ?? VERSION;
    this.initialMounts = options.initialMounts ?? [];
    this.logger = options.logger ?? { info() {}, warn() {}, error() {} };
    this.loginLimiter = new LoginRateLimiter(options.loginRateLimit);
    this.lockoutStanzas = options.userLockout ?? {};
    this.sys = systemBackend(this);
    // Revoking a token revokes the leases it created.
    this.tokens.onRevoke((entry) => this.leases.revokeByToken(entry.id));
    // ... and destroys its cubbyhole (wrapping tokens' wrapped responses included).
    this.tokens.onRevoke((entry) => this.destroyCubbyhole(entry.id));
    this.tokens.onTidy((exists) => this.leases.revokeLeasesOfMissingTokens(exists));
    const builtin = (path: string, type: string, kind: 'secret' | 'auth', description: string) => ({
      kind,
      path,
      type,
      description,
      config: { default_lease_ttl: 0, max_lease_ttl: 0 },
      options: {},
      local: false,
      seal_wrap: false,
    });
    this.mounts = new MountTable(options.secretEngines, options.authMethods, [
      { entry: builtin('sys/', 'system', 'secret', 'system endpoints used for control, policy and debugging'), backend: this.sys, viewPrefix: 'sys/system/' },
      { entry: builtin('auth/token/', 'token', 'auth', 'token based credentials'), backend: tokenBackend(this.tokens), viewPrefix: 'sys/token-auth/' },
      { entry: builtin('cubbyhole/', 'cubbyhole', 'secret', 'per-token private secret storage'), backend: options.cubbyhole.create({}), viewPrefix: 'logical/cubbyhole/' },
    ], (entry) => ({ logger: this.logger, system: this.systemView(entry) }));
  }

  /** The storage of the `cubbyhole/` mount (each token's cubbyhole is a prefix in it). */
  cubbyholeView(): StorageView {
    return this.mounts.find('cubbyhole/')!.view;
  }

  private async destroyCubbyhole(tokenId: string): Promise<void> {
    if (this.mounts.find('cubbyhole/')) await destroyCubbyhole(this.cubbyholeView(), tokenId);
  }

  get sealed(): boolean {
    return this.barrier.sealed;
  }

  async initialized(): Promise<boolean> {
    return (await this.seal.config()) !== null;
  }

  /** `sys/init`: creates keys, unseals once to create the root token, then seals again like Vault. */
  async initialize(shares: number, threshold: number): Promise<{ keys: Buffer[]; rootToken: string }> {
    const keys = await this.seal.initialize(shares, threshold);
    for (const key of keys.slice(0, threshold)) await this.seal.submitShare(Buffer.from(key));
    await this.postUnseal();
    const rootToken = await this.createRootToken();
    await this.sealCore();
    return { keys, rootToken };
  }

  async createRootToken(id?: string): Promise<string> {
    const { token } = await this.tokens.create({
      issuer: { kind: 'system' },
      id,
      parent: '',
      policies: ['root'],
      displayName: 'root',
      numUses: 0,
      ttl: 0,
      explicitMaxTTL: 0,
      period: 0,
      renewable: false,
      path: 'auth/token/root',
      mountMaxTTL: 0,
    });
    return token;
  }

  /** Adds one unseal share; finishes unsealing when the threshold is reached. */
  async submitUnsealShare(share: Buffer): Promise<void> {
    const done = await this.seal.submitShare(share);
    if (done && !this.activeSince) {
      this.unsealing ??= this.postUnseal().finally(() => (this.unsealing = null));
      await this.unsealing;
    }
  }

  /** Loads everything that lives behind the barrier. On failure the core seals again. */
  private async postUnseal(): Promise<void> {
    try {
      const root = new StorageView(this.barrier, '');
      let cluster = await root.getJSON<{ id: string }>('core/cluster');
      if (!cluster) {
        cluster = { id: randomUUID() };
        await root.putJSON('core/cluster', cluster);
      }
      this.clusterId = cluster.id;
      await this.policies.setup(root.sub('sys/policy/'));
      // Mounts, then leases (they revoke through the mounts' engines), then tokens (revoking a token
      // revokes its leases, and token setup may revoke tokens left half-revoked).
      await this.mounts.load(this.barrier, this.initialMounts);
      this.leases.setup(root.sub('sys/expire/'), (uuid) => {
        const live = this.mounts.byUuid(uuid);
        return live && { backend: live.backend, view: live.view, entry: live.entry, system: this.systemView(live.entry) };
      });
      await this.tokens.setup(root.sub('sys/token/'));
      this.audit = new AuditBroker(root.sub('sys/audit/'), { logger: this.logger });
      await this.audit.load();
      this.activeSince = new Date().toISOString();
    } catch (err) {
      this.logger.error(`post-unseal setup failed: ${(err as Error).message}`);
      await this.sealCore();
      throw new CofferError(500, 'unseal failed: stored state could not be loaded');
    }
  }

  async sealCore(): Promise<void> {
    this.activeSince = null;
    await this.audit?.close();
    this.audit = null;
    this.leases.teardown();
    await this.mounts.teardown();
    this.tokens.teardown();
    this.seal.lock();
  }

  async shutdown(): Promise<void> {
    if (!this.sealed) await this.sealCore();
    await this.physical.close();
  }

  systemView(mount: MountEntry | { config: { default_lease_ttl: number; max_lease_ttl: number } }): SystemView {
    return {
      defaultLeaseTTL: () => mount.config.default_lease_ttl || this.defaultLeaseTTL,
      maxLeaseTTL: () => mount.config.max_lease_ttl || this.maxLeaseTTL,
    };
  }

  /** The request pipeline. Never throws: every failure becomes a Vault error envelope. */
  async handle(http: CoreRequest): Promise<CoreResponse> {
    const requestId = randomUUID();
    /** What the audit entries say about this request, filled in as the pipeline learns it. */
    let auditInput: AuditRequestInput | null = null;
    let requestAudited = false;
    let loginAttempt = false;
    /** The login's identity for the user lockout, and the lockout settings of its mount. */
    let lockout: { key: string; settings: LockoutSettings } | null = null;
    let disablesAuditDevice = false;
    try {
      const path = normalizePath(http.rawPath);
      const listRequested = http.method === 'GET' && isTrue(http.query.list);
      let operation = operationFor(http.method, listRequested);
      if (operation === 'patch') checkPatchContentType(http.headers);
      const routePath = operation === 'list' && !path.endsWith('/') ? `${path}/` : path;
      const wrapTTL = requestedWrapTTL(http.headers);

      const unauthenticatedSys = UNAUTHENTICATED_SYS.has(path);
      if (this.sealed && !unauthenticatedSys) throw sealedError();
      const resolved = unauthenticatedSys
        ? { mount: { entry: { path: 'sys/', type: 'system', config: { default_lease_ttl: 0, max_lease_ttl: 0 } } as MountEntry, backend: this.sys, view: new StorageView(this.barrier, 'sys/system/') }, rel: path.slice(4) }
        : this.mounts.resolve(routePath);
      if (!resolved) throw new CofferError(404, `no handler for route "${path}". route entry not found.`);
      const { mount, rel } = resolved;
      const match = matchPath(mount.backend, rel);
      if (!match) throw new CofferError(404, 'unsupported path');

      const unauthenticated = unauthenticatedSys || match.spec.unauthenticated === true;
      loginAttempt = !unauthenticatedSys && mount.entry.path.startsWith('auth/') && match.spec.unauthenticated === true;
      const clientToken = tokenFromHeaders(http.headers);
      const caller: CallerInfo = { policies: [], remoteAddr: http.remoteAddr, sudo: false };
      // Health checks are not audited at all (as in Vault): no request line, no response line, no fail-closed.
      // Otherwise the request is on record from here on, refused or not (with no device, skip the work).
      const audited = this.audit?.hasDevices() === true && !(unauthenticatedSys && path === 'sys/health');
      if (audited) auditInput = { requestId, operation, path, mountType: mount.entry.type, mountPoint: mount.entry.path, clientToken: clientToken ?? undefined, remoteAddress: http.remoteAddr };
      // Checked before the token is used, as Vault does: a bad wrapping token is a 400 (and on record), not a 403.
      if (WRAPPING_TOKEN_PATHS.has(path)) await this.wrapping.find(clientToken, requestData(http, operation));
      let entry: TokenEntry | null = null;
      if (!unauthenticated) {
        entry = clientToken ? await this.tokens.lookup(clientToken) : null;
        if (entry && auditInput) Object.assign(auditInput, tokenAuditFields(entry));
        if (!entry || !addressAllowed(http.remoteAddr, entry.bound_cidrs)) throw permissionDenied();
        Object.assign(caller, {
          tokenId: entry.id,
          accessor: entry.accessor,
          policies: entry.policies,
          displayName: entry.display_name,
          clientToken: mount.entry.type === 'token' ? clientToken : undefined,
        });
      }
      const data = requestData(http, operation);
      if (auditInput) auditInput.data = data;
      if (loginAttempt) lockout = this.lockoutOf(mount.entry, match.spec.lockoutIdentity?.(data) ?? null);

      const req: Request = {
        operation,
        path: rel,
        params: match.params,
        data,
        query: http.query,
        headers: http.headers,
        storage: mount.view,
        mount: mount.entry,
        system: this.systemView(mount.entry),
        caller,
        requestId,
      };
      if (operation === 'update') req.operation = operation = await resolveWriteOperation(match.spec, req);
      if (auditInput) auditInput.operation = operation;

      if (entry) {
        const acl = await this.policies.aclFor(entry.policies, http.kubernetesNamespace);
        const verdict = acl.check(routePath, operation, data, wrapTTL);
        caller.sudo = verdict.sudo;
        const needsSudo = match.spec.sudo === true || (SUDO_SCOPE.test(routePath) && SUDO_PATTERNS.some((re) => re.test(routePath)));
        if ((!verdict.allowed && !match.spec.aclInHandler) || (needsSudo && !verdict.sudo)) throw permissionDenied();
        if (!(await this.tokens.use(entry))) throw permissionDenied();
      }

      disablesAuditDevice = operation === 'delete' && AUDIT_DEVICE_PATH.test(path) && this.audit?.has(path.slice('sys/audit/'.length)) === true;
      if (auditInput) {
        requestAudited = true;
        await this.recordAudit(() => this.audit!.logRequest(auditInput!), disablesAuditDevice);
      }

      // Checked after the request is audited, so that refused attempts are on record too.
      if (loginAttempt) {
        const wait = this.loginLimiter.retryAfter(http.remoteAddr);
        if (wait > 0) {
          loginAttempt = false; // a refused attempt does not extend the window
          throw new CofferError(429, `too many failed login attempts from this address; try again in ${wait}s`);
        }
        // A locked identity is refused without looking at its credentials, as Vault's user lockout does.
        if (lockout && this.userLockout.isLocked(lockout.key, lockout.settings)) {
          loginAttempt = false;
          throw permissionDenied();
        }
      }

      // A token's last use is served first and revoked right after (Vault's revocation-pending state).
      const response = await dispatch(match.spec, req).finally(() => this.tokens.finishUse(entry));
      if (response?.login) {
        await this.completeLogin(response, req, path);
        if (lockout) this.userLockout.reset(lockout.key);
      }
      if (response?.secret && mount.backend.revoke) await this.registerLease(response, path, req, entry?.id ?? '');
      const wrapped = wrapTTL > 0 && wrappable(response) ? await this.wrapResponse(response, req, path, wrapTTL) : null;
      const result = this.envelope(wrapped ?? response, requestId, mount.entry.type, operation);
      if (auditInput) {
        const input = {
          ...auditInput,
          status: result.status,
          // A wrapped response is audited with its content (hashed like any other) and the wrapping token.
          responseData: response?.data ?? null,
          auth: response?.auth ?? null,
          wrapInfo: (wrapped ?? response)?.wrapInfo ?? null,
          warnings: response?.warnings ?? null,
        };
        // `sys/seal` closed the broker on its way: its response has no device left to go to.
        await this.recordAudit(async () => this.audit?.logResponse(input), disablesAuditDevice);
      }
      return result;
    } catch (err) {
      const failure = errorResponse(err, this.logger);
      // Only the caller's own mistakes count towards the limit, not a peer (TokenReview, JWKS) being down.
      if (loginAttempt && (failure.status === 400 || failure.status === 403)) {
        this.loginLimiter.recordFailure(http.remoteAddr);
        if (lockout) this.userLockout.recordFailure(lockout.key, lockout.settings);
      }
      const error = (failure.body as { errors: string[] } | undefined)?.errors?.join('; ');
      // Refused before its request entry was written (unknown token, ACL, sudo, bad input): record it now, with
      // the error, as Vault does, so that probing leaves a trace.
      const recordRefusal = !requestAudited && auditInput !== null && failure.status < 500;
      try {
        if (recordRefusal) await this.audit?.logRequest({ ...auditInput!, error });
        if (requestAudited || recordRefusal) await this.recordAudit(() => this.audit!.logResponse({ ...auditInput!, status: failure.status, error }), disablesAuditDevice);
      } catch {
        return errorResponse(new CofferError(500, 'internal error'), this.logger);
      }
      return failure;
    }
  }

  /**
   * Writes an audit entry, failing closed. The one exception is disabling an enabled audit device: when no
   * device can record (the only device's disk is full or its path gone) the operator must still be able to
   * remove the broken device, as Vault allows, so that request goes through and the server log says so.
   */
  private async recordAudit(write: () => Promise<void>, disablesAuditDevice: boolean): Promise<void> {
    try {
      await write();
    } catch (err) {
      if (!disablesAuditDevice) throw err;
      this.logger.warn('audit: no device could record a request that disables an audit device; it proceeds so a broken device can be removed');
    }
  }

  /** The user lockout entry of a login: its identity on this mount and the mount's effective settings. */
  private lockoutOf(mount: MountEntry, identity: string | null): { key: string; settings: LockoutSettings } | null {
    if (identity === null) return null;
    const settings = effectiveLockout(this.lockoutStanzas, mount.type, mount.config.user_lockout_config);
    return settings.disabled ? null : { key: UserLockout.key(mount.accessor, identity), settings };
  }

  /** Issues the token a login handler asked for and answers with Vault's `auth` block instead. */
  private async completeLogin(response: Response, req: Request, path: string): Promise<void> {
    const { auth, warnings } = await issueLoginToken(this.tokens, response.login!, req.mount, req.system, path);
    delete response.login;
    response.auth = auth;
    if (warnings.length) response.warnings = [...(response.warnings ?? []), ...warnings];
  }

  /** Puts a freshly issued secret under a lease; if that fails the secret is revoked rather than left orphaned. */
  private async registerLease(response: Response, path: string, req: Request, tokenId: string): Promise<void> {
    const secret = response.secret!;
    try {
      const { entry, ttl, warnings } = await this.leases.register(path, req.mount, req.system, tokenId, secret);
      response.lease = { id: entry.lease_id, duration: ttl, renewable: secret.renewable };
      if (warnings.length) response.warnings = [...(response.warnings ?? []), ...warnings];
    } catch (err) {
      const backend = this.mounts.byUuid(req.mount.uuid)?.backend;
      await backend?.revoke?.(req, secret.internal ?? {}).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Stores the answer the client would have received in a new wrapping token's cubbyhole and answers with the
   * token instead (leases and tokens in it stay registered, as in Vault).
   */
  private async wrapResponse(response: Response, req: Request, path: string, ttl: number): Promise<Response> {
    const mountType = req.mount.type;
    const stored = response.raw
      ? rawToStored(response.raw, req.requestId, mountType)
      : JSON.stringify(this.envelope(response, req.requestId, mountType, req.operation).body);
    const secretIdAccessor = mountType === 'approle' && !response.auth ? response.data?.secret_id_accessor : undefined;
    const wrapInfo = await this.wrapping.wrap(stored, ttl, path, {
      displayName: req.caller.displayName,
      wrappedAccessor: response.auth?.accessor ?? (typeof secretIdAccessor === 'string' ? secretIdAccessor : undefined),
    });
    return { wrapInfo, warnings: response.warnings };
  }

  private envelope(response: Response | null, requestId: string, mountType: string, operation: Operation): CoreResponse {
    if (response?.raw) return { status: response.raw.status, contentType: response.raw.contentType, raw: response.raw.body };
    if (!hasContent(response)) {
      if (operation === 'read' || operation === 'list') return { status: 404, body: { errors: [] } };
      return { status: 204 };
    }
    return {
      status: response.status ?? 200,
      body: {
        ...(response.legacyTopLevel ? response.data : {}),
        request_id: requestId,
        lease_id: response.lease?.id ?? '',
        renewable: response.lease?.renewable ?? response.secret?.renewable ?? false,
        lease_duration: response.lease?.duration ?? response.secret?.ttl ?? 0,
        data: response.data ?? null,
        wrap_info: response.wrapInfo ?? null,
        warnings: response.warnings?.length ? response.warnings : null,
        auth: response.auth ?? null,
        mount_type: mountType,
      },
    };
  }
}

/** Whether a handler's answer has a body (else it is a 204, or a 404 for a read); only such answers are wrapped. */
function hasContent(response: Response | null): response is Response {
  return !!response && !!(response.raw || response.data || response.auth || response.warnings?.length || response.secret || response.lease || response.wrapInfo);
}

/**
 * Whether an answer is wrapped when the request asks for it: one with content, not wrapped already (rewrap), and
 * not an error status (a KV v2 deleted version's 404, an unknown KV path's warning), which the client must see.
 */
function wrappable(response: Response | null): response is Response {
  return hasContent(response) && !response.wrapInfo && (response.raw?.status ?? response.status ?? 200) < 400;
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['true', '1', 't'].includes(v.toLowerCase());
}

function operationFor(method: string, list: boolean): Operation {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return list ? 'list' : 'read';
    case 'LIST': // Vault's own method; the HTTP listener accepts it (src/server/list-method.ts)
      return 'list';
    case 'POST':
    case 'PUT':
      return 'update'; // refined to create/update by the path's existence check
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      throw new CofferError(405, `unsupported operation: method ${method.slice(0, 16)} is not allowed`);
  }
}

function checkPatchContentType(headers: CoreRequest['headers']): void {
  const type = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/merge-patch+json') {
    throw new CofferError(415, 'PATCH requires the Content-Type application/merge-patch+json');
  }
}

/**
 * Decodes the path and refuses anything that could make ACL matching and routing disagree: encoded slashes or
 * backslashes, `.`/`..` segments, empty segments, control characters. A refused path never reaches a handler.
 */
/** A path with none of the characters the full check looks for needs no decoding or segment scan. */
const PLAIN_PATH = /^[A-Za-z0-9_\-~+=,:@]+(?:\/[A-Za-z0-9_\-~+=,:@]+)*\/?$/;

export function normalizePath(raw: string): string {
  if (PLAIN_PATH.test(raw)) return raw;
  if (/%2f|%5c/i.test(raw)) throw badRequest('invalid path: encoded slashes are not allowed');
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw badRequest('invalid path: bad percent-encoding');
  }
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw badRequest('invalid path: control characters or backslashes');
  const trimmed = path.replace(/^\/+/, '');
  const body = trimmed.endsWith('/') ? trimmed.slice(0, -1) : trimmed;
  if (body === '' || body.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw badRequest('invalid path: empty, "." or ".." segments are not allowed');
  }
  return trimmed;
}

function requestData(http: CoreRequest, operation: Operation): Record<string, unknown> {
  if (operation === 'read' || operation === 'list' || http.method === 'DELETE') {
    // Vault passes query parameters as request data for reads and deletes.
    const data: Record<string, unknown> = { ...http.query };
    delete data.list;
    if (http.body !== undefined && operation === 'delete') return bodyObject(http.body, data);
    return data;
  }
  return bodyObject(http.body, {});
}

function bodyObject(body: unknown, base: Record<string, unknown>): Record<string, unknown> {
  if (body === undefined || body === null) return base;
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalid request body: expected a JSON object');
  return { ...base, ...(body as Record<string, unknown>) };
}

function errorResponse(err: unknown, logger: NonNullable<CoreOptions['logger']>): CoreResponse {
  if (err instanceof CofferError) {
    return { status: err.status, body: err.body ? { ...err.body, errors: err.errors } : { errors: err.errors } };
  }
  if (err instanceof StorageUnavailableError) {
    logger.warn(err.message);
    return { status: 503, body: { errors: [err.message] } };
  }
  logger.error(`internal error: ${loggableMessage(err)}`);
  return { status: 500, body: { errors: ['internal error'] } };
}
