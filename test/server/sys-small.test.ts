/**
 * Small sys paths against a live dev server: `sys/health` refuses status overrides outside 200-599, and
 * `sys/host-info` answers Vault's shape to a sudo caller only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDevServer, client, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let root: ReturnType<typeof client>;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});

after(() => srv?.close());

test('sys/health: override codes outside 200-599 are a 400, never sent as the status', async () => {
  const anon = client(srv.addr, null);
  for (const query of ['sealedcode=100', 'activecode=100', 'standbycode=101', 'uninitcode=199', 'activecode=600', 'activecode=abc']) {
    const res = await anon.get(`sys/health?${query}`);
    assert.equal(res.status, 400, `${query}: ${res.text}`);
    assert.match(res.body.errors[0], /^invalid value for "\w+code": must be an HTTP status code from 200 to 599$/);
  }
  assert.equal((await anon.get('sys/health?activecode=299')).status, 299);
  assert.equal((await anon.get('sys/health?sealedcode=200')).status, 200, 'an override for another state changes nothing');
});

test("sys/host-info: Vault's shape for a sudo caller, 403 without sudo", async () => {
  const res = await root.get('sys/host-info');
  assert.equal(res.status, 200, res.text);
  const d = res.body.data;
  assert.deepEqual(Object.keys(d).sort(), ['cpu', 'cpu_times', 'disk', 'host', 'memory', 'timestamp']);
  assert.ok(d.cpu.length >= 1 && typeof d.cpu[0].modelName === 'string' && typeof d.cpu[0].mhz === 'number');
  assert.equal(d.cpu_times.length, d.cpu.length);
  assert.equal(d.cpu_times[0].cpu, 'cpu0');
  assert.ok(d.cpu_times[0].idle > 0);
  assert.equal(d.disk[0].path, '/');
  assert.ok(d.disk[0].total > 0 && d.disk[0].total >= d.disk[0].used);
  assert.ok(d.memory.total > 0 && d.memory.available <= d.memory.total && d.memory.usedPercent >= 0);
  assert.equal(typeof d.host.hostname, 'string');
  assert.equal(d.host.os, process.platform);
  assert.ok(d.host.uptime > 0);
  assert.ok(Math.abs(Date.parse(d.timestamp) - Date.now()) < 3_600_000);

  const policy = await root.put('sys/policies/acl/host-read', { policy: 'path "sys/host-info" { capabilities = ["read"] }' });
  assert.equal(policy.status, 204, policy.text);
  const token = (await root.post('auth/token/create', { policies: ['host-read'] })).body.auth.client_token;
  assert.equal((await client(srv.addr, token).get('sys/host-info')).status, 403);
  await root.put('sys/policies/acl/host-read', { policy: 'path "sys/host-info" { capabilities = ["read", "sudo"] }' });
  assert.equal((await client(srv.addr, token).get('sys/host-info')).status, 200);
});
