/**
 * The mount table: which engine serves which path prefix. Secrets engines and auth methods live in two tables
 * (`core/mounts`, `core/auth`, stored behind the barrier); each mount's data sits under `logical/<uuid>/` or
 * `auth/<uuid>/`, so moving a mount never copies data and disabling one deletes exactly its prefix.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Storage } from '../storage/types.js';
import { StorageView } from '../storage/view.js';
import type { Backend, BackendFactory, InitializeContext, MountConfig, MountInfo } from '../sdk/backend.js';
import { badRequest } from '../sdk/errors.js';

export type MountKind = 'secret' | 'auth';

export interface MountEntry extends MountInfo {
  kind: MountKind;
  local: boolean;
  seal_wrap: boolean;
}

interface LiveMount {
  entry: MountEntry;
  backend: Backend;
  view: StorageView;
}

const TABLE_KEY: Record<MountKind, string> = { secret: 'core/mounts', auth: 'core/auth' };
const DATA_PREFIX: Record<MountKind, string> = { secret: 'logical/', auth: 'auth/' };

/** Prefixes no secrets engine may take. */
const RESERVED = ['sys/', 'auth/', 'cubbyhole/', 'identity/'];

export interface ResolvedMount {
  mount: LiveMount;
  /** Path relative to the mount. */
  rel: string;
}

export class MountTable {
  private storage!: Storage;
  private mounts: LiveMount[] = [];
  private readonly factories = new Map<string, BackendFactory>();

  constructor(
    secretFactories: BackendFactory[],
    authFactories: BackendFactory[],
    /** Backends that are always mounted (sys/, auth/token/) and cannot be disabled or moved. */
    private readonly builtins: { entry: Omit<MountEntry, 'uuid' | 'accessor'>; backend: Backend; viewPrefix: string }[],
    /** The logger and TTL limits a mount's backend is initialized with. */
    private readonly services: (entry: MountEntry) => Pick<InitializeContext, 'logger' | 'system'>,
  ) {
    for (const f of secretFactories) this.factories.set(`secret:${f.type}`, f);
    for (const f of authFactories) this.factories.set(`auth:${f.type}`, f);
  }

  knownType(kind: MountKind, type: string): boolean {
    return this.factories.has(`${kind}:${type}`);
  }

  async load(storage: Storage, defaults: { path: string; type: string; options: Record<string, string>; description: string }[]): Promise<void> {
    this.storage = storage;
    this.mounts = [];
    const views = new StorageView(storage, '');
    for (const b of this.builtins) {
      const tableEntry = await this.builtinEntry(b.entry);
      this.mounts.push({ entry: tableEntry, backend: b.backend, view: views.sub(b.viewPrefix) });
    }
    for (const kind of ['secret', 'auth'] as MountKind[]) {
      let entries = await views.getJSON<MountEntry[]>(TABLE_KEY[kind]);
      if (!entries) {
        entries = [];
        await views.putJSON(TABLE_KEY[kind], entries);
        if (kind === 'secret') {
          for (const d of defaults) await this.enable('secret', d.path, d.type, d.description, {}, d.options);
          continue;
        }
      }
      for (const entry of entries) await this.activate(entry);
    }
    this.sort();
  }

  private async builtinEntry(base: Omit<MountEntry, 'uuid' | 'accessor'>): Promise<MountEntry> {
    // Built-in mounts keep a stable accessor and their tuning across restarts.
    const views = new StorageView(this.storage, '');
    const key = `core/builtin/${base.path}`;
    const saved = await views.getJSON<MountEntry>(key);
    if (saved) return { ...saved, description: base.description };
    const entry: MountEntry = { ...base, uuid: randomUUID(), accessor: `${base.type}_${randomBytes(4).toString('hex')}` };
    await views.putJSON(key, entry);
    return entry;
  }

  private async activate(entry: MountEntry): Promise<LiveMount> {
    const factory = this.factories.get(`${entry.kind}:${entry.type}`);
    if (!factory) throw badRequest(`plugin not found in the catalog: ${entry.type}`);
    const backend = factory.create(entry.options);
    const view = new StorageView(this.storage, `${DATA_PREFIX[entry.kind]}${entry.uuid}/`);
    await backend.initialize?.({ storage: view, mount: entry, ...this.services(entry) });
    const live = { entry, backend, view };
    this.mounts.push(live);
    return live;
  }

  private sort(): void {
    // Longest prefix first, so resolve() returns the most specific mount.
    this.mounts.sort((a, b) => b.entry.path.length - a.entry.path.length);
  }

  private async persist(kind: MountKind): Promise<void> {
    const builtinPaths = new Set(this.builtins.map((b) => b.entry.path));
    const entries = this.mounts
      .filter((m) => m.entry.kind === kind && !builtinPaths.has(m.entry.path))
      .map((m) => m.entry);
    await new StorageView(this.storage, '').putJSON(TABLE_KEY[kind], entries);
  }

  resolve(path: string): ResolvedMount | null {
    for (const mount of this.mounts) {
      const p = mount.entry.path;
      if (path.startsWith(p)) return { mount, rel: path.slice(p.length) };
      if (path + '/' === p) return { mount, rel: '' };
    }
    return null;
  }

  byUuid(uuid: string): LiveMount | undefined {
    return this.mounts.find((m) => m.entry.uuid === uuid);
  }

  find(fullPath: string): LiveMount | undefined {
    return this.mounts.find((m) => m.entry.path === fullPath);
  }

  list(kind: MountKind): MountEntry[] {
    return this.mounts.filter((m) => m.entry.kind === kind).map((m) => m.entry).sort((a, b) => a.path.localeCompare(b.path));
  }

  static normalize(kind: MountKind, path: string): string {
    let p = path.trim().replace(/^\/+/, '');
    if (!p.endsWith('/')) p += '/';
    if (p === '/' || p.includes('//') || p.split('/').some((seg) => seg === '.' || seg === '..')) {
      throw badRequest(`invalid mount path "${path.slice(0, 128)}"`);
    }
    return kind === 'auth' ? `auth/${p}` : p;
  }

  private checkFree(fullPath: string, kind: MountKind): void {
    if (kind === 'secret' && RESERVED.some((r) => fullPath.startsWith(r))) {
      throw badRequest(`cannot mount under reserved path "${fullPath}"`);
    }
    for (const m of this.mounts) {
      const other = m.entry.path;
      if (fullPath.startsWith(other) || other.startsWith(fullPath)) {
        throw badRequest(`path is already in use at ${other}`);
      }
    }
  }

  /** A new mount's type and options as its engine's rules have them (see BackendFactory.validateMount). */
  validateMount(kind: MountKind, type: string, options: Record<string, string>): { type: string; options: Record<string, string> } {
    return this.factories.get(`${kind}:${type}`)?.validateMount?.(options) ?? { type, options };
  }

  async enable(
    kind: MountKind,
    path: string,
    type: string,
    description: string,
    config: Partial<MountConfig>,
    options: Record<string, string>,
  ): Promise<MountEntry> {
    const fullPath = kind === 'auth' ? path : MountTable.normalize(kind, path);
    this.checkFree(fullPath, kind);
    if (!this.knownType(kind, type)) throw badRequest(`plugin not found in the catalog: ${type}`);
    const entry: MountEntry = {
      kind,
      path: fullPath,
      type,
      description,
      uuid: randomUUID(),
      accessor: `${type}_${randomBytes(4).toString('hex')}`,
      config: { default_lease_ttl: config.default_lease_ttl ?? 0, max_lease_ttl: config.max_lease_ttl ?? 0 },
      options,
      local: false,
      seal_wrap: false,
    };
    await this.activate(entry);
    this.sort();
    await this.persist(kind);
    return entry;
  }

  private userMount(fullPath: string): LiveMount {
    const mount = this.find(fullPath);
    if (!mount || this.builtins.some((b) => b.entry.path === fullPath)) {
      throw badRequest(`no mount at "${fullPath}"`);
    }
    return mount;
  }

  /** Removes the mount and every stored value under it. `beforeRemove` revokes its leases. */
  async disable(fullPath: string, beforeRemove?: (entry: MountEntry) => Promise<void>): Promise<void> {
    const mount = this.find(fullPath);
    if (!mount) return; // Vault treats disabling a missing mount as success.
    if (this.builtins.some((b) => b.entry.path === fullPath)) throw badRequest(`cannot unmount "${fullPath}"`);
    await beforeRemove?.(mount.entry);
    this.mounts = this.mounts.filter((m) => m !== mount);
    await this.persist(mount.entry.kind);
    await mount.backend.cleanup?.();
    await mount.view.deletePrefix();
  }

  async tune(fullPath: string, changes: { config?: Partial<MountConfig>; description?: string }): Promise<MountEntry> {
    const mount = this.find(fullPath);
    if (!mount) throw badRequest(`no mount at "${fullPath}"`);
    const entry = mount.entry;
    if (changes.config) entry.config = { ...entry.config, ...changes.config };
    if (changes.description !== undefined) entry.description = changes.description;
    if (this.builtins.some((b) => b.entry.path === fullPath)) {
      await new StorageView(this.storage, '').putJSON(`core/builtin/${fullPath}`, entry);
    } else {
      await this.persist(entry.kind);
    }
    return entry;
  }

  async move(from: string, to: string): Promise<void> {
    const mount = this.userMount(from);
    if (mount.entry.kind === 'auth' !== to.startsWith('auth/')) throw badRequest('cannot move a mount between secrets and auth');
    this.mounts = this.mounts.filter((m) => m !== mount);
    try {
      this.checkFree(to, mount.entry.kind);
    } finally {
      this.mounts.push(mount);
    }
    mount.entry.path = to;
    this.sort();
    await this.persist(mount.entry.kind);
  }

  async teardown(): Promise<void> {
    for (const m of this.mounts) await m.backend.cleanup?.();
    this.mounts = [];
  }
}
