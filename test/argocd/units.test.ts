/**
 * The two languages the plugin reimplements, in isolation: yaml.v2's printing rules (what AVP's output looks
 * like byte for byte) and the Kubernetes JSONPath template language of the `jsonPath` modifier.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { printDocument } from '../../argocd-plugin/output.js';
import { executeTemplate } from '../../argocd-plugin/jsonpath.js';
import { parseManifests } from '../../argocd-plugin/input.js';
import { JsonNumber, type Value, fromParsed } from '../../argocd-plugin/values.js';

const print = (v: unknown) => printDocument(fromParsed(v) as Value);

describe('printing as yaml.v2 does', () => {
  const cases: [string, unknown, string][] = [
    ['empty collections in flow style', { a: [], b: {} }, 'a: []\nb: {}\n'],
    ['null', { a: null }, 'a: null\n'],
    ['literal block, clipped', { a: 'line1\n  indented\n' }, 'a: |\n  line1\n    indented\n'],
    ['literal block, kept', { a: 'x\n\n' }, 'a: |+\n  x\n\n'],
    ['literal block, stripped, with an indentation indicator', { a: ' x\ny' }, 'a: |2-\n   x\n  y\n'],
    ['leading space: single quotes', { a: ' x' }, "a: ' x'\n"],
    ['a tab: double quotes with an escape', { a: '\tx' }, 'a: "\\tx"\n'],
    ['printable non-ASCII stays plain', { a: 'é' }, 'a: é\n'],
    ['characters beyond the BMP are escaped', { a: '😀' }, 'a: "\\U0001F600"\n'],
    ['": " needs quotes', { a: 'a: b' }, "a: 'a: b'\n"],
    ['"- " at the start needs quotes', { a: '- x' }, "a: '- x'\n"],
    ['" #" needs quotes', { a: 'x #y' }, "a: 'x #y'\n"],
    ['a key that reads as a number is quoted', { '80': 1 }, '"80": 1\n'],
    ['booleans and nulls of YAML 1.1 as strings are quoted', { a: 'on', b: 'Off', c: '~', d: 'NULL' }, 'a: "on"\nb: "Off"\nc: "~"\nd: "NULL"\n'],
    ['base-60 and timestamps are quoted', { a: '1:20', b: '2001-12-14t21:59:43.10Z' }, 'a: "1:20"\nb: "2001-12-14t21:59:43.10Z"\n'],
    ['floats in Go\'s shortest form', { a: 1.5, b: 1e21, c: 0.00001, d: 1234567.5 }, 'a: 1.5\nb: 1e+21\nc: 1e-05\nd: 1.2345675e+06\n'],
    ['nested lists', { a: [[1, 2], [3]] }, 'a:\n- - 1\n  - 2\n- - 3\n'],
  ];
  for (const [name, value, expected] of cases) it(name, () => assert.equal(print(value), expected));

  it('keys over 128 bytes are complex keys', () => {
    const k = 'k'.repeat(130);
    assert.equal(print({ [k]: 'v' }), `? ${k}\n: v\n`);
  });

  it('large integers from the server keep their digits', () => {
    assert.equal(printDocument({ a: new JsonNumber('12345678901234567890') }), 'a: 12345678901234567890\n');
  });

  it('long single-quoted strings fold at 80 columns too', () => {
    const s = `x: ${Array(30).fill('ab').join(' ')}`;
    const out = print({ k: s });
    assert.ok(out.startsWith("k: 'x: ab"), out);
    assert.ok(out.split('\n')[0].length > 80 && out.split('\n')[0].length < 90, out);
    assert.match(out, /\n {2}ab/);
  });

  it('reads YAML 1.1 scalars as yaml.v2 does, and prints them back', () => {
    const [m] = parseManifests('kind: X\na: yes\nb: 0777\nc: 0x1F\nd: 1_000\ne: 2024-01-02\nf: .5\ng: ~\nh: "yes"\n', 'f.yaml');
    assert.deepEqual({ ...m.value }, { kind: 'X', a: true, b: 511, c: 31, d: 1000, e: '2024-01-02', f: 0.5, g: null, h: 'yes' });
    assert.equal(printDocument(m.value), 'a: true\nb: 511\nc: 31\nd: 1000\ne: "2024-01-02"\nf: 0.5\ng: null\nh: "yes"\nkind: X\n');
  });

  it('merge keys and aliases', () => {
    const [m] = parseManifests('kind: X\nbase: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 3\n', 'f.yaml');
    assert.equal(printDocument(m.value), 'base:\n  p: 1\n  q: 2\nkind: X\nm:\n  p: 1\n  q: 3\n');
  });

  it('a y key is the boolean true in YAML 1.1, and becomes the key "true"', () => {
    const [m] = parseManifests('kind: X\nm: {y: 1}\n', 'f.yaml');
    assert.equal(printDocument(m.value), 'kind: X\nm:\n  "true": 1\n');
  });

  it('refuses alias bombs', () => {
    const lines = ['kind: X', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    assert.throws(() => parseManifests(`${lines.join('\n')}\n`, 'bomb.yaml'), /too many alias expansions/);
  });
});

describe('Kubernetes JSONPath templates', () => {
  const data = fromParsed({ a: 'x', n: 1000000, l: [{ n: 1 }, { n: 2 }, { n: 3 }], s: [{ k: 'a' }, { k: 'b' }], m: { 'b.c': 'dot', t: true, z: null } });
  const cases: [string, string, string][] = [
    ['a field', '{.a}', 'x'],
    ['$ and @ are the current value', '{$.a}{@.a}', 'xx'],
    ['text around actions', 'pre-{.a}-post', 'pre-x-post'],
    ['range with text inside', '{range .l[*]}[{.n}]{end}', '[1][2][3]'],
    ['nested range', '{range .l[0:2]}{range .*}<{@}>{end}{end}', '<1><2>'],
    ['a filter', '{.l[?(@.n>1)].n}', '2 3'],
    ['a filter with a string', "{.s[?(@.k=='b')].k}", 'b'],
    ['a filter with equality', '{.l[?(@.n==2)].n}', '2'],
    ['a step', '{.l[0:3:2].n}', '1 3'],
    ['a key with a dot', "{.m['b.c']}", 'dot'],
    ['a float64 prints in Go form', '{.n}', '1e+06'],
    ['booleans and nulls', '{.m.t} {.m.z}', 'true <nil>'],
    ['a list prints as JSON', '{.l[0]}', '{"n":1}'],
    ['quoted literals with escapes', '{"a\\tb"}', 'a\tb'],
  ];
  for (const [name, template, expected] of cases) it(name, () => assert.equal(executeTemplate(template, data), expected));

  it('server numbers print with their own text', () => {
    assert.equal(executeTemplate('{.n}', { n: new JsonNumber('1000000') }), '1000000');
  });

  const errors: [string, string, RegExp][] = [
    ['a missing key', '{.nope}', /nope is not found/],
    ['an index out of bounds', '{.l[5]}', /array index out of bounds: index 5, length 3/],
    ['an end outside range', '{end}', /not in range, nothing to end/],
    ['an unclosed action', '{.a', /unclosed action/],
    ['an unknown identifier', '{foo}', /unrecognized identifier foo/],
    ['indexing a map', '{.m[0]}', /is not array or slice/],
    ['a zero step', '{.l[0:2:0]}', /step must be > 0/],
    ['comparing a number with a string', "{.l[?(@.n=='x')]}", /incompatible types for comparison/],
  ];
  for (const [name, template, re] of errors) it(`fails on ${name}`, () => assert.throws(() => executeTemplate(template, data), re));
});

describe('=~ filters match as Go\'s regexp does (RE2), in linear time', () => {
  // 40 a's and a mismatch: a backtracking engine (JavaScript's RegExp) tries 2^40 ways to split the a's
  // before failing, hours of work; RE2 answers in one pass. The timeout turns a regression into a failure.
  const hosts = fromParsed({ items: [{ s: `${'a'.repeat(40)}!`, p: '^(a+)+$' }, { s: 'aaaa', p: '^(a+)+$' }, { s: 'abc', p: 'b' }] });
  it('a catastrophic pattern from the template answers, with the right items', { timeout: 20_000 }, () => {
    assert.equal(executeTemplate("{.items[?(@.s =~ '^(a+)+$')].s}", hosts), 'aaaa');
  });
  it('a catastrophic pattern from the data (per item) answers, with the right items', { timeout: 20_000 }, () => {
    assert.equal(executeTemplate('{range .items[?(@.s =~ @.p)]}[{.s}]{end}', hosts), '[aaaa][abc]');
  });
  it('searches anywhere in the string unless anchored, as regexp.MatchString', () => {
    assert.equal(executeTemplate("{.items[?(@.s =~ 'b')].s}", hosts), 'abc');
    assert.equal(executeTemplate("{.items[?(@.s =~ '^b')].s}", hosts), '');
  });
  it('RE2 syntax that JavaScript lacks works: (?i) flags, \\z', () => {
    assert.equal(executeTemplate("{.items[?(@.s =~ '(?i)^AAAA\\z')].s}", hosts), 'aaaa');
  });
  const invalid: [string, string, RegExp][] = [
    ['a backreference', '(x)\\1', /invalid escape sequence/],
    ['a lookahead', 'x(?=y)', /invalid or unsupported Perl syntax/],
    ['\\Z', 'x\\Z', /invalid escape sequence/],
    ['an unclosed group', '(x', /missing closing \)/],
  ];
  for (const [name, pattern, kind] of invalid) {
    it(`refuses ${name}, as Go does, without printing the pattern`, () => {
      const secret = `S3cr3t-${name.length}`;
      const data = fromParsed({ items: [{ s: 'x', p: `${secret}${pattern}` }] });
      assert.throws(() => executeTemplate('{.items[?(@.s =~ @.p)].s}', data), (err: Error) => {
        assert.match(err.message, /^invalid regular expression in a =~ filter: /);
        assert.match(err.message, kind);
        assert.ok(!err.message.includes(secret) && !err.message.includes(pattern), err.message);
        return true;
      });
    });
  }
});
