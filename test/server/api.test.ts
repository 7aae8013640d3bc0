/**
 * The HTTP contract and the request pipeline against a live dev server: the Vault envelope, status codes,
 * bad input, token headers, path safety (`..`, `//`, encoded slashes), ACL (deny, exact vs glob, sudo),
 * mounts (enable, tune, remount, disable), key rotation, policies, and audit (hashing, audit-hash, fail
 * closed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, rmdirSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'undici';
import { startDevServer, client, api, type TestServer, type ApiResponse } from '../helpers/server.js';

let srv: TestServer;
let root: ReturnType<typeof client>;
const tmp = mkdtempSync(path.join(tmpdir(), 'coffer-api-'));

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});

after(async () => {
  try {
    await srv?.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const ENVELOPE_KEYS = ['auth', 'data', 'lease_duration', 'lease_id', 'mount_type', 'renewable', 'request_id', 'warnings', 'wrap_info'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function writePolicy(name: string, policy: string): Promise<void> {
  const res = await root.put(`sys/policies/acl/${name}`, { policy });
  assert.equal(res.status, 204, `policy ${name}: ${res.text}`);
}

async function tokenWith(...policies: string[]): Promise<string> {
  const res = await root.post('auth/token/create', { policies, ttl: '1h' });
  assert.equal(res.status, 200, res.text);
  return res.body.auth.client_token;
}

function assertError(res: ApiResponse, status: number, message?: RegExp): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.ok(Array.isArray(res.body?.errors), `Vault error body expected: ${res.text}`);
  if (message) assert.ok(res.body.errors.some((e: string) => message.test(e)), `no error matching ${message}: ${res.text}`);
}

/** Raw request: `rawPath` goes on the wire byte for byte (undici does not normalise the `path` option). */
async function rawRequest(addr: string, method: string, rawPath: string, headers: Record<string, string> = {}, body?: string) {
  const c = new Client(addr);
  try {
    const res = await c.request({ path: rawPath, method: method as 'GET', headers, body });
    return { status: res.statusCode, text: await res.body.text() };
  } finally {
    await c.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Envelope and status codes

test('envelope: exactly Vault\'s fields, with a fresh request_id on every response', async () => {
  const write = await root.post('secret/data/envelope', { data: { k: 'v' } });
  assert.equal(write.status, 200);
  assert.match(String(write.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(write.body).sort(), ENVELOPE_KEYS);
  assert.match(write.body.request_id, UUID);
  assert.equal(write.body.lease_id, '');
  assert.equal(write.body.renewable, false);
  assert.equal(write.body.lease_duration, 0);
  assert.equal(write.body.wrap_info, null);
  assert.equal(write.body.warnings, null);
  assert.equal(write.body.auth, null);
  assert.equal(write.body.mount_type, 'kv');
  assert.equal(write.body.data.version, 1);

  const read = await root.get('secret/data/envelope');
  assert.deepEqual(Object.keys(read.body).sort(), ENVELOPE_KEYS);
  assert.notEqual(read.body.request_id, write.body.request_id);
  assert.deepEqual(read.body.data.data, { k: 'v' });

  const token = await root.post('auth/token/create', { policies: ['default'], ttl: '1h' });
  assert.deepEqual(Object.keys(token.body).sort(), ENVELOPE_KEYS);
  assert.equal(token.body.data, null);
  assert.equal(token.body.mount_type, 'token');
  for (const k of ['client_token', 'accessor', 'policies', 'token_policies', 'metadata', 'lease_duration', 'renewable', 'entity_id', 'token_type', 'orphan']) {
    assert.ok(k in token.body.auth, `auth.${k} missing`);
  }
  assert.equal(token.body.auth.lease_duration, 3600);

  const mounts = await root.get('sys/mounts');
  assert.equal(mounts.body.mount_type, 'system');
  assert.equal(mounts.body.data['secret/'].type, 'kv');
});

test('empty writes answer 204 with no body', async () => {
  assert.equal((await root.post('sys/mounts/e204', { type: 'kv' })).status, 204);
  const write = await root.post('e204/a', { v: '1' });
  assert.equal(write.status, 204);
  assert.equal(write.text, '');
  const del = await root.delete('e204/a');
  assert.equal(del.status, 204);
  assert.equal(del.text, '');
  const pol = await root.put('sys/policies/acl/e204', { policy: 'path "x/*" { capabilities = ["read"] }' });
  assert.equal(pol.status, 204);
  assert.equal(pol.text, '');
});

test('a read or list of nothing is 404 {"errors":[]}', async () => {
  assert.equal((await root.post('sys/mounts/e404', { type: 'kv' })).status, 204);
  for (const res of [
    await root.get('e404/missing'),
    await root.list('e404/'),
    await root.list('e404/none/'),
    await root.get('secret/data/never-written'),
    await root.list('secret/metadata/never-written/'),
    await root.get('sys/policies/acl/never-written'),
  ]) {
    assert.equal(res.status, 404, res.text);
    assert.deepEqual(res.body, { errors: [] });
  }
});

test('unsupported path inside a mount and unknown mount are 404', async () => {
  for (const p of ['sys/no-such-endpoint', 'auth/token/no-such-endpoint', 'sys/policies/acl/a/b']) {
    const res = await root.get(p);
    assert.equal(res.status, 404, `${p}: ${res.text}`);
    assert.deepEqual(res.body, { errors: ['unsupported path'] }, p);
  }
  assertError(await root.get('no-such-mount/x'), 404, /no handler for route/);
  assertError(await root.post('no-such-mount/x', { a: 'b' }), 404);
  // A KV v2 mount answers paths outside its API with 404 and a hint, as Vault does.
  const v2 = await root.get('secret/not-data/x');
  assert.equal(v2.status, 404);
  assert.match(v2.body.warnings[0], /Invalid path for a versioned K\/V secrets engine/);
});

test('unsupported methods are 405', async () => {
  for (const method of ['OPTIONS', 'PROPFIND', 'TRACE', 'MKCOL']) {
    const res = await api(srv.addr, method, 'secret/data/envelope', { token: srv.token });
    assertError(res, 405);
    assert.ok(!res.text.includes('"k"'));
  }
  // A method the pipeline knows but the path does not serve.
  assertError(await root.delete('sys/health'), 405, /unsupported operation/);
  assertError(await root.patch('sys/policies/acl/e204', { policy: 'x' }), 405);
  // PATCH needs the merge-patch content type.
  const patch = await api(srv.addr, 'PATCH', 'secret/data/envelope', { token: srv.token, body: { data: { k: 'w' } } });
  assert.equal(patch.status, 415);
});

test('a body over max_request_size is 413; the server keeps answering', async () => {
  const small = await startDevServer({ listeners: [{ address: '127.0.0.1:0', tlsDisable: true, maxRequestSize: 1024 }] });
  try {
    const c = client(small.addr, small.token);
    const big = await c.post('secret/data/big', { data: { blob: 'x'.repeat(2048) } });
    assertError(big, 413);
    assert.ok(!big.text.includes('xxxx'));
    assertError(await c.get('secret/data/big'), 404);
    const ok = await c.post('secret/data/big', { data: { blob: 'x'.repeat(512) } });
    assert.equal(ok.status, 200, ok.text);
    // The default limit (32 MiB) takes a body the small listener refused.
    const def = await root.post('secret/data/big', { data: { blob: 'x'.repeat(64 * 1024) } });
    assert.equal(def.status, 200);
  } finally {
    await small.close();
  }
});

test('malformed JSON is 400 and the message does not echo the body', async () => {
  const leak = 'leak-me-7f3b9a';
  for (const rawBody of [`{"data": {"password": "${leak}"`, `{"data": ${leak}}`, `${leak}`, `{'data': '${leak}'}`]) {
    const res = await api(srv.addr, 'POST', 'secret/data/malformed', { token: srv.token, rawBody, headers: { 'content-type': 'application/json' } });
    assertError(res, 400);
    assert.ok(!res.text.includes(leak), `body echoed: ${res.text}`);
    assert.ok(!/at .*\.js|node_modules|SyntaxError/.test(res.text), `internal detail: ${res.text}`);
  }
  // Same without a JSON content type: Vault parses every body as JSON.
  const plain = await api(srv.addr, 'POST', 'secret/data/malformed', { token: srv.token, rawBody: `pw=${leak}`, headers: { 'content-type': 'text/plain' } });
  assertError(plain, 400);
  assert.ok(!plain.text.includes(leak));
  assertError(await root.get('secret/data/malformed'), 404);
});

test('a JSON body that is not an object is 400', async () => {
  for (const rawBody of ['[1,2,3]', '"just a string"', '42', 'true', '[{"data":{"a":"b"}}]']) {
    const res = await api(srv.addr, 'POST', 'secret/data/not-object', { token: srv.token, rawBody, headers: { 'content-type': 'application/json' } });
    assertError(res, 400);
    const v1 = await api(srv.addr, 'POST', 'e204/not-object', { token: srv.token, rawBody, headers: { 'content-type': 'application/json' } });
    assertError(v1, 400);
  }
  assertError(await root.get('secret/data/not-object'), 404);
  assertError(await root.get('e204/not-object'), 404);
});

test('a bad TTL string on token create is 400 naming the field', async () => {
  for (const field of ['ttl', 'explicit_max_ttl', 'period']) {
    const res = await root.post('auth/token/create', { policies: ['default'], [field]: '10 fortnights' });
    assertError(res, 400, new RegExp(`"${field}"`));
  }
  assertError(await root.post('auth/token/create', { ttl: '-5s' }), 400, /"ttl"/);
  assertError(await root.post('auth/token/create', { ttl: 'h' }), 400, /"ttl"/);
  // Vault's accepted forms.
  for (const [ttl, seconds] of [['90', 90], ['30s', 30], ['15m', 900], ['1h', 3600], ['1h30m', 5400], [120, 120]] as const) {
    const res = await root.post('auth/token/create', { policies: ['default'], ttl });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.auth.lease_duration, seconds, `ttl ${ttl}`);
  }
});

test('Authorization: Bearer works like X-Vault-Token; missing or invalid token is 403', async () => {
  const bearer = await api(srv.addr, 'GET', 'secret/data/envelope', { headers: { authorization: `Bearer ${srv.token}` } });
  assert.equal(bearer.status, 200);
  assert.deepEqual(bearer.body.data.data, { k: 'v' });
  const lower = await api(srv.addr, 'GET', 'auth/token/lookup-self', { headers: { authorization: `bearer ${srv.token}` } });
  assert.equal(lower.status, 200);
  assert.equal(lower.body.data.id, srv.token);

  const readOnly = await tokenWith('default');
  const limited = await api(srv.addr, 'GET', 'secret/data/envelope', { headers: { authorization: `Bearer ${readOnly}` } });
  assertError(limited, 403);

  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer cfs.bogus' }, { 'x-vault-token': 'cfs.bogus' }, { authorization: `Basic ${srv.token}` }, { 'x-vault-token': '' }]) {
    const res = await api(srv.addr, 'GET', 'secret/data/envelope', { headers });
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.deepEqual(res.body, { errors: ['permission denied'] });
  }
  const write = await api(srv.addr, 'POST', 'secret/data/envelope', { body: { data: { k: 'hijack' } } });
  assertError(write, 403);
  assert.deepEqual((await root.get('secret/data/envelope')).body.data.data, { k: 'v' });
});

// ---------------------------------------------------------------------------------------------------------
// Path safety

test('undici sends the raw paths used below without normalising them', async () => {
  const seen: string[] = [];
  const echo = createServer((req: IncomingMessage, res) => {
    seen.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  try {
    const addr = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
    for (const p of TRAVERSALS) {
      await rawRequest(addr, 'GET', `/v1/${p}`);
      assert.equal(seen.at(-1), `/v1/${p}`);
    }
  } finally {
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
});

const TEAM_B_VALUE = 'team-b-value-9d2c41';
const TRAVERSALS = [
  'secret/data/team-a/../team-b/x',
  'secret/data/team-a/%2e%2e/team-b/x',
  'secret/data/team-a/%2E%2E/team-b/x',
  'secret/data/team-a/.%2e/team-b/x',
  'secret/data/team-a%2f..%2fteam-b/x',
  'secret/data/team-a/..%2fteam-b/x',
  'secret/data/team-a%2F..%2Fteam-b/x',
  'secret/data/team-a/..%5cteam-b/x',
  'secret/data/team-a\\..\\team-b/x',
  'secret/data/team-a//x',
  'secret//data/team-b/x',
  '/secret/data/team-b/x',
  'secret/data/team-a/./../team-b/x',
  'secret/data/team-a/x/../../team-b/x',
  'secret/data/team-a/%00/../team-b/x',
  'secret/data/team-a/../../data/team-b/x',
];

test('path safety: ../, encoded dots and slashes, // never reach a path the policy denies', async () => {
  await writePolicy('team-a', 'path "secret/data/team-a/*" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n');
  assert.equal((await root.post('secret/data/team-b/x', { data: { v: TEAM_B_VALUE } })).status, 200);
  assert.equal((await root.post('secret/data/team-a/x', { data: { v: 'team-a-value' } })).status, 200);
  const tokenA = await tokenWith('team-a');
  const a = client(srv.addr, tokenA);
  // Controls: the token reads its own team and is refused the other one.
  assert.equal((await a.get('secret/data/team-a/x')).body.data.data.v, 'team-a-value');
  assertError(await a.get('secret/data/team-b/x'), 403);

  for (const p of TRAVERSALS) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      const body = method === 'POST' || method === 'PUT' ? JSON.stringify({ data: { v: 'overwritten-by-a' } }) : undefined;
      const res = await rawRequest(srv.addr, method, `/v1/${p}`, { 'x-vault-token': tokenA, 'content-type': 'application/json' }, body);
      assert.ok([400, 403, 404].includes(res.status), `${method} ${p} answered ${res.status}: ${res.text}`);
      assert.ok(!res.text.includes(TEAM_B_VALUE), `${method} ${p} leaked team-b's secret`);
    }
    // Also with ?list=true.
    const list = await rawRequest(srv.addr, 'GET', `/v1/${p}?list=true`, { 'x-vault-token': tokenA });
    assert.ok([400, 403, 404].includes(list.status), `LIST ${p}: ${list.status}`);
  }
  // Decoding happens once: `%252e%252e` is the literal key name `%2e%2e` inside team-a, not a `..`.
  const literal = await rawRequest(srv.addr, 'POST', '/v1/secret/data/team-a/%252e%252e/team-b/x', { 'x-vault-token': tokenA, 'content-type': 'application/json' }, JSON.stringify({ data: { v: 'literal' } }));
  assert.equal(literal.status, 200);
  assert.deepEqual((await root.list('secret/metadata/team-a/')).body.data.keys.sort(), ['%2e%2e/', 'x']);
  // team-b's secret is untouched: still version 1, same value, not deleted.
  const b = await root.get('secret/data/team-b/x');
  assert.equal(b.status, 200);
  assert.equal(b.body.data.data.v, TEAM_B_VALUE);
  assert.equal(b.body.data.metadata.version, 1);
  assert.equal(b.body.data.metadata.deletion_time, '');
});

// ---------------------------------------------------------------------------------------------------------
// ACL

test('ACL: a policy grants exactly its capabilities; deny wins on the same pattern; exact beats glob', async () => {
  await writePolicy(
    'acl-a',
    `
path "secret/data/acl/rw/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/data/acl/rw/blocked" {
  capabilities = ["deny"]
}
path "secret/data/acl/ro/*" {
  capabilities = ["read"]
}
path "secret/data/acl/common" {
  capabilities = ["read", "update"]
}
path "secret/metadata/acl/*" {
  capabilities = ["list"]
}
`,
  );
  await writePolicy('acl-b', 'path "secret/data/acl/common" {\n  capabilities = ["deny"]\n}\n');
  for (const p of ['rw/x', 'rw/blocked', 'ro/x', 'common', 'other']) {
    assert.equal((await root.post(`secret/data/acl/${p}`, { data: { v: p } })).status, 200);
  }
  assert.equal((await root.post('secret/data/outside', { data: { v: 'outside' } })).status, 200);

  const a = client(srv.addr, await tokenWith('acl-a'));
  assert.equal((await a.get('secret/data/acl/rw/x')).body.data.data.v, 'rw/x');
  assert.equal((await a.post('secret/data/acl/rw/x', { data: { v: 'updated' } })).status, 200);
  assert.equal((await a.post('secret/data/acl/rw/new', { data: { v: 'created' } })).status, 200);
  assertError(await a.delete('secret/data/acl/rw/x'), 403);
  assertError(await a.get('secret/data/acl/rw/blocked'), 403);
  assertError(await a.post('secret/data/acl/rw/blocked', { data: { v: 'no' } }), 403);
  assert.equal((await a.get('secret/data/acl/ro/x')).status, 200);
  assertError(await a.post('secret/data/acl/ro/x', { data: { v: 'no' } }), 403);
  assertError(await a.post('secret/data/acl/ro/new', { data: { v: 'no' } }), 403);
  assertError(await a.get('secret/data/acl/other'), 403);
  assertError(await a.get('secret/data/outside'), 403);
  assertError(await a.get('secret/metadata/acl/rw/x'), 403);
  assert.deepEqual((await a.list('secret/metadata/acl/rw/')).body.data.keys, ['blocked', 'new', 'x']);
  assertError(await a.list('secret/metadata/'), 403);
  assert.equal((await a.get('secret/data/acl/common')).status, 200);
  assertError(await a.post('sys/mounts/evil', { type: 'kv' }), 403);
  assertError(await a.put('sys/policies/acl/acl-a', { policy: 'path "*" { capabilities = ["sudo","read"] }' }), 403);

  // acl-b denies the same pattern acl-a allows: deny wins; other patterns keep acl-a's grants.
  const ab = client(srv.addr, await tokenWith('acl-a', 'acl-b'));
  assertError(await ab.get('secret/data/acl/common'), 403);
  assertError(await ab.post('secret/data/acl/common', { data: { v: 'no' } }), 403);
  assert.equal((await ab.get('secret/data/acl/rw/x')).body.data.data.v, 'updated');

  // Data the refused writes would have changed is intact.
  assert.equal((await root.get('secret/data/acl/ro/x')).body.data.data.v, 'ro/x');
  assert.equal((await root.get('secret/data/acl/common')).body.data.data.v, 'common');
  assert.equal((await root.get('secret/data/acl/rw/blocked')).body.data.data.v, 'rw/blocked');
  assertError(await root.get('secret/data/acl/ro/new'), 404);
});

test('ACL: sudo-protected paths refuse update without sudo and work with ["update","sudo"]', async () => {
  const rules = (caps: string) => `
path "sys/audit" {
  capabilities = [${caps}]
}
path "sys/audit/*" {
  capabilities = [${caps}]
}
path "sys/rotate" {
  capabilities = [${caps}]
}
path "sys/seal" {
  capabilities = [${caps}]
}
path "sys/auth/*" {
  capabilities = [${caps}]
}
path "sys/key-status" {
  capabilities = [${caps}]
}
`;
  await writePolicy('ops-nosudo', rules('"create", "read", "update", "delete", "list"'));
  await writePolicy('ops-sudo', rules('"read", "update", "delete", "sudo"'));
  const no = client(srv.addr, await tokenWith('ops-nosudo'));
  const yes = client(srv.addr, await tokenWith('ops-sudo'));
  const termBefore = (await root.get('sys/key-status')).body.data.term;

  assertError(await no.put('sys/rotate'), 403);
  assertError(await no.get('sys/key-status'), 403);
  assertError(await no.get('sys/audit'), 403);
  assertError(await no.put('sys/audit/nosudo', { type: 'file', options: { file_path: 'discard' } }), 403);
  assertError(await no.post('sys/auth/userpass', { type: 'userpass' }), 403);
  assertError(await no.put('sys/seal'), 403);
  assert.equal((await root.get('sys/key-status')).body.data.term, termBefore, 'refused rotate did not rotate');
  assert.equal((await root.get('sys/audit')).body.data['nosudo/'], undefined);
  assert.equal((await client(srv.addr, null).get('sys/seal-status')).body.sealed, false);

  assert.equal((await yes.put('sys/rotate')).status, 204);
  assert.equal((await yes.get('sys/key-status')).body.data.term, termBefore + 1);
  assert.equal((await yes.put('sys/audit/withsudo', { type: 'file', options: { file_path: 'discard' } })).status, 204);
  assert.equal((await yes.get('sys/audit')).body.data['withsudo/'].type, 'file');
  assert.equal((await yes.delete('sys/audit/withsudo')).status, 204);
  assert.equal((await root.get('sys/audit')).body.data['withsudo/'], undefined);
  // Past the ACL (sudo held), the request fails on its merits: there is no userpass plugin.
  const auth = await yes.post('sys/auth/userpass', { type: 'userpass' });
  assert.equal(auth.status, 400, auth.text);

  assert.equal((await yes.put('sys/seal')).status, 204);
  const anon = client(srv.addr, null);
  assert.equal((await anon.get('sys/seal-status')).body.sealed, true);
  assertError(await root.get('secret/data/envelope'), 503);
  assert.equal((await anon.put('sys/unseal', { key: srv.server.unsealKey })).body.sealed, false);
  assert.equal((await root.get('secret/data/envelope')).status, 200);
});

test('sys/capabilities-self reports what the token may do', async () => {
  const a = client(srv.addr, await tokenWith('acl-a'));
  const res = await a.post('sys/capabilities-self', {
    paths: ['secret/data/acl/rw/x', 'secret/data/acl/rw/blocked', 'secret/data/acl/ro/x', 'secret/data/outside', 'sys/capabilities-self'],
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.data['secret/data/acl/rw/x'], ['create', 'read', 'update']);
  assert.deepEqual(res.body.data['secret/data/acl/rw/blocked'], ['deny']);
  assert.deepEqual(res.body.data['secret/data/acl/ro/x'], ['read']);
  assert.deepEqual(res.body.data['secret/data/outside'], ['deny']);
  assert.deepEqual(res.body.data['sys/capabilities-self'], ['update']);
  // Legacy form: `path` with a single path also answers under `capabilities`.
  const one = await a.post('sys/capabilities-self', { path: 'secret/data/acl/ro/x' });
  assert.deepEqual(one.body.capabilities, ['read']);
  const r = await root.post('sys/capabilities-self', { paths: ['anything/at/all'] });
  assert.deepEqual(r.body.data['anything/at/all'], ['root']);
  assertError(await a.post('sys/capabilities-self', {}), 400);
});

// ---------------------------------------------------------------------------------------------------------
// Mounts

test('mounts: enable kv v1/v2 with options, list, tune, bad TTL', async () => {
  const v1 = await root.post('sys/mounts/m-v1', { type: 'kv', description: 'plain kv', config: { default_lease_ttl: '1h', max_lease_ttl: '2h' } });
  assert.equal(v1.status, 204, v1.text);
  const v2 = await root.post('sys/mounts/m-v2', { type: 'kv', options: { version: '2' }, description: 'versioned' });
  assert.equal(v2.status, 204, v2.text);
  assert.equal((await root.post('sys/mounts/m-v2b', { type: 'kv-v2' })).status, 204);
  // Option values are strings, but numbers and booleans are taken as Vault's weak decoding takes them.
  assert.equal((await root.post('sys/mounts/m-v2n', { type: 'kv', options: { version: 2 } })).status, 204);
  assert.equal((await root.get('sys/mounts')).body.data['m-v2n/'].options.version, '2');
  assertError(await root.post('sys/mounts/m-v2o', { type: 'kv', options: { version: { v: 2 } } }), 400);

  const list = await root.get('sys/mounts');
  const m1 = list.body.data['m-v1/'];
  assert.equal(m1.type, 'kv');
  assert.equal(m1.description, 'plain kv');
  assert.equal(m1.config.default_lease_ttl, 3600);
  assert.equal(m1.config.max_lease_ttl, 7200);
  assert.equal(typeof m1.accessor, 'string');
  assert.equal(list.body.data['m-v2/'].options.version, '2');
  assert.equal(list.body.data['m-v2/'].description, 'versioned');
  assert.equal(list.body.data['m-v2b/'].options.version, '2');
  // Vault also repeats the table at the top level.
  assert.equal(list.body['m-v1/'].type, 'kv');

  // v1 and v2 behave as such.
  assert.equal((await root.post('m-v1/k', { a: '1' })).status, 204);
  assert.deepEqual((await root.get('m-v1/k')).body.data, { a: '1' });
  assert.equal((await root.post('m-v2/data/k', { data: { a: '2' } })).body.data.version, 1);
  assert.equal((await root.post('m-v2b/data/k', { data: { a: '3' } })).body.data.version, 1);

  const tune = await root.get('sys/mounts/m-v1/tune');
  assert.equal(tune.status, 200);
  assert.equal(tune.body.data.default_lease_ttl, 3600);
  assert.equal(tune.body.data.max_lease_ttl, 7200);
  assert.equal((await root.post('sys/mounts/m-v1/tune', { default_lease_ttl: '30m', max_lease_ttl: 5400 })).status, 204);
  const tuned = await root.get('sys/mounts/m-v1/tune');
  assert.equal(tuned.body.data.default_lease_ttl, 1800);
  assert.equal(tuned.body.data.max_lease_ttl, 5400);
  assert.equal((await root.get('sys/mounts')).body.data['m-v1/'].config.default_lease_ttl, 1800);
  // An untuned mount reports the system defaults (768h).
  assert.equal((await root.get('sys/mounts/m-v2/tune')).body.data.max_lease_ttl, 768 * 3600);

  assertError(await root.post('sys/mounts/m-v1/tune', { default_lease_ttl: 'soon' }), 400, /default_lease_ttl/);
  assertError(await root.post('sys/mounts/m-v1/tune', { max_lease_ttl: '5x' }), 400, /max_lease_ttl/);
  assertError(await root.post('sys/mounts/m-v1/tune', { default_lease_ttl: '3h', max_lease_ttl: '1h' }), 400);
  assertError(await root.post('sys/mounts/m-bad', { type: 'kv', config: { default_lease_ttl: 'forever' } }), 400, /default_lease_ttl/);
  assert.equal((await root.get('sys/mounts/m-v1/tune')).body.data.default_lease_ttl, 1800, 'failed tune changed nothing');
  assert.equal((await root.get('sys/mounts')).body.data['m-bad/'], undefined);
  assertError(await root.get('sys/mounts/not-mounted/tune'), 400);
});

test('mounts: enable on a taken path is 400; unknown type is 400; missing type is 400', async () => {
  assertError(await root.post('sys/mounts/secret', { type: 'kv' }), 400, /already in use/);
  assertError(await root.post('sys/mounts/secret/nested', { type: 'kv' }), 400, /already in use/);
  assertError(await root.post('sys/mounts/m-v1', { type: 'kv', options: { version: '2' } }), 400);
  assertError(await root.post('sys/mounts/sys', { type: 'kv' }), 400);
  assertError(await root.post('sys/mounts/auth/x', { type: 'kv' }), 400);
  assertError(await root.post('sys/mounts/m-unknown', { type: 'no-such-engine' }), 400);
  assertError(await root.post('sys/mounts/m-notype', {}), 400, /type/);
  assertError(await root.post('sys/mounts/m-badver', { type: 'kv', options: { version: '7' } }), 400);
  // The existing mount's data is unaffected.
  assert.equal((await root.get('secret/data/envelope')).status, 200);
});

test('mounts: sys/remount moves a mount and its data', async () => {
  assert.equal((await root.post('sys/mounts/mv-src', { type: 'kv', options: { version: '2' } })).status, 204);
  assert.equal((await root.post('mv-src/data/app', { data: { password: 'moved-along' } })).status, 200);
  assert.equal((await root.post('mv-src/data/app', { data: { password: 'moved-along-2' } })).status, 200);
  const res = await root.post('sys/remount', { from: 'mv-src', to: 'mv-dst' });
  assert.equal(res.status, 200, res.text);

  const moved = await root.get('mv-dst/data/app');
  assert.equal(moved.status, 200);
  assert.equal(moved.body.data.data.password, 'moved-along-2');
  assert.equal((await root.get('mv-dst/data/app?version=1')).body.data.data.password, 'moved-along');
  assertError(await root.get('mv-src/data/app'), 404);
  const list = (await root.get('sys/mounts')).body.data;
  assert.equal(list['mv-src/'], undefined);
  assert.equal(list['mv-dst/'].options.version, '2');
  // Moving onto a taken path or moving a built-in mount fails.
  assertError(await root.post('sys/remount', { from: 'mv-dst', to: 'secret' }), 400);
  assertError(await root.post('sys/remount', { from: 'sys', to: 'sys2' }), 400);
  assertError(await root.post('sys/remount', { from: 'not-mounted', to: 'x' }), 400);
  assert.equal((await root.get('mv-dst/data/app')).status, 200);
});

test('mounts: disabling a mount removes its data; re-enabling the same path starts empty', async () => {
  assert.equal((await root.post('sys/mounts/gone', { type: 'kv', options: { version: '2' } })).status, 204);
  assert.equal((await root.post('gone/data/app', { data: { password: 'should-vanish' } })).status, 200);
  assert.equal((await root.post('sys/mounts/gone1', { type: 'kv' })).status, 204);
  assert.equal((await root.post('gone1/app', { password: 'should-vanish-too' })).status, 204);

  assert.equal((await root.delete('sys/mounts/gone')).status, 204);
  assert.equal((await root.delete('sys/mounts/gone1')).status, 204);
  assert.equal((await root.get('sys/mounts')).body.data['gone/'], undefined);
  assertError(await root.get('gone/data/app'), 404, /no handler/);

  assert.equal((await root.post('sys/mounts/gone', { type: 'kv', options: { version: '2' } })).status, 204);
  assert.equal((await root.post('sys/mounts/gone1', { type: 'kv' })).status, 204);
  assert.deepEqual((await root.get('gone/data/app')).body, { errors: [] });
  assert.equal((await root.list('gone/metadata/')).status, 404);
  assert.deepEqual((await root.get('gone1/app')).body, { errors: [] });
  assert.equal((await root.list('gone1/')).status, 404);
  // Disabling a built-in mount is refused; disabling nothing is fine.
  assertError(await root.delete('sys/mounts/sys'), 400);
  assert.equal((await root.delete('sys/mounts/never-mounted')).status, 204);
});

test('sys/internal/ui/mounts reports the KV version; 403 without access under the mount', async () => {
  const res = await root.get('sys/internal/ui/mounts/secret/data/app');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.data.type, 'kv');
  assert.equal(res.body.data.options.version, '2');
  assert.equal(res.body.data.path, 'secret/');
  const v1 = await root.get('sys/internal/ui/mounts/m-v1');
  assert.equal(v1.body.data.type, 'kv');
  assert.notEqual(v1.body.data.options?.version, '2');

  // The vault CLI asks this with the user's token before every `kv` command: a token that can use
  // something under the mount gets the answer without any grant on sys/.
  const a = client(srv.addr, await tokenWith('team-a'));
  const mine = await a.get('sys/internal/ui/mounts/secret/team-a/x');
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.body.data.options.version, '2');
  // No access under the mount: 403.
  assertError(await a.get('sys/internal/ui/mounts/m-v1'), 403);
  const nothing = client(srv.addr, await tokenWith('default'));
  assertError(await nothing.get('sys/internal/ui/mounts/secret/x'), 403);
  assertError(await client(srv.addr, null).get('sys/internal/ui/mounts/secret/x'), 403);
  // An unknown mount is a 403 as well (for root too), so the path cannot enumerate mounts.
  assertError(await a.get('sys/internal/ui/mounts/no-such-mount'), 403);
  assertError(await root.get('sys/internal/ui/mounts/no-such-mount/x'), 403);
  // The answer carries mount metadata only, never data.
  assert.ok(!mine.text.includes('team-a-value'));
});

// ---------------------------------------------------------------------------------------------------------
// Key rotation

test('sys/rotate increments the key term; old secrets still read and new writes work', async () => {
  assert.equal((await root.post('secret/data/pre-rotate', { data: { v: 'before' } })).status, 200);
  const before = await root.get('sys/key-status');
  assert.equal(before.status, 200);
  const term: number = before.body.data.term;
  assert.ok(Number.isInteger(term) && term >= 1);
  assert.equal(typeof before.body.data.install_time, 'string');
  assert.equal((await root.put('sys/rotate')).status, 204);
  assert.equal((await root.post('sys/rotate')).status, 204);
  const after = await root.get('sys/key-status');
  assert.equal(after.body.data.term, term + 2);
  assert.equal(after.body.term, term + 2);

  assert.equal((await root.get('secret/data/pre-rotate')).body.data.data.v, 'before');
  assert.equal((await root.get('m-v1/k')).status, 200);
  assert.equal((await root.post('secret/data/post-rotate', { data: { v: 'after' } })).status, 200);
  assert.equal((await root.get('secret/data/post-rotate')).body.data.data.v, 'after');
  assert.equal((await root.post('secret/data/pre-rotate', { data: { v: 'rewritten' } })).body.data.version, 2);
  assert.equal((await root.get('secret/data/pre-rotate?version=1')).body.data.data.v, 'before');
  // Tokens and policies (stored behind the barrier too) keep working.
  const a = client(srv.addr, await tokenWith('team-a'));
  assert.equal((await a.get('secret/data/team-a/x')).status, 200);
});

// ---------------------------------------------------------------------------------------------------------
// Policies

test('policies: HCL and JSON documents, bad policy 400, read, list, delete, root and default protected', async () => {
  const hcl = '# comment\npath "secret/data/pol-hcl/*" {\n  capabilities = ["read", "list"]\n}\n';
  await writePolicy('pol-hcl', hcl);
  const json = JSON.stringify({ path: { 'secret/data/pol-json/*': { capabilities: ['read'] } } });
  await writePolicy('pol-json', json);

  const readHcl = await root.get('sys/policies/acl/pol-hcl');
  assert.equal(readHcl.status, 200);
  assert.equal(readHcl.body.data.name, 'pol-hcl');
  assert.equal(readHcl.body.data.policy, hcl);
  assert.equal((await root.get('sys/policies/acl/pol-json')).body.data.policy, json);
  // The legacy endpoint serves the same store.
  assert.equal((await root.get('sys/policy/pol-hcl')).body.rules, hcl);

  // Both documents are in force.
  await root.post('secret/data/pol-json/x', { data: { v: 'j' } });
  await root.post('secret/data/pol-hcl/x', { data: { v: 'h' } });
  const t = client(srv.addr, await tokenWith('pol-json', 'pol-hcl'));
  assert.equal((await t.get('secret/data/pol-json/x')).body.data.data.v, 'j');
  assert.equal((await t.get('secret/data/pol-hcl/x')).body.data.data.v, 'h');
  assertError(await t.post('secret/data/pol-json/x', { data: { v: 'no' } }), 403);

  for (const bad of [
    'path "x" { capabilities = ',
    'path "x" { capabilities = ["fly"] }',
    'path "x" { unknown_key = true }',
    '{"path": {"x": {"capabilities": "read"}}}',
    '{"path": ',
  ]) {
    assertError(await root.put('sys/policies/acl/pol-bad', { policy: bad }), 400);
  }
  assertError(await root.put('sys/policies/acl/pol-bad', {}), 400);
  assertError(await root.get('sys/policies/acl/pol-bad'), 404);

  const list = await root.list('sys/policies/acl');
  assert.equal(list.status, 200);
  for (const n of ['default', 'pol-hcl', 'pol-json', 'root']) assert.ok(list.body.data.keys.includes(n), n);
  assert.ok(!list.body.data.keys.includes('pol-bad'));

  assert.equal((await root.delete('sys/policies/acl/pol-json')).status, 204);
  assertError(await root.get('sys/policies/acl/pol-json'), 404);
  assert.ok(!(await root.list('sys/policies/acl')).body.data.keys.includes('pol-json'));
  // A token holding a deleted policy loses what it granted.
  assertError(await t.get('secret/data/pol-json/x'), 403);
  assert.equal((await t.get('secret/data/pol-hcl/x')).status, 200);

  assertError(await root.put('sys/policies/acl/root', { policy: hcl }), 400);
  assertError(await root.put('sys/policy/root', { rules: hcl }), 400);
  assertError(await root.delete('sys/policies/acl/default'), 400);
  assertError(await root.delete('sys/policies/acl/root'), 400);
  assert.equal((await root.get('sys/policies/acl/default')).status, 200);
  // default can be rewritten (Vault allows it).
  const defaultText = (await root.get('sys/policies/acl/default')).body.data.policy;
  await writePolicy('default', defaultText);
});

// ---------------------------------------------------------------------------------------------------------
// Audit

function needles(value: string): string[] {
  return [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    Buffer.from(value).toString('hex'),
    Buffer.from(value).toString('hex').toUpperCase(),
    Buffer.from(JSON.stringify(value)).toString('base64'),
  ];
}

function readLines(file: string): any[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('audit: request and response lines for a KV write and read; no secret or token in any form; audit-hash matches', async () => {
  const dir = path.join(tmp, 'audit-live');
  const file = path.join(dir, 'audit.log');
  const enable = await root.put('sys/audit/live', { type: 'file', description: 'live test', options: { file_path: file } });
  assert.equal(enable.status, 204, enable.text);
  const listed = await root.get('sys/audit');
  assert.equal(listed.body.data['live/'].type, 'file');
  assert.equal(listed.body.data['live/'].options.file_path, file);

  const secret = `audit-secret-${Math.random().toString(36).slice(2)}-Qx7`;
  const writer = await tokenWith('team-a');
  const w = client(srv.addr, writer);
  const write = await w.post('secret/data/team-a/audited', { data: { password: secret } });
  assert.equal(write.status, 200);
  const read = await w.get('secret/data/team-a/audited');
  assert.equal(read.body.data.data.password, secret);
  const denied = await w.get('secret/data/team-b/x');
  assert.equal(denied.status, 403);

  const entries = readLines(file);
  const forPath = (type: string, op: string) =>
    entries.filter((e) => e.type === type && e.request?.path === 'secret/data/team-a/audited' && e.request?.operation === op);
  for (const op of ['create', 'read']) {
    const req = forPath('request', op);
    const res = forPath('response', op);
    assert.equal(req.length, 1, `one request line for ${op}`);
    assert.equal(res.length, 1, `one response line for ${op}`);
    assert.equal(res[0].status, 200);
    assert.equal(req[0].request.id, res[0].request.id);
    assert.equal(req[0].request.mount_type, 'kv');
    assert.equal(req[0].request.mount_point, 'secret/');
    assert.match(req[0].auth.client_token, /^hmac-sha256:[0-9a-f]{64}$/);
    assert.deepEqual(req[0].auth.policies, ['default', 'team-a']);
    assert.equal(typeof req[0].time, 'string');
  }
  const deniedLines = entries.filter((e) => e.request?.path === 'secret/data/team-b/x' && e.type === 'response');
  assert.ok(deniedLines.length === 0 || deniedLines.every((e) => e.status === 403));

  const raw = readFileSync(file);
  const text = raw.toString('latin1').toLowerCase();
  for (const [what, value] of [['secret', secret], ['client token', writer], ['root token', srv.token]] as const) {
    for (const n of needles(value)) {
      assert.equal(raw.includes(Buffer.from(n)), false, `${what} found in the audit file`);
      assert.equal(text.includes(n.toLowerCase()), false, `${what} found (case-insensitively) in the audit file`);
    }
  }

  const hashed = await root.post('sys/audit-hash/live', { input: secret });
  assert.equal(hashed.status, 200);
  assert.match(hashed.body.data.hash, /^hmac-sha256:[0-9a-f]{64}$/);
  assert.equal(hashed.body.hash, hashed.body.data.hash);
  assert.equal(forPath('request', 'create')[0].request.data.data.password, hashed.body.data.hash);
  assert.equal(forPath('response', 'read')[0].response.data.data.password, hashed.body.data.hash);
  const tokenHash = (await root.post('sys/audit-hash/live', { input: writer })).body.data.hash;
  assert.equal(forPath('request', 'read')[0].auth.client_token, tokenHash);
  assertError(await root.post('sys/audit-hash/not-a-device', { input: secret }), 400);

  // Enabling on a taken path is refused; disabling stops the logging.
  assertError(await root.put('sys/audit/live', { type: 'file', options: { file_path: file } }), 400);
  assert.equal((await root.delete('sys/audit/live')).status, 204);
  assert.equal((await root.get('sys/audit')).body.data['live/'], undefined);
  const size = readFileSync(file).length;
  assert.equal((await w.get('secret/data/team-a/audited')).status, 200);
  assert.equal(readFileSync(file).length, size);
});

test('audit fails closed: when the only device cannot write, requests answer 500 without data', async () => {
  const file = path.join(tmp, 'audit-fragile', 'audit.log');
  assert.equal((await root.put('sys/audit/fragile', { type: 'file', options: { file_path: file } })).status, 204);
  const secret = `fail-closed-${Math.random().toString(36).slice(2)}`;
  assert.equal((await root.post('secret/data/fail-closed', { data: { password: secret } })).status, 200);
  assert.equal((await root.get('secret/data/fail-closed')).status, 200);
  assert.ok(existsSync(file));

  // With a second, healthy device, one device recording the request is enough (Vault's rule).
  const backup = path.join(tmp, 'audit-backup.log');
  assert.equal((await root.put('sys/audit/backup', { type: 'file', options: { file_path: backup } })).status, 204);
  // Replace the log file with a directory: no process, root included, can append to it.
  unlinkSync(file);
  mkdirSync(file);
  const viaBackup = await root.get('secret/data/fail-closed');
  assert.equal(viaBackup.status, 200);
  assert.equal(viaBackup.body.data.data.password, secret);
  const backupLines = readLines(backup).filter((e) => e.request?.path === 'secret/data/fail-closed' && e.request?.operation === 'read');
  assert.deepEqual(backupLines.map((e) => e.type), ['request', 'response']);
  rmdirSync(file);
  assert.equal((await root.delete('sys/audit/backup')).status, 204);
  assert.equal((await root.get('secret/data/fail-closed')).status, 200);

  // Now the broken device is the only one.
  unlinkSync(file);
  mkdirSync(file);
  const read = await root.get('secret/data/fail-closed');
  assert.equal(read.status, 500);
  assert.deepEqual(read.body, { errors: ['internal error'] });
  assert.ok(!read.text.includes(secret));
  const write = await root.post('secret/data/fail-closed', { data: { password: 'while-broken' } });
  assert.equal(write.status, 500);
  assert.equal((await root.put('sys/audit/second', { type: 'file', options: { file_path: 'discard' } })).status, 500);

  assert.equal((await client(srv.addr, null).get('sys/health')).status, 200, 'unaudited health still answers');

  // The device heals once its path is writable again.
  rmdirSync(file);
  const healed = await root.get('secret/data/fail-closed');
  assert.equal(healed.status, 200);
  assert.equal(healed.body.data.data.password, secret);
  assert.equal(healed.body.data.metadata.version, 1, 'the write refused while broken did not happen');

  // Broken again: disabling the broken device is the one request allowed through unaudited (Vault's recovery).
  unlinkSync(file);
  mkdirSync(file);
  assert.equal((await root.delete('sys/audit/fragile')).status, 204);
  assert.equal((await root.get('sys/audit')).body.data['fragile/'], undefined);
  assert.equal((await root.get('secret/data/fail-closed')).status, 200);
  rmdirSync(file);
});

test('audit: boolean option values are accepted as Vault takes them; other shapes are a 400', async () => {
  const on = await root.put('sys/audit/boolopt', { type: 'file', options: { file_path: 'discard', log_raw: true, hmac_accessor: false } });
  assert.equal(on.status, 204, on.text);
  assert.equal((await root.get('sys/audit')).body.data['boolopt/'].options.log_raw, '1');
  assert.equal((await root.delete('sys/audit/boolopt')).status, 204);
  assertError(await root.put('sys/audit/boolopt', { type: 'file', options: { file_path: 'discard', log_raw: ['x'] } }), 400);
});
