/**
 * Failed-login ceiling per remote address: a fixed window per address, counted only on failures, kept in
 * memory and bounded (the least recently touched address is forgotten first). It stops password spraying
 * across many identities from one address; failures of one identity are the user lockout's business
 * (lockout.ts), so the default sits well above its threshold: 100 (20 × 5) per 15 minutes, which many clients
 * behind one NAT address do not reach by honest mistakes.
 */
import { normalizeAddress } from '../../sdk/cidr.js';

export interface LoginRateLimitOptions {
  /** Failed logins allowed per address per window before 429 (default 100). */
  maxFailures?: number;
  /** Window length in milliseconds (default 15 minutes). */
  windowMs?: number;
  /** Addresses tracked at most (default 10,000). */
  maxAddresses?: number;
}

interface Window {
  start: number;
  failures: number;
}

export class LoginRateLimiter {
  private readonly windows = new Map<string, Window>();
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxAddresses: number;

  constructor(options: LoginRateLimitOptions = {}, private readonly now: () => number = Date.now) {
    this.maxFailures = options.maxFailures ?? 100;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  private current(addr: string): Window | undefined {
    const w = this.windows.get(addr);
    if (w && this.now() - w.start >= this.windowMs) {
      this.windows.delete(addr);
      return undefined;
    }
    return w;
  }

  /** Seconds until the address may try again, or 0 when it is not limited. */
  retryAfter(remoteAddr: string): number {
    const w = this.current(normalizeAddress(remoteAddr));
    if (!w || w.failures < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000));
  }

  recordFailure(remoteAddr: string): void {
    const addr = normalizeAddress(remoteAddr);
    const w = this.current(addr) ?? { start: this.now(), failures: 0 };
    w.failures++;
    // Re-insert so the Map's order is least recently touched first, which is what gets evicted.
    this.windows.delete(addr);
    if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(addr, w);
  }

  get trackedAddresses(): number {
    return this.windows.size;
  }

  clear(): void {
    this.windows.clear();
  }
}
