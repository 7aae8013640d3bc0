/**
 * Passwords for dynamic users, static roles and root rotation. Vault's default generator (used when no
 * `password_policy` is named): 20 characters from a-z, A-Z, 0-9 and "-", with at least one of each class.
 * The alphabet is also what keeps a password safe to splice into a quoted SQL literal or an ACL rule.
 *
 * Named password policies (`sys/policies/password`) do not exist in coffer: a `password_policy` is refused at
 * write time rather than silently ignored.
 */
import { randomInt } from 'node:crypto';
import { badRequest } from '../../sdk/errors.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const DASH = '-';
const CHARSET = LOWER + UPPER + DIGITS + DASH;
export const DEFAULT_PASSWORD_LENGTH = 20;

const hasAny = (s: string, set: string) => [...s].some((c) => set.includes(c));

/** A random password under Vault's default policy (rejection sampling until every class is present). */
export function generatePassword(length = DEFAULT_PASSWORD_LENGTH): string {
  for (;;) {
    let out = '';
    for (let i = 0; i < length; i++) out += CHARSET[randomInt(CHARSET.length)];
    if (hasAny(out, LOWER) && hasAny(out, UPPER) && hasAny(out, DIGITS) && hasAny(out, DASH)) return out;
  }
}

/** Refuses a named password policy: coffer has no policy store to resolve it against. */
export function checkPasswordPolicy(policy: string | undefined): void {
  if (policy) {
    throw badRequest(`password_policy "${policy.slice(0, 64)}" cannot be used: named password policies are not supported; `
      + 'leave password_policy empty to use the default generator (20 characters: a-z, A-Z, 0-9, "-")');
  }
}
