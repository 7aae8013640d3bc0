/**
 * Vault ACL policies: parsing HCL or JSON policy documents into the rules that `ACL` compiles.
 */
import { parse as parseHcl } from '@cdktf/hcl2json';
import { z } from 'zod';
import { parseDuration } from '../../sdk/duration.js';
import { CofferError } from '../../sdk/errors.js';
import { KUBERNETES_NAMESPACE } from '../../shared/kubernetes.js';

export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Values a parameter may (or may not) take; an empty list means "any value". */
export type ParameterValues = readonly unknown[];

export interface PathRule {
  /** The pattern as written, without a leading `/`: exact, `prefix*`, and/or with `+` segments. */
  readonly path: string;
  /** `['deny']` alone when the block denies: deny discards every other capability of the block. */
  readonly capabilities: readonly Capability[];
  /** Keys are lowercased, as Vault matches parameter names case-insensitively. */
  readonly allowedParameters?: ReadonlyMap<string, ParameterValues>;
  readonly deniedParameters?: ReadonlyMap<string, ParameterValues>;
  readonly requiredParameters?: readonly string[];
  /** The pattern holds `{{kubernetes.namespace}}`: it applies only to requests made for a namespace. */
  readonly templated?: boolean;
  /** Seconds; when set, requests on the path must ask for response wrapping with at least / at most this TTL. */
  readonly minWrappingTTL?: number;
  readonly maxWrappingTTL?: number;
}

export interface Policy {
  readonly name: string;
  /** The text the policy was parsed from, returned as-is by the policy read endpoints. */
  readonly raw: string;
  readonly paths: readonly PathRule[];
}

// Vault's pre-capabilities syntax (`policy = "write"`). `write` has never included `patch` in Vault, so a
// migrated policy must not gain it here either.
const LEGACY_POLICY_NAMES = ['deny', 'read', 'write', 'sudo'] as const;
const LEGACY_POLICIES: Record<(typeof LEGACY_POLICY_NAMES)[number], readonly Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

const parameterMap = z.record(z.string(), z.array(z.unknown()));
const wrappingTtl = z.union([z.string(), z.number()]);

// Strict on purpose: a key coffer does not implement (mfa_methods, control_group, expiration, ...) would
// otherwise be dropped silently and the policy would grant more than its author wrote.
const pathBlockSchema = z.strictObject({
  capabilities: z
    .array(z.enum(CAPABILITIES, { error: (issue) => `invalid capability ${JSON.stringify(issue.input)}` }))
    .optional(),
  policy: z
    .enum(LEGACY_POLICY_NAMES, { error: (issue) => `invalid policy ${JSON.stringify(issue.input)}` })
    .optional(),
  allowed_parameters: parameterMap.optional(),
  denied_parameters: parameterMap.optional(),
  required_parameters: z.array(z.string()).optional(),
  comment: z.string().optional(),
  min_wrapping_ttl: wrappingTtl.optional(),
  max_wrapping_ttl: wrappingTtl.optional(),
});
type PathBlock = z.infer<typeof pathBlockSchema>;

const documentSchema = z.strictObject({
  name: z.string().optional(),
  path: z.unknown().optional(),
});

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class PolicySyntaxError extends Error {}

const describeIssue = (issue: z.ZodError['issues'][number]) =>
  issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;

/**
 * Flattens the shapes a policy document may take into (pattern, block) pairs:
 * `{"path": {"p": {...}}}`, `{"path": {"p": [{...}, ...]}}` (what HCL produces) and
 * `{"path": [{"p": {...}}, ...]}` (HCL1's JSON list form).
 */
function pathEntries(paths: unknown): Array<[string, unknown]> {
  if (paths === undefined) return [];
  const maps = Array.isArray(paths) ? paths : [paths];
  const entries: Array<[string, unknown]> = [];
  for (const map of maps) {
    if (!isPlainObject(map)) throw new PolicySyntaxError('"path" must map path patterns to blocks');
    for (const [pattern, blocks] of Object.entries(map)) {
      for (const block of Array.isArray(blocks) ? blocks : [blocks]) entries.push([pattern, block]);
    }
  }
  return entries;
}

function capabilitiesOf(block: PathBlock): Capability[] {
  const granted = new Set<Capability>(block.capabilities ?? []);
  for (const capability of block.policy ? LEGACY_POLICIES[block.policy] : []) granted.add(capability);
  return granted.has('deny') ? ['deny'] : [...granted];
}

const lowercaseKeys = (params: Record<string, unknown[]> | undefined) =>
  params && new Map(Object.entries(params).map(([key, values]) => [key.toLowerCase(), values] as const));

function toPathRule(pattern: string, rawBlock: unknown): PathRule {
  const where = `path ${JSON.stringify(pattern)}`;
  const result = pathBlockSchema.safeParse(rawBlock);
  if (!result.success) throw new PolicySyntaxError(`${where}: ${describeIssue(result.error.issues[0]!)}`);
  const block = result.data;
  if (block.capabilities === undefined && block.policy === undefined) {
    throw new PolicySyntaxError(`${where}: a path block needs "capabilities" or "policy"`);
  }
  // A `+` wildcard is a whole segment and a trailing `*` extends the last literal segment; Vault rejects
  // the combination because its meaning would be ambiguous.
  if (pattern.includes('+*')) throw new PolicySyntaxError(`${where}: invalid use of wildcards ('+*' is forbidden)`);
  const templated = checkTemplates(pattern, where);

  const capabilities = capabilitiesOf(block);
  const denies = capabilities[0] === 'deny';
  const minWrappingTTL = wrappingBound(block.min_wrapping_ttl, 'min_wrapping_ttl', where);
  const maxWrappingTTL = wrappingBound(block.max_wrapping_ttl, 'max_wrapping_ttl', where);
  if (minWrappingTTL && maxWrappingTTL && maxWrappingTTL < minWrappingTTL) {
    throw new PolicySyntaxError(`${where}: max_wrapping_ttl cannot be less than min_wrapping_ttl`);
  }
  return {
    path: pattern.startsWith('/') ? pattern.slice(1) : pattern,
    capabilities,
    // Parameter constraints are meaningless on a denied path, and Vault drops them there too.
    allowedParameters: denies ? undefined : lowercaseKeys(block.allowed_parameters),
    deniedParameters: denies ? undefined : lowercaseKeys(block.denied_parameters),
    requiredParameters: denies ? undefined : block.required_parameters,
    ...(templated ? { templated } : {}),
    ...(minWrappingTTL ? { minWrappingTTL } : {}),
    ...(maxWrappingTTL ? { maxWrappingTTL } : {}),
  };
}

/** A wrapping TTL bound in seconds (Vault's duration forms), 0 when unset. */
function wrappingBound(value: string | number | undefined, field: string, where: string): number {
  try {
    return parseDuration(value, field) ?? 0;
  } catch {
    throw new PolicySyntaxError(`${where}: error parsing ${field}: invalid duration ${JSON.stringify(value)}`);
  }
}

/**
 * Path templates: `{{kubernetes.namespace}}` stands for the Kubernetes namespace an integration request is made
 * for (the ESO endpoints pass the ExternalSecret's namespace). Any other parameter is refused, so a typo cannot
 * silently turn into a literal pattern.
 */
const TEMPLATE = /\{\{\s*([^}]*?)\s*\}\}/g;
export const NAMESPACE_PARAMETER = 'kubernetes.namespace';

function checkTemplates(pattern: string, where: string): boolean {
  let templated = false;
  for (const [, parameter] of pattern.matchAll(TEMPLATE)) {
    if (parameter !== NAMESPACE_PARAMETER) {
      throw new PolicySyntaxError(`${where}: unknown template parameter ${JSON.stringify(parameter)} (coffer knows {{${NAMESPACE_PARAMETER}}})`);
    }
    templated = true;
  }
  if (pattern.replace(TEMPLATE, '').includes('{{')) throw new PolicySyntaxError(`${where}: unterminated template`);
  return templated;
}

/**
 * The policy as it applies to a request made for `namespace`: templated rules are rendered with it, or dropped
 * when the request names no namespace (deny by default, as Vault drops rules whose template cannot be filled).
 */
export function bindNamespace(policy: Policy, namespace: string | undefined): Policy {
  if (!policy.paths.some((rule) => rule.templated)) return policy;
  const usable = namespace !== undefined && KUBERNETES_NAMESPACE.test(namespace);
  const paths = policy.paths.flatMap((rule) => {
    if (!rule.templated) return [rule];
    return usable ? [{ ...rule, path: rule.path.replace(TEMPLATE, namespace!), templated: false }] : [];
  });
  return { ...policy, paths };
}

/**
 * Vault policies are HCL1, which tolerates a block's `{` on the line after its label; HCL2 (what hcl2json
 * parses) does not. Joining the two lines keeps such policies, common in the wild, loadable.
 */
const joinDetachedBraces = (text: string) => text.replace(/^(\s*path\s+"(?:[^"\\\n]|\\.)*")[ \t]*\r?\n\s*\{/gm, '$1 {');

async function decode(text: string): Promise<unknown> {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new PolicySyntaxError(`invalid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return await parseHcl('policy.hcl', joinDetachedBraces(text));
  } catch (err) {
    // hcl2json reports "parse config: [<diagnostics>]"; only the diagnostics help the policy author.
    const message = err instanceof Error ? err.message : String(err);
    throw new PolicySyntaxError(message.replace(/^parse config: \[(.*)\]$/s, '$1'));
  }
}

/** Parses a Vault ACL policy (HCL, or JSON when the text starts with `{`). Throws a 400 CofferError. */
export async function parsePolicy(name: string, text: string): Promise<Policy> {
  try {
    const document = documentSchema.safeParse(await decode(text));
    if (!document.success) throw new PolicySyntaxError(describeIssue(document.error.issues[0]!));
    const paths = pathEntries(document.data.path).map(([pattern, block]) => toPathRule(pattern, block));
    return { name, raw: text, paths };
  } catch (err) {
    if (err instanceof PolicySyntaxError) throw new CofferError(400, `failed to parse policy: ${err.message}`);
    throw err;
  }
}

/** Vault stores policy names lowercased, so `MyPolicy` and `mypolicy` are the same policy. */
export const normalizePolicyName = (name: string) => name.trim().toLowerCase();

/**
 * Whether a policy may be written under this name (after normalization): letters, digits, `.`, `_`, `-`, and no
 * `..` (names also appear in paths and in file names of exported policies). `root` is built in and immutable.
 */
export function isValidPolicyName(name: string): boolean {
  const normalized = normalizePolicyName(name);
  return /^[a-z0-9._-]+$/.test(normalized) && !normalized.includes('..') && normalized !== 'root';
}

/** The built-in policy of response-wrapping tokens: they can only be unwrapped, looked up or rewrapped. */
export const RESPONSE_WRAPPING_POLICY = 'response-wrapping';
export const RESPONSE_WRAPPING_POLICY_TEXT = `path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

path "sys/wrapping/lookup" {
  capabilities = ["update"]
}

path "sys/wrapping/rewrap" {
  capabilities = ["update"]
}
`;

/** coffer's built-in `default` policy: Vault's default policy restricted to the paths coffer serves. */
export const DEFAULT_POLICY_TEXT = `# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
  capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# Allow a token to look up its resultant ACL from all policies (used by UIs)
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body
path "sys/leases/renew" {
  capabilities = ["update"]
}

# Allow looking up lease properties; this requires knowing the lease ID ahead of time
path "sys/leases/lookup" {
  capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a response-wrapping token
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
`;
