/**
 * The security barrier: encrypts every value with AES-256-GCM before it reaches physical storage. The storage
 * key is the additional authenticated data, so a ciphertext moved to another key fails to decrypt, and a
 * flipped byte anywhere fails authentication instead of yielding wrong data.
 *
 * Value layout: [version 1][term u32 BE][nonce 12][ciphertext][tag 16].
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Storage, StorageOp } from '../storage/types.js';
import { CofferError, sealedError } from './errors.js';

const VERSION = 1;
const HEADER = 1 + 4 + 12;
const TAG = 16;

export function sealBytes(key: Buffer, plaintext: Buffer, aad: string, term = 0): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(HEADER);
  header[0] = VERSION;
  header.writeUInt32BE(term, 1);
  nonce.copy(header, 5);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
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

export class Barrier implements Storage {
  private keyring: Keyring | null = null;

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

  async get(key: string): Promise<Buffer | null> {
    this.currentKeyring();
    const blob = await this.physical.get(key);
    return blob ? this.decrypt(key, blob) : null;
  }

  async put(key: string, value: Buffer): Promise<void> {
    await this.physical.put(key, this.encrypt(key, value));
  }

  async delete(key: string): Promise<void> {
    this.currentKeyring();
    await this.physical.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    this.currentKeyring();
    return this.physical.list(prefix);
  }

  async transaction(ops: StorageOp[]): Promise<void> {
    await this.physical.transaction(
      ops.map((op) => (op.kind === 'put' ? { ...op, value: this.encrypt(op.key, op.value!) } : op)),
    );
  }
}
