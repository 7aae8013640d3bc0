/**
 * The core's part of a login, with AppRole as the method: the token it issues (policies, TTLs under the mount's
 * tuning and the system max, period, use count, bound CIDRs checked at every use, Vault's `auth` block), the
 * failed-login audit trail (inputs HMAC'd), and the per-address rate limit (other addresses unaffected).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoginRateLimiter } from '../../src/core/login/ratelimit.js';
import { addressAllowed, cidrWithin } from '../../src/sdk/cidr.js';
import { globMatch } from '../../src/shared/glob.js';
import { parseConfigText } from '../../src/server/config.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let root: ReturnType<typeof client>;
let dir: string;

before(async () => {
  // A small limit and a long window: the limit is reached in a few calls and cannot reset during the test.
  srv = await startDevServer({ maxLeaseTTL: 4 * 3600, loginRateLimit: { maxFailures: 3, windowMs: 3600_000 } });
  root = client(srv.addr, srv.token);
  dir = mkdtempSync(path.join(tmpdir(), 'coffer-login-'));
  assert.equal((await root.post('sys/auth/approle', { type: 'approle' })).status, 204);
});
after(async () => {
  for (const p of Object.keys((await root.get('sys/audit')).body?.data ?? {})) await root.delete(`sys/audit/${p}`);
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Each test logs in from its own loopback address, so the rate limit of one test never touches another. */
async function credentials(name: string, roleBody: Record<string, unknown>, mount = 'approle') {
  const w = await root.post(`auth/${mount}/role/${name}`, roleBody);
  assert.equal(w.status, 204, w.text);
  const roleId = (await root.get(`auth/${mount}/role/${name}/role-id`)).body.data.role_id;
  const secretId = (await root.post(`auth/${mount}/role/${name}/secret-id`, {})).body.data.secret_id;
  return { role_id: roleId, secret_id: secretId };
}

const loginFrom = (from: string, body: Record<string, unknown>, mount = 'approle') => client(srv.addr, null).post(`auth/${mount}/login`, body, { from });

describe('issued tokens', () => {
  test('Vault\'s auth block; policies with default unless token_no_default_policy', async () => {
    const res = await loginFrom('127.0.1.1', await credentials('plain', { token_policies: 'b,a' }));
    assert.equal(res.status, 200, res.text);
    const auth = res.body.auth;
    assert.deepEqual(Object.keys(auth).sort(), ['accessor', 'client_token', 'entity_id', 'lease_duration', 'metadata', 'mfa_requirement', 'num_uses', 'orphan', 'policies', 'renewable', 'token_policies', 'token_type']);
    assert.deepEqual([auth.policies, auth.token_policies, auth.renewable, auth.orphan, auth.num_uses, auth.token_type, auth.entity_id], [['a', 'b', 'default'], ['a', 'b', 'default'], true, true, 0, 'service', '']);
    // No role TTL: the mount's default, which falls back to the system default (768h), capped by the system max (4h here).
    assert.equal(auth.lease_duration, 4 * 3600);
    assert.deepEqual([res.body.lease_id, res.body.data, res.body.mount_type], ['', null, 'approle']);
    const none = await loginFrom('127.0.1.1', await credentials('nodefault', { token_policies: 'only', token_no_default_policy: true }));
    assert.deepEqual(none.body.auth.policies, ['only']);
  });

  test('TTLs honour the mount tune: default used when the role has none, max caps the role\'s TTL and max TTL', async () => {
    await root.post('sys/auth/tuned', { type: 'approle' });
    const tune = await root.post('sys/auth/tuned/tune', { default_lease_ttl: '10m', max_lease_ttl: '30m' });
    assert.equal(tune.status, 204, tune.text);
    const dflt = await loginFrom('127.0.1.2', await credentials('d', { token_policies: 'p' }, 'tuned'), 'tuned');
    assert.equal(dflt.body.auth.lease_duration, 600);
    const long = await loginFrom('127.0.1.2', await credentials('l', { token_policies: 'p', token_ttl: '1h', token_max_ttl: '2h' }, 'tuned'), 'tuned');
    assert.equal(long.status, 200, long.text);
    assert.equal(long.body.auth.lease_duration, 1800);
    assert.ok(long.body.warnings.some((w: string) => w.includes('exceeded the effective max_ttl of "30m0s"')), JSON.stringify(long.body.warnings));
    // Renewal never goes past the max TTL from issue.
    const renewed = await client(srv.addr, long.body.auth.client_token).post('auth/token/renew-self', { increment: '2h' }, { from: '127.0.1.2' });
    assert.equal(renewed.status, 200, renewed.text);
    assert.ok(renewed.body.auth.lease_duration <= 1800, String(renewed.body.auth.lease_duration));
    // The role's own TTL and max TTL below the mount's.
    const own = await loginFrom('127.0.1.2', await credentials('o', { token_policies: 'p', token_ttl: '5m', token_max_ttl: '6m' }, 'tuned'), 'tuned');
    assert.equal(own.body.auth.lease_duration, 300);
    const lookup = (await client(srv.addr, own.body.auth.client_token).get('auth/token/lookup-self', { from: '127.0.1.2' })).body.data;
    assert.equal(lookup.creation_ttl, 300);
    assert.equal(lookup.path, 'auth/tuned/login');
  });

  test('periodic tokens, use-limited tokens, explicit max TTL', async () => {
    const periodic = await loginFrom('127.0.1.3', await credentials('per', { token_policies: 'p', token_period: '15m', token_ttl: '1m' }));
    assert.equal(periodic.body.auth.lease_duration, 900);
    const renewed = await client(srv.addr, periodic.body.auth.client_token).post('auth/token/renew-self', {}, { from: '127.0.1.3' });
    assert.equal(renewed.body.auth.lease_duration, 900);
    const limited = await loginFrom('127.0.1.3', await credentials('uses', { token_policies: 'p', token_num_uses: 2 }));
    assert.equal(limited.body.auth.num_uses, 2);
    const t = client(srv.addr, limited.body.auth.client_token);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.3' })).status, 200);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.3' })).status, 200);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.3' })).status, 403);
    const capped = await loginFrom('127.0.1.3', await credentials('cap', { token_policies: 'p', token_ttl: '1h', token_explicit_max_ttl: '20m' }));
    assert.equal(capped.body.auth.lease_duration, 1200);
  });

  test('token_bound_cidrs: checked at login and at every use of the token (403 from another address)', async () => {
    const creds = await credentials('bound', { token_policies: 'p', token_bound_cidrs: '127.0.1.4/32,127.0.1.5' });
    const denied = await loginFrom('127.0.1.9', creds);
    assert.equal(denied.status, 403, denied.text);
    assert.deepEqual(denied.body.errors, ['permission denied']);
    const ok = await loginFrom('127.0.1.4', creds);
    assert.equal(ok.status, 200, ok.text);
    const t = client(srv.addr, ok.body.auth.client_token);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.4' })).status, 200);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.5' })).status, 200);
    const other = await t.get('auth/token/lookup-self', { from: '127.0.1.6' });
    assert.equal(other.status, 403);
    assert.deepEqual(other.body.errors, ['permission denied']);
    assert.equal((await t.get('secret/data/x', { from: '127.0.0.1' })).status, 403);
  });

  test('token_type: service and default give service tokens; batch is a clear 400', async () => {
    for (const type of ['service', 'default', 'default-service']) {
      const res = await loginFrom('127.0.1.7', await credentials(`t-${type}`, { token_policies: 'p', token_type: type }));
      assert.equal(res.body.auth.token_type, 'service');
    }
    for (const type of ['batch', 'default-batch']) {
      const res = await root.post('auth/approle/role/batchy', { token_type: type });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.errors, [`token_type "${type}" is not supported: coffer issues service tokens only (use "service" or "default")`]);
    }
    assert.deepEqual((await root.post('auth/approle/role/batchy', { token_type: 'weird' })).body.errors, ['invalid token_type "weird"']);
  });

  test('disabling an auth method revokes the tokens its logins issued', async () => {
    await root.post('sys/auth/doomed', { type: 'approle' });
    const res = await loginFrom('127.0.1.8', await credentials('r', { token_policies: 'p' }, 'doomed'), 'doomed');
    const t = client(srv.addr, res.body.auth.client_token);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.8' })).status, 200);
    assert.equal((await root.delete('sys/auth/doomed')).status, 204);
    assert.equal((await t.get('auth/token/lookup-self', { from: '127.0.1.8' })).status, 403);
  });
});

describe('failed logins', () => {
  test('are audited with every input HMAC\'d, and never carry a secret in clear', async () => {
    const file = path.join(dir, 'audit.log');
    assert.equal((await root.post('sys/audit/file', { type: 'file', options: { file_path: file } })).status, 204);
    const creds = await credentials('audited', { token_policies: 'p' });
    const bad = await loginFrom('127.0.2.1', { role_id: creds.role_id, secret_id: 'wrong-secret-value-123' });
    assert.equal(bad.status, 400);
    const good = await loginFrom('127.0.2.1', creds);
    assert.equal(good.status, 200);
    const hashOf = async (input: string) => (await root.post('sys/audit-hash/file', { input })).body.data.hash as string;
    const hashedSecret = await hashOf('wrong-secret-value-123');
    const hashedRoleId = await hashOf(creds.role_id);
    await root.delete('sys/audit/file');
    const text = readFileSync(file, 'utf8');
    for (const secret of ['wrong-secret-value-123', creds.secret_id, creds.role_id, good.body.auth.client_token, good.body.auth.accessor]) {
      assert.ok(!text.includes(secret), 'a secret input or the issued token appears in clear in the audit log');
    }
    const entries = text.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.request?.path === 'auth/approle/login');
    const failure = entries.find((e) => e.type === 'response' && e.error);
    assert.ok(failure, 'the failed login has a response entry');
    assert.equal(failure.error, 'invalid role or secret ID');
    assert.equal(failure.request.remote_address, '127.0.2.1');
    // An operator can find the attempt by hashing the value they suspect (sys/audit-hash).
    assert.match(hashedSecret, /^hmac-sha256:[0-9a-f]{64}$/);
    assert.equal(failure.request.data.secret_id, hashedSecret);
    assert.equal(failure.request.data.role_id, hashedRoleId);
    const success = entries.find((e) => e.type === 'response' && e.response?.auth?.client_token);
    assert.ok(success, 'the successful login has a response entry with its auth block');
    assert.match(success.response.auth.client_token, /^hmac-sha256:/);
    assert.deepEqual(success.response.auth.policies, ['default', 'p']);
  });

  test('from one address are rate limited (429) without affecting other addresses', async () => {
    const creds = await credentials('limited', { token_policies: 'p' });
    const wrong = { role_id: creds.role_id, secret_id: 'nope' };
    for (let i = 0; i < 3; i++) assert.equal((await loginFrom('127.0.3.1', wrong)).status, 400);
    const limited = await loginFrom('127.0.3.1', wrong);
    assert.equal(limited.status, 429, limited.text);
    assert.match(limited.body.errors[0], /^too many failed login attempts from this address; try again in \d+s$/);
    // Right credentials from the limited address are refused too (no token), on any login mount.
    const blocked = await loginFrom('127.0.3.1', creds);
    assert.equal(blocked.status, 429);
    assert.ok(!blocked.text.includes('cfs.'));
    // Another address logs in, and fails, normally.
    assert.equal((await loginFrom('127.0.3.2', creds)).status, 200);
    assert.equal((await loginFrom('127.0.3.2', wrong)).status, 400);
    // Refused attempts are audited like any other request.
    const file = path.join(dir, 'audit-429.log');
    assert.equal((await root.post('sys/audit/limits', { type: 'file', options: { file_path: file } })).status, 204);
    assert.equal((await loginFrom('127.0.3.1', creds)).status, 429);
    await root.delete('sys/audit/limits');
    const logged = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.request?.remote_address === '127.0.3.1');
    assert.deepEqual(logged.map((e) => [e.type, e.request.path]), [['request', 'auth/approle/login'], ['response', 'auth/approle/login']]);
    assert.match(logged[1].error, /^too many failed login attempts/);
    assert.ok(!readFileSync(file, 'utf8').includes(creds.secret_id));
    // Authenticated requests from the limited address are not logins and are not limited.
    assert.equal((await client(srv.addr, srv.token).get('sys/auth', { from: '127.0.3.1' })).status, 200);
  });
});

describe('units', () => {
  test('config file: login_failure_limit and login_failure_window', async () => {
    const base = 'storage "sqlite" { path = "/tmp/x.db" }\nlistener "tcp" { tls_disable = true }\n';
    const cfg = await parseConfigText(`${base}login_failure_limit = 5\nlogin_failure_window = "2m"\n`, 'coffer.hcl');
    assert.deepEqual(cfg.loginRateLimit, { maxFailures: 5, windowMs: 120_000 });
    await assert.rejects(parseConfigText(`${base}login_failure_limit = 0\n`, 'coffer.hcl'), /login_failure_limit/);
    await assert.rejects(parseConfigText(`${base}login_failure_window = "soon"\n`, 'coffer.hcl'), /invalid duration for login_failure_window/);
  });

  test('LoginRateLimiter: fixed window per address, reset after the window, bounded memory', () => {
    let now = 0;
    const rl = new LoginRateLimiter({ maxFailures: 2, windowMs: 1000, maxAddresses: 3 }, () => now);
    rl.recordFailure('10.0.0.1');
    assert.equal(rl.retryAfter('10.0.0.1'), 0);
    rl.recordFailure('::ffff:10.0.0.1');
    assert.equal(rl.retryAfter('10.0.0.1'), 1);
    assert.equal(rl.retryAfter('10.0.0.2'), 0);
    now = 1000;
    assert.equal(rl.retryAfter('10.0.0.1'), 0, 'a new window');
    for (const a of ['a', 'b', 'c', 'd', 'e']) rl.recordFailure(`10.1.0.${a.charCodeAt(0)}`);
    assert.equal(rl.trackedAddresses, 3);
  });

  test('CIDR helpers and globs', () => {
    assert.equal(addressAllowed('::ffff:192.168.1.7', ['192.168.1.0/24']), true);
    assert.equal(addressAllowed('192.168.2.7', ['192.168.1.0/24']), false);
    assert.equal(addressAllowed('2001:db8::1', ['2001:db8::/32']), true);
    assert.equal(addressAllowed('', ['0.0.0.0/0']), false);
    assert.equal(addressAllowed('10.0.0.1', []), true);
    assert.equal(cidrWithin('10.1.2.0/24', ['10.0.0.0/8']), true);
    assert.equal(cidrWithin('10.0.0.0/8', ['10.1.0.0/16']), false);
    assert.equal(cidrWithin('10.1.2.3', ['10.1.2.0/24']), true);
    assert.equal(globMatch('release/*', 'release/1.0'), true);
    assert.equal(globMatch('*-admins', 'web-admins'), true);
    assert.equal(globMatch('a*b*c', 'abc'), true);
    assert.equal(globMatch('a*b*c', 'acb'), false);
    assert.equal(globMatch('ab*ba', 'aba'), false);
    assert.equal(globMatch('a.c', 'abc'), false);
  });
});
