/**
 * User lockout, as Vault's: failed logins are counted per identity (an AppRole role ID, a Kubernetes role and
 * service account, a JWT role and subject) rather than per address, so one client behind a NAT or an ingress
 * cannot lock everyone else out. After `threshold` failures within `counterReset` of each other the identity
 * is refused for `duration`; a successful login clears its count. Kept in memory and bounded (the least
 * recently touched identity is forgotten first); keys are hashes, so no role ID is held in clear.
 */
import { createHash } from 'node:crypto';
import type { LockoutTune } from '../../sdk/backend.js';

export interface LockoutSettings {
  threshold: number;
  durationMs: number;
  counterResetMs: number;
  disabled: boolean;
}

/** Vault's defaults: 5 failures, locked 15 minutes, count forgotten after 15 minutes without a failure. */
export const DEFAULT_LOCKOUT: LockoutSettings = { threshold: 5, durationMs: 15 * 60_000, counterResetMs: 15 * 60_000, disabled: false };

/** The server config's `user_lockout "all" {...}` and `user_lockout "<method type>" {...}` stanzas. */
export type LockoutStanzas = Record<string, Partial<LockoutSettings>>;

/** Mount tuning over the method type's stanza over the `all` stanza over Vault's defaults. */
export function effectiveLockout(stanzas: LockoutStanzas, mountType: string, tune: LockoutTune | undefined): LockoutSettings {
  const fromTune: Partial<LockoutSettings> = {};
  if (tune?.lockout_threshold) fromTune.threshold = tune.lockout_threshold;
  if (tune?.lockout_duration) fromTune.durationMs = tune.lockout_duration * 1000;
  if (tune?.lockout_counter_reset) fromTune.counterResetMs = tune.lockout_counter_reset * 1000;
  if (tune?.lockout_disable !== undefined) fromTune.disabled = tune.lockout_disable;
  return { ...DEFAULT_LOCKOUT, ...stanzas.all, ...stanzas[mountType], ...fromTune };
}

interface Counter {
  failures: number;
  lastFailure: number;
  lockedUntil: number;
}

export class UserLockout {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly maxIdentities = 10_000, private readonly now: () => number = Date.now) {}

  /** The map key of an identity on a mount (the mount's accessor keeps equal role names on two mounts apart). */
  static key(mountAccessor: string, identity: string): string {
    return createHash('sha256').update(mountAccessor).update('\0').update(identity).digest('base64url');
  }

  isLocked(key: string, settings: LockoutSettings): boolean {
    if (settings.disabled) return false;
    const c = this.counters.get(key);
    if (!c || c.lockedUntil === 0) return false;
    if (c.lockedUntil > this.now()) return true;
    this.counters.delete(key); // the lock ran out: a fresh start
    return false;
  }

  recordFailure(key: string, settings: LockoutSettings): void {
    if (settings.disabled) return;
    const now = this.now();
    let c = this.counters.get(key);
    if (!c || (c.lockedUntil === 0 && now - c.lastFailure >= settings.counterResetMs)) c = { failures: 0, lastFailure: now, lockedUntil: 0 };
    c.failures++;
    c.lastFailure = now;
    if (c.failures >= settings.threshold && c.lockedUntil === 0) c.lockedUntil = now + settings.durationMs;
    // Re-insert so the Map's order is least recently touched first, which is what gets evicted.
    this.counters.delete(key);
    if (this.counters.size >= this.maxIdentities) this.counters.delete(this.counters.keys().next().value!);
    this.counters.set(key, c);
  }

  /** A successful login clears the identity's count (Vault's counter reset on success). */
  reset(key: string): void {
    this.counters.delete(key);
  }

  get trackedIdentities(): number {
    return this.counters.size;
  }
}
