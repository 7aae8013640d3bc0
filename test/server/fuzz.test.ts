/**
 * Fuzz test against a live dev server: thousands of random and malformed requests (methods, raw paths with
 * `..`, `//`, bad percent-encodings, unicode and huge segments, odd query strings, random/truncated/deeply
 * nested/binary bodies, random tokens, headers and content types) with a seeded PRNG.
 *
 * Asserts: no 5xx; no hang; socket-level failures are rare and the server keeps answering after each; no
 * response carries a seeded secret value unless it is a legitimate read by a token allowed to read it; no
 * internal error text; no prototype pollution; and afterwards every seeded secret, the mount list, the
 * policies and the whole physical storage are byte-identical to the snapshot taken before.
 *
 * Only tokens that cannot change anything are ever sent with a write method: a token whose only policy grants
 * read/list, random tokens, none. The root token is sent only with GET/HEAD (read and list operations).
 * Reproduce a run with FUZZ_SEED=<seed printed below>; FUZZ_REQUESTS overrides the request count (at least
 * 2,500), FUZZ_CONCURRENCY the number of parallel connections (8), and FUZZ_DEBUG=<text> prints every request
 * whose error message contains <text>.
 *
 * Requests go out through an undici Pool's `request({ path })`, which sends the path bytes as given; undici's
 * top-level `request(url, { path })` would normalise them through `new URL` (resolving `..`, re-encoding).
 * Protocol-level rejections (raw non-ASCII bytes in the request line, unknown methods, oversized headers) are
 * answered by Node's parser with a 400 and counted among the statuses.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Pool } from 'undici';
import { Rng } from '../helpers/rng.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomBytes(4).readUInt32BE(0);
const REQUESTS = Math.max(2500, Number(process.env.FUZZ_REQUESTS ?? 4000));
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 8);
const BODY_LIMIT = 32 * 1024 * 1024;

// Every request gets its own generator seeded from (SEED, index), so a request is the same whatever the
// interleaving of the concurrent workers.
function seedFor(index: number): number {
  return createHash('sha256').update(`${SEED}:${index}`).digest().readUInt32LE(0);
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const PATH_PUNCT = "-._~!$&'()*+,;=:@";
const LATIN1_HIGH = Array.from({ length: 128 }, (_, i) => String.fromCharCode(0x80 + i)).join('');
const UNICODE = ['é', 'ß', '日本', '🔑', '\u202e', '\u200b', 'Ω', '𝔘', '\ufeff', 'ﬀ'];

// ---------------------------------------------------------------------------------------------------------------
// Request generation
// ---------------------------------------------------------------------------------------------------------------
const METHODS: readonly (readonly [string, number])[] = [
  ['GET', 24], ['POST', 14], ['PUT', 12], ['PATCH', 8], ['DELETE', 10], ['HEAD', 5], ['OPTIONS', 5],
  ['PROPFIND', 2], ['TRACE', 2], ['LIST', 2], ['MKCOL', 1], ['COPY', 1], ['MOVE', 1], ['LOCK', 1], ['UNLOCK', 1],
  ['SEARCH', 1], ['PURGE', 1], ['REPORT', 1], ['M-SEARCH', 1], ['NOTIFY', 1], ['QUERY', 1], ['FOO', 1],
  ['get', 1], ['Post', 1],
];

const PREFIXES = [
  'sys/', 'sys/mounts', 'sys/mounts/', 'sys/mounts/secret', 'sys/mounts/kv1', 'sys/mounts/kv1/tune', 'sys/mounts/new',
  'sys/auth', 'sys/auth/token', 'sys/auth/approle', 'sys/policies/acl', 'sys/policies/acl/', 'sys/policies/acl/fuzz-reader',
  'sys/policies/acl/default', 'sys/policies/acl/root', 'sys/policy', 'sys/policy/', 'sys/policy/fuzz-reader', 'sys/policy/root',
  'sys/health', 'sys/seal', 'sys/unseal', 'sys/init', 'sys/seal-status', 'sys/leader', 'sys/rotate', 'sys/key-status',
  'sys/audit', 'sys/audit/', 'sys/audit/fuzzlog', 'sys/audit-hash/fuzzlog', 'sys/capabilities-self', 'sys/capabilities',
  'sys/capabilities-accessor', 'sys/remount', 'sys/internal/ui/mounts/', 'sys/internal/ui/mounts/secret',
  'sys/internal/ui/mounts/kv1', 'sys/leases/revoke-prefix/', 'sys/leases/lookup', 'sys/raw/', 'sys/tools/random',
  'secret/', 'secret/data/', 'secret/metadata/', 'secret/delete/', 'secret/undelete/', 'secret/destroy/',
  'secret/subkeys/', 'secret/config', 'secret/data/app/config', 'secret/metadata/app/config', 'secret/data/team/db',
  'auth/token/', 'auth/token/create', 'auth/token/create-orphan', 'auth/token/create/', 'auth/token/lookup',
  'auth/token/lookup-self', 'auth/token/lookup-accessor', 'auth/token/renew', 'auth/token/renew-self',
  'auth/token/renew-accessor', 'auth/token/revoke', 'auth/token/revoke-self', 'auth/token/revoke-orphan',
  'auth/token/revoke-accessor', 'auth/token/accessors', 'auth/token/accessors/', 'auth/token/roles', 'auth/token/roles/',
  'auth/', 'auth/approle/login', 'auth/kubernetes/login', 'kv1/', 'kv1/app', 'kv1/nested/deep/key', 'kv1/nested/',
  'cubbyhole/', 'identity/entity', 'transit/keys/', 'v1/', '',
];

/** Real endpoints and seeded paths, as they are (each path's ACL and handler get exercised). */
const REAL_TARGETS = [
  'secret/data/app/config', 'secret/data/app/config?version=1', 'secret/data/app/config?version=abc', 'secret/data/team/db',
  'secret/metadata/app/config', 'secret/metadata/?list=true', 'secret/metadata?list=true', 'secret/subkeys/team/db',
  'secret/subkeys/team/db?depth=x', 'secret/config', 'secret/delete/app/config', 'secret/undelete/app/config',
  'secret/destroy/app/config', 'kv1/app', 'kv1/nested/deep/key', 'kv1/?list=true', 'kv1/nested?list=1', 'sys/mounts',
  'sys/mounts/kv1', 'sys/mounts/kv1/tune', 'sys/auth', 'sys/policies/acl?list=true', 'sys/policies/acl/fuzz-reader',
  'sys/policy', 'sys/policy/default', 'sys/health', 'sys/health?standbyok=true', 'sys/seal-status', 'sys/leader',
  'sys/key-status', 'sys/audit', 'sys/internal/ui/mounts/secret', 'sys/internal/ui/mounts/kv1', 'sys/capabilities-self',
  'auth/token/lookup-self', 'auth/token/accessors?list=true', 'auth/token/roles?list=true', 'auth/token/create',
  'auth/token/lookup', 'auth/token/lookup-accessor', 'auth/token/renew-self', 'auth/token/revoke-self',
];

const GOOD_SEGMENTS = [
  'app', 'config', 'app/config', 'team', 'db', 'team/db', 'nested', 'deep', 'key', 'nested/deep/key', 'x', 'fuzz',
  'default', 'root', 'secret', 'kv1', 'data', 'metadata', 'sys', 'token', 'fuzz-reader', 'fuzzlog', 'new-mount',
];

const BAD_SEGMENTS = [
  '..', '.', '', '...', '%2e%2e', '%2E%2E', '.%2e', '%2e', '..;', '..%00', '..%2f', '%2f', '%2F', '%5c', '%5C', '\\',
  '%zz', '%', '%0', '%g0', '%00', '%0a', '%0d%0a', '%09', '%20', '%7f', '%ff', '%c0%af', '%c3%a9', '%e2%82',
  '%ed%a0%80', '%f0%9f%98%80', '%F0%9F%94%91', '%25', '%252e%252e', '%u002e', '*', '+', ';', ':', '@', '~', '"', '<',
  '>', '{', '}', '|', '^', '`', '[', ']', '#', '?', '?list=true', '&', '=', "'", '!', '$',
];

const QUERY_PARTS = [
  'list=true', 'list=1', 'list=t', 'list=false', 'list=', 'list', 'list=TRUE', 'list=yes', 'list=%zz', 'version=abc',
  'version=-1', 'version=0', 'version=1', 'version=2', 'version=99999999999999999999', 'version=1.5', 'version=',
  'version=%00', 'cas=x', 'cas=0', 'standbyok=true', 'perfstandbyok=1', 'help=1', 'warning=1', 'token=cfs.abc', 'accessor=x',
  'key=%zz', '%zz=1', '=', '&&', '&', 'a[b]=c', 'a[]=1&a[]=2', 'list=true&list=false', 'version=1&version=2', '__proto__=1',
  'constructor=x', 'prefix=../../', 'path=sys/seal', 'format=json', 'increment=-5', 'ttl=1h', 'keys=%c3%28', '%ff=%fe',
];

const FIELD_NAMES = [
  'data', 'options', 'cas', 'version', 'versions', 'max_versions', 'cas_required', 'delete_version_after',
  'custom_metadata', 'policy', 'policies', 'rules', 'token', 'accessor', 'type', 'ttl', 'explicit_max_ttl', 'period',
  'num_uses', 'no_parent', 'no_default_policy', 'renewable', 'display_name', 'meta', 'id', 'key', 'reset',
  'secret_shares', 'secret_threshold', 'path', 'paths', 'description', 'config', 'default_lease_ttl', 'max_lease_ttl',
  'from', 'to', 'input', 'increment', 'allowed_policies', 'orphan', 'local', 'seal_wrap', 'file_path', 'list',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', 'a.b', 'a/b', '..',
];

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/merge-patch+json', 'text/plain',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/octet-stream',
  'application/json; charset=utf-16', 'application/json;;;', 'a/b/c', '', '*/*', 'application/merge-patch+json; x=y',
  'APPLICATION/JSON', 'application/xml', 'text/html; charset=latin1', 'json',
];

interface Spec {
  index: number;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  /** Which of our tokens the request carries, for judging what it may legitimately see. */
  auth: 'root' | 'reader' | 'none';
  bodyKind: string;
}

function randomString(rng: Rng): string {
  switch (rng.int(8)) {
    case 0:
      return '';
    case 1:
      return rng.str(rng.range(1, 16), ALNUM);
    case 2:
      return rng.pick(['10s', '-5m', '1h', '768h', '0', '1e9', 'forever', '9999999999h', '1.5h', '30s5m', 'true', 'null', '1']);
    case 3:
      return rng.pick(UNICODE) + rng.str(rng.range(0, 8), ALNUM) + rng.pick(UNICODE);
    case 4:
      return rng.str(rng.range(1, 40), `${ALNUM}\\"'\n\t\u0000\u001f/.%*+`);
    case 5:
      return rng.pick(['../../sys/seal', 'secret/data/app/config', 'sys/', 'root', 'default', 'service', 'batch', 'kv', 'file', '/dev/null', '*']);
    case 6:
      return 'x'.repeat(rng.range(256, 5000));
    default:
      return `cfs.${rng.str(32, `${ALNUM}-_`)}`;
  }
}

function randomJson(rng: Rng, depth: number): unknown {
  const leaf = depth <= 0 || rng.chance(0.45);
  if (leaf) {
    switch (rng.int(9)) {
      case 0:
        return null;
      case 1:
        return rng.chance(0.5);
      case 2:
        return rng.range(-5, 100);
      case 3:
        return rng.pick([0, -0, 1e308, -1e308, 2 ** 53 + 1, 0.1, -1, 1.5e-300, 4294967296]);
      default:
        return randomString(rng);
    }
  }
  if (rng.chance(0.3)) return Array.from({ length: rng.range(0, 5) }, () => randomJson(rng, depth - 1));
  const obj: Record<string, unknown> = {};
  for (let i = rng.range(0, 6); i > 0; i--) {
    obj[rng.chance(0.8) ? rng.pick(FIELD_NAMES) : randomString(rng).slice(0, 64)] = randomJson(rng, depth - 1);
  }
  return obj;
}

/** JSON text that mentions `__proto__`/`constructor` as own keys, as an attacker would send it. */
function pollutingJson(rng: Rng): string {
  return rng.pick([
    '{"__proto__":{"polluted":"yes"}}',
    '{"data":{"__proto__":{"polluted":"yes"}}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"options":{"__proto__":{"polluted":"yes"}},"data":{"a":"b"}}',
    '{"meta":{"__proto__":{"polluted":"yes"}},"policies":["__proto__"]}',
    '{"policy":"path \\"__proto__\\" { capabilities = [\\"sudo\\"] }"}',
  ]);
}

function deepNesting(rng: Rng): string {
  const n = rng.range(100, 500);
  switch (rng.int(4)) {
    case 0:
      return '['.repeat(n) + ']'.repeat(n);
    case 1:
      return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    case 2:
      return '{"data":' + '{"x":['.repeat(n) + 'null' + ']}'.repeat(n) + '}';
    default:
      return '['.repeat(n); // unterminated
  }
}

function makeBody(rng: Rng): { body?: Buffer; kind: string } {
  const kind = rng.weighted([
    ['none', 18], ['json', 30], ['polluting', 4], ['truncated', 8], ['scalar', 6], ['array', 5], ['deep', 6],
    ['huge-string', 3], ['binary', 6], ['bad-utf8', 3], ['json-garbage', 5], ['empty', 4], ['over-limit', 0.15],
    ['bom', 1], ['form', 2],
  ] as const);
  const j = (v: unknown) => Buffer.from(JSON.stringify(v));
  switch (kind) {
    case 'none':
      return { kind };
    case 'json':
      return { kind, body: j(randomJson(rng, rng.range(1, 5)) ?? {}) };
    case 'polluting':
      return { kind, body: Buffer.from(pollutingJson(rng)) };
    case 'truncated': {
      const text = JSON.stringify({ data: randomJson(rng, 3), options: { cas: rng.range(0, 3) } });
      return { kind, body: Buffer.from(text.slice(0, rng.range(1, Math.max(1, text.length - 1)))) };
    }
    case 'scalar':
      return { kind, body: Buffer.from(rng.pick(['1', '-1', '1e999', 'true', 'null', '"string"', '""', '0x10', 'NaN', 'Infinity', '{}', '[]'])) };
    case 'array':
      return { kind, body: j(Array.from({ length: rng.range(0, 6) }, () => randomJson(rng, 2))) };
    case 'deep':
      return { kind, body: Buffer.from(deepNesting(rng)) };
    case 'huge-string':
      return { kind, body: j({ [rng.pick(['data', 'policy', 'token', 'input', 'meta'])]: rng.chance(0.5) ? 'A'.repeat(rng.range(100_000, 2_000_000)) : { v: 'B'.repeat(rng.range(100_000, 1_000_000)) } }) };
    case 'binary':
      return { kind, body: rng.bytes(rng.range(1, 4096)) };
    case 'bad-utf8':
      return { kind, body: Buffer.concat([Buffer.from('{"data":{"k":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}}')]) };
    case 'json-garbage':
      return {
        kind,
        body: Buffer.from(rng.pick([
          '{"data":{"a":1}}{"x":2}', '{"a":1,}', "{'a':1}", '{"a":1 /* c */}', '{"a":"\\u00zz"}', '{"a":"\\ud800"}',
          '{"data":{"a":"b","a":"c"}}', '{"data": {"a": 1e999}}', '{"policy": 5}', '{"data": "notanobject"}',
          '{"data": null, "options": "x"}', '{"ttl": {"nested": true}}', '{"policies": [[["x"]]]}', '{"meta": {"a": 1}}',
          '\u0000{"a":1}', '{"a":1}\u0000', '  \n\t ', '{"options":{"cas":-1},"data":{}}',
        ])),
      };
    case 'empty':
      return { kind, body: Buffer.alloc(0) };
    case 'over-limit':
      return { kind, body: Buffer.alloc(BODY_LIMIT + 1024, 0x61) };
    case 'bom':
      return { kind, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), j({ data: { a: 'b' } })]) };
    default:
      return { kind, body: Buffer.from(`data=${rng.str(10, ALNUM)}&policy=%zz&token=`) };
  }
}

function makePath(rng: Rng): string {
  const shape = rng.weighted([['api', 80], ['random', 8], ['odd-root', 8], ['absolute', 2], ['bare', 2]] as const);
  if (shape === 'bare') return rng.pick(['/', '/v1', '/v1/', '/v2/sys/health', '/ui/', '/v1?list=true', '/%', '/*']);
  if (shape === 'random') return '/' + rng.str(rng.range(0, 60), ALNUM + PATH_PUNCT + '/%' + LATIN1_HIGH.slice(0, 20));
  if (shape === 'api' && rng.chance(0.3)) return `/v1/${rng.pick(REAL_TARGETS)}`;
  let p = rng.pick(PREFIXES);
  // About half of the paths are well-formed, so that requests also get past routing into the handlers.
  const clean = rng.chance(0.5);
  for (let n = rng.weighted([[0, 3], [1, 4], [2, 3], [3, 2], [4, 1]] as const); n > 0; n--) {
    const seg = clean
      ? rng.weighted([['good', 85], ['alnum', 15]] as const)
      : rng.weighted([
          ['good', 20], ['bad', 50], ['alnum', 10], ['long', 2], ['latin1', 4], ['unicode', 5], ['percent-random', 5], ['empty', 4],
        ] as const);
    let s: string;
    if (seg === 'good') s = rng.pick(GOOD_SEGMENTS);
    else if (seg === 'bad') s = rng.pick(BAD_SEGMENTS);
    else if (seg === 'alnum') s = rng.str(rng.range(1, 20), ALNUM + PATH_PUNCT);
    else if (seg === 'long') s = rng.str(rng.range(1000, 20_000), ALNUM);
    else if (seg === 'latin1') s = rng.str(rng.range(1, 6), LATIN1_HIGH);
    else if (seg === 'unicode') s = encodeURIComponent(rng.pick(UNICODE));
    else if (seg === 'percent-random') s = Array.from(rng.bytes(rng.range(1, 6)), (b) => '%' + b.toString(16).padStart(2, '0')).join('');
    else s = '';
    const joiner = p === '' || p.endsWith('/') ? '' : !clean && rng.chance(0.1) ? '//' : '/';
    p += joiner + s;
  }
  if (rng.chance(0.08)) p += '/';
  let root = '/v1/';
  if (clean && shape !== 'absolute') return root + p + (rng.chance(0.25) ? `?${rng.pick(QUERY_PARTS)}` : '');
  if (shape === 'odd-root') root = rng.pick(['/v1//', '//v1/', '/V1/', '/v1/./', '/v1/../v1/', '/v1/%2e%2e/v1/', '/v1%2f', '/v1/%2f', '///v1///']);
  if (shape === 'absolute') root = rng.pick(['http://127.0.0.1/v1/', 'http://evil.example/v1/', 'https://x/v1/']);
  let full = root + p;
  if (rng.chance(0.3)) {
    const parts = Array.from({ length: rng.range(1, 3) }, () => rng.chance(0.85) ? rng.pick(QUERY_PARTS) : `${rng.str(4, ALNUM)}=${rng.str(4, ALNUM + '%')}`);
    full += '?' + parts.join('&');
  }
  if (rng.chance(0.02)) full += '#fragment';
  return full;
}

function makeHeaders(rng: Rng, method: string, tokens: { root: string; reader: string }): { headers: Spec['headers']; auth: Spec['auth'] } {
  const headers: Spec['headers'] = {};
  // The root token may only ever travel with GET and HEAD (read/list operations): nothing can change.
  const readOnly = method === 'GET' || method === 'HEAD';
  let auth: Spec['auth'] = 'none';
  const garbage = () =>
    rng.pick([
      () => `cfs.${rng.str(32, `${ALNUM}-_`)}`,
      () => '',
      () => ' ',
      () => rng.str(rng.range(1, 80), ALNUM + PATH_PUNCT),
      () => 'x'.repeat(rng.chance(0.2) ? rng.range(4000, 9000) : rng.range(513, 2000)),
      () => rng.str(rng.range(1, 10), LATIN1_HIGH),
      () => `${tokens.reader}x`,
      () => tokens.reader.slice(0, -1),
      () => tokens.reader.toUpperCase(),
      () => `s.${rng.str(24, ALNUM)}`,
      () => 'root',
    ])();
  const which = rng.weighted([['none', 18], ['garbage', 20], ['bad-bearer', 7], ['reader', 30], ['reader-bearer', 8], ['root', 10], ['mixed', 7]] as const);
  switch (which) {
    case 'none':
      break;
    case 'garbage':
      headers['x-vault-token'] = garbage();
      break;
    case 'bad-bearer':
      headers.authorization = rng.pick(['Bearer', 'Bearer ', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${garbage()}`, `bearer\t${garbage()}`, `Token ${tokens.reader}`]);
      break;
    case 'reader':
      headers['x-vault-token'] = tokens.reader;
      auth = 'reader';
      break;
    case 'reader-bearer':
      headers.authorization = `${rng.pick(['Bearer', 'bearer', 'BEARER'])} ${tokens.reader}`;
      auth = 'reader';
      break;
    case 'root':
      if (readOnly) {
        headers['x-vault-token'] = tokens.root;
        auth = 'root';
      } else {
        headers['x-vault-token'] = tokens.reader;
        auth = 'reader';
      }
      break;
    case 'mixed':
      // Two credentials at once; the root token only with read-only methods.
      if (readOnly && rng.chance(0.5)) {
        headers.authorization = `Bearer ${tokens.root}`;
        headers['x-vault-token'] = rng.chance(0.5) ? garbage() : [tokens.reader, garbage()];
        auth = 'root';
      } else {
        headers['x-vault-token'] = rng.chance(0.5) ? [tokens.reader, tokens.reader] : [garbage(), tokens.reader];
        headers.authorization = `Bearer ${rng.chance(0.5) ? tokens.reader : garbage()}`;
        auth = 'reader';
      }
      break;
  }
  if (rng.chance(0.75)) headers['content-type'] = rng.pick(CONTENT_TYPES);
  for (let n = rng.range(0, 3); n > 0; n--) {
    const name = rng.pick([
      'x-vault-wrap-ttl', 'x-vault-namespace', 'x-vault-request', 'x-vault-mfa', 'x-vault-index', 'x-forwarded-for',
      'accept', 'accept-encoding', 'x-http-method-override', 'origin', 'cookie', 'x-vault-policy-override',
      `x-${rng.str(rng.range(1, 12), 'abcdefghij-')}`,
    ]);
    headers[name] = rng.pick([
      () => rng.str(rng.range(0, 30), ALNUM + PATH_PUNCT + ' '),
      () => rng.pick(['DELETE', 'PUT', 'true', '10s', '-1', 'gzip, br', '*/*', '../../', 'admin/', 'null']),
      () => rng.str(rng.range(1, 8), LATIN1_HIGH),
      () => 'y'.repeat(rng.chance(0.2) ? rng.range(3000, 9000) : rng.range(200, 1500)),
    ])();
  }
  return { headers, auth };
}

function makeSpec(index: number, tokens: { root: string; reader: string }): Spec {
  const rng = new Rng(seedFor(index));
  const method = rng.weighted(METHODS);
  const reqPath = makePath(rng);
  const { headers, auth } = makeHeaders(rng, method, tokens);
  const bodyAllowed = !['GET', 'HEAD', 'TRACE', 'get'].includes(method) || rng.chance(0.1);
  const { body, kind } = bodyAllowed && method !== 'HEAD' ? makeBody(rng) : { body: undefined, kind: 'none' };
  return { index, method, path: reqPath, headers, body, auth, bodyKind: kind };
}

// ---------------------------------------------------------------------------------------------------------------
// Judging responses
// ---------------------------------------------------------------------------------------------------------------
interface Seeded {
  /** The API path whose read legitimately returns the value (no leading `/v1/`). */
  readPath: string;
  values: string[];
}

/** The logical path a request names, decoded, without query, leading slashes or one trailing slash. */
function logicalPath(raw: string): string | null {
  let p = raw.replace(/^https?:\/\/[^/]*/, '');
  const q = p.search(/[?#]/);
  if (q !== -1) p = p.slice(0, q);
  if (!p.startsWith('/v1/')) return null;
  try {
    p = decodeURIComponent(p.slice(4));
  } catch {
    return null;
  }
  return p.replace(/^\/+/, '').replace(/\/$/, '');
}

/** Paths served without a token. */
const UNAUTHENTICATED = new Set(['sys/health', 'sys/seal-status', 'sys/leader', 'sys/init', 'sys/unseal']);

/**
 * Whether a request with this credential may get a 2xx for this logical path: without a valid token only the
 * unauthenticated sys paths; the reader only what the `fuzz-reader` policy grants. A 2xx anywhere else means a
 * path trick (`..`, `//`, encodings) got past the ACL.
 */
function mayAccess(auth: Spec['auth'], logical: string | null): boolean {
  if (auth === 'root') return true;
  if (logical !== null && UNAUTHENTICATED.has(logical)) return true;
  if (auth === 'none' || logical === null) return false;
  return (
    /^(secret\/(data|metadata|subkeys)|kv1)(\/|$)/.test(logical) ||
    /^sys\/policies\/acl(\/|$)/.test(logical) ||
    // Any token may ask about the mounts it has a grant under (and only those). The default policy grants paths
    // under sys/ and auth/token/ (capabilities-self, lookup-self, ...), so those mounts count, as in Vault.
    /^sys\/internal\/ui\/mounts\/(secret|kv1|sys|auth\/token)(\/|$)/.test(logical) ||
    logical === 'sys/mounts' ||
    logical === 'auth/token/lookup-self'
  );
}

const INTERNAL_TEXT = /node_modules|\/work\/|\bat [\w.$<>[\] ]+ \(|\bat (file|node):|\.(?:ts|js):\d+:\d+|TypeError|ReferenceError|RangeError|SQLITE_|better-sqlite3|ZodError|Unexpected token|\bstack\b/;

// ---------------------------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------------------------
let server: TestServer;
const auditDir = mkdtempSync(path.join(tmpdir(), 'coffer-fuzz-'));

test.after(async () => {
  await server?.close();
  rmSync(auditDir, { recursive: true, force: true });
});

test(`fuzz: ${REQUESTS}+ random and malformed requests change nothing and never answer 5xx`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`fuzz seed ${SEED} (reproduce with FUZZ_SEED=${SEED})`);
  console.log(`# fuzz seed ${SEED} (reproduce with FUZZ_SEED=${SEED})`);
  server = await startDevServer();
  const root = client(server.addr, server.token);
  const core = server.server.core;

  // --- Seed data --------------------------------------------------------------------------------------------
  const unique = () => `fz${SEED.toString(36)}${randomBytes(9).toString('hex')}v`;
  const seeded: Seeded[] = [
    { readPath: 'secret/data/app/config', values: [unique(), unique()] },
    { readPath: 'secret/data/team/db', values: [unique()] },
    { readPath: 'kv1/app', values: [unique()] },
    { readPath: 'kv1/nested/deep/key', values: [unique()] },
  ];
  const ok = (res: { status: number; text: string }, what: string, status = [200, 204]) =>
    assert.ok(status.includes(res.status), `${what}: ${res.status} ${res.text}`);
  ok(await root.post('sys/mounts/kv1', { type: 'kv', options: { version: '1' } }), 'mount kv1');
  ok(await root.put('sys/audit/fuzzlog', { type: 'file', options: { file_path: path.join(auditDir, 'audit.log') } }), 'enable audit');
  ok(await root.post('secret/data/app/config', { data: { password: seeded[0].values[0], user: 'app' } }), 'seed v1');
  ok(await root.post('secret/data/app/config', { data: { password: seeded[0].values[1], user: 'app' }, options: { cas: 1 } }), 'seed v2');
  ok(await root.post('secret/data/team/db', { data: { dsn: seeded[1].values[0], nested: { port: 5432 } } }), 'seed team/db');
  ok(await root.post('secret/metadata/team/db', { max_versions: 3, custom_metadata: { owner: 'team' } }), 'seed metadata');
  ok(await root.post('kv1/app', { token: seeded[2].values[0] }), 'seed kv1/app');
  ok(await root.post('kv1/nested/deep/key', { v: seeded[3].values[0], n: 1 }), 'seed kv1 nested');
  const readerPolicy = [
    'path "secret/data/*" { capabilities = ["read", "list"] }',
    'path "secret/metadata/*" { capabilities = ["read", "list"] }',
    'path "secret/subkeys/*" { capabilities = ["read"] }',
    'path "kv1/*" { capabilities = ["read", "list"] }',
    'path "sys/mounts" { capabilities = ["read"] }',
    'path "sys/policies/acl/*" { capabilities = ["read", "list"] }',
    'path "auth/token/lookup-self" { capabilities = ["read"] }',
  ].join('\n');
  ok(await root.put('sys/policies/acl/fuzz-reader', { policy: readerPolicy }), 'policy');
  const readerRes = await root.post('auth/token/create', { policies: ['fuzz-reader'], no_default_policy: true, ttl: '1h', display_name: 'fuzz' });
  ok(readerRes, 'reader token');
  const tokens = { root: server.token, reader: readerRes.body.auth.client_token as string };
  assert.deepEqual(readerRes.body.auth.policies, ['fuzz-reader'], 'the reader token has exactly the read-only policy');
  const reader = client(server.addr, tokens.reader);
  assert.equal((await reader.get('secret/data/app/config')).status, 200);
  assert.equal((await reader.post('secret/data/app/config', { data: { x: 1 } })).status, 403);
  assert.equal((await reader.post('auth/token/revoke-self')).status, 403);

  // --- Snapshot -------------------------------------------------------------------------------------------------
  const blank = (text: string) => text.replace(/"request_id":"[^"]*"/g, '"request_id":""');
  const snapshot = async () => {
    const out: Record<string, string> = {};
    const reads: [string, string][] = [
      ['GET', 'secret/data/app/config'], ['GET', 'secret/data/app/config?version=1'], ['GET', 'secret/data/team/db'],
      ['GET', 'secret/metadata/app/config'], ['GET', 'secret/metadata/team/db'], ['GET', 'secret/subkeys/team/db'],
      ['GET', 'kv1/app'], ['GET', 'kv1/nested/deep/key'], ['LIST', 'secret/metadata'], ['LIST', 'kv1'], ['LIST', 'kv1/nested/deep'],
      ['GET', 'secret/config'], ['GET', 'sys/mounts'], ['GET', 'sys/auth'], ['LIST', 'sys/policies/acl'], ['GET', 'sys/policy'],
      ['GET', 'sys/policies/acl/fuzz-reader'], ['GET', 'sys/policies/acl/default'], ['GET', 'sys/audit'],
      ['LIST', 'auth/token/accessors'], ['LIST', 'auth/token/roles'], ['GET', 'sys/key-status'],
    ];
    for (const [method, p] of reads) {
      const res = method === 'LIST' ? await root.list(p) : await root.get(p);
      out[`${method} ${p}`] = `${res.status} ${blank(res.text)}`;
    }
    const self = await reader.get('auth/token/lookup-self');
    delete self.body.data.ttl;
    delete self.body.request_id;
    out['reader lookup-self'] = `${self.status} ${JSON.stringify(self.body)}`;
    const storage: Record<string, string> = {};
    const walk = async (prefix: string): Promise<void> => {
      for (const name of await core.physical.list(prefix)) {
        if (name.endsWith('/')) await walk(prefix + name);
        else storage[prefix + name] = createHash('sha256').update((await core.physical.get(prefix + name))!).digest('hex');
      }
    };
    await walk('');
    return { api: out, storage };
  };
  const before = await snapshot();
  for (const s of seeded) {
    const res = await root.get(s.readPath);
    assert.equal(res.status, 200);
    assert.ok(res.text.includes(s.values[s.values.length - 1]), `${s.readPath} holds its seeded value`);
  }
  assert.ok(Object.keys(before.storage).length > 10);

  // --- Fuzz -----------------------------------------------------------------------------------------------------
  const pool = new Pool(server.addr, { connections: CONCURRENCY, pipelining: 1, headersTimeout: 20_000, bodyTimeout: 20_000, keepAliveTimeout: 2000 });
  const statuses = new Map<number, number>();
  const fivexx: string[] = [];
  const hangs: string[] = [];
  const leaks: string[] = [];
  const internals: string[] = [];
  const bypasses: string[] = [];
  const socketErrors: string[] = [];
  const notSent = new Map<string, number>();
  const unhealthyAfterError: string[] = [];
  const describeSpec = (s: Spec) => `#${s.index} ${s.method} ${s.path.length > 200 ? `${s.path.slice(0, 200)}…(${s.path.length})` : s.path} auth=${s.auth} body=${s.bodyKind}${s.body ? `(${s.body.length}B)` : ''}`;
  const allValues = seeded.flatMap((s) => s.values.map((v) => ({ v, s })));

  let sent = 0;
  let next = 0;
  let legitReads = 0;
  const started = Date.now();
  const messages = new Map<string, number>();
  const judge = (spec: Spec, status: number, text: string) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status >= 400) {
      const m = `${status} ${/"errors":\["([^"]{0,60})/.exec(text)?.[1] ?? text.slice(0, 40)}`;
      messages.set(m, (messages.get(m) ?? 0) + 1);
      if (process.env.FUZZ_DEBUG && m.includes(process.env.FUZZ_DEBUG)) console.log(`# ${m} ← ${describeSpec(spec)} ${JSON.stringify(spec.headers).slice(0, 300)}`);
    }
    if (status >= 500) fivexx.push(`${describeSpec(spec)} → ${status} ${text.slice(0, 200)}`);
    const logical = logicalPath(spec.path);
    for (const { v, s } of allValues) {
      if (!text.includes(v)) continue;
      const legit = spec.method === 'GET' && spec.auth !== 'none' && logical === s.readPath;
      if (legit) legitReads++;
      else leaks.push(`${describeSpec(spec)} → ${status} contains the value of ${s.readPath}`);
    }
    for (const [name, tok] of Object.entries(tokens)) {
      if (!text.includes(tok)) continue;
      const legit = spec.method === 'GET' && spec.auth === name && logical === 'auth/token/lookup-self';
      if (!legit) leaks.push(`${describeSpec(spec)} → ${status} contains the ${name} token`);
    }
    if (status < 300 && !mayAccess(spec.auth, logical)) bypasses.push(`${describeSpec(spec)} → ${status} ${text.slice(0, 120)}`);
    if (INTERNAL_TEXT.test(text)) internals.push(`${describeSpec(spec)} → ${status} ${text.slice(0, 300)}`);
  };

  const worker = async () => {
    while (sent < REQUESTS) {
      const spec = makeSpec(next++, tokens);
      let res;
      try {
        res = await pool.request({ path: spec.path, method: spec.method as 'GET', headers: spec.headers, body: spec.body });
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).name;
        if (['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'].includes(code)) {
          notSent.set(code, (notSent.get(code) ?? 0) + 1); // refused by the client library: never reached the server
          continue;
        }
        sent++;
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') hangs.push(`${describeSpec(spec)}: ${code}`);
        else socketErrors.push(`${describeSpec(spec)}: ${code} ${(err as Error).message}`);
        // A connection the server dropped must be a protocol decision, not a crash: it still answers at once.
        const health = await client(server.addr, null).get('sys/health').catch((e: Error) => ({ status: -1, text: e.message }));
        if (health.status !== 200) unhealthyAfterError.push(`${describeSpec(spec)} → health ${health.status}`);
        continue;
      }
      sent++;
      let text: string;
      try {
        text = await res.body.text();
      } catch (err) {
        socketErrors.push(`${describeSpec(spec)}: body ${(err as { code?: string }).code} ${(err as Error).message}`);
        continue;
      }
      judge(spec, res.statusCode, text);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await pool.close();
  const elapsed = Date.now() - started;

  const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
  t.diagnostic(`seed ${SEED}: ${sent} requests sent in ${elapsed} ms (${next} generated; not sent: ${JSON.stringify(Object.fromEntries(notSent))})`);
  t.diagnostic(`statuses ${summary}; socket-level failures ${socketErrors.length}; legitimate secret reads ${legitReads}`);
  for (const e of socketErrors.slice(0, 10)) t.diagnostic(`socket: ${e}`);
  const top = [...messages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  t.diagnostic(`most frequent errors: ${top.map(([m, n]) => `${n}× ${m}`).join(' | ')}`);

  // --- Verdicts ---------------------------------------------------------------------------------------------------
  assert.ok(sent >= 2500, `only ${sent} requests reached the server`);
  assert.deepEqual(fivexx, [], `responses with status >= 500 (seed ${SEED})`);
  assert.deepEqual(hangs, [], `requests that got no answer (seed ${SEED})`);
  assert.deepEqual(leaks, [], `responses carrying a secret or token they should not (seed ${SEED})`);
  assert.deepEqual(internals, [], `responses with internal error text (seed ${SEED})`);
  assert.deepEqual(bypasses, [], `successful answers to requests whose token may not use that path (seed ${SEED})`);
  assert.deepEqual(unhealthyAfterError, [], 'the server stopped answering after a dropped connection');
  assert.ok(socketErrors.length < sent / 100, `socket-level failures ${socketErrors.length} of ${sent}:\n${socketErrors.slice(0, 20).join('\n')}`);
  assert.ok((statuses.get(200) ?? 0) > 50, `some requests succeeded: ${summary}`);
  assert.ok(legitReads > 0, 'no legitimate secret read happened: the leak check would be vacuous');
  assert.ok((statuses.get(400) ?? 0) > 100 && (statuses.get(403) ?? 0) > 100 && (statuses.get(404) ?? 0) > 50, `status mix ${summary}`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');

  assert.equal((await client(server.addr, null).get('sys/health')).status, 200);
  assert.equal((await reader.get('secret/data/app/config')).status, 200, 'the reader token still works');

  // A wrapped read (a valid X-Vault-Wrap-TTL among the random headers) answers with a new wrapping token: that
  // token is the answer, not a change. Revoke them (and their cubbyholes) before comparing.
  const wrappingTokens = await revokeWrappingTokens(root);
  t.diagnostic(`wrapping tokens minted by wrapped requests: ${wrappingTokens}`);
  const after = await snapshot();
  for (const key of Object.keys(before.api)) assert.equal(after.api[key], before.api[key], `${key} changed`);
  assert.deepEqual(Object.keys(after.storage).sort(), Object.keys(before.storage).sort(), 'storage keys changed');
  for (const key of Object.keys(before.storage)) assert.equal(after.storage[key], before.storage[key], `stored value ${key} changed`);

  // The audit device saw the traffic, and never wrote a secret value in the clear.
  const audit = readFileSync(path.join(auditDir, 'audit.log'), 'utf8');
  const auditLines = audit.split('\n').filter(Boolean);
  assert.ok(auditLines.length > 100, `audit log has ${auditLines.length} entries`);
  for (const line of auditLines) JSON.parse(line);
  for (const { v, s } of allValues) assert.ok(!audit.includes(v), `the audit log contains the value of ${s.readPath}`);
});

/** Revokes every live token whose only policy is `response-wrapping`; returns how many there were. */
async function revokeWrappingTokens(root: ReturnType<typeof client>): Promise<number> {
  let count = 0;
  for (const accessor of (await root.list('auth/token/accessors')).body.data.keys as string[]) {
    const entry = await root.post('auth/token/lookup-accessor', { accessor });
    if (JSON.stringify(entry.body?.data?.policies) !== '["response-wrapping"]') continue;
    assert.equal((await root.post('auth/token/revoke-accessor', { accessor })).status, 204);
    count++;
  }
  return count;
}
