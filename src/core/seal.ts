/**
 * Shamir seal. The unseal key (never stored) encrypts the root key; the root key encrypts the keyring; the
 * keyring's terms encrypt everything else (see barrier.ts). `sys/init` splits the unseal key into shares.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Storage } from '../storage/types.js';
import { Barrier, Keyring, SEAL_PREFIX, openBytes, sealBytes } from './barrier.js';
import { CofferError, badRequest, sealedError } from '../sdk/errors.js';
import { combine, split } from './shamir.js';
import { sameBytes } from './shares.js';
import { KeyedMutex } from '../shared/mutex.js';

const CONFIG_KEY = `${SEAL_PREFIX}config`;
const ROOT_KEY = `${SEAL_PREFIX}root-key`;
const KEYRING_KEY = `${SEAL_PREFIX}keyring`;

export interface SealConfig {
  secret_shares: number;
  secret_threshold: number;
}

/** Vault's limits on a share configuration (at init and at rekey); the message names what is wrong. */
export function checkShareConfig(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || shares < 1 || shares > 255) throw badRequest('secret_shares must be between 1 and 255');
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > shares) {
    throw badRequest('secret_threshold must be between 1 and secret_shares');
  }
  if (shares > 1 && threshold === 1) throw badRequest('threshold must be greater than one for multiple shares');
}

/** The unseal key as handed out: itself for a single share, else split with Shamir's scheme. */
function splitUnsealKey(unsealKey: Buffer, config: SealConfig): Buffer[] {
  return config.secret_shares === 1 ? [Buffer.from(unsealKey)] : split(unsealKey, config.secret_shares, config.secret_threshold);
}

export class Seal {
  private configCache: SealConfig | null | undefined;
  private rootKey: Buffer | null = null;
  private pending: Buffer[] = [];
  /** Rotation and rekey both rewrite the stored keyring: one at a time, or one would seal it under a stale key. */
  private readonly keyWrites = new KeyedMutex();
  private readonly lockListeners: (() => void)[] = [];
  /** Identifies one unseal attempt, as Vault's seal-status `nonce`. */
  nonce = '';

  constructor(private readonly physical: Storage, readonly barrier: Barrier) {}

  async config(): Promise<SealConfig | null> {
    if (this.configCache === undefined) {
      const raw = await this.physical.get(CONFIG_KEY);
      this.configCache = raw ? (JSON.parse(raw.toString('utf8')) as SealConfig) : null;
    }
    return this.configCache;
  }

  get progress(): number {
    return this.pending.length;
  }

  /** Creates all keys and returns the unseal key shares. Leaves the barrier sealed. */
  async initialize(shares: number, threshold: number): Promise<Buffer[]> {
    if (await this.config()) throw badRequest('Vault is already initialized');
    checkShareConfig(shares, threshold);
    const unsealKey = randomBytes(32);
    const rootKey = randomBytes(32);
    const config: SealConfig = { secret_shares: shares, secret_threshold: threshold };
    await this.physical.transaction([
      { kind: 'put', key: ROOT_KEY, value: sealBytes(unsealKey, rootKey, ROOT_KEY) },
      { kind: 'put', key: KEYRING_KEY, value: sealBytes(rootKey, Keyring.create().serialize(), KEYRING_KEY) },
      { kind: 'put', key: CONFIG_KEY, value: Buffer.from(JSON.stringify(config)) },
    ]);
    this.configCache = config;
    const keys = splitUnsealKey(unsealKey, config);
    unsealKey.fill(0);
    rootKey.fill(0);
    return keys;
  }

  /**
   * Adds one share. Returns true once the threshold is reached and the barrier is unlocked. A wrong set of
   * shares resets progress and fails without revealing which share was wrong.
   */
  async submitShare(share: Buffer): Promise<boolean> {
    const config = await this.config();
    if (!config) throw badRequest('Vault is not initialized');
    if (!this.barrier.sealed) return true;
    const expectedLength = config.secret_shares === 1 ? 32 : 33;
    if (share.length !== expectedLength) {
      throw badRequest(`invalid key: expected ${expectedLength} bytes, got ${share.length}`);
    }
    if (this.pending.some((p) => p.equals(share))) return false;
    if (this.pending.length === 0) this.nonce = randomUUID();
    this.pending.push(Buffer.from(share));
    if (this.pending.length < config.secret_threshold) return false;

    const shares = this.pending;
    this.pending = [];
    this.nonce = '';
    let unsealKey: Buffer;
    try {
      unsealKey = config.secret_shares === 1 ? shares[0] : combine(shares);
    } catch {
      throw badRequest('invalid unseal keys: shares could not be combined');
    }
    const rootBlob = await this.physical.get(ROOT_KEY);
    const ringBlob = await this.physical.get(KEYRING_KEY);
    if (!rootBlob || !ringBlob) throw new CofferError(500, 'seal storage is incomplete');
    let rootKey: Buffer;
    try {
      rootKey = openBytes(unsealKey, rootBlob, ROOT_KEY);
    } catch {
      throw badRequest('invalid unseal keys: the combined key does not decrypt the root key');
    } finally {
      unsealKey.fill(0);
      shares.forEach((s) => s.fill(0));
    }
    this.barrier.unlock(Keyring.deserialize(openBytes(rootKey, ringBlob, KEYRING_KEY)));
    this.rootKey = rootKey;
    return true;
  }

  resetProgress(): void {
    this.pending.forEach((s) => s.fill(0));
    this.pending = [];
    this.nonce = '';
  }

  lock(): void {
    this.resetProgress();
    this.rootKey?.fill(0);
    this.rootKey = null;
    this.barrier.lock();
    for (const listener of this.lockListeners) listener();
  }

  /** Runs `listener` at every seal (root generation and rekey drop their shares then). */
  onLock(listener: () => void): void {
    this.lockListeners.push(listener);
  }

  /** Adds a new keyring term (`sys/rotate`); existing values stay readable under their old term. */
  async rotate(): Promise<void> {
    await this.keyWrites.run('keyring', async () => {
      if (!this.rootKey) throw sealedError();
      const next = this.barrier.currentKeyring().rotated();
      await this.physical.put(KEYRING_KEY, sealBytes(this.rootKey, next.serialize(), KEYRING_KEY));
      this.barrier.unlock(next);
    });
  }

  /** Whether `unsealKey` is the current unseal key: it must open the stored root key to the one in memory. */
  async verifyUnsealKey(unsealKey: Buffer): Promise<boolean> {
    if (!this.rootKey) throw sealedError();
    const blob = await this.physical.get(ROOT_KEY);
    if (!blob) throw new CofferError(500, 'seal storage is incomplete');
    try {
      return sameBytes(openBytes(unsealKey, blob, ROOT_KEY), this.rootKey);
    } catch {
      return false; // a wrong key fails authentication (or has the wrong length for AES-256)
    }
  }

  /** A fresh unseal key and its shares under `config`, for a rekey; nothing changes until `rekey` is called. */
  newUnsealKey(config: SealConfig): { key: Buffer; shares: Buffer[] } {
    const key = randomBytes(32);
    return { key, shares: splitUnsealKey(key, config) };
  }

  /**
   * Replaces the unseal key and the share configuration, and with them the root key (as Vault does): the
   * keyring is sealed under a new root key, which is sealed under the new unseal key, in one transaction.
   * The old shares stop working at once; data keys (keyring terms) are unchanged.
   */
  async rekey(unsealKey: Buffer, config: SealConfig): Promise<void> {
    await this.keyWrites.run('keyring', async () => {
      if (!this.rootKey) throw sealedError();
      const rootKey = randomBytes(32);
      await this.physical.transaction([
        { kind: 'put', key: ROOT_KEY, value: sealBytes(unsealKey, rootKey, ROOT_KEY) },
        { kind: 'put', key: KEYRING_KEY, value: sealBytes(rootKey, this.barrier.currentKeyring().serialize(), KEYRING_KEY) },
        { kind: 'put', key: CONFIG_KEY, value: Buffer.from(JSON.stringify(config)) },
      ]);
      this.rootKey.fill(0);
      this.rootKey = rootKey;
      this.configCache = { ...config };
    });
  }
}
