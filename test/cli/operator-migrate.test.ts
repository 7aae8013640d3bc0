/**
 * `coffer operator migrate`: SQLite → PostgreSQL → SQLite round trip read back by a server with the original
 * unseal key; a non-empty destination refused, `-reset`; a missing source; a destination connection cut
 * mid-run; the progress bar on a terminal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { client } from '../helpers/server.js';
import { COFFER_BIN, finished, runCoffer, spawnServer } from '../helpers/process.js';
import { createTestDatabase, terminateBlockedWriters, type TestDatabase } from '../helpers/pg-database.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coffer-migrate-'));
const original = path.join(dir, 'original.db');
const roundTrip = path.join(dir, 'round-trip.db');
let db: TestDatabase;

const sqlite = (file: string) => `"sqlite" {\n  path = "${file}"\n}`;
const postgres = () => `"postgresql" {\n  connection_url = "${db.url('sslmode=disable')}"\n}`;
function migrateConfig(name: string, source: string, destination: string): string {
  const file = path.join(dir, `${name}.hcl`);
  writeFileSync(file, `storage_source ${source}\nstorage_destination ${destination}\n`);
  return file;
}
function serverConfig(file: string): string {
  const config = path.join(dir, `server-${path.basename(file)}.hcl`);
  writeFileSync(config, `storage ${sqlite(file)}\nlistener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n`);
  return config;
}
const sqliteCount = (file: string) => {
  const d = new Database(file, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
  } finally {
    d.close();
  }
};

let unsealKey = '';
let root = '';
let token = '';
const secretValue = `migrated-${randomBytes(6).toString('hex')}`;

before(async () => {
  db = await createTestDatabase();
  // A store written by a real server: init, KV v2 secrets, a token.
  const proc = await spawnServer([`-config=${serverConfig(original)}`, '-log-level=error']);
  try {
    const anon = client(proc.addr, null);
    const init = await anon.put('sys/init', { secret_shares: 1, secret_threshold: 1 });
    [unsealKey, root] = [init.body.keys[0], init.body.root_token];
    await anon.put('sys/unseal', { key: unsealKey });
    const c = client(proc.addr, root);
    assert.equal((await c.post('sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status, 204);
    for (let i = 0; i < 30; i++) assert.equal((await c.post(`secret/data/app/${i}`, { data: { value: `${secretValue}-${i}` } })).status, 200);
    token = (await c.post('auth/token/create', { policies: ['default'], ttl: '1h' })).body.auth.client_token;
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});
after(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('SQLite → PostgreSQL → SQLite keeps every entry; a server on the result unseals with the original key', async () => {
  const entries = sqliteCount(original);
  const toPg = await runCoffer(['operator', 'migrate', `-config=${migrateConfig('to-pg', sqlite(original), postgres())}`]);
  assert.equal(toPg.code, 0, toPg.stderr);
  assert.match(toPg.stdout, new RegExp(`^Success! Migrated ${entries} entries from sqlite \\(${original}\\) to postgresql \\(127\\.0\\.0\\.1:5432/${db.name}, table vault_kv_store\\)`));
  assert.match(toPg.stderr, new RegExp(`\\[INFO\\]  copied ${entries} of ${entries} entries\\n$`), 'plain log lines when not on a terminal');
  const admin = await db.admin();
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM vault_kv_store')).rows[0].n, entries);

  const back = await runCoffer(['operator', 'migrate', `-config=${migrateConfig('to-sqlite', postgres(), sqlite(roundTrip))}`]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(sqliteCount(roundTrip), entries);

  const proc = await spawnServer([`-config=${serverConfig(roundTrip)}`, '-log-level=error']);
  try {
    assert.equal((await client(proc.addr, null).put('sys/unseal', { key: unsealKey })).body.sealed, false);
    const c = client(proc.addr, root);
    for (const i of [0, 17, 29]) assert.equal((await c.get(`secret/data/app/${i}`)).body.data.data.value, `${secretValue}-${i}`);
    assert.equal((await client(proc.addr, token).get('auth/token/lookup-self')).status, 200);
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});

test('a non-empty destination is refused and left as it was; -reset erases it and copies', async () => {
  const config = migrateConfig('again', sqlite(original), postgres());
  const admin = await db.admin();
  await admin.query(`INSERT INTO vault_kv_store VALUES ('', '/', 'stray', '\\x00')`);
  const before = (await admin.query('SELECT count(*)::int AS n FROM vault_kv_store')).rows[0].n;
  const refused = await runCoffer(['operator', 'migrate', `-config=${config}`]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`Error migrating: the destination already holds ${before} entries; refusing to mix two stores \\(use -reset`));
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM vault_kv_store')).rows[0].n, before);

  const reset = await runCoffer(['operator', 'migrate', `-config=${config}`, '-reset']);
  assert.equal(reset.code, 0, reset.stderr);
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM vault_kv_store')).rows[0].n, sqliteCount(original));
  assert.equal((await admin.query(`SELECT 1 FROM vault_kv_store WHERE key = 'stray'`)).rowCount, 0);
});

test('a missing source, a cut destination connection and bad flags fail with exit 1 and say why', async () => {
  const missing = path.join(dir, 'nope.db');
  const noSource = await runCoffer(['operator', 'migrate', `-config=${migrateConfig('missing', sqlite(missing), postgres())}`, '-reset']);
  assert.equal(noSource.code, 1);
  assert.match(noSource.stderr, new RegExp(`Error migrating: the source database ${missing} does not exist`));
  assert.equal(existsSync(missing), false, 'the missing source was not created');

  const admin = await db.admin();
  let result: Awaited<ReturnType<typeof runCoffer>> | null = null;
  const config = migrateConfig('cut', sqlite(original), postgres());
  assert.equal((await runCoffer(['operator', 'migrate', `-config=${config}`, '-reset'])).code, 0, 'a destination to cut');
  const terminated = await terminateBlockedWriters(admin, 'vault_kv_store', async () => {
    result = await runCoffer(['operator', 'migrate', `-config=${config}`, '-reset']);
  });
  assert.equal(terminated, 1);
  while (result === null) await new Promise((r) => setTimeout(r, 50));
  const cut = result as Awaited<ReturnType<typeof runCoffer>>;
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /Error migrating: storage unavailable: terminating connection due to administrator command/);
  assert.equal(cut.stdout, '');

  const usage = await runCoffer(['operator', 'migrate']);
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /-config is required/);
  const both = await runCoffer(['operator', 'migrate', `-config=${config}`, '-reset', '-start=a']);
  assert.match(both.stderr, /-reset and -start cannot be combined/);
  const noStanza = path.join(dir, 'empty.hcl');
  writeFileSync(noStanza, `storage_source ${sqlite(original)}\n`);
  const incomplete = await runCoffer(['operator', 'migrate', `-config=${noStanza}`]);
  assert.equal(incomplete.code, 1);
  assert.match(incomplete.stderr, /exactly one storage_destination block is required/);
});

test('on a terminal, a progress bar redrawn in place', async () => {
  const config = migrateConfig('tty', sqlite(original), sqlite(path.join(dir, 'tty.db')));
  const command = [process.execPath, COFFER_BIN, 'operator', 'migrate', `-config=${config}`].map((s) => `'${s}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  const { code, stdout } = await finished(child);
  assert.equal(code, 0, stdout);
  const entries = sqliteCount(original);
  assert.match(stdout, new RegExp(`\\r\\[\\.{30}\\] 0% 0/${entries} entries`));
  assert.match(stdout, new RegExp(`\\r\\[#{30}\\] 100% ${entries}/${entries} entries`));
  assert.ok(!stdout.includes('[INFO]'), 'no log lines on a terminal');
});
