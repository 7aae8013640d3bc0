/**
 * The login guard: a login is refused while its remote address is over the failed-login ceiling (429) or its
 * identity is locked out, and a login that fails by the caller's own mistake counts towards both.
 */
import type { PathSpec } from '../../sdk/backend.js';
import { CofferError, permissionDenied } from '../../sdk/errors.js';
import { effectiveLockout, UserLockout, type LockoutSettings } from '../login/lockout.js';
import type { PipelineHost, Route } from './types.js';

export class LoginAttempt {
  /** Whether a failure of this request counts (a login not refused by this guard). */
  private counts = false;
  /** The login's identity for the user lockout, and the lockout settings of its mount. */
  private lockout: { key: string; settings: LockoutSettings } | null = null;

  constructor(
    private readonly core: PipelineHost,
    private readonly remoteAddr: string,
  ) {}

  /** Marks the request as a login once its route is known. */
  begin(route: Route): void {
    this.counts = route.login;
  }

  /** Finds the identity the login claims, from its data (checked by nothing yet: it only picks a counter). */
  identify(route: Route, spec: PathSpec, data: Record<string, unknown>): void {
    if (!this.counts) return;
    const identity = spec.lockoutIdentity?.(data) ?? null;
    if (identity === null) return;
    const mount = route.mount.entry;
    const settings = effectiveLockout(this.core.lockoutStanzas, mount.type, mount.config.user_lockout_config);
    this.lockout = settings.disabled ? null : { key: UserLockout.key(mount.accessor, identity), settings };
  }

  /** Checked after the request is audited, so that refused attempts are on record too. */
  guard(): void {
    if (!this.counts) return;
    const wait = this.core.loginLimiter.retryAfter(this.remoteAddr);
    if (wait > 0) {
      this.counts = false; // a refused attempt does not extend the window
      throw new CofferError(429, `too many failed login attempts from this address; try again in ${wait}s`);
    }
    // A locked identity is refused without looking at its credentials, as Vault's user lockout does.
    if (this.lockout && this.core.userLockout.isLocked(this.lockout.key, this.lockout.settings)) {
      this.counts = false;
      throw permissionDenied();
    }
  }

  succeeded(): void {
    if (this.lockout) this.core.userLockout.reset(this.lockout.key);
  }

  /** Only the caller's own mistakes count towards the limit, not a peer (TokenReview, JWKS) being down. */
  failed(status: number): void {
    if (!this.counts || (status !== 400 && status !== 403)) return;
    this.core.loginLimiter.recordFailure(this.remoteAddr);
    if (this.lockout) this.core.userLockout.recordFailure(this.lockout.key, this.lockout.settings);
  }
}
