/**
 * Response wrapping over HTTP against a live dev server, following Vault's documented behaviour
 * (https://developer.hashicorp.com/vault/docs/concepts/response-wrapping, api-docs/system/wrapping-*):
 * `X-Vault-Wrap-TTL` on any request, sys/wrapping/{wrap,unwrap,lookup,rewrap}, single use, expiry, wrapping
 * TTL bounds from policies, leases and tokens inside wrapped responses, AppRole secret IDs delivered wrapped,
 * raw responses, and the audit trail (wrapped content and wrapping token hashed).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, client, startDevServer, type ApiResponse, type TestServer } from '../helpers/server.js';

type Client = ReturnType<typeof client>;

let server: TestServer;
let root: Client;
const INVALID = 'wrapping token is not valid or does not exist';

const wrapTTL = (ttl: string) => ({ headers: { 'x-vault-wrap-ttl': ttl } });
const as = (token: string | null) => client(server.addr, token);

/** Asserts a wrapped answer and returns its wrap_info. */
function wrapInfoOf(res: ApiResponse): any {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.data, null);
  assert.equal(res.body.auth, null);
  assert.match(res.body.wrap_info.token, /^cfs\./);
  return res.body.wrap_info;
}

function refused(res: ApiResponse, status: number, message: string): void {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(res.body.errors, [message]);
}

async function tokenWith(policies: string[]): Promise<string> {
  const res = await root.post('auth/token/create', { policies });
  assert.equal(res.status, 200, res.text);
  return res.body.auth.client_token;
}

const unwrap = (wrappingToken: string) => as(wrappingToken).post('sys/wrapping/unwrap');

before(async () => {
  server = await startDevServer();
  root = client(server.addr, server.token);
  assert.equal((await root.post('secret/data/app', { data: { password: 'hunter2', n: 1 } })).status, 200);
});
after(() => server.close());

describe('X-Vault-Wrap-TTL', () => {
  test('a wrapped read answers wrap_info only; unwrap returns the original response exactly, once', async () => {
    const wrapped = await root.get('secret/data/app', wrapTTL('5m'));
    assert.ok(!wrapped.text.includes('hunter2'), 'the secret is not in the wrapped answer');
    const info = wrapInfoOf(wrapped);
    assert.equal(info.ttl, 300);
    assert.equal(info.creation_path, 'secret/data/app');
    assert.ok(!Number.isNaN(Date.parse(info.creation_time)));
    assert.equal(typeof info.accessor, 'string');
    assert.equal(info.wrapped_accessor, undefined);

    const clear = await root.get('secret/data/app');
    const stored = (await server.server.core.cubbyholeView().listRecursive()).length;
    const res = await unwrap(info.token);
    assert.equal(res.status, 200, res.text);
    assert.equal((await server.server.core.cubbyholeView().listRecursive()).length, stored - 2, 'used up: its cubbyhole is destroyed');
    assert.deepEqual({ ...res.body, request_id: '' }, { ...clear.body, request_id: '' });
    assert.equal(res.body.data.data.password, 'hunter2');

    refused(await unwrap(info.token), 400, INVALID);
    refused(await root.post('sys/wrapping/unwrap', { token: info.token }), 400, INVALID);
    refused(await root.post('sys/wrapping/lookup', { token: info.token }), 400, INVALID);
  });

  test('a wrapping token can do nothing but the sys/wrapping paths', async () => {
    const info = wrapInfoOf(await root.get('secret/data/app', wrapTTL('1m')));
    refused(await as(info.token).get('secret/data/app'), 403, 'permission denied');
    assert.equal((await unwrap(info.token)).status, 200, 'the refused read did not use the token up');
  });

  test('an invalid header is a 400 and nothing is answered; 0 means no wrapping', async () => {
    for (const bad of ['abc', '-5s', '5 parsecs']) {
      const res = await root.get('secret/data/app', wrapTTL(bad));
      assert.equal(res.status, 400, `${bad}: ${res.text}`);
      assert.ok(!res.text.includes('hunter2'));
    }
    refused(await root.get('secret/data/app', wrapTTL('-5s')), 400, 'requested wrap ttl cannot be negative');
    const plain = await root.get('secret/data/app', wrapTTL('0'));
    assert.equal(plain.body.data.data.password, 'hunter2');
    assert.equal(plain.body.wrap_info, null);
  });

  test('an answer without content stays a 204 (or 404), as in Vault; nothing is left behind', async () => {
    const accessors = (await root.list('auth/token/accessors')).body.data.keys.length;
    assert.equal((await root.post('secret/data/other', { data: { a: 'b' } }, wrapTTL('1m'))).status, 200, 'a KV v2 write has metadata, wrapped');
    assert.equal((await root.post('sys/policy/nothing', { policy: 'path "x" { capabilities = ["read"] }' }, wrapTTL('1m'))).status, 204);
    assert.equal((await root.get('secret/data/missing', wrapTTL('1m'))).status, 404);
    assert.equal((await root.list('secret/metadata/nowhere', wrapTTL('1m'))).status, 404);
    const unknown = await root.get('secret/nonsense', wrapTTL('1m'));
    assert.equal(unknown.status, 404, 'an error answer is not wrapped');
    assert.equal(unknown.body.wrap_info, null);
    assert.equal((await root.list('auth/token/accessors')).body.data.keys.length, accessors + 1, 'one wrapping token, for the write');
  });

  test('expired wrapping tokens are refused with Vault\'s error, and their cubbyhole is gone', async () => {
    const stored = () => server.server.core.cubbyholeView().listRecursive();
    const before = (await stored()).length;
    const info = wrapInfoOf(await root.get('secret/data/app', wrapTTL('1s')));
    assert.equal((await stored()).length, before + 2, 'the response and its wrap info');
    const deadline = Date.now() + 30_000;
    let res = await as(null).post('sys/wrapping/lookup', { token: info.token });
    while (res.status === 200 && Date.now() < deadline) {
      await sleep(250);
      res = await as(null).post('sys/wrapping/lookup', { token: info.token });
    }
    refused(res, 400, INVALID);
    refused(await unwrap(info.token), 400, INVALID);
    for (let i = 0; i < 100 && (await stored()).length !== before; i++) await sleep(200);
    assert.equal((await stored()).length, before);
  });

  test('a wrapped token creation: wrapped_accessor names the token, which works after unwrapping', async () => {
    const info = wrapInfoOf(await root.post('auth/token/create', { policies: ['default'], ttl: '1h' }, wrapTTL('2m')));
    assert.equal(info.creation_path, 'auth/token/create');
    const res = await unwrap(info.token);
    assert.equal(res.body.auth.accessor, info.wrapped_accessor);
    assert.equal((await as(res.body.auth.client_token).get('auth/token/lookup-self')).status, 200);
  });

  test('leases in a wrapped response are registered and revocable', async () => {
    await root.post('sys/mounts/pki-wrap', { type: 'pki' });
    assert.equal((await root.post('pki-wrap/root/generate/internal', { common_name: 'Wrap Root', key_type: 'ec' })).status, 200);
    await root.post('pki-wrap/roles/leased', { allow_any_name: true, key_type: 'ec', generate_lease: true, max_ttl: '1h' });
    const info = wrapInfoOf(await root.post('pki-wrap/issue/leased', { common_name: 'svc.example' }, wrapTTL('1m')));
    const cert = await unwrap(info.token);
    assert.match(cert.body.lease_id, /^pki-wrap\/issue\/leased\//);
    assert.equal((await root.post('sys/leases/lookup', { lease_id: cert.body.lease_id })).status, 200);
    assert.equal((await root.post('sys/leases/revoke', { lease_id: cert.body.lease_id })).status, 204);
    assert.equal((await root.post('sys/leases/lookup', { lease_id: cert.body.lease_id })).status, 400);
  });

  test('a raw (non-envelope) answer is wrapped and comes back with its bytes and content type', async () => {
    const clear = await api(server.addr, 'GET', 'sys/seal-status');
    const info = wrapInfoOf(await api(server.addr, 'GET', 'sys/seal-status', wrapTTL('1m')));
    const res = await unwrap(info.token);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.deepEqual(res.body, clear.body);
  });
});

describe('sys/wrapping/*', () => {
  test('wrap needs the header, and unwrap returns the data exactly', async () => {
    refused(await root.post('sys/wrapping/wrap', { a: 'b' }), 400, 'endpoint requires response wrapping to be used');
    const payload = { api_key: 'k-123', nested: { list: [1, 'two', null] } };
    const info = wrapInfoOf(await root.post('sys/wrapping/wrap', payload, wrapTTL('10m')));
    assert.equal(info.creation_path, 'sys/wrapping/wrap');
    assert.deepEqual((await unwrap(info.token)).body.data, payload);
  });

  test('the default policy may wrap, look up and unwrap; a third party unwraps with `token` in the body', async () => {
    const user = as(await tokenWith(['default']));
    const info = wrapInfoOf(await user.post('sys/wrapping/wrap', { v: '1' }, wrapTTL('1m')));
    const res = await user.post('sys/wrapping/unwrap', { token: info.token });
    assert.deepEqual(res.body.data, { v: '1' });
    assert.equal((await user.get('auth/token/lookup-self')).status, 200, 'the caller\'s own token is untouched');
    refused(await user.post('sys/wrapping/unwrap', { token: info.token }), 400, INVALID);
  });

  test('a token in both header and body: the header authenticates, the body token is unwrapped (as Vault)', async () => {
    const a = wrapInfoOf(await root.post('sys/wrapping/wrap', { which: 'a' }, wrapTTL('1m')));
    const b = wrapInfoOf(await root.post('sys/wrapping/wrap', { which: 'b' }, wrapTTL('1m')));
    // The header token is a wrapping token too: its policy lets it call unwrap, and the call uses it up.
    assert.deepEqual((await as(a.token).post('sys/wrapping/unwrap', { token: b.token })).body.data, { which: 'b' });
    refused(await unwrap(a.token), 400, INVALID);
    // An invalid header token with a valid body token: the caller is refused and the wrapped token survives.
    const c = wrapInfoOf(await root.post('sys/wrapping/wrap', { which: 'c' }, wrapTTL('1m')));
    refused(await as('cfs.not-a-token').post('sys/wrapping/unwrap', { token: c.token }), 403, 'permission denied');
    assert.deepEqual((await unwrap(c.token)).body.data, { which: 'c' });
  });

  test('concurrent unwraps of one token: exactly one gets the response', async () => {
    for (const firstParty of [false, true]) {
      const info = wrapInfoOf(await root.post('sys/wrapping/wrap', { once: 'only' }, wrapTTL('1m')));
      const results = await Promise.all(
        Array.from({ length: 8 }, () => (firstParty ? unwrap(info.token) : root.post('sys/wrapping/unwrap', { token: info.token }))),
      );
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, `${firstParty ? 'first' : 'third'} party: ${results.map((r) => r.status).join(',')}`);
      assert.deepEqual(ok[0].body.data, { once: 'only' });
      for (const r of results.filter((r) => r.status !== 200)) assert.ok([400, 403].includes(r.status), r.text);
    }
  });

  test('unwrap by a token that is not a wrapping token is refused', async () => {
    const user = await tokenWith(['default']);
    refused(await as(user).post('sys/wrapping/unwrap'), 400, INVALID);
    refused(await root.post('sys/wrapping/unwrap'), 400, INVALID);
    refused(await root.post('sys/wrapping/unwrap', { token: user }), 400, INVALID);
    refused(await root.post('sys/wrapping/unwrap', { token: 'cfs.unknown' }), 400, INVALID);
    refused(await root.post('sys/wrapping/unwrap', { token: 42 }), 400, 'error validating wrapping token: "token" must be a string');
    assert.equal((await as(user).get('auth/token/lookup-self')).status, 200);
  });

  test('lookup is unauthenticated and does not use the token', async () => {
    const info = wrapInfoOf(await root.get('secret/data/app', wrapTTL('90s')));
    const lookups = [
      await as(null).post('sys/wrapping/lookup', { token: info.token }),
      await as(info.token).post('sys/wrapping/lookup'),
      await as(info.token).get('sys/wrapping/lookup'),
    ];
    for (const res of lookups) {
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body.data).sort(), ['creation_path', 'creation_time', 'creation_ttl']);
      assert.equal(res.body.data.creation_ttl, 90);
      assert.equal(res.body.data.creation_path, 'secret/data/app');
      assert.equal(res.body.data.creation_time, info.creation_time);
    }
    assert.equal((await unwrap(info.token)).body.data.data.password, 'hunter2');
  });

  test('rewrap moves the response to a new token with the same TTL and path; the old one is invalid', async () => {
    const old = wrapInfoOf(await root.get('secret/data/app', wrapTTL('3m')));
    const rewrapped = wrapInfoOf(await root.post('sys/wrapping/rewrap', { token: old.token }));
    assert.notEqual(rewrapped.token, old.token);
    assert.equal(rewrapped.ttl, 180);
    assert.equal(rewrapped.creation_path, 'secret/data/app');
    refused(await unwrap(old.token), 400, INVALID);
    assert.equal((await unwrap(rewrapped.token)).body.data.data.password, 'hunter2');
  });
});

describe('wrapping TTL bounds from policies', () => {
  test('min_wrapping_ttl / max_wrapping_ttl make wrapping mandatory within the bounds', async () => {
    const policy = 'path "secret/data/app" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "1m"\n  max_wrapping_ttl = 300\n}\n';
    assert.equal((await root.post('sys/policy/bounded', { policy })).status, 204);
    const user = as(await tokenWith(['bounded', 'default']));
    refused(await user.get('secret/data/app'), 403, 'permission denied');
    refused(await user.get('secret/data/app', wrapTTL('30s')), 403, 'permission denied');
    refused(await user.get('secret/data/app', wrapTTL('10m')), 403, 'permission denied');
    const info = wrapInfoOf(await user.get('secret/data/app', wrapTTL('2m')));
    assert.equal((await unwrap(info.token)).body.data.data.password, 'hunter2');
    assert.equal((await user.get('secret/data/app', wrapTTL('300'))).status, 200);
  });

  test('a policy with max below min, or an unreadable bound, is refused', async () => {
    const bad = await root.post('sys/policy/inverted', { policy: 'path "a" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "10m"\n  max_wrapping_ttl = "1m"\n}\n' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors[0], /max_wrapping_ttl cannot be less than min_wrapping_ttl/);
    const unreadable = await root.post('sys/policy/unreadable', { policy: 'path "a" {\n  capabilities = ["read"]\n  max_wrapping_ttl = "soon"\n}\n' });
    assert.equal(unreadable.status, 400);
    assert.match(unreadable.body.errors[0], /error parsing max_wrapping_ttl/);
  });

  test('the response-wrapping policy is built in and cannot be changed', async () => {
    assert.match((await root.get('sys/policy/response-wrapping')).body.data.rules, /sys\/wrapping\/unwrap/);
    assert.equal((await root.post('sys/policy/response-wrapping', { policy: 'path "*" { capabilities = ["sudo"] }' })).status, 400);
    assert.equal((await root.delete('sys/policy/response-wrapping')).status, 400);
  });
});

describe('AppRole secret IDs delivered wrapped', () => {
  test('wrap, unwrap, then log in with the unwrapped secret ID', async () => {
    assert.equal((await root.post('sys/auth/approle', { type: 'approle' })).status, 204);
    assert.equal((await root.post('auth/approle/role/ci', { token_policies: ['default'] })).status, 204);
    const roleId = (await root.get('auth/approle/role/ci/role-id')).body.data.role_id;
    const info = wrapInfoOf(await root.post('auth/approle/role/ci/secret-id', {}, wrapTTL('1m')));
    assert.equal(info.creation_path, 'auth/approle/role/ci/secret-id');
    const res = await as(null).post('sys/wrapping/unwrap', undefined, { headers: { 'x-vault-token': info.token } });
    assert.equal(res.status, 200, res.text);
    assert.equal(info.wrapped_accessor, res.body.data.secret_id_accessor);
    const login = await as(null).post('auth/approle/login', { role_id: roleId, secret_id: res.body.data.secret_id });
    assert.equal(login.status, 200, login.text);
    assert.match(login.body.auth.client_token, /^cfs\./);
  });

  test('a wrapped login hands out the token only through the wrapping token', async () => {
    const roleId = (await root.get('auth/approle/role/ci/role-id')).body.data.role_id;
    const secretId = (await root.post('auth/approle/role/ci/secret-id', {})).body.data.secret_id;
    const info = wrapInfoOf(await as(null).post('auth/approle/login', { role_id: roleId, secret_id: secretId }, wrapTTL('1m')));
    const res = await unwrap(info.token);
    assert.equal(res.body.auth.accessor, info.wrapped_accessor);
    assert.equal((await as(res.body.auth.client_token).get('auth/token/lookup-self')).status, 200);
  });
});

describe('audit', () => {
  test('wrapped content and the wrapping token are hashed; unwrapped content too', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'coffer-wrap-audit-'));
    const file = join(dir, 'audit.log');
    assert.equal((await root.post('sys/audit/wrapfile', { type: 'file', options: { file_path: file } })).status, 204);
    try {
      const info = wrapInfoOf(await root.get('secret/data/app', wrapTTL('1m')));
      assert.equal((await unwrap(info.token)).status, 200);
      refused(await unwrap(info.token), 400, INVALID);
      const text = await fsp.readFile(file, 'utf8');
      assert.ok(!text.includes('hunter2'), 'no secret in clear');
      assert.ok(!text.includes(info.token), 'no wrapping token in clear');
      const responses = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'response');
      const wrapped = responses.find((e) => e.request.path === 'secret/data/app' && e.response.wrap_info);
      assert.match(wrapped.response.wrap_info.token, /^hmac-sha256:/);
      assert.match(wrapped.response.wrap_info.accessor, /^hmac-sha256:/);
      assert.equal(wrapped.response.wrap_info.creation_path, 'secret/data/app');
      assert.match(wrapped.response.data.data.password, /^hmac-sha256:/);
      const [unwrapped, replayed] = responses.filter((e) => e.request.path === 'sys/wrapping/unwrap');
      assert.match(unwrapped.response.data.data.password, /^hmac-sha256:/);
      // The replay is on record too (request and response lines), with the token hashed.
      assert.equal(replayed.error, INVALID);
      assert.equal(replayed.status, 400);
      assert.match(replayed.request.client_token, /^hmac-sha256:/);
      const requests = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'request' && e.request.path === 'sys/wrapping/unwrap');
      assert.equal(requests.length, 2);
    } finally {
      await root.delete('sys/audit/wrapfile');
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
