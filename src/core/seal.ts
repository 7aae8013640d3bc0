/**
 * Shamir seal. The unseal key (never stored) encrypts the root key; the root key encrypts the keyring; the
 * keyring's terms encrypt everything else (see barrier.ts). `sys/init` splits the unseal key into shares.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Storage } from '../storage/types.js';
import { Barrier, Keyring, SEAL_PREFIX, openBytes, sealBytes } from './barrier.js';
import { CofferError, badRequest } from './errors.js';
import { combine, split } from './shamir.js';

const CONFIG_KEY = `${SEAL_PREFIX}config`;
const ROOT_KEY = `${SEAL_PREFIX}root-key`;
const KEYRING_KEY = `${SEAL_PREFIX}keyring`;

export interface SealConfig {
  secret_shares: number;
  secret_threshold: number;
}

export class Seal {
  private configCache: SealConfig | null | undefined;
  private rootKey: Buffer | null = null;
  private pending: Buffer[] = [];
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
    if (!Number.isInteger(shares) || shares < 1 || shares > 255) throw badRequest('secret_shares must be between 1 and 255');
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > shares) {
      throw badRequest('secret_threshold must be between 1 and secret_shares');
    }
    if (shares > 1 && threshold === 1) throw badRequest('threshold must be greater than one for multiple shares');
    const unsealKey = randomBytes(32);
    const rootKey = randomBytes(32);
    const config: SealConfig = { secret_shares: shares, secret_threshold: threshold };
    await this.physical.transaction([
      { kind: 'put', key: ROOT_KEY, value: sealBytes(unsealKey, rootKey, ROOT_KEY) },
      { kind: 'put', key: KEYRING_KEY, value: sealBytes(rootKey, Keyring.create().serialize(), KEYRING_KEY) },
      { kind: 'put', key: CONFIG_KEY, value: Buffer.from(JSON.stringify(config)) },
    ]);
    this.configCache = config;
    const keys = shares === 1 ? [Buffer.from(unsealKey)] : split(unsealKey, shares, threshold);
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
  }

  /** Adds a new keyring term (`sys/rotate`); existing values stay readable under their old term. */
  async rotate(): Promise<void> {
    if (!this.rootKey) throw new CofferError(503, 'Vault is sealed');
    const next = this.barrier.currentKeyring().rotated();
    await this.physical.put(KEYRING_KEY, sealBytes(this.rootKey, next.serialize(), KEYRING_KEY));
    this.barrier.unlock(next);
  }
}
