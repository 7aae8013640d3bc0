/**
 * User lockout per identity (Vault's `lockout_threshold`, `lockout_duration`, `lockout_counter_reset`,
 * `disable_lockout`), against live servers: behind one address (a NAT, an ingress) a client that fails
 * repeatedly locks only its own identity; the settings come from the server config's `user_lockout` stanzas
 * and a mount's `user_lockout_config` tune; and `X-Forwarded-For` names the client only when it comes from
 * `x_forwarded_for_authorized_addrs`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportSPKI } from 'jose';
import { parseConfigText, DEFAULT_MAX_REQUEST_SIZE } from '../../src/server/config.js';
import { clientAddress } from '../../src/server/forwarded.js';
import { effectiveLockout, UserLockout } from '../../src/core/login/lockout.js';
import { loginPaths as kubernetesLogin } from '../../src/auth/kubernetes/path_login.js';
import { client, startDevServer, type ApiOptions, type TestServer } from '../helpers/server.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';

let srv: TestServer;
let root: ReturnType<typeof client>;
let idp: OidcProvider;

before(async () => {
  // The approle stanza makes the threshold 3 for AppRole mounts; the per-address ceiling stays far above it.
  srv = await startDevServer({ userLockout: { approle: { threshold: 3 } }, loginRateLimit: { maxFailures: 60, windowMs: 3600_000 } });
  root = client(srv.addr, srv.token);
  assert.equal((await root.post('sys/auth/approle', { type: 'approle' })).status, 204);
  idp = await startOidcProvider();
});
after(async () => {
  await srv?.close();
  await idp?.close();
});

async function credentials(name: string, mount = 'approle') {
  assert.equal((await root.post(`auth/${mount}/role/${name}`, { token_policies: 'p' })).status, 204);
  const roleId = (await root.get(`auth/${mount}/role/${name}/role-id`)).body.data.role_id;
  const secretId = (await root.post(`auth/${mount}/role/${name}/secret-id`, {})).body.data.secret_id;
  return { role_id: roleId, secret_id: secretId };
}

const loginFrom = (from: string, body: Record<string, unknown>, mount = 'approle') => client(srv.addr, null).post(`auth/${mount}/login`, body, { from });
const wrong = (creds: { role_id: string }) => ({ role_id: creds.role_id, secret_id: 'not-the-secret' });

describe('AppRole: per role ID', () => {
  test('NAT: one client locks its own role ID; other identities behind the same address still log in', async () => {
    const alice = await credentials('alice');
    const bob = await credentials('bob');
    for (let i = 0; i < 3; i++) assert.equal((await loginFrom('127.0.8.1', wrong(alice))).status, 400);
    const locked = await loginFrom('127.0.8.1', alice);
    assert.equal(locked.status, 403, locked.text);
    assert.deepEqual(locked.body.errors, ['permission denied']);
    assert.equal((await loginFrom('127.0.8.2', alice)).status, 403, 'the identity is locked from any address');
    // Bob, behind the same address, is unaffected, and so is every later client there.
    const other = await loginFrom('127.0.8.1', bob);
    assert.equal(other.status, 200, other.text);
  });

  test('a successful login resets the count', async () => {
    const carol = await credentials('carol');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) assert.equal((await loginFrom('127.0.8.3', wrong(carol))).status, 400);
      assert.equal((await loginFrom('127.0.8.3', carol)).status, 200, `round ${round}`);
    }
  });

  test('mount tune user_lockout_config: threshold and duration; the lock ends after the duration; disable', async () => {
    assert.equal((await root.post('sys/auth/tuned', { type: 'approle' })).status, 204);
    const before = (await root.get('sys/auth/tuned/tune')).body.data;
    assert.deepEqual(
      [before.user_lockout_threshold, before.user_lockout_duration, before.user_lockout_counter_reset_duration, before.user_lockout_disable],
      [3, 900, 900, false],
      'the approle stanza over Vault defaults',
    );
    const tune = await root.post('sys/auth/tuned/tune', { user_lockout_config: { lockout_threshold: '2', lockout_duration: '5s' } });
    assert.equal(tune.status, 204, tune.text);
    const after = (await root.get('sys/auth/tuned/tune')).body.data;
    assert.deepEqual([after.user_lockout_threshold, after.user_lockout_duration, after.user_lockout_counter_reset_duration], [2, 5, 900]);

    const dave = await credentials('dave', 'tuned');
    for (let i = 0; i < 2; i++) assert.equal((await loginFrom('127.0.8.4', wrong(dave), 'tuned')).status, 400);
    assert.equal((await loginFrom('127.0.8.4', dave, 'tuned')).status, 403);
    // Unlocked once the duration has passed (polled: no assumption about how fast this machine is).
    const deadline = Date.now() + 60_000;
    let status = 403;
    while (status === 403 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await loginFrom('127.0.8.4', dave, 'tuned')).status;
    }
    assert.equal(status, 200, 'the lock ends after lockout_duration');

    assert.equal((await root.post('sys/auth/tuned/tune', { user_lockout_config: { lockout_disable: true } })).status, 204);
    assert.equal((await root.get('sys/auth/tuned/tune')).body.data.user_lockout_threshold, 2, 'other fields are kept');
    for (let i = 0; i < 4; i++) assert.equal((await loginFrom('127.0.8.4', wrong(dave), 'tuned')).status, 400);
    assert.equal((await loginFrom('127.0.8.4', dave, 'tuned')).status, 200);

    const bad = await root.post('sys/auth/tuned/tune', { user_lockout_config: { lockout_treshold: 3 } });
    assert.equal(bad.status, 400, 'a misspelt field is refused, not dropped');
    assert.equal((await root.post('sys/mounts/secret/tune', { user_lockout_config: { lockout_threshold: 3 } })).status, 400);
  });

  test('a per-address ceiling still stops spraying across identities', async () => {
    // 25 identities, each failing at most 3 times (the lockout threshold), add up past the ceiling of 60.
    const roles = await Promise.all(Array.from({ length: 25 }, (_, i) => credentials(`spray-${i}`)));
    let status = 0;
    for (let n = 0; n < 75 && status !== 429; n++) status = (await loginFrom('127.0.8.5', wrong(roles[n % roles.length]))).status;
    assert.equal(status, 429);
    assert.equal((await loginFrom('127.0.8.6', roles[24])).status, 200, 'another address is not limited (and this identity not locked)');
  });
});

describe('JWT: per role and subject', () => {
  test('failures for one subject lock that subject on the role; another subject logs in', async () => {
    await root.post('sys/auth/jwt', { type: 'jwt' });
    assert.equal((await root.post('auth/jwt/config', { jwt_validation_pubkeys: [await exportSPKI(idp.current.publicKey)] })).status, 204);
    assert.equal((await root.post('auth/jwt/role/ci', { bound_audiences: 'coffer', token_policies: 'ci' })).status, 204);
    const login = async (sub: string, aud = 'coffer') => client(srv.addr, null).post('auth/jwt/login', { role: 'ci', jwt: await idp.sign({ sub, aud }) }, { from: '127.0.8.7' });
    for (let i = 0; i < 5; i++) assert.equal((await login('job-1', 'someone-else')).status, 400);
    assert.equal((await login('job-1')).status, 403, 'job-1 is locked (Vault default threshold 5)');
    assert.equal((await login('job-2')).status, 200);
  });

  test('the Kubernetes method keys on role and the service account the token names', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const jwt = `${b64({ alg: 'RS256' })}.${b64({ 'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'deployer' } } })}.sig`;
    const identity = kubernetesLogin[0].lockoutIdentity!;
    assert.equal(identity({ role: 'app', jwt }), 'role:app\0subject:team-a/deployer');
    assert.equal(identity({ role: 'app', jwt: 'not-a-jwt' }), 'role:app');
  });
});

describe('settings', () => {
  test('server config: user_lockout "all" and per method type, with Vault\'s names', async () => {
    const base = 'storage "sqlite" { path = "/tmp/x.db" }\nlistener "tcp" { tls_disable = true }\n';
    const cfg = await parseConfigText(
      `${base}user_lockout "all" {\n lockout_threshold = "10"\n lockout_duration = "30m"\n lockout_counter_reset = "5m"\n}\nuser_lockout "jwt" {\n disable_lockout = "true"\n}\n`,
      'c.hcl',
    );
    assert.deepEqual(cfg.userLockout, { all: { threshold: 10, durationMs: 1_800_000, counterResetMs: 300_000 }, jwt: { disabled: true } });
    assert.deepEqual(effectiveLockout(cfg.userLockout!, 'approle', undefined), { threshold: 10, durationMs: 1_800_000, counterResetMs: 300_000, disabled: false });
    assert.equal(effectiveLockout(cfg.userLockout!, 'jwt', undefined).disabled, true);
    assert.equal(effectiveLockout(cfg.userLockout!, 'approle', { lockout_threshold: 2 }).threshold, 2, 'the mount tune wins');
    await assert.rejects(parseConfigText(`${base}user_lockout "userpass" {\n lockout_threshold = 3\n}\n`, 'c.hcl'), /user_lockout "userpass" is not supported/);
    await assert.rejects(parseConfigText(`${base}user_lockout "all" {\n lockout_treshold = 3\n}\n`, 'c.hcl'), /user_lockout/);
  });

  test('the counter resets after lockout_counter_reset without failures (fake clock)', () => {
    let now = 0;
    const lockout = new UserLockout(100, () => now);
    const settings = { threshold: 3, durationMs: 10_000, counterResetMs: 1_000, disabled: false };
    lockout.recordFailure('k', settings);
    lockout.recordFailure('k', settings);
    now = 1_500;
    lockout.recordFailure('k', settings);
    assert.equal(lockout.isLocked('k', settings), false, 'the first two failures were forgotten');
    lockout.recordFailure('k', settings);
    lockout.recordFailure('k', settings);
    assert.equal(lockout.isLocked('k', settings), true);
    now += 10_000;
    assert.equal(lockout.isLocked('k', settings), false);
  });
});

describe('X-Forwarded-For', () => {
  let proxied: TestServer;
  let proxiedRoot: ReturnType<typeof client>;
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-xff-'));
  before(async () => {
    proxied = await startDevServer({
      loginRateLimit: { maxFailures: 2, windowMs: 3600_000 },
      listeners: [{
        address: '127.0.0.1:0', tlsDisable: true, maxRequestSize: DEFAULT_MAX_REQUEST_SIZE,
        forwardedFor: { authorizedAddrs: ['127.0.9.1/32'], hopSkips: 1, rejectNotAuthorized: true, rejectNotPresent: true },
      }],
    });
    proxiedRoot = client(proxied.addr, proxied.token);
  });
  after(async () => {
    await proxied?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const via = (from: string, xff?: string): ApiOptions => ({ from, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });

  test('from an authorized proxy the header names the client (audit, CIDR-bound tokens, login ceiling)', async () => {
    const file = path.join(dir, 'audit.log');
    const rootVia = (xff: string) => ({ ...via('127.0.9.1', xff) });
    assert.equal((await proxiedRoot.post('sys/audit/f', { type: 'file', options: { file_path: file } }, rootVia('192.0.2.1, 10.0.0.1'))).status, 204);
    // Hop skips 1: the last entry (added by the outer proxy) is skipped; the one before it is the client.
    assert.equal((await proxiedRoot.post('sys/auth/approle', { type: 'approle' }, rootVia('192.0.2.1, 10.0.0.1'))).status, 204);
    assert.equal((await proxiedRoot.post('auth/approle/role/bound', { token_bound_cidrs: '203.0.113.0/24', bind_secret_id: false, secret_id_bound_cidrs: '203.0.113.0/24' }, rootVia('192.0.2.1, 10.0.0.1'))).status, 204);
    const roleId = (await proxiedRoot.get('auth/approle/role/bound/role-id', rootVia('192.0.2.1, 10.0.0.1'))).body.data.role_id;
    const anon = client(proxied.addr, null);
    assert.equal((await anon.post('auth/approle/login', { role_id: roleId }, via('127.0.9.1', '198.51.100.9, 10.0.0.1'))).status, 400, 'outside the secret ID CIDRs');
    const token = await anon.post('auth/approle/login', { role_id: roleId }, via('127.0.9.1', '203.0.113.9, 10.0.0.1'));
    assert.equal(token.status, 200, token.text);
    const t = client(proxied.addr, token.body.auth.client_token);
    assert.equal((await t.get('auth/token/lookup-self', via('127.0.9.1', '203.0.113.9, 10.0.0.1'))).status, 200);
    assert.equal((await t.get('auth/token/lookup-self', via('127.0.9.1', '198.51.100.9, 10.0.0.1'))).status, 403);
    const addresses = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).request?.remote_address);
    assert.ok(addresses.includes('203.0.113.9') && addresses.includes('198.51.100.9'), 'audit records the forwarded client');
    assert.ok(!addresses.includes('127.0.9.1'));

    // The per-address login ceiling counts each forwarded client apart.
    const login = (xff: string) => client(proxied.addr, null).post('auth/approle/login', { role_id: 'nope', secret_id: 'nope' }, via('127.0.9.1', xff));
    assert.equal((await login('192.0.2.50, 10.0.0.1')).status, 400);
    assert.equal((await login('192.0.2.50, 10.0.0.1')).status, 400);
    assert.equal((await login('192.0.2.50, 10.0.0.1')).status, 429);
    assert.equal((await login('192.0.2.51, 10.0.0.1')).status, 400, 'another client behind the same proxy');
    await proxiedRoot.delete('sys/audit/f', rootVia('192.0.2.1, 10.0.0.1'));
  });

  test('refused: the header from an unauthorized peer, no header, too short a chain', async () => {
    const unauthorized = await proxiedRoot.get('sys/mounts', via('127.0.9.2', '192.0.2.1, 10.0.0.1'));
    assert.equal(unauthorized.status, 400);
    assert.deepEqual(unauthorized.body.errors, ['client address not authorized for x-forwarded-for and configured to reject connection']);
    const missing = await proxiedRoot.get('sys/mounts', via('127.0.9.1'));
    assert.deepEqual([missing.status, missing.body.errors], [400, ['missing x-forwarded-for header and configured to reject when not present']]);
    const short = await proxiedRoot.get('sys/mounts', via('127.0.9.1', '192.0.2.1'));
    assert.equal(short.status, 400);
    assert.match(short.body.errors[0], /hops to skip \(1\) would skip before earliest chain link/);
  });

  test('clientAddress without rejection: the peer stands', () => {
    const cfg = { authorizedAddrs: ['10.0.0.0/8'], hopSkips: 0, rejectNotAuthorized: false, rejectNotPresent: false };
    assert.deepEqual(clientAddress('192.0.2.1', '198.51.100.1', cfg), { address: '192.0.2.1' });
    assert.deepEqual(clientAddress('10.1.2.3', undefined, cfg), { address: '10.1.2.3' });
    assert.deepEqual(clientAddress('10.1.2.3', '198.51.100.1', cfg), { address: '198.51.100.1' });
    assert.deepEqual(clientAddress('10.1.2.3', 'unknown', cfg), { error: 'x-forwarded-for entry is not an IP address' });
    assert.deepEqual(clientAddress('10.1.2.3', '198.51.100.1', undefined), { address: '10.1.2.3' }, 'not configured: ignored');
  });
});
