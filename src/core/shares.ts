/**
 * Key shares handed in one request at a time until a threshold is reached (root generation, rekey and its
 * verification). They are held in memory only, compared in constant time, and wiped once combined or dropped.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { badRequest } from '../sdk/errors.js';
import { combine } from './shamir.js';

/** Vault's bounds on a submitted key: an AES-128 key at least, an AES-256 key plus a share's x byte at most. */
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 33;

export function checkKeyLength(key: Buffer): void {
  if (key.length < MIN_KEY_BYTES) throw badRequest(`key is shorter than minimum ${MIN_KEY_BYTES} bytes`);
  if (key.length > MAX_KEY_BYTES) throw badRequest(`key is longer than maximum ${MAX_KEY_BYTES} bytes`);
}

export const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

export interface CollectorMessages {
  /** Error for a share given twice in one operation. */
  duplicate: string;
  /** Prefix of the error when the shares cannot be combined (Vault: "failed to compute root key"). */
  combineFailed: string;
}

export class ShareCollector {
  private shares: Buffer[] = [];
  /** Identifies the operation; every submission must name it. */
  nonce = randomUUID();

  constructor(private readonly messages: CollectorMessages) {}

  get progress(): number {
    return this.shares.length;
  }

  /**
   * Adds one share. Returns the combined key once `threshold` shares are in; progress then starts over
   * whether or not the key turns out to be right.
   */
  add(share: Buffer, threshold: number): Buffer | null {
    checkKeyLength(share);
    if (this.shares.some((s) => sameBytes(s, share))) throw badRequest(this.messages.duplicate);
    this.shares.push(Buffer.from(share));
    if (this.shares.length < threshold) return null;
    const shares = this.shares;
    this.shares = [];
    try {
      return threshold === 1 ? Buffer.from(shares[0]) : combine(shares);
    } catch (e) {
      throw badRequest(`${this.messages.combineFailed}: ${(e as Error).message}`);
    } finally {
      shares.forEach((s) => s.fill(0));
    }
  }

  /** Drops the shares given so far; with `renewNonce`, earlier nonces stop being accepted. */
  reset(renewNonce = false): void {
    this.shares.forEach((s) => s.fill(0));
    this.shares = [];
    if (renewNonce) this.nonce = randomUUID();
  }
}
