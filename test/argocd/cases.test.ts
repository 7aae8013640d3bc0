/**
 * The placeholder table: every modifier, chains, typed values from KV v2, versions, base64-embedded placeholders,
 * lists, keys and `<` text that are not placeholders, annotations and their coffer.dev aliases, `default`, KV v1,
 * and the output's quoting and line folding. Each case is a manifest rendered by the generate command (run in this
 * process: the same function the launcher calls, over HTTP) against a live dev server; the output is compared in
 * full. The launcher itself, as a child process, is covered by fixtures.test.ts and errors.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import { generateInProcess } from '../helpers/argocd.js';

interface Case {
  name: string;
  kind?: string;
  /** Annotation lines as written in the input (`key: value`). */
  annotations?: string[];
  /** The same annotations as the output prints them (sorted, quoted). Defaults to `annotations`. */
  annotationsOut?: string[];
  /** Input lines under `data:`. */
  data?: string[];
  /** Expected lines under `data:` (sorted keys). */
  out?: string[];
  /** Other top-level sections, as input and as expected (they print after `metadata`). */
  rest?: string;
  restOut?: string;
  env?: Record<string, string>;
}

const LONG = Array(25).fill('word').join(' ');

const CASES: Case[] = [
  { name: 'base64encode', data: ['k: <path:kv/data/table#str | base64encode>'], out: ['k: aGVsbG8='] },
  { name: 'base64decode', data: ['k: <path:kv/data/table#b64 | base64decode>'], out: ['k: decoded'] },
  { name: 'jsonParse then jsonPath', data: ['k: <path:kv/data/table#json | jsonParse | jsonPath {.x.y}>'], out: ['k: z'] },
  { name: 'jsonPath parses a JSON string by itself', data: ['k: <path:kv/data/table#json | jsonPath {.x.y}>'], out: ['k: z'] },
  { name: 'jsonPath on an object value from KV v2', data: ['k: <path:kv/data/table#obj | jsonPath {.a.b}>'], out: ['k: deep'] },
  { name: 'jsonPath range/end', data: ['k: <path:kv/data/table#obj | jsonPath {range .list[*]}{@},{end}>'], out: ['k: 1,2,3,'] },
  { name: 'jsonPath negative index (a digit string is quoted)', data: ['k: <path:kv/data/table#obj | jsonPath {.list[-1]}>'], out: ['k: "3"'] },
  { name: 'jsonPath slice prints values separated by spaces', data: ['k: <path:kv/data/table#obj | jsonPath {.list[0:2]}>'], out: ['k: 1 2'] },
  { name: 'jsonPath literals around a field', data: ["k: <path:kv/data/table#obj | jsonPath {'x'}{.a.b}{'y'}>"], out: ['k: xdeepy'] },
  { name: 'jsonPath prints a map as JSON', data: ['k: <path:kv/data/table#obj | jsonPath {.a}>'], out: ['k: \'{"b":"deep"}\''] },
  { name: 'jsonPath union', data: ['k: <path:kv/data/table#obj | jsonPath {.list[0,2]}>'], out: ['k: 1 3'] },
  { name: 'jsonPath filter', data: ['k: <path:kv/data/table#obj | jsonPath {.items[?(@.name=="b")].v}>'], out: ['k: "2"'] },
  { name: 'jsonPath recursive descent', data: ['k: <path:kv/data/table#obj | jsonPath {..b}>'], out: ['k: deep'] },
  { name: 'jsonPath wildcard', data: ['k: <path:kv/data/table#obj | jsonPath {.a.*}>'], out: ['k: deep'] },
  // A backtracking engine would take hours on the first item (2^40 splits); RE2 answers at once.
  { name: 'jsonPath =~ with a catastrophic pattern from the secret', data: ['k: <path:kv/data/table#regex | jsonPath {.items[?(@.s =~ @.p)].s}>'], out: ['k: aaaa'] },
  { name: 'jsonPath =~ takes RE2 syntax ((?i) flags)', data: ["k: <path:kv/data/table#regex | jsonPath {.items[?(@.s =~ '(?i)^A+$')].s}>"], out: ['k: aaaa'] },
  { name: 'yamlParse then jsonPath (YAML 1.1: y is a boolean)', data: ['k: <path:kv/data/table#yaml | yamlParse | jsonPath {.b[1]}>'], out: ['k: "true"'] },
  { name: 'yamlParse gives a typed map', data: ['k: <path:kv/data/table#yaml | yamlParse>'], out: ['k:', '  a: 1', '  b:', '  - x', '  - true'] },
  { name: 'indent', data: ['k: <path:kv/data/table#multiline | indent 4>'], out: ['k: |', '  line1', '      line2'] },
  { name: 'sha256sum', data: ['k: <path:kv/data/table#str | sha256sum>'], out: ['k: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'] },
  { name: 'chain sha256sum | base64encode', data: ['k: <path:kv/data/table#str | sha256sum | base64encode>'], out: ['k: MmNmMjRkYmE1ZmIwYTMwZTI2ZTgzYjJhYzViOWUyOWUxYjE2MWU1YzFmYTc0MjVlNzMwNDMzNjI5MzhiOTgyNA=='] },
  { name: 'a KV v2 number replaces the field typed', data: ['k: <path:kv/data/table#num>'], out: ['k: 42'] },
  { name: 'a KV v2 float', data: ['k: <path:kv/data/table#float>'], out: ['k: 1.5'] },
  { name: 'a KV v2 boolean', data: ['k: <path:kv/data/table#bool>'], out: ['k: true'] },
  {
    name: 'a KV v2 object becomes a mapping',
    data: ['k: <path:kv/data/table#obj>'],
    out: ['k:', '  a:', '    b: deep', '  items:', '  - name: a', '    v: 1', '  - name: b', '    v: 2', '  list:', '  - 1', '  - 2', '  - 3'],
  },
  { name: 'a typed value replaces the whole string, as in AVP', data: ['k: port-<path:kv/data/table#num>'], out: ['k: 42'] },
  { name: 'numbers parsed from a string print as Go float64', data: ['k: <path:kv/data/table#json | jsonPath {.n}>'], out: ['k: "1e+06"'] },
  { name: 'numbers from the server keep their text', data: ['k: <path:kv/data/table#big | jsonPath {@}>'], out: ['k: "1000000"'] },
  {
    name: 'generic and inline placeholders in one string',
    annotations: ['avp.kubernetes.io/path: kv/data/table'],
    data: ['k: <str>-<path:kv/data/table#str>'],
    out: ['k: hello-hello'],
  },
  { name: 'two inline placeholders in one string', data: ['k: <path:kv/data/table#str>/<path:kv/data/versions#v>'], out: ['k: hello/three'] },
  {
    name: 'versions in inline placeholders',
    data: ['a: <path:kv/data/versions#v#1>', 'b: <path:kv/data/versions#v#2>', 'c: <path:kv/data/versions#v>'],
    out: ['a: one', 'b: two', 'c: three'],
  },
  {
    name: 'secret-version annotation',
    annotations: ['avp.kubernetes.io/path: kv/data/versions', 'avp.kubernetes.io/secret-version: "2"'],
    data: ['k: <v>'],
    out: ['k: two'],
  },
  { name: 'a base64-embedded placeholder in a Secret', kind: 'Secret', data: ['k: dXNlcj08cGF0aDprdi9kYXRhL3RhYmxlI3N0cj4='], out: ['k: dXNlcj1oZWxsbw=='] },
  { name: 'base64 text outside Secrets is left alone', data: ['k: dXNlcj08cGF0aDprdi9kYXRhL3RhYmxlI3N0cj4='], out: ['k: dXNlcj08cGF0aDprdi9kYXRhL3RhYmxlI3N0cj4='] },
  { name: 'Secret data is not base64-encoded for you', kind: 'Secret', data: ['k: <path:kv/data/table#str>'], out: ['k: hello'] },
  {
    name: 'placeholders inside lists',
    rest: 'spec:\n  args:\n  - --user=<path:kv/data/table#str>\n  - plain\n',
    restOut: 'spec:\n  args:\n  - --user=hello\n  - plain\n',
  },
  {
    name: 'placeholders in maps inside lists',
    rest: 'spec:\n  env:\n  - name: A\n    value: <path:kv/data/table#str>\n',
    restOut: 'spec:\n  env:\n  - name: A\n    value: hello\n',
  },
  { name: 'keys that look like placeholders are untouched', data: ['<path:kv/data/table#str>: v'], out: ['<path:kv/data/table#str>: v'] },
  { name: '<text> without a path annotation is not a placeholder', data: ['k: a <b> c'], out: ['k: a <b> c'] },
  { name: 'a lone < is not a placeholder', annotations: ['avp.kubernetes.io/path: kv/data/table'], data: ['k: 1 < 2'], out: ['k: 1 < 2'] },
  { name: 'ConfigMap values become strings', kind: 'ConfigMap', data: ['k: <path:kv/data/table#num>'], out: ['k: "42"'] },
  {
    name: 'remove-missing drops fields whose value is missing',
    kind: 'ConfigMap',
    annotations: ['avp.kubernetes.io/path: kv/data/table', 'avp.kubernetes.io/remove-missing: "true"'],
    data: ['a: <str>', 'b: <nope>'],
    out: ['a: hello'],
  },
  { name: 'ignore "1" leaves the manifest as it is', annotations: ['avp.kubernetes.io/ignore: "1"'], data: ['k: <path:kv/data/table#nope>'], out: ['k: <path:kv/data/table#nope>'] },
  { name: 'ignore "yes" is not a Go boolean: the manifest renders', annotations: ['avp.kubernetes.io/ignore: "yes"'], data: ['k: <path:kv/data/table#str>'], out: ['k: hello'] },
  { name: 'coffer.dev/path is an alias of avp.kubernetes.io/path', annotations: ['coffer.dev/path: kv/data/table'], data: ['k: <str>'], out: ['k: hello'] },
  { name: 'default for a missing key', data: ['k: <path:kv/data/table#nope | default fallback>'], out: ['k: fallback'] },
  { name: 'default then other modifiers', data: ['k: <path:kv/data/table#nope | default fallback | base64encode>'], out: ['k: ZmFsbGJhY2s='] },
  { name: 'default for a missing secret', data: ['k: <path:kv/data/nothing#k | default x>'], out: ['k: x'] },
  { name: 'default is not used when the value exists', data: ['k: <path:kv/data/table#str | default x>'], out: ['k: hello'] },
  { name: 'KV v1 through the kv-version annotation', annotations: ['avp.kubernetes.io/kv-version: "1"'], data: ['k: <path:secret/table#user>'], out: ['k: admin'] },
  { name: 'KV v1 through AVP_KV_VERSION', data: ['k: <path:secret/table#user>'], out: ['k: admin'], env: { AVP_KV_VERSION: '1' } },
  { name: 'ARGOCD_ENV_ settings win over the plain ones', data: ['k: <path:secret/table#user>'], out: ['k: admin'], env: { AVP_KV_VERSION: '2', ARGOCD_ENV_AVP_KV_VERSION: '1' } },
  { name: 'KV v1 ignores a version', annotations: ['avp.kubernetes.io/kv-version: "1"'], data: ['k: <path:secret/table#user#7>'], out: ['k: admin'] },
  {
    name: 'strings that YAML 1.1 would read as something else are quoted',
    data: ['a: <path:kv/data/table#yes>', 'b: <path:kv/data/table#octal>', 'c: <path:kv/data/table#ver>', 'd: <path:kv/data/table#date>', 'e: <path:kv/data/table#empty>', 'f: <path:kv/data/table#quote>'],
    out: ['a: "yes"', 'b: "0777"', 'c: "1.0"', 'd: "2024-01-02"', 'e: ""', "f: 'it''s: here'"],
  },
  { name: 'long strings fold at 80 columns', data: ['k: <path:kv/data/table#long>'], out: [`k: ${Array(16).fill('word').join(' ')}`, `  ${Array(9).fill('word').join(' ')}`] },
  { name: 'stringData of a Secret', kind: 'Secret', rest: 'stringData:\n  k: <path:kv/data/table#str>\n', restOut: 'stringData:\n  k: hello\n' },
  { name: 'spaces around the name and modifiers', annotations: ['avp.kubernetes.io/path: kv/data/table'], data: ['k: <  str  |  base64encode  >'], out: ['k: aGVsbG8='] },
  {
    name: 'keys sort as yaml.v2 sorts them (non-letters first, digit runs by value)',
    data: ['SECRETS: <path:kv/data/table#str>', 'SECRET_VAR: x', 'a10: w', 'a9: z'],
    out: ['SECRET_VAR: x', 'SECRETS: hello', 'a9: z', 'a10: w'],
  },
];

function manifest(c: Case): { input: string; expected: string } {
  const kind = c.kind ?? 'Widget';
  const ann = (lines: string[] | undefined) => (lines?.length ? `  annotations:\n${lines.map((l) => `    ${l}`).join('\n')}\n` : '');
  const input =
    `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: t\n${ann(c.annotations)}` +
    (c.data ? `data:\n${c.data.map((l) => `  ${l}`).join('\n')}\n` : '') +
    (c.rest ?? '');
  const expected =
    'apiVersion: v1\n' +
    (c.out ? `data:\n${c.out.map((l) => `  ${l}`).join('\n')}\n` : '') +
    `kind: ${kind}\nmetadata:\n${ann(c.annotationsOut ?? [...(c.annotations ?? [])].sort())}  name: t\n` +
    (c.restOut ?? '') +
    '---\n';
  return { input, expected };
}

describe('placeholder table', () => {
  let srv: TestServer;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    srv = await startDevServer();
    const root = client(srv.addr, srv.token);
    await root.post('sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await root.delete('sys/mounts/secret');
    await root.post('sys/mounts/secret', { type: 'kv', options: { version: '1' } });
    const table = {
      str: 'hello',
      num: 42,
      float: 1.5,
      bool: true,
      obj: { a: { b: 'deep' }, list: [1, 2, 3], items: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }] },
      json: '{"x":{"y":"z"},"n":1000000}',
      yaml: 'a: 1\nb: [x, y]\n',
      b64: 'ZGVjb2RlZA==',
      multiline: 'line1\nline2\n',
      big: 1000000,
      yes: 'yes',
      octal: '0777',
      ver: '1.0',
      date: '2024-01-02',
      empty: '',
      quote: "it's: here",
      long: LONG,
      regex: { items: [{ s: `${'a'.repeat(40)}!`, p: '^(a+)+$' }, { s: 'aaaa', p: '^(a+)+$' }] },
    };
    for (const [p, data] of [
      ['kv/data/table', { data: table }],
      ['kv/data/versions', { data: { v: 'one' } }],
      ['kv/data/versions', { data: { v: 'two' } }],
      ['kv/data/versions', { data: { v: 'three' } }],
      ['secret/table', { user: 'admin', pass: 'pw' }],
    ] as const) {
      const r = await root.post(p, data);
      assert.ok(r.status < 300, `seed ${p}: ${r.status} ${r.text}`);
    }
    dir = mkdtempSync(path.join(tmpdir(), 'coffer-argocd-cases-'));
    env = { VAULT_ADDR: srv.addr, VAULT_TOKEN: srv.token, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'token', HOME: dir };
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has at least 40 cases', () => assert.ok(CASES.length >= 40, `${CASES.length} cases`));

  CASES.forEach((c, i) => {
    // The timeout makes a render that hangs (a backtracking regular expression) a failure.
    it(c.name, { timeout: 60_000 }, async () => {
      const { input, expected } = manifest(c);
      const file = path.join(dir, `case-${i}.yaml`);
      writeFileSync(file, input);
      const r = await generateInProcess(['generate', file], { ...env, ...(c.env ?? {}) });
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      assert.equal(r.stdout, expected);
    });
  });
});
