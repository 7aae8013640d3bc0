/**
 * The ACL a token's policies compile into, with Vault's matching semantics:
 * - the same pattern in several policies merges (capabilities union; `deny` in any of them leaves only deny);
 * - an exact pattern beats every glob; otherwise the single highest-priority matching glob decides, and a
 *   deny on one pattern never reaches past it to a different pattern;
 * - glob priority, highest first: later first wildcard (`+` or `*`), no trailing `*`, fewer `+` segments,
 *   longer pattern, lexicographically larger pattern.
 * Everything that depends only on the policies is computed in the constructor, because `check` runs on
 * every request.
 */
import { Buffer } from 'node:buffer';
import type { Capability, ParameterValues, PathRule, Policy } from './policy.js';

export type AclOperation = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list';

export interface AclCheckResult {
  readonly allowed: boolean;
  /** Whether the deciding rule grants `sudo`; the caller enforces it on sudo-protected paths. */
  readonly sudo: boolean;
  /** Capabilities of the deciding rule, sorted: `["root"]` for root, `["deny"]` when nothing is granted. */
  readonly capabilities: readonly string[];
}

const CAPABILITY_BITS: Readonly<Record<Capability, number>> = {
  deny: 1,
  create: 2,
  read: 4,
  update: 8,
  patch: 16,
  delete: 32,
  list: 64,
  sudo: 128,
};
const DENY = CAPABILITY_BITS.deny;
const SUDO = CAPABILITY_BITS.sudo;
const SLASH = 0x2f;

const frozenResult = (allowed: boolean, sudo: boolean, capabilities: readonly string[]): AclCheckResult =>
  Object.freeze({ allowed, sudo, capabilities: Object.freeze(capabilities) });

const ROOT_RESULT = frozenResult(true, true, ['root']);
const NOTHING_GRANTED = frozenResult(false, false, ['deny']);
const NO_DATA: Readonly<Record<string, unknown>> = Object.freeze({});

interface CompiledRule {
  readonly bits: number;
  readonly allowedParameters: ReadonlyMap<string, ParameterValues> | undefined;
  readonly deniedParameters: ReadonlyMap<string, ParameterValues> | undefined;
  readonly requiredParameters: readonly string[];
  /** Seconds, 0 = no bound. */
  readonly minWrappingTTL: number;
  readonly maxWrappingTTL: number;
  readonly granted: AclCheckResult;
  readonly refused: AclCheckResult;
}

/** One pattern's permissions, merged across policies exactly as Vault merges them. */
class MergedPermissions {
  private bits = 0;
  private allowed: Map<string, ParameterValues> | undefined;
  private denied: Map<string, ParameterValues> | undefined;
  private readonly required = new Set<string>();
  private minWrappingTTL = 0;
  private maxWrappingTTL = 0;

  add(rule: PathRule): void {
    if (this.bits & DENY) return;
    const bits = rule.capabilities.reduce((sum, capability) => sum | CAPABILITY_BITS[capability], 0);
    if (bits & DENY) {
      this.bits = DENY;
      this.allowed = this.denied = undefined;
      return;
    }
    this.bits |= bits;
    this.allowed = mergeParameters(this.allowed, rule.allowedParameters);
    this.denied = mergeParameters(this.denied, rule.deniedParameters);
    for (const name of rule.requiredParameters ?? []) this.required.add(name);
    // Vault keeps the smaller of two bounds for either end.
    this.minWrappingTTL = smallerBound(this.minWrappingTTL, rule.minWrappingTTL);
    this.maxWrappingTTL = smallerBound(this.maxWrappingTTL, rule.maxWrappingTTL);
  }

  compile(): CompiledRule {
    const names = (Object.keys(CAPABILITY_BITS) as Capability[]).filter((name) => this.bits & CAPABILITY_BITS[name]);
    const capabilities = this.bits & DENY || names.length === 0 ? ['deny'] : names.sort();
    const sudo = (this.bits & SUDO) !== 0;
    return {
      bits: this.bits,
      allowedParameters: this.allowed?.size ? this.allowed : undefined,
      deniedParameters: this.denied?.size ? this.denied : undefined,
      // Vault looks required names up lowercased in the request data.
      requiredParameters: [...this.required].map((name) => name.toLowerCase()),
      minWrappingTTL: this.minWrappingTTL,
      maxWrappingTTL: this.maxWrappingTTL,
      granted: frozenResult(true, sudo, capabilities),
      refused: frozenResult(false, sudo, capabilities),
    };
  }
}

/** The smaller of two wrapping TTL bounds, where 0 (or none) means "no bound". */
const smallerBound = (current: number, incoming: number | undefined) =>
  incoming && (current === 0 || incoming < current) ? incoming : current;

/**
 * Vault's merge of allowed/denied parameter maps: a key's value lists are concatenated, except that an empty
 * list ("any value") on either side wins. Note that a policy without constraints does not lift the
 * constraints another policy puts on the same pattern.
 */
function mergeParameters(
  current: Map<string, ParameterValues> | undefined,
  incoming: ReadonlyMap<string, ParameterValues> | undefined,
): Map<string, ParameterValues> | undefined {
  if (!incoming?.size) return current;
  if (!current) return new Map(incoming);
  for (const [name, values] of incoming) {
    const existing = current.get(name);
    const anyValue = values.length === 0 || existing?.length === 0;
    current.set(name, anyValue ? [] : [...values, ...(existing ?? [])]);
  }
  return current;
}

interface GlobRule {
  readonly rule: CompiledRule;
  /** For a pattern without `+` segments: the text before its trailing `*`. */
  readonly prefix: string;
  /** For a pattern with `+` segments: its `/`-separated segments, trailing `*` removed. */
  readonly segments: readonly string[] | undefined;
  readonly endsWithGlob: boolean;
  // Priority keys. Vault measures positions and lengths in UTF-8 bytes and compares bytes.
  readonly firstWildcard: number;
  readonly plusSegments: number;
  readonly stem: Buffer;
}

// Vault's own test for "this pattern uses segment wildcards"; a `+` inside a segment stays literal.
const hasSegmentWildcards = (pattern: string) =>
  pattern === '+' || pattern.startsWith('+/') || pattern.includes('/+');

function toGlobRule(pattern: string, rule: CompiledRule): GlobRule | undefined {
  const segmented = hasSegmentWildcards(pattern);
  const endsWithGlob = pattern.endsWith('*');
  if (!segmented && !endsWithGlob) return undefined;
  const stem = endsWithGlob ? pattern.slice(0, -1) : pattern;
  const segments = segmented ? stem.split('/') : undefined;
  return {
    rule,
    prefix: stem,
    segments,
    endsWithGlob,
    firstWildcard: Buffer.byteLength(segmented ? pattern.slice(0, pattern.indexOf('+')) : stem),
    plusSegments: segments?.filter((segment) => segment === '+').length ?? 0,
    stem: Buffer.from(stem),
  };
}

/** Sorts the highest-priority glob first (Vault's rules 1 to 5). */
const byPriority = (a: GlobRule, b: GlobRule) =>
  b.firstWildcard - a.firstWildcard ||
  Number(a.endsWithGlob) - Number(b.endsWithGlob) ||
  a.plusSegments - b.plusSegments ||
  b.stem.length - a.stem.length ||
  Buffer.compare(b.stem, a.stem);

/**
 * Walks `path` segment by segment without splitting it. As in Vault, `a/b/` has the three segments
 * `a`, `b` and ``; `+` matches any one segment (even an empty one); a trailing `*` lets the last pattern
 * segment match a segment it is a prefix of, followed by anything.
 */
function matchesSegments(segments: readonly string[], endsWithGlob: boolean, path: string): boolean {
  const last = segments.length - 1;
  let start = 0;
  for (let i = 0; ; i++) {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    const segment = segments[i]!;
    if (i === last && endsWithGlob) return path.startsWith(segment, start);
    if (segment !== '+' && !(end - start === segment.length && path.startsWith(segment, start))) return false;
    if (i === last) return slash === -1;
    if (slash === -1) return false;
    start = slash + 1;
  }
}

const matchesGlob = (glob: GlobRule, path: string) =>
  glob.segments ? matchesSegments(glob.segments, glob.endsWithGlob, path) : path.startsWith(glob.prefix);

const OPERATION_BITS: Readonly<Record<AclOperation, number>> = {
  create: CAPABILITY_BITS.create,
  read: CAPABILITY_BITS.read,
  update: CAPABILITY_BITS.update,
  patch: CAPABILITY_BITS.patch,
  delete: CAPABILITY_BITS.delete,
  list: CAPABILITY_BITS.list,
};

export class ACL {
  /** True when the token holds the `root` policy: everything is allowed, with sudo. */
  readonly isRoot: boolean;
  private readonly exactRules = new Map<string, CompiledRule>();
  private readonly globRules: readonly GlobRule[];

  constructor(policies: readonly Policy[]) {
    this.isRoot = policies.some((policy) => policy.name === 'root');
    const merged = new Map<string, MergedPermissions>();
    for (const policy of policies) {
      for (const rule of policy.paths) {
        let permissions = merged.get(rule.path);
        if (!permissions) merged.set(rule.path, (permissions = new MergedPermissions()));
        permissions.add(rule);
      }
    }
    const globs: GlobRule[] = [];
    for (const [pattern, permissions] of merged) {
      const compiled = permissions.compile();
      const glob = toGlobRule(pattern, compiled);
      if (glob) globs.push(glob);
      else this.exactRules.set(pattern, compiled);
    }
    this.globRules = globs.sort(byPriority);
  }

  static root(): ACL {
    return new ACL([{ name: 'root', raw: '', paths: [] }]);
  }

  /**
   * Decides one request. A list request must be checked with the trailing slash Vault's router gives it
   * (`secret/foo/` to list `secret/foo`): then both `path "secret/foo"` and `path "secret/foo/*"` style
   * rules apply, as in Vault. Parameter constraints apply to read, create, update and patch (Vault checks
   * reads too, against their query parameters). `wrapTTL` is the response-wrapping TTL the request asks for
   * (seconds, 0 = none), held against the rule's min/max_wrapping_ttl.
   */
  check(path: string, operation: AclOperation, data?: Readonly<Record<string, unknown>>, wrapTTL = 0): AclCheckResult {
    if (this.isRoot) return ROOT_RESULT;
    const rule = this.resolve(path, operation);
    if (!rule) return NOTHING_GRANTED;
    if ((rule.bits & OPERATION_BITS[operation]) === 0) return rule.refused;
    if (!wrappingPermitted(rule, wrapTTL)) return rule.refused;
    if (operation === 'list' || operation === 'delete') return rule.granted;
    return parametersPermitted(rule, data ?? NO_DATA) ? rule.granted : rule.refused;
  }

  /** What `sys/capabilities-self` reports for `path` (resolved like a list request, as Vault does). */
  capabilities(path: string): string[] {
    if (this.isRoot) return [...ROOT_RESULT.capabilities];
    return [...(this.resolve(path, 'list')?.granted ?? NOTHING_GRANTED).capabilities];
  }

  /**
   * Whether the policies grant anything at or under a mount (`secret/`), which is how Vault decides that a
   * caller may see the mount in `sys/internal/ui/mounts`.
   */
  hasAccessUnder(mountPath: string): boolean {
    if (this.isRoot) return true;
    const path = `${stripLeadingSlashes(mountPath).replace(/\/*$/, '')}/`;
    if (this.capabilities(path)[0] !== 'deny') return true;
    for (const [pattern, rule] of this.exactRules) if (pattern.startsWith(path) && grantsSomething(rule)) return true;
    return this.globRules.some(
      (glob) => grantsSomething(glob.rule) && (glob.segments ? couldReachUnder(glob, path) : glob.prefix.startsWith(path)),
    );
  }

  private resolve(path: string, operation: AclOperation): CompiledRule | undefined {
    path = stripLeadingSlashes(path);
    const exact = this.exactRules.get(path);
    if (exact) return exact;
    // Vault tries the listed directory without its slash first, so `secret/foo` and `secret/fo*` apply.
    if (operation === 'list' && path.endsWith('/')) {
      const directory = path.slice(0, -1);
      const rule = this.exactRules.get(directory) ?? this.matchGlob(directory);
      if (rule) return rule;
    }
    return this.matchGlob(path);
  }

  private matchGlob(path: string): CompiledRule | undefined {
    for (const glob of this.globRules) if (matchesGlob(glob, path)) return glob.rule;
    return undefined;
  }
}

function stripLeadingSlashes(path: string): string {
  let start = 0;
  while (path.charCodeAt(start) === SLASH) start++;
  return start === 0 ? path : path.slice(start);
}

const grantsSomething = (rule: CompiledRule) => rule.bits !== 0 && (rule.bits & DENY) === 0;

/** Whether a `+` pattern can match some path under `mountPath` (which ends with `/`). */
function couldReachUnder(glob: GlobRule, mountPath: string): boolean {
  const patternSegments = glob.segments!;
  const mountSegments = mountPath.slice(0, -1).split('/');
  if (patternSegments.length < mountSegments.length) return false;
  return mountSegments.every((segment, i) => {
    const pattern = patternSegments[i]!;
    if (pattern === '+' || pattern === segment) return true;
    return glob.endsWithGlob && i === patternSegments.length - 1 && segment.startsWith(pattern);
  });
}

/**
 * Vault's wrapping bounds: a max or a min makes wrapping mandatory on the path, within the bounds (a merge of
 * policies can leave max below min, which nothing satisfies).
 */
function wrappingPermitted(rule: CompiledRule, wrapTTL: number): boolean {
  const { minWrappingTTL: min, maxWrappingTTL: max } = rule;
  if (max > 0 && (wrapTTL === 0 || wrapTTL > max)) return false;
  if (min > 0 && (wrapTTL === 0 || wrapTTL < min)) return false;
  return !(min > 0 && max > 0 && max < min);
}

function parametersPermitted(rule: CompiledRule, data: Readonly<Record<string, unknown>>): boolean {
  for (const name of rule.requiredParameters) if (!Object.hasOwn(data, name)) return false;
  const { allowedParameters: allowed, deniedParameters: denied } = rule;
  if ((!allowed && !denied) || isEmpty(data)) return true;
  if (denied) {
    if (denied.has('*')) return false;
    for (const name in data) {
      const values = denied.get(name.toLowerCase());
      if (values && deniedValue(data[name], values)) return false;
    }
  }
  if (!allowed) return true;
  const anyName = allowed.has('*');
  if (anyName && allowed.size === 1) return true;
  for (const name in data) {
    const values = allowed.get(name.toLowerCase());
    if (values ? !allowedValue(data[name], values) : !anyName) return false;
  }
  return true;
}

function isEmpty(data: Readonly<Record<string, unknown>>): boolean {
  for (const _ in data) return false;
  return true;
}

/**
 * Vault also judges the elements of a multi-valued parameter: an array's elements, or a string's
 * comma-separated items (backends accept `a,b` for list fields). Unlike Vault, an empty string yields one
 * empty item rather than none, so `""` is not vacuously allowed by a value list.
 */
function elementsOf(value: unknown): readonly unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return value.split(',').map((item) => item.trim());
  return undefined;
}

function allowedValue(value: unknown, allowed: ParameterValues): boolean {
  if (allowed.length === 0 || inValues(value, allowed)) return true;
  return elementsOf(value)?.every((element) => inValues(element, allowed)) ?? false;
}

function deniedValue(value: unknown, denied: ParameterValues): boolean {
  if (denied.length === 0 || inValues(value, denied)) return true;
  return elementsOf(value)?.some((element) => inValues(element, denied)) ?? false;
}

const inValues = (value: unknown, values: ParameterValues) =>
  values.some((candidate) =>
    typeof candidate === 'string' ? typeof value === 'string' && globMatches(candidate, value) : jsonEqual(candidate, value),
  );

/** A policy value may start and/or end with `*`; a lone `*` is literal, as in Vault. */
function globMatches(pattern: string, value: string): boolean {
  if (pattern.length < 2) return value === pattern;
  const leading = pattern.startsWith('*');
  const trailing = pattern.endsWith('*');
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
    );
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]))
  );
}
