/**
 * The record model of the versioned (v2) KV engine, and the helpers every v2 path family shares.
 *
 * Storage layout inside the mount's view (already confined and encrypted underneath, so plain JSON here):
 *   config                        KVConfig (mount-wide settings)
 *   metadata/<key>                KeyMetadata: settings of one key plus the metadata of each live version
 *   versions/<sha256(key)>/<n>    VersionRecord: the data of version n
 *
 * Metadata is stored under the key's own name so that `metadata/` lists mirror the key hierarchy. Version data
 * lives under a digest of the key so that one key's versions can never collide with another key's name
 * (`foo` and `foo/1`). Every write that touches more than one record goes through one storage transaction.
 */
import { createHash } from 'node:crypto';
import type { StorageOp } from '../../storage/types.js';
import type { DeepReadonly, StorageView } from '../../storage/view.js';

/** Versions kept per key when neither the mount nor the key sets `max_versions`. */
export const DEFAULT_MAX_VERSIONS = 10;
/** Stored `delete_version_after` of a mount where the feature is switched off (a negative duration). */
export const DELETE_VERSION_AFTER_DISABLED = -1;

export interface KVConfig {
  max_versions: number;
  cas_required: boolean;
  /** Seconds; 0 = not set, -1 = disabled for every key of the mount. */
  delete_version_after: number;
}

export interface VersionMetadata {
  /** RFC 3339 with nanoseconds, like Go's time.RFC3339Nano. */
  created_time: string;
  /** '' when the version has no deletion time; a time in the future means "deleted from then on". */
  deletion_time: string;
  destroyed: boolean;
}

export interface KeyMetadata {
  key: string;
  /** Version number (as a string) → its metadata. Pruned versions are removed from this map. */
  versions: Record<string, VersionMetadata>;
  current_version: number;
  oldest_version: number;
  created_time: string;
  updated_time: string;
  max_versions: number;
  cas_required: boolean;
  /** Seconds, 0 = not set. */
  delete_version_after: number;
  custom_metadata: Record<string, string> | null;
}

interface VersionRecord {
  created_time: string;
  data: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// Time: Vault prints times with Go's RFC3339Nano layout (fraction without trailing zeros, `Z` for UTC).

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Now, in nanoseconds since the epoch: wall clock milliseconds plus sub-millisecond digits of hrtime. */
let lastNs = 0n;

/**
 * Wall-clock nanoseconds for timestamps. The sub-millisecond digits come from the high-resolution timer, which
 * is not aligned with the wall clock, so the result is forced to be strictly increasing: an event recorded
 * after another never carries an earlier time.
 */
export function nowNs(): bigint {
  const sample = BigInt(Date.now()) * NS_PER_MS + (process.hrtime.bigint() % NS_PER_MS);
  lastNs = sample > lastNs ? sample : lastNs + 1n;
  return lastNs;
}

export function formatTime(ns: bigint): string {
  const ms = ns / NS_PER_MS;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  const frac = (((ns % NS_PER_S) + NS_PER_S) % NS_PER_S).toString().padStart(9, '0').replace(/0+$/, '');
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** Parses a time written by formatTime (or any RFC 3339 time) back to nanoseconds; NaN-like input → null. */
export function parseTime(text: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return null;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return null;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  return BigInt(seconds) * NS_PER_MS + frac;
}

/** True when `deletion_time` is set and already passed: the version reads as deleted. */
export function isDeleted(vm: VersionMetadata, now: bigint = nowNs()): boolean {
  if (!vm.deletion_time) return false;
  const at = parseTime(vm.deletion_time);
  return at !== null && at <= now;
}

export function isLive(vm: VersionMetadata, now: bigint = nowNs()): boolean {
  return !vm.destroyed && !isDeleted(vm, now);
}

/**
 * The deletion time of a version created (or undeleted) at `from`: `from` plus the smaller non-zero of the
 * mount's and the key's `delete_version_after`; '' when neither is set or the mount disables the feature.
 */
export function deletionTimeFor(from: bigint, config: KVConfig, meta: KeyMetadata): string {
  if (config.delete_version_after === DELETE_VERSION_AFTER_DISABLED) return '';
  const mount = Math.max(0, config.delete_version_after);
  const key = Math.max(0, meta.delete_version_after);
  if (mount === 0 && key === 0) return '';
  const secs = mount === 0 ? key : key === 0 ? mount : Math.min(mount, key);
  return formatTime(from + BigInt(secs) * NS_PER_S);
}

// ---------------------------------------------------------------------------------------------------------
// Plain-object helpers (JSON data from clients: guard against `__proto__` keys turning into prototypes).

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** RFC 7396 JSON merge patch: objects merge recursively, `null` removes a member, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isPlainObject(target)) for (const [k, v] of Object.entries(target)) setOwn(result, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else setOwn(result, k, mergePatch(Object.prototype.hasOwnProperty.call(result, k) ? result[k] : undefined, v));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Response shapes shared by data, subkeys and metadata paths.

export function customMetadataOf(meta: KeyMetadata): Record<string, string> | null {
  return meta.custom_metadata && Object.keys(meta.custom_metadata).length > 0 ? meta.custom_metadata : null;
}

/** The per-version metadata Vault returns from data reads and writes (keys in Go's sorted order). */
export function versionBody(meta: KeyMetadata, version: number, vm: VersionMetadata): Record<string, unknown> {
  return {
    created_time: vm.created_time,
    custom_metadata: customMetadataOf(meta),
    deletion_time: vm.deletion_time,
    destroyed: vm.destroyed,
    version,
  };
}

export function newKeyMetadata(key: string, createdTime = ''): KeyMetadata {
  return {
    key,
    versions: {},
    current_version: 0,
    oldest_version: 0,
    created_time: createdTime,
    updated_time: createdTime,
    max_versions: 0,
    cas_required: false,
    delete_version_after: 0,
    custom_metadata: null,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Per-key write serialisation (the engine's equivalent of Vault's per-key locks). Reads do not lock: they
// re-read the metadata when a version record disappeared under them.

export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Storage access.

const CONFIG_KEY = 'config';
const METADATA_PREFIX = 'metadata/';
const VERSIONS_PREFIX = 'versions/';
const MAX_OPS_PER_TRANSACTION = 500;

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

const digestMemo = new Map<string, string>();

/** sha256 of a secret's path (not its value), memoised for hot keys: it names the version records. */
function keyDigest(key: string): string {
  let digest = digestMemo.get(key);
  if (digest === undefined) {
    digest = createHash('sha256').update(key, 'utf8').digest('hex');
    if (digestMemo.size >= 10_000) digestMemo.delete(digestMemo.keys().next().value!);
    digestMemo.set(key, digest);
  }
  return digest;
}

export class VersionedStore {
  constructor(private readonly storage: StorageView) {}

  async config(): Promise<KVConfig> {
    const stored = await this.storage.getJSONShared<Partial<KVConfig>>(CONFIG_KEY);
    return {
      max_versions: stored?.max_versions ?? 0,
      cas_required: stored?.cas_required ?? false,
      delete_version_after: stored?.delete_version_after ?? 0,
    };
  }

  putConfig(config: KVConfig): Promise<void> {
    return this.storage.putJSON(CONFIG_KEY, config);
  }

  /** The metadata as a private copy, for writers that change it. */
  getMeta(key: string): Promise<KeyMetadata | null> {
    return this.storage.getJSON<KeyMetadata>(METADATA_PREFIX + key);
  }

  /** Whether the key has metadata (existence checks: no parsing needed). */
  async hasMeta(key: string): Promise<boolean> {
    return (await this.storage.getText(METADATA_PREFIX + key)) !== null;
  }

  /** The metadata for reading only: frozen and shared with other readers (parsed once while it stays cached). */
  readMeta(key: string): Promise<DeepReadonly<KeyMetadata> | null> {
    return this.storage.getJSONShared<KeyMetadata>(METADATA_PREFIX + key);
  }

  putMeta(meta: KeyMetadata): Promise<void> {
    return this.storage.putJSON(METADATA_PREFIX + meta.key, meta);
  }

  /** Keys and folders (ending in `/`) directly under `prefix` ('' or ending in `/`). */
  list(prefix: string): Promise<string[]> {
    return this.storage.list(METADATA_PREFIX + prefix);
  }

  private versionKey(key: string, version: number): string {
    return `${VERSIONS_PREFIX}${keyDigest(key)}/${version}`;
  }

  /** A version's data, frozen and shared with other readers. */
  async getVersionData(key: string, version: number): Promise<DeepReadonly<Record<string, unknown>> | null> {
    const record = await this.storage.getJSONShared<VersionRecord>(this.versionKey(key, version));
    return record ? record.data : null;
  }

  /**
   * Appends a version to `meta` (mutating it), prunes the versions beyond the effective `max_versions`
   * (the larger of the mount's and the key's setting, 10 when neither is set) and commits the new data,
   * the metadata and the removal of pruned data in one transaction. Returns the new version's number.
   */
  async addVersion(meta: KeyMetadata, config: KVConfig, data: Record<string, unknown>, created: bigint): Promise<number> {
    const createdTime = formatTime(created);
    const vm: VersionMetadata = {
      created_time: createdTime,
      deletion_time: deletionTimeFor(created, config, meta),
      destroyed: false,
    };
    meta.current_version += 1;
    const version = meta.current_version;
    meta.versions[String(version)] = vm;
    meta.updated_time = createdTime;
    if (!meta.created_time) meta.created_time = createdTime;

    const maxVersions = Math.max(meta.max_versions, config.max_versions) || DEFAULT_MAX_VERSIONS;
    const pruned: number[] = [];
    if (meta.current_version - meta.oldest_version >= maxVersions) {
      const lastToPrune = meta.current_version - maxVersions;
      for (const n of Object.keys(meta.versions).map(Number)) {
        if (n <= lastToPrune) {
          if (!meta.versions[String(n)].destroyed) pruned.push(n);
          delete meta.versions[String(n)];
        }
      }
      meta.oldest_version = lastToPrune + 1;
    }

    const record: VersionRecord = { created_time: createdTime, data };
    const ops: StorageOp[] = [
      { kind: 'put', key: this.versionKey(meta.key, version), value: json(record) },
      { kind: 'put', key: METADATA_PREFIX + meta.key, value: json(meta) },
      ...pruned.map((n) => ({ kind: 'delete' as const, key: this.versionKey(meta.key, n) })),
    ];
    await this.commit(ops);
    return version;
  }

  /** Writes `meta` (where the given versions are already marked destroyed) and removes their data. */
  async destroyVersions(meta: KeyMetadata, versions: number[]): Promise<void> {
    const ops: StorageOp[] = [
      { kind: 'put', key: METADATA_PREFIX + meta.key, value: json(meta) },
      ...versions.map((n) => ({ kind: 'delete' as const, key: this.versionKey(meta.key, n) })),
    ];
    await this.commit(ops);
  }

  /** Removes a key's metadata and every version's data. */
  async deleteKey(meta: KeyMetadata): Promise<void> {
    const ops: StorageOp[] = [
      ...Object.keys(meta.versions).map((n) => ({ kind: 'delete' as const, key: this.versionKey(meta.key, Number(n)) })),
      { kind: 'delete', key: METADATA_PREFIX + meta.key },
    ];
    // Version data goes first, metadata last: a failure half-way leaves a key that can be deleted again.
    await this.commit(ops);
  }

  /**
   * Runs `ops` in one transaction. Huge batches (pruning after a large drop of max_versions, deleting a key
   * with thousands of versions) are split in order: callers put the records that must change together first
   * (new data and metadata) and, for deleteKey, the metadata delete last.
   */
  private async commit(ops: StorageOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += MAX_OPS_PER_TRANSACTION) {
      await this.storage.transaction(ops.slice(i, i + MAX_OPS_PER_TRANSACTION));
    }
  }
}

/** State one v2 mount shares between its path families. */
export interface KVContext {
  locks: KeyLocks;
}
