/**
 * The token fields every auth method's role carries (Vault's `tokenutil`): parsed once here, with the legacy
 * names (`policies`, `ttl`, `max_ttl`, `period`, `bound_cidrs`) as aliases, read back in Vault's shape, and
 * turned into the core's `LoginRequest`. Methods spread `tokenFieldShape` into their role schema.
 */
import { z } from 'zod';
import { declarePath, SERVICE_TOKEN_TYPES, type LoginRequest, type LoginTokenType, type PathSpec, type Request } from '../sdk/backend.js';
import { addressAllowed, cidrList } from '../sdk/cidr.js';
import { badRequest, permissionDenied } from '../sdk/errors.js';
import { aliased, bool, duration, int, normalizePolicies, stringList } from '../sdk/fields.js';

export const tokenFieldShape = {
  token_policies: stringList().optional(),
  policies: stringList().optional(),
  token_ttl: duration().optional(),
  ttl: duration().optional(),
  token_max_ttl: duration().optional(),
  max_ttl: duration().optional(),
  token_explicit_max_ttl: duration().optional(),
  token_period: duration().optional(),
  period: duration().optional(),
  token_num_uses: int().optional(),
  token_bound_cidrs: cidrList().optional(),
  bound_cidrs: cidrList().optional(),
  token_type: z.string().optional(),
  token_no_default_policy: bool().optional(),
};
const tokenFieldsSchema = z.object(tokenFieldShape);
export type TokenFieldsInput = z.infer<typeof tokenFieldsSchema>;

export interface TokenParams {
  token_policies: string[];
  token_ttl: number;
  token_max_ttl: number;
  token_explicit_max_ttl: number;
  token_period: number;
  token_num_uses: number;
  token_bound_cidrs: string[];
  token_type: LoginTokenType;
  token_no_default_policy: boolean;
}

export const DEFAULT_TOKEN_PARAMS: TokenParams = {
  token_policies: [],
  token_ttl: 0,
  token_max_ttl: 0,
  token_explicit_max_ttl: 0,
  token_period: 0,
  token_num_uses: 0,
  token_bound_cidrs: [],
  token_type: 'default',
  token_no_default_policy: false,
};

/** Applies the token fields of a role write on top of the stored ones (or the defaults for a new role). */
export function parseTokenParams(data: TokenFieldsInput, existing: TokenParams = DEFAULT_TOKEN_PARAMS): TokenParams {
  const type = data.token_type ?? existing.token_type;
  if (type === 'batch' || type === 'default-batch') {
    throw badRequest(`token_type "${type}" is not supported: coffer issues service tokens only (use "service" or "default")`);
  }
  if (!(SERVICE_TOKEN_TYPES as readonly string[]).includes(type)) throw badRequest(`invalid token_type "${type.slice(0, 32)}"`);
  const p: TokenParams = {
    token_policies: normalizePolicies(aliased<string[]>(data, 'token_policies', 'policies') ?? existing.token_policies),
    token_ttl: aliased<number>(data, 'token_ttl', 'ttl') ?? existing.token_ttl,
    token_max_ttl: aliased<number>(data, 'token_max_ttl', 'max_ttl') ?? existing.token_max_ttl,
    token_explicit_max_ttl: data.token_explicit_max_ttl ?? existing.token_explicit_max_ttl,
    token_period: aliased<number>(data, 'token_period', 'period') ?? existing.token_period,
    token_num_uses: data.token_num_uses ?? existing.token_num_uses,
    token_bound_cidrs: aliased<string[]>(data, 'token_bound_cidrs', 'bound_cidrs') ?? existing.token_bound_cidrs,
    token_type: type as LoginTokenType,
    token_no_default_policy: data.token_no_default_policy ?? existing.token_no_default_policy,
  };
  if (p.token_num_uses < 0) throw badRequest('"token_num_uses" cannot be negative');
  if (p.token_max_ttl > 0 && p.token_ttl > p.token_max_ttl) throw badRequest('"token_ttl" value must be less than or equal to "token_max_ttl"');
  return p;
}

/** The token fields as Vault reads a role back: the `token_*` names plus the legacy ones mirrored. */
export function tokenParamsResponse(p: TokenParams): Record<string, unknown> {
  return {
    token_policies: p.token_policies,
    token_ttl: p.token_ttl,
    token_max_ttl: p.token_max_ttl,
    token_explicit_max_ttl: p.token_explicit_max_ttl,
    token_period: p.token_period,
    token_num_uses: p.token_num_uses,
    token_bound_cidrs: p.token_bound_cidrs,
    token_type: p.token_type,
    token_no_default_policy: p.token_no_default_policy,
    policies: p.token_policies,
    ttl: p.token_ttl,
    max_ttl: p.token_max_ttl,
    period: p.token_period,
  };
}

/** A stored role as `read` returns it: its own fields, plus the token fields in Vault's shape. */
export function presentRole<R extends TokenParams>(role: R): Record<string, unknown> {
  return { ...role, ...tokenParamsResponse(role) };
}

export interface LoginIdentity {
  metadata: Record<string, string>;
  displayName: string;
  role: string;
  /** Extra CIDR bounds for this login (AppRole secret IDs carry their own `token_bound_cidrs`). */
  boundCidrs?: string[];
}

/** The core's token request for a login under a role with these token fields. */
export function loginRequest(p: TokenParams, who: LoginIdentity): { login: LoginRequest } {
  return {
    login: {
      policies: p.token_policies,
      noDefaultPolicy: p.token_no_default_policy,
      ttl: p.token_ttl,
      maxTTL: p.token_max_ttl,
      explicitMaxTTL: p.token_explicit_max_ttl,
      period: p.token_period,
      numUses: p.token_num_uses,
      boundCidrs: who.boundCidrs?.length ? who.boundCidrs : p.token_bound_cidrs,
      tokenType: p.token_type,
      metadata: who.metadata,
      displayName: who.displayName,
      role: who.role,
    },
  };
}

/** Vault checks `token_bound_cidrs` at login too, so a token is never issued to an address that could not use it. */
export function assertLoginAddress(remoteAddr: string, p: TokenParams): void {
  if (!addressAllowed(remoteAddr, p.token_bound_cidrs)) throw permissionDenied();
}

/**
 * The `login` path of a method: unauthenticated, one update handler whose answer is a `LoginRequest`, and who
 * a request claims to be for the user lockout.
 */
export function loginPath<F extends z.ZodType>(
  fields: F,
  handler: (req: Request<z.infer<F>>) => Promise<{ login: LoginRequest }>,
  help: string,
  lockoutIdentity: PathSpec['lockoutIdentity'],
): PathSpec {
  return declarePath({ pattern: 'login', fields, unauthenticated: true, operations: { update: handler }, lockoutIdentity, help });
}

/**
 * The lockout identity of a `{role, jwt}` login: the role, plus the subject the token claims when `subjectOf`
 * can read one (unverified; a wrong claim only picks which count a failure goes to).
 */
export function roleJwtIdentity(subjectOf: (jwt: string) => string | null): NonNullable<PathSpec['lockoutIdentity']> {
  return (data) => {
    const role = typeof data.role === 'string' ? data.role : '';
    const jwt = typeof data.jwt === 'string' ? data.jwt.trim() : '';
    let subject: string | null = null;
    try {
      subject = jwt ? subjectOf(jwt) : null;
    } catch {
      subject = null; // not a readable token: the role alone
    }
    return subject === null ? `role:${role}` : `role:${role}\0subject:${subject}`;
  };
}

/** `{role, jwt}`: the login body of the kubernetes and jwt methods (checked in the handler for Vault's messages). */
export const roleJwtLoginFields = z.object({ role: z.string().max(256).optional(), jwt: z.string().max(64 * 1024).optional() });
