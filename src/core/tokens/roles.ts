/**
 * Token roles (`auth/token/roles/:name`), Vault's fields: every field a write accepts is stored, read back and
 * enforced on the tokens created through the role (`auth/token/create/:name`). Legacy names (`period`,
 * `explicit_max_ttl`, `bound_cidrs`) are aliases of the `token_*` ones. `token_ttl` and `token_max_ttl` go beyond
 * Vault's token roles: the default TTL of the role's tokens and a cap on their lifetime.
 */
import { z } from 'zod';
import { SERVICE_TOKEN_TYPES } from '../../sdk/backend.js';
import { cidrList } from '../../sdk/cidr.js';
import { badRequest } from '../../sdk/errors.js';
import { aliased, bool, duration, int, normalizePolicies, stringList, unsupported } from '../../sdk/fields.js';
import { anyGlob } from '../../shared/glob.js';
import type { TokenEntry } from './store.js';

export const roleFields = z.object({
  allowed_policies: stringList().optional(),
  disallowed_policies: stringList().optional(),
  allowed_policies_glob: stringList().optional(),
  disallowed_policies_glob: stringList().optional(),
  orphan: bool().optional(),
  renewable: bool().optional(),
  path_suffix: z.string().max(256).optional(),
  // Entity aliases need the identity store, which coffer does not have.
  allowed_entity_aliases: unsupported(),
  token_bound_cidrs: cidrList().optional(),
  bound_cidrs: cidrList().optional(),
  token_explicit_max_ttl: duration().optional(),
  explicit_max_ttl: duration().optional(),
  token_no_default_policy: bool().optional(),
  token_num_uses: int().optional(),
  token_period: duration().optional(),
  period: duration().optional(),
  token_type: z.string().max(64).optional(),
  token_ttl: duration().optional(),
  token_max_ttl: duration().optional(),
});
export type RoleFields = z.infer<typeof roleFields>;

export interface TokenRole {
  name: string;
  allowed_policies: string[];
  disallowed_policies: string[];
  allowed_policies_glob: string[];
  disallowed_policies_glob: string[];
  orphan: boolean;
  renewable: boolean;
  path_suffix: string;
  token_bound_cidrs: string[];
  token_explicit_max_ttl: number;
  token_no_default_policy: boolean;
  token_num_uses: number;
  token_period: number;
  token_type: string;
  token_ttl: number;
  token_max_ttl: number;
}

const DEFAULTS: Omit<TokenRole, 'name'> = {
  allowed_policies: [],
  disallowed_policies: [],
  allowed_policies_glob: [],
  disallowed_policies_glob: [],
  orphan: false,
  renewable: true,
  path_suffix: '',
  token_bound_cidrs: [],
  token_explicit_max_ttl: 0,
  token_no_default_policy: false,
  token_num_uses: 0,
  token_period: 0,
  token_type: 'default-service',
  token_ttl: 0,
  token_max_ttl: 0,
};

/** A stored role with the fields older versions did not store filled in. */
export const withDefaults = (stored: Partial<TokenRole> & { name: string }): TokenRole => ({ ...DEFAULTS, ...stored });

/** Vault's rule for a path suffix: it becomes part of the token's path (`auth/token/create/ROLE/SUFFIX`). */
const PATH_SUFFIX = /^\w[\w.-]*\w$|^\w$/;

const lowerGlobs = (list: string[]) => [...new Set(list.map((g) => g.trim().toLowerCase()).filter(Boolean))].sort();

/** Applies a write on top of the stored role (or the defaults for a new one). */
export function buildRole(name: string, d: RoleFields, stored: TokenRole | null): TokenRole {
  const base = stored ?? { ...DEFAULTS, name };
  const type = d.token_type ?? base.token_type;
  if (type === 'batch' || type === 'default-batch') {
    throw badRequest(`token_type "${type}" is not supported: coffer issues service tokens only (use "service" or "default")`);
  }
  if (!(SERVICE_TOKEN_TYPES as readonly string[]).includes(type)) throw badRequest(`invalid token_type "${type.slice(0, 32)}"`);
  const suffix = d.path_suffix ?? base.path_suffix;
  if (suffix && !PATH_SUFFIX.test(suffix)) throw badRequest('path_suffix must match the regular expression \\w[\\w-.]+\\w');
  const role: TokenRole = {
    name,
    allowed_policies: normalizePolicies(d.allowed_policies ?? base.allowed_policies),
    disallowed_policies: normalizePolicies(d.disallowed_policies ?? base.disallowed_policies),
    allowed_policies_glob: lowerGlobs(d.allowed_policies_glob ?? base.allowed_policies_glob),
    disallowed_policies_glob: lowerGlobs(d.disallowed_policies_glob ?? base.disallowed_policies_glob),
    orphan: d.orphan ?? base.orphan,
    renewable: d.renewable ?? base.renewable,
    path_suffix: suffix,
    token_bound_cidrs: aliased<string[]>(d, 'token_bound_cidrs', 'bound_cidrs') ?? base.token_bound_cidrs,
    token_explicit_max_ttl: aliased<number>(d, 'token_explicit_max_ttl', 'explicit_max_ttl') ?? base.token_explicit_max_ttl,
    token_no_default_policy: d.token_no_default_policy ?? base.token_no_default_policy,
    token_num_uses: d.token_num_uses ?? base.token_num_uses,
    token_period: aliased<number>(d, 'token_period', 'period') ?? base.token_period,
    token_type: type,
    token_ttl: d.token_ttl ?? base.token_ttl,
    token_max_ttl: d.token_max_ttl ?? base.token_max_ttl,
  };
  if (role.token_num_uses < 0) throw badRequest('"token_num_uses" cannot be negative');
  if (role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl) {
    throw badRequest('"token_ttl" value must be less than or equal to "token_max_ttl"');
  }
  return role;
}

/** The role as Vault reads it back: its fields plus the legacy names mirrored. */
export function presentRole(role: TokenRole): Record<string, unknown> {
  return {
    ...role,
    allowed_entity_aliases: [],
    explicit_max_ttl: role.token_explicit_max_ttl,
    period: role.token_period,
    bound_cidrs: role.token_bound_cidrs,
  };
}

/**
 * The policies of a token created through `role`. With allowed policies (or globs) on the role, the requested
 * policies must fall within them (none requested: the role's allowed list); without, they must be a subset of the
 * parent's. Disallowed names and globs refuse a policy either way. `default` is handled by the caller.
 */
export function rolePolicies(role: TokenRole, requested: string[] | undefined, parent: TokenEntry): string[] {
  const restricted = role.allowed_policies.length > 0 || role.allowed_policies_glob.length > 0;
  const parentIsRoot = parent.policies.includes('root');
  const policies = normalizePolicies(requested ?? (restricted ? role.allowed_policies : parent.policies)).filter((p) => p !== 'default');
  const permitted = (p: string) =>
    restricted ? role.allowed_policies.includes(p) || anyGlob(role.allowed_policies_glob, p) : parentIsRoot || parent.policies.includes(p);
  const outside = policies.filter((p) => !permitted(p));
  if (outside.length) {
    throw badRequest(restricted ? `token policies (${outside.join(', ')}) must be subset of the role's allowed policies` : 'child policies must be subset of parent');
  }
  const denied = policies.filter((p) => roleDisallows(role, p));
  if (denied.length) throw badRequest(`token policies (${denied.join(', ')}) are disallowed by this role`);
  return policies;
}

export const roleDisallows = (role: TokenRole, policy: string) =>
  role.disallowed_policies.includes(policy) || anyGlob(role.disallowed_policies_glob, policy);

/** The smaller of two limits where 0 means "none". */
export const minLimit = (a: number, b: number) => (a > 0 && b > 0 ? Math.min(a, b) : a || b);
