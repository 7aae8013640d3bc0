/**
 * Production-mode lifecycle against a real `coffer server -config` process: init 5/3, restarts, unseal with
 * too few / any three / a wrong share, encryption at rest, tamper detection, kill -9 durability, SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { client } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { assertNoSecretAtRest } from '../helpers/at-rest.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coffer-seal-'));
const dbPath = path.join(dir, 'coffer.db');
const configPath = path.join(dir, 'coffer.hcl');
writeFileSync(
  configPath,
  `
storage "sqlite" {
  path = "${dbPath}"
}
listener "tcp" {
  address     = "127.0.0.1:0"
  tls_disable = true
}
api_addr = "http://127.0.0.1:8200"
default_lease_ttl = "1h"
max_lease_ttl = "24h"
`,
);

let proc: ServerProcess | null = null;
async function start() {
  proc = await spawnServer([`-config=${configPath}`, '-log-level=error']);
  return proc;
}
async function stop(signal: NodeJS.Signals = 'SIGTERM') {
  if (!proc) return;
  proc.child.kill(signal);
  const code = await proc.exited;
  proc = null;
  return code;
}

test.after(async () => {
  await stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('seal lifecycle, encryption at rest and durability', async (t) => {
  let { addr } = await start();
  const anon = client(addr, null);

  let keys: string[] = [];
  let root = '';
  const secretValue = `unique-${Date.now()}-Zq8xT3`;

  await t.test('uninitialized server reports 501 and refuses API calls', async () => {
    assert.equal((await anon.get('sys/health')).status, 501);
    const status = await anon.get('sys/seal-status');
    assert.equal(status.body.initialized, false);
    assert.equal(status.body.sealed, true);
    assert.equal((await client(addr, 'cfs.x').get('secret/data/x')).status, 503);
  });

  await t.test('init 5/3 returns five shares and a root token; the server stays sealed', async () => {
    const bad = await anon.put('sys/init', { secret_shares: 3, secret_threshold: 5 });
    assert.equal(bad.status, 400);
    const res = await anon.put('sys/init', { secret_shares: 5, secret_threshold: 3 });
    assert.equal(res.status, 200);
    keys = res.body.keys;
    root = res.body.root_token;
    assert.equal(keys.length, 5);
    assert.equal(res.body.keys_base64.length, 5);
    assert.equal(Buffer.from(res.body.keys_base64[0], 'base64').toString('hex'), keys[0]);
    assert.match(root, /^cfs\./);
    assert.equal((await anon.put('sys/init', { secret_shares: 5, secret_threshold: 3 })).status, 400);
    const status = await anon.get('sys/seal-status');
    assert.deepEqual([status.body.sealed, status.body.t, status.body.n], [true, 3, 5]);
    assert.equal((await anon.get('sys/health')).status, 503);
    assert.equal((await anon.get('sys/health?sealedcode=299')).status, 299);
  });

  await t.test('three shares unseal; secrets can be written', async () => {
    for (const k of keys.slice(0, 2)) assert.equal((await anon.put('sys/unseal', { key: k })).body.sealed, true);
    const done = await anon.put('sys/unseal', { key: keys[2] });
    assert.equal(done.body.sealed, false);
    assert.equal((await anon.get('sys/health')).status, 200);
    const c = client(addr, root);
    assert.equal((await c.post('sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status, 204);
    assert.equal((await c.post('secret/data/app', { data: { password: secretValue } })).status, 200);
  });

  await t.test('the database file and WAL never contain the secret in any encoding', async () => {
    const files = [dbPath, `${dbPath}-wal`].filter(existsSync);
    assertNoSecretAtRest(files.map((f) => ({ name: path.basename(f), bytes: readFileSync(f) })), [secretValue]);
  });

  await t.test('restart comes up sealed; two shares keep it sealed; the third unseals with data intact', async () => {
    assert.equal(await stop('SIGTERM'), 0, 'graceful shutdown exits 0');
    ({ addr } = await start());
    const a = client(addr, null);
    assert.equal((await a.get('sys/seal-status')).body.sealed, true);
    assert.equal((await client(addr, root).get('secret/data/app')).status, 503);
    await a.put('sys/unseal', { key: keys[4] });
    const two = await a.put('sys/unseal', { key: keys[1] });
    assert.equal(two.body.sealed, true);
    assert.equal(two.body.progress, 2);
    assert.equal((await a.put('sys/unseal', { key: keys[3] })).body.sealed, false);
    const read = await client(addr, root).get('secret/data/app');
    assert.equal(read.status, 200);
    assert.equal(read.body.data.data.password, secretValue);
  });

  await t.test('any three of five work; a wrong share fails and resets progress', async () => {
    const combos = [[0, 1, 2], [0, 2, 4], [1, 3, 4], [2, 3, 4]];
    const a = client(addr, null);
    for (const combo of combos) {
      assert.equal((await client(addr, root).put('sys/seal')).status, 204);
      assert.equal((await a.get('sys/seal-status')).body.sealed, true);
      for (const i of combo) await a.put('sys/unseal', { key: keys[i] });
      assert.equal((await a.get('sys/seal-status')).body.sealed, false, `combination ${combo} unseals`);
    }
    await client(addr, root).put('sys/seal');
    const forged = Buffer.from(keys[2], 'hex');
    forged[0] ^= 0xff;
    await a.put('sys/unseal', { key: keys[0] });
    await a.put('sys/unseal', { key: keys[1] });
    const wrong = await a.put('sys/unseal', { key: forged.toString('hex') });
    assert.equal(wrong.status, 400);
    const status = await a.get('sys/seal-status');
    assert.equal(status.body.sealed, true);
    assert.equal(status.body.progress, 0);
    assert.equal((await a.put('sys/unseal', { key: 'not-a-key!' })).status, 400);
    assert.equal((await a.put('sys/unseal', { reset: true })).body.progress, 0);
    for (const i of [0, 1, 2]) await a.put('sys/unseal', { key: keys[i] });
    assert.equal((await a.get('sys/seal-status')).body.sealed, false);
  });

  await t.test('an acknowledged write survives kill -9', async () => {
    const c = client(addr, root);
    const res = await c.post('secret/data/crash', { data: { v: 'after-crash' } });
    assert.equal(res.status, 200);
    await stop('SIGKILL');
    ({ addr } = await start());
    for (const i of [0, 1, 2]) await client(addr, null).put('sys/unseal', { key: keys[i] });
    const read = await client(addr, root).get('secret/data/crash');
    assert.equal(read.status, 200);
    assert.equal(read.body.data.data.v, 'after-crash');
  });

  await t.test('a flipped byte in a stored ciphertext fails the read instead of returning wrong data', async () => {
    await stop('SIGTERM');
    const db = new Database(dbPath);
    const rows = db.prepare("SELECT key, value FROM entries WHERE key LIKE 'logical/%'").all() as { key: string; value: Buffer }[];
    assert.ok(rows.length > 0);
    // Tamper with every value of the kv mount: whichever record holds `secret/data/app` is among them.
    for (const row of rows) {
      const value = Buffer.from(row.value);
      value[Math.floor(value.length / 2)] ^= 0x01;
      db.prepare('UPDATE entries SET value = ? WHERE key = ?').run(value, row.key);
    }
    db.close();
    ({ addr } = await start());
    for (const i of [0, 1, 2]) await client(addr, null).put('sys/unseal', { key: keys[i] });
    const read = await client(addr, root).get('secret/data/app');
    assert.equal(read.status, 500);
    assert.deepEqual(read.body.errors, ['stored value failed integrity check']);
    assert.ok(!read.text.includes(secretValue));
  });
});
