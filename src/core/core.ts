/**
 * The core: everything between HTTP and the engines. It owns the seal and barrier, the mount table, tokens,
 * policies and audit, and runs the request pipeline, whose stages are in ./pipeline/ (README, Layout).
 * The HTTP layer (src/server/http.ts, src/server/logical-request.ts) turns sockets into `LogicalRequest`s and
 * `CoreResponse`s back into bytes.
 */
import { randomUUID } from 'node:crypto';
import type { PhysicalBackend } from '../storage/types.js';
import { StorageView } from '../storage/view.js';
import { AuditBroker } from './audit/broker.js';
import type { Backend, BackendFactory, Logger, SystemView } from '../sdk/backend.js';
import { destroyCubbyhole } from '../sdk/cubbyhole.js';
import { Barrier } from './barrier.js';
import { CofferError } from '../sdk/errors.js';
import { LeaseManager } from './leases/manager.js';
import { UserLockout, type LockoutStanzas } from './login/lockout.js';
import { LoginRateLimiter, type LoginRateLimitOptions } from './login/ratelimit.js';
import { MountTable, type MountEntry } from './mounts.js';
import { PolicyStore } from './policies.js';
import { Seal } from './seal.js';
import { systemBackend } from './sys/index.js';
import { tokenBackend } from './tokens/backend.js';
import { TokenStore } from './tokens/store.js';
import { ResponseWrapper } from './wrapping/wrap.js';
import { handleRequest } from './pipeline/handle.js';
import type { CoreResponse, LogicalRequest } from './pipeline/types.js';

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

export type { CoreResponse, LogicalRequest } from './pipeline/types.js';

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
  /** The `sys/` backend (the pipeline serves the unauthenticated sys paths from it while sealed). */
  readonly sys: Backend;
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

  /** The request pipeline (./pipeline/handle.ts). Never throws: every failure becomes a Vault error envelope. */
  handle(request: LogicalRequest): Promise<CoreResponse> {
    return handleRequest(this, request);
  }

}
