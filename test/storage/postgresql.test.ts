/**
 * The PostgreSQL backend against the storage contract, on the machine's PostgreSQL, each test in its own
 * database; then what is particular to it: the table it creates, tables it refuses, connection problems.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStorage, DEFAULT_PG_TABLE, type PostgresOptions } from '../../src/storage/postgresql.js';
import { StorageUnavailableError } from '../../src/storage/types.js';
import { createTestDatabase, terminateBlockedWriters, type TestDatabase } from '../helpers/pg-database.js';
import { freePort, startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { storageContract } from './contract.js';

const options = (connectionUrl: string, extra: Partial<PostgresOptions> = {}): PostgresOptions => ({
  connectionUrl,
  table: DEFAULT_PG_TABLE,
  haEnabled: false,
  ...extra,
});

storageContract(
  'postgresql',
  async () => {
    const db = await createTestDatabase();
    return {
      open: () => PostgresStorage.open(options(db.url())),
      reopen: () => PostgresStorage.open(options(db.url())),
      dispose: () => db.drop(),
    };
  },
  { persistent: true },
);

/** A fresh database for one test, dropped at its end. */
async function withDatabase(body: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  try {
    await body(db);
  } finally {
    await db.drop();
  }
}

test('postgresql: creates the table in Vault\'s shape (primary key, parent_path index) and stores keys as Vault does', () =>
  withDatabase(async (db) => {
    const store = await PostgresStorage.open(options(db.url('sslmode=disable')));
    await store.put('sys/token/id/abc', Buffer.from([1, 2, 3]));
    await store.put('top', Buffer.from([4]));
    await store.close();
    const admin = await db.admin();
    const cols = await admin.query(`SELECT column_name, data_type, collation_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [DEFAULT_PG_TABLE]);
    assert.deepEqual(cols.rows.map((r) => [r.column_name, r.data_type, r.collation_name]), [
      ['parent_path', 'text', 'C'], ['path', 'text', 'C'], ['key', 'text', 'C'], ['value', 'bytea', null],
    ]);
    const indexes = await admin.query(`SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`, [DEFAULT_PG_TABLE]);
    assert.deepEqual(indexes.rows.map((r) => r.indexdef.replace(/ ON .* USING btree/, '')), [
      'CREATE INDEX vault_kv_store_parent_path_idx (parent_path)',
      'CREATE UNIQUE INDEX vault_kv_store_pkey (path, key)',
    ]);
    const rows = await admin.query(`SELECT parent_path, path, key FROM ${DEFAULT_PG_TABLE} ORDER BY key`);
    assert.deepEqual(rows.rows, [
      { parent_path: '/sys/token/', path: '/sys/token/id/', key: 'abc' },
      { parent_path: '', path: '/', key: 'top' },
    ]);
  }));

test('postgresql: a schema-qualified table name is created in that schema; max_parallel sizes the pool', () =>
  withDatabase(async (db) => {
    const admin = await db.admin();
    await admin.query('CREATE SCHEMA vault');
    const store = await PostgresStorage.open(options(db.url(), { table: 'vault.kv', maxParallel: 2 }));
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.put(`p/${i}`, Buffer.from([i]))));
    assert.equal((await store.list('p/')).length, 10);
    await store.close();
    assert.equal((await admin.query(`SELECT count(*)::int AS n FROM vault.kv`)).rows[0].n, 10);
  }));

test('postgresql: a table of another shape, or without the (path, key) primary key, is refused with its name', () =>
  withDatabase(async (db) => {
    const admin = await db.admin();
    await admin.query('CREATE TABLE vault_kv_store (id int, payload text)');
    await assert.rejects(PostgresStorage.open(options(db.url())), /table "vault_kv_store" exists with another shape \(id integer, payload text\); coffer needs \(parent_path text, path text, key text, value bytea\)/);
    await admin.query('CREATE TABLE nokey (parent_path text, path text, key text, value bytea)');
    await assert.rejects(PostgresStorage.open(options(db.url(), { table: 'nokey' })), /table "nokey" has no primary key \(path, key\)/);
    // Nothing was written into either.
    assert.equal((await admin.query('SELECT count(*)::int AS n FROM nokey')).rows[0].n, 0);
  }));

test('postgresql: an unreadable sslrootcert is named before connecting', async () => {
  await assert.rejects(
    PostgresStorage.open(options('postgresql://postgres@127.0.0.1:5432/postgres?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem')),
    /connection_url: sslrootcert file \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/,
  );
});

test('postgresql: unreachable at start: a log line per retry, then a clear error', async () => {
  const port = await freePort();
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
  await assert.rejects(
    PostgresStorage.open(options(`postgresql://postgres@127.0.0.1:${port}/postgres`, { connectAttempts: 2 }), logger),
    new RegExp(`PostgreSQL unreachable after 2 attempts: ECONNREFUSED 127\\.0\\.0\\.1:${port}$`),
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0], /unreachable \(ECONNREFUSED.*attempt 1 of 2, retrying in 1s/);
});

let cluster: PgCluster | null = null;
after(() => cluster?.stop());

test('postgresql: a wrong password or unknown user fails at once (no retries), naming the cause and not the password', async () => {
  cluster = await startPgCluster();
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
  const wrong = cluster.url('postgres', 'postgres', 'not-the-password-7f3');
  await assert.rejects(PostgresStorage.open(options(wrong), logger), (err: Error) => {
    assert.match(err.message, /cannot use PostgreSQL: password authentication failed for user "postgres"/);
    assert.ok(!err.message.includes('not-the-password-7f3'));
    return true;
  });
  await assert.rejects(PostgresStorage.open(options(cluster.url('postgres', 'nobody', 'x')), logger), /password authentication failed for user "nobody"/);
  assert.deepEqual(lines, []);
  const right = await PostgresStorage.open(options(cluster.url()));
  await right.put('k', Buffer.from('v'));
  await right.close();
});

test('postgresql: writes grouped into one commit all fail when its connection is terminated, none applied; the next write works', () =>
  withDatabase(async (db) => {
    const store = await PostgresStorage.open(options(db.url()));
    try {
      await store.put('tx/a', Buffer.from('before'));
      const admin = await db.admin();
      // Two callers in the same tick: one group commit.
      const outcomes: unknown[] = [];
      const terminated = await terminateBlockedWriters(admin, DEFAULT_PG_TABLE, () =>
        Promise.all([
          store.transaction([
            { kind: 'put', key: 'tx/a', value: Buffer.from('after') },
            { kind: 'put', key: 'tx/b', value: Buffer.from('new') },
            { kind: 'delete', key: 'tx/c' },
          ]),
          store.put('tx/d', Buffer.from('other caller')),
        ].map((p) => p.then(() => outcomes.push('committed'), (err) => outcomes.push(err)))),
      );
      assert.equal(terminated, 1, 'one statement for both callers');
      while (outcomes.length < 2) await new Promise((r) => setTimeout(r, 20));
      for (const outcome of outcomes) {
        assert.ok(outcome instanceof StorageUnavailableError, String(outcome));
        assert.match((outcome as Error).message, /^storage unavailable: terminating connection due to administrator command/);
      }
      assert.equal((await store.get('tx/a'))?.toString(), 'before');
      assert.equal(await store.get('tx/b'), null);
      assert.equal(await store.get('tx/d'), null);
      await store.put('tx/b', Buffer.from('later'));
      assert.deepEqual(await store.list('tx/'), ['a', 'b']);
    } finally {
      await store.close();
    }
  }));

test('postgresql: transactions issued together commit together, each caller resolved, the last write per key winning', () =>
  withDatabase(async (db) => {
    const store = await PostgresStorage.open(options(db.url(), { maxParallel: 1 }));
    try {
      await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => store.put(`g/${i}`, Buffer.from([i]))),
        store.put('g/same', Buffer.from('first')),
        store.transaction([{ kind: 'put', key: 'g/same', value: Buffer.from('second') }, { kind: 'delete', key: 'g/0' }]),
      ]);
      assert.equal((await store.list('g/')).length, 50);
      assert.equal((await store.get('g/same'))?.toString(), 'second');
      assert.equal(await store.get('g/0'), null);
    } finally {
      await store.close();
    }
  }));
