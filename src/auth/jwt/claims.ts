/**
 * Claim checks of the JWT method, after the signature is verified: time claims with the role's leeways,
 * issuer, audience, subject, bound claims (string or glob; a list claim matches when any element does) and
 * the mapping of claims into token metadata. Failures are 400s worded like Vault's.
 */
import type { JWTPayload } from 'jose';
import { badRequest } from '../../sdk/errors.js';
import { globMatch } from '../../shared/glob.js';
import type { JwtRole } from './path_role.js';

const DEFAULT_CLOCK_SKEW = 60;
/** Vault's default for both derived-date offsets (cap/jwt's DefaultLeewaySeconds). */
const DEFAULT_DERIVED_LEEWAY = 150;

/** Vault's leeway fields: 0 selects the default, any negative value disables the leeway. */
const leewayOf = (value: number, fallback: number) => (value < 0 ? 0 : value === 0 ? fallback : value);
const invalid = (msg: string) => badRequest(`error validating token: ${msg}`);

/** A NumericDate claim; absent and 0 are both "not set", as in Vault. */
function dateClaim(claims: JWTPayload, name: 'exp' | 'nbf' | 'iat'): number {
  const value = claims[name];
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`invalid ${name} claim`);
  return Math.trunc(value);
}

/**
 * Vault's time checks: a token needs at least one of `exp`, `nbf`, `iat`. A missing `exp` is derived as the
 * later of `iat`/`nbf` plus `expiration_leeway`, so no token is valid forever; a missing `nbf` is `iat`, or
 * `exp` minus `not_before_leeway`. The clock skew leeway then applies to all three comparisons.
 */
export function checkTimes(claims: JWTPayload, role: JwtRole, nowSeconds: number): void {
  const iat = dateClaim(claims, 'iat');
  let exp = dateClaim(claims, 'exp');
  let nbf = dateClaim(claims, 'nbf');
  if (!iat && !exp && !nbf) throw invalid('no issued at (iat), not before (nbf), or expiration time (exp) claims in token');
  if (!exp) exp = Math.max(iat, nbf) + leewayOf(role.expiration_leeway, DEFAULT_DERIVED_LEEWAY);
  if (!nbf) nbf = iat || exp - leewayOf(role.not_before_leeway, DEFAULT_DERIVED_LEEWAY);
  const skew = leewayOf(role.clock_skew_leeway, DEFAULT_CLOCK_SKEW);
  if (nowSeconds + skew < nbf) throw invalid('invalid not before (nbf) claim: token not yet valid');
  if (nowSeconds - skew > exp) throw invalid('invalid expiration time (exp) claim: token is expired');
  if (iat && nowSeconds + skew < iat) throw invalid('invalid issued at (iat) claim: token issued in the future');
}

export function checkIssuerAudienceSubject(claims: JWTPayload, role: JwtRole, issuer: string): void {
  if (issuer && claims.iss !== issuer) throw invalid('invalid issuer (iss) claim');
  const aud = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (role.bound_audiences.length) {
    if (!aud.some((a) => role.bound_audiences.includes(a))) throw invalid('invalid audience (aud) claim: audience claim does not match any expected audience');
  } else if (aud.length) {
    throw badRequest('audience claim found in JWT but no audiences bound to the role');
  }
  if (role.bound_subject && claims.sub !== role.bound_subject) throw invalid('invalid subject (sub) claim');
}

/** A claim by name, or by JSON pointer (`/gitlab/project_path`) as Vault allows in bound claims and mappings. */
export function getClaim(claims: JWTPayload, name: string): unknown {
  if (!name.startsWith('/')) return claims[name];
  let node: unknown = claims;
  for (const raw of name.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const scalar = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;

export function checkBoundClaims(claims: JWTPayload, role: JwtRole): void {
  for (const [name, bound] of Object.entries(role.bound_claims)) {
    const expected = Array.isArray(bound) ? bound : [bound];
    const value = getClaim(claims, name);
    if (value === undefined) throw badRequest(`error validating claims: claim "${name}" is missing`);
    const actual = (Array.isArray(value) ? value : [value]).map(scalar).filter((v): v is string => v !== null);
    const matches = (want: string, got: string) => (role.bound_claims_type === 'glob' ? globMatch(want, got) : want === got);
    if (!actual.some((got) => expected.some((want) => matches(want, got)))) {
      throw badRequest(`error validating claims: claim "${name}" does not match any associated bound claim values`);
    }
  }
}

export function mappedMetadata(claims: JWTPayload, role: JwtRole): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [claim, target] of Object.entries(role.claim_mappings)) {
    const value = getClaim(claims, claim);
    if (value === undefined) continue;
    const text = scalar(value);
    if (text === null) throw badRequest(`error converting claim "${claim}" to string`);
    out[target] = text;
  }
  return out;
}

/** The user claim names the login (display name); it must be there and be a string or number. */
export function userName(claims: JWTPayload, role: JwtRole): string {
  const text = scalar(getClaim(claims, role.user_claim));
  if (text === null || text === '') throw badRequest(`claim "${role.user_claim}" not found in token`);
  return text;
}

/** With `groups_claim` set the claim must be a list of strings (or one string), as Vault requires. */
export function checkGroups(claims: JWTPayload, role: JwtRole): void {
  if (!role.groups_claim) return;
  const value = getClaim(claims, role.groups_claim);
  const list = Array.isArray(value) ? value : [value];
  if (value === undefined || !list.every((g) => typeof g === 'string')) {
    throw badRequest(`error validating claims: groups claim "${role.groups_claim}" could not be converted to a list of strings`);
  }
}
