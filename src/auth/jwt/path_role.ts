/**
 * `auth/jwt/role/:name`: which tokens may log in (audiences, subject, bound claims matched as strings or
 * globs), which claim names the user, which claims become token metadata, and the time leeways.
 */
import { z } from 'zod';
import { badRequest } from '../../sdk/errors.js';
import { stringList, stringMap } from '../../sdk/fields.js';
import { parseGoDuration } from '../../shared/duration.js';
import { rolePaths } from '../roles.js';
import { parseTokenParams, tokenFieldShape, type TokenParams } from '../tokenutil.js';

export interface JwtRole extends TokenParams {
  role_type: 'jwt';
  user_claim: string;
  bound_audiences: string[];
  bound_subject: string;
  bound_claims: Record<string, string | string[]>;
  bound_claims_type: 'string' | 'glob';
  claim_mappings: Record<string, string>;
  groups_claim: string;
  /** Seconds; negative = none, 0 = the default (60 s skew, 150 s for the others). */
  clock_skew_leeway: number;
  expiration_leeway: number;
  not_before_leeway: number;
}

/** Vault's leeways: signed seconds or a Go duration (`-1`, `90`, `2m`, `-1s`); 0 = the default, negative = none. */
const leeway = () =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const text = v.trim();
    if (/^-?\d+$/.test(text)) return parseInt(text, 10);
    const negative = text.startsWith('-');
    const seconds = parseGoDuration(negative ? text.slice(1) : text);
    return seconds === null ? v : negative ? -seconds : seconds;
  }, z.number({ message: 'must be a number of seconds or a duration (0 = the default, negative = none)' }).int());

const roleFields = z.object({
  ...tokenFieldShape,
  role_type: z.string().optional(),
  user_claim: z.string().min(1).optional(),
  bound_audiences: stringList().optional(),
  bound_subject: z.string().optional(),
  bound_claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  bound_claims_type: z.enum(['string', 'glob'], { message: 'must be "string" or "glob"' }).optional(),
  claim_mappings: stringMap().optional(),
  groups_claim: z.string().optional(),
  clock_skew_leeway: leeway().optional(),
  expiration_leeway: leeway().optional(),
  not_before_leeway: leeway().optional(),
});

export const rolePathSpecs = rolePaths<JwtRole, typeof roleFields>({
  fields: roleFields,
  build: (_name, d, existing) => {
    const roleType = d.role_type ?? existing?.role_type ?? 'jwt';
    if (roleType === 'oidc') throw badRequest('role_type "oidc" is not supported: coffer implements the jwt login (no browser OIDC flow); use role_type "jwt"');
    if (roleType !== 'jwt') throw badRequest(`invalid role_type "${roleType.slice(0, 16)}"`);
    const tokens = parseTokenParams(d, existing ?? undefined);
    const role: JwtRole = {
      ...tokens,
      role_type: 'jwt',
      user_claim: d.user_claim ?? existing?.user_claim ?? 'sub',
      bound_audiences: d.bound_audiences ?? existing?.bound_audiences ?? [],
      bound_subject: d.bound_subject ?? existing?.bound_subject ?? '',
      bound_claims: d.bound_claims ?? existing?.bound_claims ?? {},
      bound_claims_type: d.bound_claims_type ?? existing?.bound_claims_type ?? 'string',
      claim_mappings: d.claim_mappings ?? existing?.claim_mappings ?? {},
      groups_claim: d.groups_claim ?? existing?.groups_claim ?? '',
      clock_skew_leeway: d.clock_skew_leeway ?? existing?.clock_skew_leeway ?? 0,
      expiration_leeway: d.expiration_leeway ?? existing?.expiration_leeway ?? 0,
      not_before_leeway: d.not_before_leeway ?? existing?.not_before_leeway ?? 0,
    };
    const targets = Object.values(role.claim_mappings);
    if (new Set(targets).size !== targets.length) throw badRequest('claim_mappings contains duplicate target names');
    if (!role.bound_audiences.length && !role.bound_subject && !Object.keys(role.bound_claims).length && !tokens.token_bound_cidrs.length) {
      throw badRequest('must have at least one bound constraint when creating/updating a role');
    }
    return role;
  },
  help: 'Bind JWT claims to policies and token settings.',
});

