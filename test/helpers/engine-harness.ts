/**
 * Drives one secrets engine directly, without a server: the core's steps for a request (match the path,
 * create-vs-update by existence check, validate, handler), and the lease manager's calls into an engine that
 * leases (revoke, renew) made directly. Storage is an in-memory view; the caller is root.
 */
import assert from 'node:assert/strict';
import type { Backend, CallerInfo, MountConfig, MountInfo, Operation, Request, Response, SecretLease, SystemView } from '../../src/sdk/backend.js';
import { CofferError } from '../../src/sdk/errors.js';
import { dispatch, matchPath, resolveWriteOperation } from '../../src/core/router.js';
import { databaseBackend, type DatabaseBackend } from '../../src/engines/database/index.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { StorageView } from '../../src/storage/view.js';

/** What a client asks for; `write` becomes `create` or `update` the way the core decides it. */
export type Verb = 'read' | 'write' | 'patch' | 'delete' | 'list';

export interface HarnessOptions {
  /** The mount entry; `path`, `type`, `accessor` and `uuid` default to a `secret/` mount of type `test`. */
  mount?: Partial<Omit<MountInfo, 'config'>> & { config?: Partial<MountConfig> };
  /** The system's default and max lease TTLs in seconds (what a mount tuned to 0 falls back to). */
  systemTTL?: { default: number; max: number };
  /** Overrides of the caller (root with sudo, display name `token`). */
  caller?: Partial<CallerInfo>;
  /** The path revoke/renew requests carry (engines key their lease calls on the internal data, not the path). */
  leasePath?: string;
}

export interface EngineHarness<B extends Backend = Backend> {
  backend: B;
  /** The mount's storage view (under `logical/<uuid>/` of a fresh in-memory store). */
  storage: StorageView;
  mount: MountInfo;
  /** What the engine logged through the logger it was initialized with, as `level: message`. */
  logs: string[];
  /** The mount's TTL limits (`systemTTL`), as requests and initialize receive them. */
  system: SystemView;
  /** The operation the last `call` ran (`create` or `update` for a write). */
  lastOperation?: Operation;
  /** A request as the core builds it, before matching (no params). */
  request(operation: Operation, path: string, data?: Record<string, unknown>): Request;
  /** Runs one request the way the core does: match, create-vs-update by existence, validate, handler. */
  call(verb: Verb, path: string, data?: Record<string, unknown>): Promise<Response | null>;
  /** Like call, but expects a CofferError and returns it. */
  fail(verb: Verb, path: string, data?: Record<string, unknown>): Promise<CofferError>;
  /** The lease manager's revoke call for a secret this engine issued. */
  revoke(internal: Record<string, unknown>): Promise<void>;
  /** The lease manager's renew call (`increment` in seconds, 0 for none). */
  renew(internal: Record<string, unknown>, increment?: number): Promise<SecretLease>;
  /** The engine's cleanup, as when the mount is disabled. */
  close(): Promise<void>;
}

/** 32 days, Vault's (and coffer's) default and max lease TTL. */
const SYSTEM_TTL = 2764800;

/** A harness around `backend`, which is not initialized (see `startEngineHarness`). */
export function engineHarness<B extends Backend>(backend: B, opts: HarnessOptions = {}): EngineHarness<B> {
  const { config, ...mountFields } = opts.mount ?? {};
  const mount: MountInfo = {
    path: 'secret/', type: 'test', accessor: 'test_1234', uuid: '0000', description: '', options: {},
    ...mountFields,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, ...config },
  };
  const storage = new StorageView(new MemoryStorage(), `logical/${mount.uuid}/`);
  const ttl = opts.systemTTL ?? { default: SYSTEM_TTL, max: SYSTEM_TTL };
  const caller: CallerInfo = { policies: ['root'], sudo: true, remoteAddr: '127.0.0.1', displayName: 'token', ...opts.caller };
  const leasePath = opts.leasePath ?? 'creds/x';
  const system: SystemView = { defaultLeaseTTL: () => ttl.default, maxLeaseTTL: () => ttl.max };

  const h: EngineHarness<B> = {
    backend,
    storage,
    mount,
    logs: [],
    system,
    request: (operation, path, data = {}) => ({
      operation, path, params: {}, data: structuredClone(data), query: {}, headers: {}, storage, mount,
      system,
      caller: { ...caller, policies: [...caller.policies] },
      requestId: 'req-1',
    }),
    async call(verb, path, data = {}) {
      const match = matchPath(backend, path);
      if (!match) throw new CofferError(404, 'unsupported path');
      const req = h.request(verb === 'write' ? 'update' : verb, path, data);
      req.params = match.params;
      if (verb === 'write') req.operation = await resolveWriteOperation(match.spec, req);
      h.lastOperation = req.operation;
      return dispatch(match.spec, req);
    },
    async fail(verb, path, data) {
      try {
        await h.call(verb, path, data);
      } catch (err) {
        assert.ok(err instanceof CofferError, `expected CofferError, got ${String(err)}`);
        return err;
      }
      assert.fail(`${verb} ${path} should have failed`);
    },
    async revoke(internal) {
      assert.ok(backend.revoke, `a ${mount.type} engine does not revoke leases`);
      await backend.revoke(h.request('delete', leasePath), internal);
    },
    async renew(internal, increment = 0) {
      assert.ok(backend.renew, `a ${mount.type} engine does not renew leases`);
      return backend.renew(h.request('update', leasePath, { increment }), internal);
    },
    close: async () => backend.cleanup?.(),
  };
  return h;
}

/** A harness around `backend`, initialized as at mount time. */
export async function startEngineHarness<B extends Backend>(backend: B, opts: HarnessOptions = {}): Promise<EngineHarness<B>> {
  const h = engineHarness(backend, opts);
  await initializeEngine(h);
  return h;
}

/** Initializes the harness's backend as the core does at mount time, logging into `h.logs`. */
export async function initializeEngine(h: EngineHarness): Promise<void> {
  const log = (level: string) => (msg: string) => void h.logs.push(`${level}: ${msg}`);
  const logger = { info: log('info'), warn: log('warn'), error: log('error') };
  await h.backend.initialize?.({ storage: h.storage, mount: h.mount, system: h.system, logger });
}

export type DatabaseHarness = EngineHarness<DatabaseBackend>;

/** A fresh database engine mounted at `database/` and initialized (close it with `close()`). */
export function databaseHarness(opts: HarnessOptions = {}): Promise<DatabaseHarness> {
  return startEngineHarness(databaseBackend(), {
    ...opts,
    mount: { path: 'database/', type: 'database', accessor: 'database_1234', uuid: 'db-uuid', ...opts.mount },
  });
}

