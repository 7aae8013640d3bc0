/**
 * The security barrier: encrypts every value with AES-256-GCM before it reaches physical storage. The storage
 * key is the additional authenticated data, so a ciphertext moved to another key fails to decrypt, and a
 * flipped byte anywhere fails authentication instead of yielding wrong data.
 *
 * Value layout: [version 1][term u32 BE][nonce 12][ciphertext][tag 16].
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import type { ListPage, Storage, StorageOp } from '../storage/types.js';
import { CofferError, sealedError } from '../sdk/errors.js';

const VERSION = 1;
const HEADER = 1 + 4 + 12;
const TAG = 16;

/** Nonces come from a pool refilled from the CSPRNG in bulk: one syscall per 1024 encryptions, not one each. */
const NONCE_POOL = Buffer.alloc(12 * 1024);
let noncePoolOffset = NONCE_POOL.length;

function nextNonce(out: Buffer, at: number): void {
  if (noncePoolOffset === NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    noncePoolOffset = 0;
  }
  NONCE_POOL.copy(out, at, noncePoolOffset, noncePoolOffset + 12);
  NONCE_POOL.fill(0, noncePoolOffset, noncePoolOffset + 12); // a nonce is never handed out twice
  noncePoolOffset += 12;
}

export function sealBytes(key: Buffer, plaintext: Buffer, aad: string, term = 0): Buffer {
  const out = Buffer.allocUnsafe(HEADER + plaintext.length + TAG);
  out[0] = VERSION;
  out.writeUInt32BE(term, 1);
  nextNonce(out, 5);
  const cipher = createCipheriv('aes-256-gcm', key, out.subarray(5, HEADER));
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  // GCM is a stream mode: update() returns exactly as many bytes as it is given, final() none.
  const written = cipher.update(plaintext).copy(out, HEADER);
  cipher.final();
  cipher.getAuthTag().copy(out, HEADER + written);
  return out;
}

export function termOf(blob: Buffer): number {
  if (blob.length < HEADER + TAG || blob[0] !== VERSION) throw integrityError();
  return blob.readUInt32BE(1);
}

export function openBytes(key: Buffer, blob: Buffer, aad: string): Buffer {
  if (blob.length < HEADER + TAG || blob[0] !== VERSION) throw integrityError();
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(5, HEADER));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(blob.subarray(blob.length - TAG));
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER, blob.length - TAG)), decipher.final()]);
  } catch {
    throw integrityError();
  }
}

const integrityError = () => new CofferError(500, 'stored value failed integrity check');

export interface KeyTerm {
  term: number;
  key: string; // base64
  install_time: string;
}

/** The data-encryption keys by term; new writes use the newest term, reads use whichever term wrote them. */
export class Keyring {
  private readonly keys = new Map<number, Buffer>();
  constructor(readonly terms: KeyTerm[]) {
    for (const t of terms) this.keys.set(t.term, Buffer.from(t.key, 'base64'));
  }

  static create(): Keyring {
    return new Keyring([{ term: 1, key: randomBytes(32).toString('base64'), install_time: new Date().toISOString() }]);
  }

  get active(): KeyTerm {
    return this.terms[this.terms.length - 1];
  }

  keyFor(term: number): Buffer {
    const key = this.keys.get(term);
    if (!key) throw integrityError();
    return key;
  }

  rotated(): Keyring {
    const next: KeyTerm = {
      term: this.active.term + 1,
      key: randomBytes(32).toString('base64'),
      install_time: new Date().toISOString(),
    };
    return new Keyring([...this.terms, next]);
  }

  serialize(): Buffer {
    return Buffer.from(JSON.stringify({ terms: this.terms }), 'utf8');
  }

  static deserialize(raw: Buffer): Keyring {
    return new Keyring((JSON.parse(raw.toString('utf8')) as { terms: KeyTerm[] }).terms);
  }

  /** Overwrites key material in memory (best effort; JS strings in `terms` cannot be wiped). */
  wipe(): void {
    for (const key of this.keys.values()) key.fill(0);
    this.keys.clear();
  }
}

/** Keys under this prefix belong to the seal itself and are written by it directly, never through the barrier. */
export const SEAL_PREFIX = 'core/seal/';

/**
 * Decrypted values of recently used keys, so hot reads (tokens, KV records) skip storage and AES. Bounded by
 * entry count and bytes; every write goes through it; it is wiped whenever the barrier locks, so a sealed
 * server holds nothing decryptable in memory.
 */
interface CachedValue {
  bytes: Buffer;
  text?: string;
  /** The value parsed as JSON and deeply frozen (see getShared). */
  parsed?: unknown;
  /** The cache's insertion count when this entry last moved to the recent end. */
  movedAt: number;
}

export class PlaintextCache {
  private readonly entries = new Map<string, CachedValue>();
  private bytes = 0;
  private insertions = 0;

  constructor(private readonly maxEntries: number, private readonly maxBytes: number) {}

  get(key: string): CachedValue | undefined {
    const hit = this.entries.get(key);
    // Refresh recency (Map keeps insertion order; the first entry is the least recently used), but only for an
    // entry that has drifted out of the newest quarter: moving a hot entry on every read costs more than the
    // read itself, and one in the newest quarter is far from eviction anyway.
    if (hit && this.insertions - hit.movedAt > this.maxEntries / 4) {
      this.entries.delete(key);
      hit.movedAt = ++this.insertions;
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Buffer): void {
    this.drop(key);
    if (value.length > this.maxBytes / 64) return; // large values would evict everything else
    this.entries.set(key, { bytes: value, movedAt: ++this.insertions });
    this.bytes += value.length;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      this.drop(this.entries.keys().next().value!);
    }
  }

  drop(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.bytes -= old.bytes.length;
    old.bytes.fill(0);
  }

  clear(): void {
    for (const value of this.entries.values()) value.bytes.fill(0);
    this.entries.clear();
    this.bytes = 0;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function parsedOf(entry: CachedValue): unknown {
  return (entry.parsed ??= deepFreeze(JSON.parse((entry.text ??= entry.bytes.toString('utf8')))));
}

export class Barrier implements Storage {
  private keyring: Keyring | null = null;
  private readonly cache = new PlaintextCache(50_000, 64 * 1024 * 1024);
  /** Bumped by every write: a read that raced a write does not cache what it read. */
  private writeGeneration = 0;
  /**
   * The generation of the newest write still in flight, per key. When a write commits, it fills the cache only
   * if no later write of the same key started meanwhile; writes of other keys do not matter (with group commit,
   * concurrent writers always overlap, and a global check would leave most fresh writes uncached).
   */
  private readonly newestWrite = new Map<string, number>();

  constructor(private readonly physical: Storage) {}

  get sealed(): boolean {
    return this.keyring === null;
  }

  unlock(keyring: Keyring): void {
    this.keyring = keyring;
  }

  lock(): void {
    this.keyring?.wipe();
    this.keyring = null;
    this.cache.clear();
  }

  currentKeyring(): Keyring {
    if (!this.keyring) throw sealedError();
    return this.keyring;
  }

  private encrypt(key: string, plaintext: Buffer): Buffer {
    const ring = this.currentKeyring();
    const term = ring.active.term;
    return sealBytes(ring.keyFor(term), plaintext, key, term);
  }

  private decrypt(key: string, blob: Buffer): Buffer {
    const ring = this.currentKeyring();
    return openBytes(ring.keyFor(termOf(blob)), blob, key);
  }

  // Callers get their own copy of a cached value: some of them wipe buffers they are done with.
  async get(key: string): Promise<Buffer | null> {
    this.currentKeyring();
    const cached = this.cache.get(key);
    if (cached) return Buffer.from(cached.bytes);
    const generation = this.writeGeneration;
    const blob = await this.physical.get(key);
    if (!blob) return null;
    const plain = this.decrypt(key, blob);
    if (generation === this.writeGeneration && !this.newestWrite.has(key)) this.cache.set(key, Buffer.from(plain));
    return plain;
  }

  /** Like get(), as text; cached values are decoded once and shared (strings are immutable, so no copy). */
  async getText(key: string): Promise<string | null> {
    this.currentKeyring();
    const cached = this.cache.get(key);
    if (cached) return (cached.text ??= cached.bytes.toString('utf8'));
    return (await this.get(key))?.toString('utf8') ?? null;
  }

  /** Parsed JSON, frozen so that callers sharing one object cannot change what the next caller sees. */
  async getShared(key: string): Promise<unknown> {
    this.currentKeyring();
    const cached = this.cache.get(key);
    if (cached) return parsedOf(cached);
    const plain = await this.get(key);
    if (!plain) return null;
    const filled = this.cache.get(key); // get() cached it unless a write raced the read
    return filled ? parsedOf(filled) : deepFreeze(JSON.parse(plain.toString('utf8')));
  }

  async put(key: string, value: Buffer): Promise<void> {
    return this.write([{ kind: 'put', key, value }], [{ kind: 'put', key, value: this.encrypt(key, value) }]);
  }

  async delete(key: string): Promise<void> {
    this.currentKeyring();
    return this.write([{ kind: 'delete', key }], [{ kind: 'delete', key }]);
  }

  async list(prefix: string, page?: ListPage): Promise<string[]> {
    this.currentKeyring();
    return this.physical.list(prefix, page);
  }

  async transaction(ops: StorageOp[]): Promise<void> {
    const encrypted = ops.map((op) => (op.kind === 'put' ? { ...op, value: this.encrypt(op.key, op.value!) } : op));
    return this.write(ops, encrypted);
  }

  /** Commits `encrypted` (the ciphertexts of `ops`), then caches the plaintexts no later write superseded. */
  private async write(ops: StorageOp[], encrypted: StorageOp[]): Promise<void> {
    const generation = ++this.writeGeneration;
    for (const op of ops) {
      this.cache.drop(op.key);
      this.newestWrite.set(op.key, generation);
    }
    let committed = false;
    try {
      if (encrypted.length === 1 && encrypted[0].kind === 'put') await this.physical.put(encrypted[0].key, encrypted[0].value!);
      else if (encrypted.length === 1) await this.physical.delete(encrypted[0].key);
      else await this.physical.transaction(encrypted);
      committed = true;
    } finally {
      for (const op of ops) {
        if (this.newestWrite.get(op.key) !== generation) continue;
        this.newestWrite.delete(op.key);
        if (committed && op.kind === 'put') this.cache.set(op.key, Buffer.from(op.value!));
      }
    }
  }
}
