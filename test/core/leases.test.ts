/**
 * The lease manager over HTTP. The engine issuing leased secrets here is a test engine whose "backing system"
 * is a Set the test inspects (it stands in for a database so the manager's own rules — TTLs, renewals,
 * expiry, retries, irrevocable, restore after restart — are tested in isolation; the database engine's tests
 * exercise real databases).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { MAX_ATTEMPTS } from '../../src/core/leases/manager.js';
import { registerLeaseEngine } from '../helpers/lease-engine.js';
import { client, startDevServer } from '../helpers/server.js';

const engine = registerLeaseEngine('leasetest');
const { live } = engine;

const until = async (cond: () => boolean | Promise<boolean>, ms = 8000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('condition not reached in time');
};

test('lease manager over the API', async (t) => {
  const srv = await startDevServer();
  srv.server.core.leases.retryBaseMs = 100;
  const root = client(srv.addr, srv.token);
  assert.equal((await root.post('sys/mounts/dyn', { type: engine.type, config: { max_lease_ttl: '60s' } })).status, 204);
  t.after(() => srv.close());

  await t.test('an issued secret gets a lease id under its path, with lookup and list', async () => {
    const res = await root.get('dyn/creds/ro?ttl=30');
    assert.equal(res.status, 200);
    assert.match(res.body.lease_id, /^dyn\/creds\/ro\/[A-Za-z0-9]+$/);
    assert.equal(res.body.lease_duration, 30);
    assert.equal(res.body.renewable, true);
    assert.ok(live.has(res.body.data.username));
    const look = await root.put('sys/leases/lookup', { lease_id: res.body.lease_id });
    assert.equal(look.status, 200);
    assert.equal(look.body.data.id, res.body.lease_id);
    assert.ok(look.body.data.ttl > 25 && look.body.data.ttl <= 30);
    assert.equal(look.body.data.irrevocable, false);
    assert.ok(Date.parse(look.body.data.expire_time) > Date.parse(look.body.data.issue_time));
    const list = await root.list('sys/leases/lookup/dyn/creds/ro');
    assert.ok(list.body.data.keys.includes(res.body.lease_id.split('/').pop()));
    assert.deepEqual((await root.list('sys/leases/lookup/dyn/creds')).body.data.keys, ['ro/']);
    assert.equal((await root.put('sys/leases/lookup', { lease_id: 'dyn/creds/ro/nope' })).status, 400);
  });

  await t.test('TTL defaults to the mount default and is capped at the mount max with a warning', async () => {
    const capped = await root.get('dyn/creds/big?ttl=600');
    assert.equal(capped.body.lease_duration, 60);
    assert.match(capped.body.warnings[0], /capped/);
    assert.equal((await root.post('sys/mounts/dyn/tune', { default_lease_ttl: '20s' })).status, 204);
    assert.equal((await root.get('dyn/creds/dflt')).body.lease_duration, 20);
  });

  await t.test('an expired lease is revoked through the engine', async () => {
    const res = await root.get('dyn/creds/short?ttl=1');
    const user = res.body.data.username;
    assert.ok(live.has(user));
    await until(() => !live.has(user));
    assert.equal((await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).status, 400);
  });

  await t.test('renew moves the expiry, never past the max; revoke by id; unknown ids succeed', async () => {
    const res = await root.get('dyn/creds/renew?ttl=5');
    const renewed = await root.put('sys/leases/renew', { lease_id: res.body.lease_id, increment: '30s' });
    assert.equal(renewed.status, 200);
    assert.equal(renewed.body.lease_id, res.body.lease_id);
    assert.equal(renewed.body.lease_duration, 30);
    const over = await root.put(`sys/leases/renew/${res.body.lease_id}`, { increment: '600s' });
    assert.ok(over.body.lease_duration <= 60 && over.body.lease_duration >= 58);
    assert.match(over.body.warnings[0], /capped/);
    assert.ok((await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).body.data.last_renewal);
    assert.equal((await root.put('sys/leases/revoke', { lease_id: res.body.lease_id })).status, 204);
    assert.ok(!live.has(res.body.data.username));
    assert.equal((await root.put('sys/leases/revoke', { lease_id: 'dyn/creds/renew/unknown' })).status, 204);
    // sync=false queues the revocation; the scheduler carries it out right away.
    const queued = await root.get('dyn/creds/async?ttl=50');
    assert.equal((await root.put('sys/leases/revoke', { lease_id: queued.body.lease_id, sync: false })).status, 204);
    await until(() => !live.has(queued.body.data.username));
    assert.equal((await root.put('sys/leases/renew', { lease_id: res.body.lease_id })).status, 400);
  });

  await t.test('a revocation planned for later cannot be postponed by renewing the lease', async () => {
    const res = await root.get('dyn/creds/grace?ttl=50');
    await srv.server.core.leases.revokeLater(res.body.lease_id, 2_000);
    const renewed = await root.put('sys/leases/renew', { lease_id: res.body.lease_id, increment: '40s' });
    assert.equal(renewed.status, 200);
    assert.ok(renewed.body.lease_duration <= 2, `renewed for ${renewed.body.lease_duration}s past the planned revocation`);
    assert.match(renewed.body.warnings[0], /capped/);
    await until(() => !live.has(res.body.data.username));
  });

  await t.test('revoke-prefix needs sudo and revokes everything under the prefix', async () => {
    const users = [];
    for (let i = 0; i < 3; i++) users.push((await root.get('dyn/creds/bulk?ttl=50')).body.data.username);
    await root.put('sys/policies/acl/leases', { policy: 'path "sys/leases/*" { capabilities = ["update", "list"] }' });
    const limited = (await root.post('auth/token/create', { policies: ['leases'] })).body.auth.client_token;
    assert.equal((await client(srv.addr, limited).put('sys/leases/revoke-prefix/dyn/creds/bulk')).status, 403);
    assert.equal((await root.put('sys/leases/revoke-prefix/dyn/creds/bulk')).status, 204);
    for (const u of users) assert.ok(!live.has(u));
    assert.equal((await root.list('sys/leases/lookup/dyn/creds/bulk')).status, 404);
  });

  await t.test('revoking the token that created a lease revokes the lease', async () => {
    await root.put('sys/policies/acl/dyn', { policy: 'path "dyn/*" { capabilities = ["read"] }' });
    const child = (await root.post('auth/token/create', { policies: ['dyn'] })).body.auth.client_token;
    const res = await client(srv.addr, child).get('dyn/creds/owned?ttl=50');
    assert.equal(res.status, 200);
    assert.ok(live.has(res.body.data.username));
    assert.equal((await root.post('auth/token/revoke', { token: child })).status, 204);
    assert.ok(!live.has(res.body.data.username));
    assert.equal((await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).status, 400);
  });

  await t.test('revoke-prefix on auth/token/create revokes the tokens created there, as Vault does', async () => {
    const made = (await root.post('auth/token/create', { policies: ['dyn'] })).body.auth.client_token;
    const orphan = (await root.post('auth/token/create-orphan', { policies: ['dyn'] })).body.auth.client_token;
    assert.equal((await client(srv.addr, made).get('auth/token/lookup-self')).status, 200);
    assert.equal((await root.put('sys/leases/revoke-prefix/auth/token/create')).status, 204);
    assert.equal((await client(srv.addr, made).get('auth/token/lookup-self')).status, 403);
    assert.equal((await client(srv.addr, orphan).get('auth/token/lookup-self')).status, 200, 'create-orphan is another prefix');
    assert.equal((await root.get('auth/token/lookup-self')).status, 200, 'the root token is untouched');
  });

  await t.test('a failing revocation retries with backoff, then succeeds once the backend is back', async () => {
    const res = await root.get('dyn/creds/flaky?ttl=1');
    engine.failRevoke = true;
    engine.revokeCalls = 0;
    await until(async () => (await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).body.data.revoke_attempts >= 2);
    const look = await root.put('sys/leases/lookup', { lease_id: res.body.lease_id });
    assert.equal(look.body.data.revoke_error, 'backing system unreachable');
    assert.equal(look.body.data.irrevocable, false);
    engine.failRevoke = false;
    await until(() => !live.has(res.body.data.username));
    assert.equal((await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).status, 400);
  });

  await t.test('after repeated failures a lease is irrevocable: kept, visible, counted; revoke-force removes it', async () => {
    const res = await root.get('dyn/creds/dead?ttl=1');
    engine.failRevoke = true;
    await until(async () => (await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).body.data.irrevocable === true, 15000);
    const look = await root.put('sys/leases/lookup', { lease_id: res.body.lease_id });
    assert.equal(look.body.data.revoke_attempts, MAX_ATTEMPTS);
    assert.ok((await root.get('sys/leases/count')).body.data.irrevocable >= 1);
    const metrics = await root.get('sys/metrics');
    const gauge = (name: string) => metrics.body.Gauges.find((g: { Name: string }) => g.Name === name)?.Value;
    assert.ok(gauge('coffer.expire.num_irrevocable_leases') >= 1);
    assert.match((await root.get('sys/metrics?format=prometheus')).text, /^coffer_expire_num_irrevocable_leases [1-9]/m);
    assert.ok(live.has(res.body.data.username), 'never silently dropped');
    assert.equal((await root.put('sys/leases/revoke-prefix/dyn/creds/dead')).status, 400);
    assert.equal((await root.put('sys/leases/revoke-force/dyn/creds/dead')).status, 204);
    assert.equal((await root.put('sys/leases/lookup', { lease_id: res.body.lease_id })).status, 400);
    engine.failRevoke = false;
    live.delete(res.body.data.username);
  });

  await t.test('disabling a mount revokes its leases', async () => {
    const res = await root.get('dyn/creds/last?ttl=50');
    assert.ok(live.has(res.body.data.username));
    assert.equal((await root.delete('sys/mounts/dyn')).status, 204);
    assert.ok(!live.has(res.body.data.username));
  });
});

test('leases survive a restart; those that expired while down are revoked at start', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-leases-'));
  const config = {
    listeners: [{ address: '127.0.0.1:0', tlsDisable: true, maxRequestSize: 1 << 20 }],
    storage: { type: 'sqlite' as const, path: path.join(dir, 'db') },
    defaultLeaseTTL: 3600,
    maxLeaseTTL: 3600,
    ui: false,
    logLevel: 'silent',
  };
  let srv: RunningServer | null = await startServer(config);
  try {
    let anon = client(srv.addresses[0], null);
    const init = (await anon.put('sys/init', { secret_shares: 1, secret_threshold: 1 })).body;
    await anon.put('sys/unseal', { key: init.keys[0] });
    let root = client(srv.addresses[0], init.root_token);
    await root.post('sys/mounts/dyn', { type: engine.type });
    const shortLived = (await root.get('dyn/creds/restart?ttl=2')).body;
    const longLived = (await root.get('dyn/creds/restart?ttl=300')).body;
    await srv.close();
    srv = null;
    await new Promise((r) => setTimeout(r, 2500)); // the short lease expires while the server is down
    assert.ok(live.has(shortLived.data.username));
    srv = await startServer(config);
    anon = client(srv.addresses[0], null);
    await anon.put('sys/unseal', { key: init.keys[0] });
    root = client(srv.addresses[0], init.root_token);
    await until(() => !live.has(shortLived.data.username), 5000);
    assert.ok(live.has(longLived.data.username));
    const list = await root.list('sys/leases/lookup/dyn/creds/restart');
    assert.deepEqual(list.body.data.keys, [longLived.lease_id.split('/').pop()]);
    assert.equal((await root.put('sys/leases/revoke', { lease_id: longLived.lease_id })).status, 204);
    assert.ok(!live.has(longLived.data.username));
  } finally {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
