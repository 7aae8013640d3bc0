/**
 * ACL policy engine against Vault's documented semantics
 * (https://developer.hashicorp.com/vault/docs/concepts/policies) and, where the docs are silent, the
 * behaviour of Vault's vault/acl.go and vault/policy.go.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACL, type AclOperation } from '../../src/core/acl/acl.js';
import { DEFAULT_POLICY_TEXT, isValidPolicyName, parsePolicy } from '../../src/core/acl/policy.js';
import { CofferError } from '../../src/sdk/errors.js';

type Data = Record<string, unknown>;
type Expect = 'allow' | 'deny' | 'allow+sudo' | 'deny+sudo';
type Check = readonly [operation: AclOperation, path: string, expect: Expect, data?: Data];
interface NamedPolicy {
  readonly name: string;
  readonly text: string;
}
type PolicySource = string | NamedPolicy;
interface Case {
  readonly rule: string;
  readonly policies: readonly PolicySource[];
  readonly check: Check;
}

const block = (path: string, ...lines: string[]) => `path "${path}" {\n${lines.map((line) => `  ${line}\n`).join('')}}\n`;
const capabilities = (...names: string[]) => `capabilities = ${JSON.stringify(names)}`;
const rule = (path: string, ...names: string[]) => block(path, capabilities(...names));
const parameters = (kind: 'allowed_parameters' | 'denied_parameters', map: Record<string, unknown[]>) =>
  `${kind} = {${Object.entries(map)
    .map(([name, values]) => `${JSON.stringify(name)} = ${JSON.stringify(values)}`)
    .join(', ')}}`;
const allowedParams = (map: Record<string, unknown[]>) => parameters('allowed_parameters', map);
const deniedParams = (map: Record<string, unknown[]>) => parameters('denied_parameters', map);
const requiredParams = (...names: string[]) => `required_parameters = ${JSON.stringify(names)}`;
const createOn = (path: string, ...constraints: string[]) => block(path, capabilities('create', 'read'), ...constraints);

const group = (name: string, policies: readonly PolicySource[], checks: readonly Check[]): Case[] =>
  checks.map((check) => ({ rule: name, policies, check }));

const FULL = ['create', 'read', 'update', 'patch', 'delete', 'list'];

const cases: Case[] = [
  // Docs: `path "secret/foo"` permits only secret/foo, not secret/food or secret/foo/bar.
  ...group('exact path', [rule('secret/foo', 'read')], [
    ['read', 'secret/foo', 'allow'],
    ['read', 'secret/food', 'deny'],
    ['read', 'secret/foo/bar', 'deny'],
    ['update', 'secret/foo', 'deny'],
    ['read', '/secret/foo', 'allow'],
  ]),
  ...group('exact path, leading slash in the policy is ignored', [rule('/secret/foo', 'read')], [
    ['read', 'secret/foo', 'allow'],
  ]),

  // Docs: `secret/bar/*` covers secret/bar/zip and secret/bar/zip/zap, not secret/bars/zip;
  // `secret/zip-*` covers secret/zip-zap and secret/zip-zap/zong, not secret/zip/zap.
  ...group('trailing * is a prefix glob', [rule('secret/bar/*', 'read'), rule('secret/zip-*', 'read')], [
    ['read', 'secret/bar/zip', 'allow'],
    ['read', 'secret/bar/zip/zap', 'allow'],
    ['read', 'secret/bars/zip', 'deny'],
    ['read', 'secret/bar', 'deny'],
    ['read', 'secret/zip-zap', 'allow'],
    ['read', 'secret/zip-zap/zong', 'allow'],
    ['read', 'secret/zip/zap', 'deny'],
  ]),

  // Docs: `+` is any number of characters bounded within a single path segment.
  ...group('+ matches exactly one segment', [rule('secret/+/teamb', 'read')], [
    ['read', 'secret/foo/teamb', 'allow'],
    ['read', 'secret/foo/bar/teamb', 'deny'],
    ['read', 'secret/teamb', 'deny'],
  ]),
  ...group('+ may appear several times', [rule('secret/+/+/teamb', 'read')], [
    ['read', 'secret/foo/bar/teamb', 'allow'],
    ['read', 'secret/foo/teamb', 'deny'],
  ]),
  ...group('+ combined with a trailing *', [rule('secret/+/team*', 'read')], [
    ['read', 'secret/x/teamb', 'allow'],
    ['read', 'secret/x/teamb/deep/path', 'allow'],
    ['read', 'secret/x/other', 'deny'],
  ]),
  ...group('+ as the first segment', [rule('+/config', 'read')], [
    ['read', 'kv/config', 'allow'],
    ['read', 'kv/a/config', 'deny'],
  ]),

  // Docs: the exact `secret/super-secret` deny takes precedence over `secret/*`; an exact match is
  // the most specific match, whatever it grants.
  ...group('exact match wins over globs', [rule('secret/*', ...FULL), rule('secret/super-secret', 'deny')], [
    ['read', 'secret/super-secret', 'deny'],
    ['read', 'secret/other', 'allow'],
  ]),
  ...group('exact match wins even when it grants less', [rule('secret/*', 'read'), rule('secret/foo', 'update')], [
    ['read', 'secret/foo', 'deny'],
    ['update', 'secret/foo', 'allow'],
  ]),

  // Docs: "If the same pattern appears in multiple policies, we take the union of the capabilities."
  ...group('same pattern across policies: union', [rule('secret/foo', 'read'), rule('secret/foo', 'update')], [
    ['read', 'secret/foo', 'allow'],
    ['update', 'secret/foo', 'allow'],
    ['delete', 'secret/foo', 'deny'],
  ]),
  ...group('same pattern across policies: sudo merges too', [rule('sys/mounts/*', 'update'), rule('sys/mounts/*', 'sudo')], [
    ['update', 'sys/mounts/kv', 'allow+sudo'],
  ]),
  // Docs: "If different patterns appear in the applicable policies, we take only the highest-priority match."
  ...group('different patterns across policies: no union', [rule('secret/*', 'read', 'update'), rule('secret/foo/*', 'read')], [
    ['update', 'secret/foo/x', 'deny'],
    ['update', 'secret/bar', 'allow'],
  ]),

  // Docs: deny always takes precedence, for the pattern it is written on.
  ...group('deny on the same pattern wins (deny second)', [rule('secret/*', 'read'), rule('secret/*', 'deny')], [
    ['read', 'secret/x', 'deny'],
  ]),
  ...group('deny on the same pattern wins (deny first)', [rule('secret/*', 'deny'), rule('secret/*', 'read', 'sudo')], [
    ['read', 'secret/x', 'deny'],
  ]),
  ...group('deny does not override a more specific allow of another pattern', [rule('secret/*', 'deny'), rule('secret/foo', 'read'), rule('secret/team/*', 'read')], [
    ['read', 'secret/foo', 'allow'],
    ['read', 'secret/team/x', 'allow'],
    ['read', 'secret/other', 'deny'],
  ]),
  ...group('a more specific deny beats a broader allow', [rule('secret/*', 'read'), rule('secret/private/*', 'deny')], [
    ['read', 'secret/private/key', 'deny'],
    ['read', 'secret/public', 'allow'],
  ]),

  // Priority rule 1: the pattern whose first wildcard (+ or *) comes later is higher.
  ...group('priority 1: later first wildcard wins over +', [rule('secret/+/foo', 'read'), rule('secret/bar/*', 'deny')], [
    ['read', 'secret/bar/foo', 'deny'],
    ['read', 'secret/baz/foo', 'allow'],
  ]),
  ...group('priority 1: foo/a* beats foo/+', [rule('secret/a*', 'read'), rule('secret/+', 'deny')], [
    ['read', 'secret/ab', 'allow'],
    ['read', 'secret/b', 'deny'],
  ]),
  ...group('priority 1: longest plain prefix', [rule('secret/*', 'deny'), rule('secret/app/*', 'read'), rule('secret/app/internal/*', 'deny')], [
    ['read', 'secret/app/config', 'allow'],
    ['read', 'secret/app/internal/key', 'deny'],
  ]),
  ...group('priority 1: foo/bar/+/baz beats foo/+/bar/baz', [rule('secret/foo/+/x', 'read'), rule('secret/+/foo/x', 'deny')], [
    ['read', 'secret/foo/foo/x', 'allow'],
  ]),

  // Priority rule 2: with the first wildcard at the same place, not ending in * is higher.
  ...group('priority 2: foo/+/bar beats foo/+/ba*', [rule('secret/+/bar', 'read'), rule('secret/+/ba*', 'deny')], [
    ['read', 'secret/x/bar', 'allow'],
    ['read', 'secret/x/baz', 'deny'],
  ]),
  ...group('priority 2: foo/+ beats foo/*', [rule('secret/+', 'deny'), rule('secret/*', 'read')], [
    ['read', 'secret/x', 'deny'],
    ['read', 'secret/x/y', 'allow'],
  ]),

  // Priority rule 3: fewer + segments is higher. Docs example: `secret/*` beats `secret/+/+/foo/*`.
  ...group('priority 3: docs example', [rule('secret/*', 'read'), rule('secret/+/+/foo/*', 'deny')], [
    ['read', 'secret/a/b/foo/c', 'allow'],
  ]),
  ...group('priority 3: foo/+/bar/baz beats foo/+/+/baz', [rule('secret/+/bar/baz', 'read'), rule('secret/+/+/baz', 'deny')], [
    ['read', 'secret/x/bar/baz', 'allow'],
    ['read', 'secret/x/qux/baz', 'deny'],
  ]),

  // Priority rule 4: the longer pattern is higher.
  ...group('priority 4: foo/+/bar/ba* beats foo/+/bar/b*', [rule('secret/+/bar/ba*', 'read'), rule('secret/+/bar/b*', 'deny')], [
    ['read', 'secret/x/bar/baz', 'allow'],
    ['read', 'secret/x/bar/bz', 'deny'],
  ]),
  // Rule 4 cases where rule 5 alone would pick the other pattern ('a' > '+').
  ...group('priority 4: longer beats lexicographically larger', [rule('secret/+/ab/+', 'deny'), rule('secret/+/+/abc', 'read')], [
    ['read', 'secret/x/ab/abc', 'allow'],
  ]),
  ...group('priority 4: longer beats lexicographically larger (globs)', [rule('secret/+/ab/+/c*', 'read'), rule('secret/+/+/abc/c*', 'deny')], [
    ['read', 'secret/x/ab/abc/cc', 'deny'],
  ]),

  // Priority rule 5: otherwise the lexicographically larger pattern is higher ('a' > '+').
  ...group('priority 5: larger pattern wins (allowing)', [rule('secret/+/a/+', 'read'), rule('secret/+/+/b', 'deny')], [
    ['read', 'secret/x/a/b', 'allow'],
  ]),
  ...group('priority 5: larger pattern wins (denying)', [rule('secret/+/a/+', 'deny'), rule('secret/+/+/b', 'read')], [
    ['read', 'secret/x/a/b', 'deny'],
    ['read', 'secret/x/c/b', 'allow'],
  ]),

  // Vault's legacy `policy = ...`: read = read+list, write = create/read/update/delete/list (no patch,
  // Vault predates it), sudo = write + sudo, deny = deny, and it adds to `capabilities` in the same block.
  ...group('legacy policy = "read"', [block('secret/*', 'policy = "read"')], [
    ['read', 'secret/foo', 'allow'],
    ['list', 'secret/foo/', 'allow'],
    ['update', 'secret/foo', 'deny'],
  ]),
  ...group('legacy policy = "write"', [block('secret/*', 'policy = "write"')], [
    ['create', 'secret/foo', 'allow'],
    ['delete', 'secret/foo', 'allow'],
    ['patch', 'secret/foo', 'deny'],
  ]),
  ...group('legacy policy = "sudo"', [block('sys/audit/*', 'policy = "sudo"')], [['update', 'sys/audit/file', 'allow+sudo']]),
  ...group('legacy policy = "deny" beats capabilities in the block', [block('secret/*', 'policy = "deny"', capabilities('read'))], [
    ['read', 'secret/foo', 'deny'],
  ]),
  ...group('legacy policy adds to capabilities', [block('secret/*', 'policy = "read"', capabilities('patch'))], [
    ['patch', 'secret/foo', 'allow'],
  ]),

  // Docs, allowed_parameters: an empty list allows any value; listed keys only, unless "*" is set.
  ...group('allowed_parameters: empty list', [createOn('secret/foo', allowedParams({ bar: [] }))], [
    ['create', 'secret/foo', 'allow', { bar: 'anything' }],
    ['create', 'secret/foo', 'deny', { bar: 'x', baz: 'y' }],
    ['create', 'secret/foo', 'allow'],
  ]),
  ...group('allowed_parameters: value list', [createOn('secret/foo', allowedParams({ bar: ['zip', 'zap'] }))], [
    ['create', 'secret/foo', 'allow', { bar: 'zip' }],
    ['create', 'secret/foo', 'deny', { bar: 'zoo' }],
    ['create', 'secret/foo', 'allow', { bar: ['zip', 'zap'] }],
    ['create', 'secret/foo', 'deny', { bar: ['zip', 'zoo'] }],
    ['create', 'secret/foo', 'allow', { BAR: 'zap' }],
  ]),
  ...group('allowed_parameters: "*" admits other keys', [createOn('secret/foo', allowedParams({ bar: ['zip', 'zap'], '*': [] }))], [
    ['create', 'secret/foo', 'allow', { bar: 'zip', other: 'x' }],
    ['create', 'secret/foo', 'deny', { bar: 'zoo', other: 'x' }],
  ]),
  ...group('allowed_parameters: value globs', [createOn('secret/foo', allowedParams({ bar: ['foo-*'], env: ['*-prod'] }))], [
    ['create', 'secret/foo', 'allow', { bar: 'foo-1', env: 'db-prod' }],
    ['create', 'secret/foo', 'deny', { bar: 'bar-1' }],
    ['create', 'secret/foo', 'deny', { env: 'db-dev' }],
  ]),
  ...group('allowed_parameters: non-string values compare by JSON equality', [createOn('secret/foo', allowedParams({ n: [1, true] }))], [
    ['create', 'secret/foo', 'allow', { n: 1 }],
    ['create', 'secret/foo', 'deny', { n: '1' }],
  ]),

  // Docs, denied_parameters: empty list denies the key, a list denies those values, "*" denies any key;
  // denied takes precedence over allowed.
  ...group('denied_parameters: empty list', [createOn('secret/foo', deniedParams({ bar: [] }))], [
    ['create', 'secret/foo', 'deny', { bar: 'x' }],
    ['create', 'secret/foo', 'allow', { baz: 'x' }],
  ]),
  ...group('denied_parameters: value list, globs, multi-valued', [createOn('secret/foo', deniedParams({ bar: ['zip', '*secret*'] }))], [
    ['create', 'secret/foo', 'deny', { bar: 'zip' }],
    ['create', 'secret/foo', 'allow', { bar: 'zoo' }],
    ['create', 'secret/foo', 'deny', { bar: 'topsecretstuff' }],
    ['create', 'secret/foo', 'deny', { bar: 'zap,zip' }],
    ['create', 'secret/foo', 'deny', { bar: ['zap', 'zip'] }],
  ]),
  ...group('denied_parameters: "*"', [createOn('secret/foo', deniedParams({ '*': [] }))], [
    ['create', 'secret/foo', 'deny', { any: 'x' }],
    ['create', 'secret/foo', 'allow'],
  ]),
  ...group('denied_parameters take precedence over allowed', [createOn('secret/foo', allowedParams({ bar: [] }), deniedParams({ bar: ['zip'] }))], [
    ['create', 'secret/foo', 'deny', { bar: 'zip' }],
    ['create', 'secret/foo', 'allow', { bar: 'zap' }],
  ]),

  // Docs, required_parameters; Vault checks them on read, create, update and patch, not on delete/list.
  ...group('required_parameters', [block('secret/foo', capabilities(...FULL), requiredParams('bar'))], [
    ['create', 'secret/foo', 'allow', { bar: 'x' }],
    ['update', 'secret/foo', 'deny', { baz: 'x' }],
    ['patch', 'secret/foo', 'deny'],
    ['read', 'secret/foo', 'deny'],
    ['delete', 'secret/foo', 'allow'],
  ]),

  // Vault's merge of parameter maps for one pattern: lists concatenate, an empty list wins, and a policy
  // without constraints does not lift another policy's constraints.
  ...group('parameters merge: lists concatenate', [createOn('secret/foo', allowedParams({ bar: ['zip'] })), createOn('secret/foo', allowedParams({ bar: ['zap'] }))], [
    ['create', 'secret/foo', 'allow', { bar: 'zap' }],
    ['create', 'secret/foo', 'deny', { bar: 'zoo' }],
  ]),
  ...group('parameters merge: empty list wins', [createOn('secret/foo', allowedParams({ bar: ['zip'] })), createOn('secret/foo', allowedParams({ bar: [] }))], [
    ['create', 'secret/foo', 'allow', { bar: 'zoo' }],
  ]),
  ...group('parameters merge: unconstrained policy does not lift constraints', [createOn('secret/foo'), createOn('secret/foo', allowedParams({ bar: [] }))], [
    ['create', 'secret/foo', 'deny', { baz: 'x' }],
  ]),
  ...group('parameters merge: required parameters union', [createOn('secret/foo', requiredParams('a')), createOn('secret/foo', requiredParams('b'))], [
    ['create', 'secret/foo', 'deny', { a: 1 }],
    ['create', 'secret/foo', 'allow', { a: 1, b: 2 }],
  ]),

  // Docs: a root user can do anything.
  ...group('root policy', [{ name: 'root', text: '' }], [
    ['delete', 'sys/audit/file', 'allow+sudo'],
    ['list', 'anything/at/all/', 'allow+sudo'],
  ]),

  // Docs: policies are deny by default.
  ...group('no policies deny everything', [], [
    ['read', 'secret/foo', 'deny'],
    ['list', 'secret/', 'deny'],
  ]),
  ...group('an empty policy denies everything', [''], [['read', 'cubbyhole/foo', 'deny']]),

  // Vault checks a list of `secret/foo` as path `secret/foo/`, trying it without the slash first.
  ...group('list: prefix glob on the directory', [rule('secret/foo/*', 'list')], [
    ['list', 'secret/foo/', 'allow'],
    ['list', 'secret/foo', 'deny'],
  ]),
  ...group('list: exact path without the trailing slash', [rule('secret/foo', 'list')], [['list', 'secret/foo/', 'allow']]),
  ...group('list: exact path with the trailing slash', [rule('secret/foo/', 'list')], [['list', 'secret/foo/', 'allow']]),
  ...group('list: + pattern without the trailing slash (VAULT-3825)', [rule('+/sys/policies/acl', 'list')], [
    ['list', 'ns1/sys/policies/acl/', 'allow'],
    ['read', 'ns1/sys/policies/acl/', 'deny'],
  ]),

  // sudo is reported from the deciding rule, independently of whether the operation is granted.
  ...group('sudo reporting', [rule('sys/audit', 'read'), rule('sys/raw/*', 'sudo')], [
    ['read', 'sys/audit', 'allow'],
    ['read', 'sys/raw/x', 'deny+sudo'],
  ]),

  ...group('built-in default policy', [DEFAULT_POLICY_TEXT], [
    ['read', 'auth/token/lookup-self', 'allow'],
    ['update', 'auth/token/renew-self', 'allow'],
    ['update', 'cubbyhole/my/secret', 'allow'],
    ['list', 'cubbyhole/', 'allow'],
    ['update', 'sys/wrapping/unwrap', 'allow'],
    ['read', 'secret/foo', 'deny'],
    ['update', 'auth/token/create', 'deny'],
  ]),

  ...group('JSON policy, map form', ['{"path": {"secret/foo": {"capabilities": ["read"]}}}'], [['read', 'secret/foo', 'allow']]),
  ...group('JSON policy, block-list form', ['{"path": {"secret/foo": [{"capabilities": ["read"]}]}}'], [['read', 'secret/foo', 'allow']]),
  ...group('JSON policy, HCL1 list form', ['{"path": [{"secret/foo": {"policy": "read"}}]}'], [['list', 'secret/foo/', 'allow']]),
  ...group('HCL1 style: brace on the next line', ['path "secret/foo"\n{\n  capabilities = ["read"]\n}\n'], [['read', 'secret/foo', 'allow']]),
];

const policyCache = new Map<string, Promise<ACL>>();
function aclFor(sources: readonly PolicySource[]): Promise<ACL> {
  const key = JSON.stringify(sources);
  let acl = policyCache.get(key);
  if (!acl) {
    const named = sources.map((source, i) => (typeof source === 'string' ? { name: `p${i}`, text: source } : source));
    acl = Promise.all(named.map(({ name, text }) => parsePolicy(name, text))).then((policies) => new ACL(policies));
    policyCache.set(key, acl);
  }
  return acl;
}

describe('ACL.check', () => {
  assert.ok(cases.length >= 70, `only ${cases.length} cases`);
  for (const { rule: ruleName, policies, check } of cases) {
    const [operation, path, expect, data] = check;
    const shownData = data ? ` ${JSON.stringify(data)}` : '';
    test(`${ruleName}: ${operation} ${path}${shownData} → ${expect}`, async () => {
      const result = (await aclFor(policies)).check(path, operation, data);
      assert.equal(result.allowed, expect.startsWith('allow'), 'allowed');
      assert.equal(result.sudo, expect.endsWith('+sudo'), 'sudo');
    });
  }
});

describe('ACL.capabilities', () => {
  const capabilityCases: Array<[name: string, policies: readonly PolicySource[], path: string, expected: string[]]> = [
    ['sorted union', [rule('secret/foo', 'update', 'read'), rule('secret/foo', 'sudo', 'create', 'delete')], 'secret/foo', ['create', 'delete', 'read', 'sudo', 'update']],
    ['nothing granted', [rule('secret/foo', 'read')], 'secret/bar', ['deny']],
    ['explicit deny', [rule('secret/*', 'read'), rule('secret/*', 'deny')], 'secret/foo', ['deny']],
    ['empty capabilities', [block('secret/foo', 'capabilities = []')], 'secret/foo', ['deny']],
    ['root', [{ name: 'root', text: '' }], 'anything', ['root']],
    ['resolved like a list', [rule('secret/foo/*', 'list')], 'secret/foo/', ['list']],
    ['highest-priority glob', [rule('secret/*', 'read'), rule('secret/+/x', 'update', 'patch')], 'secret/a/x', ['patch', 'update']],
  ];
  for (const [name, policies, path, expected] of capabilityCases) {
    test(name, async () => assert.deepEqual((await aclFor(policies)).capabilities(path), expected));
  }

  test('ACL.root() grants everything', () => {
    const acl = ACL.root();
    assert.deepEqual(acl.capabilities('sys/seal'), ['root']);
    assert.deepEqual({ ...acl.check('sys/seal', 'update') }, { allowed: true, sudo: true, capabilities: ['root'] });
  });

  test('check reports the deciding rule capabilities', async () => {
    const acl = await aclFor([rule('secret/*', 'read', 'list')]);
    assert.deepEqual(acl.check('secret/a', 'update').capabilities, ['list', 'read']);
  });
});

// Vault's hasMountAccess: a mount is visible when anything at or under it is granted (and not denied).
describe('ACL.hasAccessUnder', () => {
  const mountCases: Array<[name: string, policies: readonly PolicySource[], mount: string, expected: boolean]> = [
    ['glob on the mount', [rule('secret/*', 'read')], 'secret/', true],
    ['exact path under the mount', [rule('secret/app/config', 'read')], 'secret', true],
    ['prefix glob under the mount', [rule('secret/app/*', 'list')], 'secret/', true],
    ['+ pattern reaching under the mount', [rule('+/data/app', 'read')], 'kv/', true],
    ['only denies under the mount', [rule('secret/app/*', 'deny')], 'secret/', false],
    ['grants elsewhere', [rule('other/*', 'read')], 'secret/', false],
    ['root', [{ name: 'root', text: '' }], 'secret/', true],
  ];
  for (const [name, policies, mount, expected] of mountCases) {
    test(name, async () => assert.equal((await aclFor(policies)).hasAccessUnder(mount), expected));
  }
});

describe('parsePolicy', () => {
  const invalid: Array<[name: string, text: string, reason: RegExp]> = [
    ['bad HCL', 'path "x" { capabilities = [', /Missing expression/],
    ['unknown capability', rule('secret/*', 'read', 'frobnicate'), /invalid capability "frobnicate"/],
    ['block without capabilities or policy', block('secret/*', 'comment = "nothing"'), /needs "capabilities" or "policy"/],
    ['unknown legacy policy', block('secret/*', 'policy = "admin"'), /invalid policy "admin"/],
    ['unsupported key', block('secret/*', capabilities('read'), 'mfa_methods = ["totp"]'), /mfa_methods/],
    ['unknown top-level key', `${rule('secret/*', 'read')}\nfoo = "bar"\n`, /foo/],
    ['+*', rule('secret/+*', 'read'), /'\+\*' is forbidden/],
    ['bad JSON', '{"path": ', /invalid JSON/],
    ['JSON path that is not a map', '{"path": "secret/*"}', /"path" must map/],
  ];
  for (const [name, text, reason] of invalid) {
    test(`rejects ${name} with a 400`, async () => {
      await assert.rejects(parsePolicy('bad', text), (err: unknown) => {
        assert.ok(err instanceof CofferError);
        assert.equal(err.status, 400);
        assert.match(err.message, /^failed to parse policy: /);
        assert.match(err.message, reason);
        assert.doesNotMatch(err.message, /\n\s+at |\.js:\d+/, 'no stack trace');
        return true;
      });
    });
  }

  test('keeps the raw text, lowercases parameter names and reads wrapping TTLs in seconds', async () => {
    const text = block('/secret/foo', capabilities('create'), allowedParams({ Bar: ['zip'] }), 'min_wrapping_ttl = "1s"', 'max_wrapping_ttl = 90');
    const policy = await parsePolicy('mine', text);
    assert.equal(policy.raw, text);
    assert.equal(policy.paths.length, 1);
    assert.equal(policy.paths[0]!.path, 'secret/foo');
    assert.deepEqual([...policy.paths[0]!.allowedParameters!], [['bar', ['zip']]]);
    assert.deepEqual([policy.paths[0]!.minWrappingTTL, policy.paths[0]!.maxWrappingTTL], [1, 90]);
  });

  test('wrapping TTL bounds: wrapping becomes mandatory, and merged policies keep the smaller bound of each end', async () => {
    const a = await parsePolicy('a', block('secret/w', capabilities('read'), 'min_wrapping_ttl = "1m"', 'max_wrapping_ttl = "10m"'));
    const b = await parsePolicy('b', block('secret/w', capabilities('read'), 'min_wrapping_ttl = "30s"', 'max_wrapping_ttl = "5m"'));
    const one = new ACL([a]);
    assert.deepEqual([0, 30, 60, 600, 601].map((ttl) => one.check('secret/w', 'read', {}, ttl).allowed), [false, false, true, true, false]);
    const merged = new ACL([a, b]);
    assert.deepEqual([0, 29, 30, 300, 301].map((ttl) => merged.check('secret/w', 'read', {}, ttl).allowed), [false, false, true, true, false]);
    // A merge can leave max below min (here 5m and 10m): then nothing is allowed.
    const c = await parsePolicy('c', block('secret/w', capabilities('read'), 'min_wrapping_ttl = "10m"'));
    const d = await parsePolicy('d', block('secret/w', capabilities('read'), 'max_wrapping_ttl = "5m"'));
    assert.deepEqual([60, 300, 600].map((ttl) => new ACL([c, d]).check('secret/w', 'read', {}, ttl).allowed), [false, false, false]);
    assert.equal(ACL.root().check('secret/w', 'read', {}, 0).allowed, true, 'root is not bound');
  });

  test('the default policy parses', async () => {
    const policy = await parsePolicy('default', DEFAULT_POLICY_TEXT);
    assert.ok(policy.paths.some((path) => path.path === 'sys/capabilities-self'));
  });
});

describe('isValidPolicyName', () => {
  const names: Array<[string, boolean]> = [
    ['dev-readonly', true],
    ['My.Policy_1', true],
    ['', false],
    ['   ', false],
    ['root', false],
    ['ROOT', false],
    ['team/dev', false],
    ['has space', false],
  ];
  for (const [name, valid] of names) {
    test(`${JSON.stringify(name)} → ${valid}`, () => assert.equal(isValidPolicyName(name), valid));
  }
});
