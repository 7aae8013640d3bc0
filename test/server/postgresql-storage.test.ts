/**
 * A real `coffer server -config` process on PostgreSQL storage (its own database, dropped at the end): init and
 * unseal, KV v2, tokens and a database lease; nothing readable at rest in the table; a write whose connection
 * is cut answers 503 and leaves nothing half written; a restart keeps everything; bad storage at start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, type ApiResponse } from '../helpers/server.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { createTestDatabase, terminateBlockedWriters, type TestDatabase } from '../helpers/pg-database.js';
import { freePort } from '../helpers/pg-cluster.js';
import { assertNoSecretAtRest } from '../helpers/at-rest.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coffer-pgstorage-'));
let db: TestDatabase;
let proc: ServerProcess | null = null;
// trust authentication ignores it; it is here to prove that the URL's password is never shown.
const URL_PASSWORD = `url-pw-${randomBytes(6).toString('hex')}`;

function writeConfig(name: string, storage: string): string {
  const file = path.join(dir, `${name}.hcl`);
  writeFileSync(file, `${storage}\nlistener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n`);
  return file;
}

function pgStanza(url: string, extra = ''): string {
  return `storage "postgresql" {\n  connection_url = "${url}"\n${extra}}`;
}

async function stop(signal: NodeJS.Signals = 'SIGTERM') {
  if (!proc) return;
  proc.child.kill(signal);
  const code = await proc.exited;
  proc = null;
  return code;
}

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await stop('SIGKILL');
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const ok = (res: ApiResponse, what: string) => assert.ok(res.status === 200 || res.status === 204, `${what}: ${res.status} ${res.text}`);

test('coffer on PostgreSQL: KV v2, tokens, leases, at rest, a cut connection, a restart', async (t) => {
  const url = new URL(db.url('sslmode=disable'));
  url.username = 'postgres';
  url.password = URL_PASSWORD;
  const configFile = writeConfig('server', pgStanza(url.toString()));
  proc = await spawnServer([`-config=${configFile}`, '-log-level=error']);
  assert.match(proc.stdout(), new RegExp(`Storage: postgresql \\(127\\.0\\.0\\.1:5432/${db.name}, table vault_kv_store\\)`));
  assert.ok(!proc.stdout().includes(URL_PASSWORD), 'the banner never shows the URL password');

  let addr = proc.addr;
  const anon = () => client(addr, null);
  const init = await anon().put('sys/init', { secret_shares: 1, secret_threshold: 1 });
  assert.equal(init.status, 200, init.text);
  const unsealKey: string = init.body.keys[0];
  const root: string = init.body.root_token;
  assert.equal((await anon().put('sys/unseal', { key: unsealKey })).body.sealed, false);
  const c = () => client(addr, root);

  const secretValue = `pg-secret-${randomBytes(8).toString('hex')}`;
  const dbConfigPassword = `db-config-pw-${randomBytes(6).toString('hex')}`;
  let childToken = '';
  let lease = { id: '', username: '', password: '' };

  await t.test('KV v2 writes and reads, a token, a database lease', async () => {
    ok(await c().post('sys/mounts/secret', { type: 'kv', options: { version: '2' } }), 'mount kv');
    ok(await c().post('secret/data/app', { data: { password: 'first' } }), 'write v1');
    ok(await c().post('secret/data/app', { data: { password: secretValue } }), 'write v2');
    const read = await c().get('secret/data/app');
    assert.deepEqual([read.body.data.data.password, read.body.data.metadata.version], [secretValue, 2]);
    assert.equal((await c().get('secret/data/app?version=1')).body.data.data.password, 'first');
    assert.deepEqual((await c().list('secret/metadata/')).body.data.keys, ['app']);

    const token = await c().post('auth/token/create', { policies: ['default'], ttl: '1h' });
    assert.equal(token.status, 200, token.text);
    childToken = token.body.auth.client_token;

    ok(await c().post('sys/mounts/database', { type: 'database' }), 'mount database');
    ok(await c().post('database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:5432/${db.name}?sslmode=disable`,
      username: 'postgres',
      password: dbConfigPassword,
      allowed_roles: '*',
    }), 'database config');
    ok(await c().post('database/roles/ro', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      default_ttl: '1h',
    }), 'database role');
    const creds = await c().get('database/creds/ro');
    assert.equal(creds.status, 200, creds.text);
    lease = { id: creds.body.lease_id, username: creds.body.data.username, password: creds.body.data.password };
    assert.match(lease.id, /^database\/creds\/ro\//);
  });

  await t.test('no row of the table holds a secret value, a token or their base64/hex', async () => {
    const admin = await db.admin();
    const rows = await admin.query<{ parent_path: string; path: string; key: string; value: Buffer }>('SELECT parent_path, path, key, value FROM vault_kv_store');
    assert.ok(rows.rows.length > 10, `only ${rows.rows.length} rows`);
    assertNoSecretAtRest(
      rows.rows.map((r) => ({ name: `row ${r.path}${r.key}`, bytes: Buffer.concat([Buffer.from(r.parent_path + r.path + r.key), r.value]) })),
      [secretValue, root, childToken, lease.password, dbConfigPassword, unsealKey],
    );
  });

  await t.test('a KV write whose PostgreSQL connection is terminated answers 503, writes nothing; the next one works', async () => {
    const admin = await db.admin();
    let res: ApiResponse | null = null;
    const terminated = await terminateBlockedWriters(admin, 'vault_kv_store', async () => {
      res = await c().post('secret/data/app', { data: { password: 'never-stored-value' } });
    });
    assert.ok(terminated >= 1);
    while (res === null) await new Promise((r) => setTimeout(r, 20));
    const failed = res as ApiResponse;
    assert.equal(failed.status, 503, failed.text);
    assert.match(failed.body.errors[0], /^storage unavailable: terminating connection due to administrator command$/);
    assert.ok(!failed.text.includes('never-stored-value') && !failed.text.includes(' at '), 'no value, no stack');
    const read = await c().get('secret/data/app');
    assert.deepEqual([read.body.data.data.password, read.body.data.metadata.version], [secretValue, 2]);
    assert.equal((await c().get('secret/metadata/app')).body.data.current_version, 2);
    const next = await c().post('secret/data/app', { data: { password: secretValue, round: '3' } });
    assert.equal(next.status, 200, next.text);
    assert.equal(next.body.data.version, 3);
  });

  await t.test('after a restart (sealed, then unsealed with the same key) everything is there', async () => {
    assert.equal(await stop('SIGTERM'), 0);
    proc = await spawnServer([`-config=${configFile}`, '-log-level=error']);
    addr = proc.addr;
    assert.equal((await anon().get('sys/seal-status')).body.sealed, true);
    assert.equal((await anon().put('sys/unseal', { key: unsealKey })).body.sealed, false);
    const read = await c().get('secret/data/app');
    assert.deepEqual([read.body.data.data.password, read.body.data.metadata.version], [secretValue, 3]);
    const self = await client(addr, childToken).get('auth/token/lookup-self');
    assert.equal(self.status, 200, self.text);
    assert.deepEqual(self.body.data.policies, ['default']);
    const lookup = await c().put('sys/leases/lookup', { lease_id: lease.id });
    assert.equal(lookup.status, 200, lookup.text);
    assert.ok(lookup.body.data.ttl > 3000);
    ok(await c().put('sys/leases/revoke', { lease_id: lease.id }), 'revoke');
    const admin = await db.admin();
    assert.equal((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [lease.username])).rowCount, 0, 'revoked user dropped');
  });
});

test('start-up refusals: PostgreSQL unreachable (log lines, then exit 1), a foreign table, no connection URL', async () => {
  const port = await freePort();
  const unreachable = writeConfig('unreachable', pgStanza(`postgresql://postgres@127.0.0.1:${port}/x`, '  connect_attempts = 3\n'));
  await assert.rejects(spawnServer([`-config=${unreachable}`, '-log-level=warn']), (err: Error) => {
    assert.match(err.message, /server exited \(1\)/);
    assert.equal(err.message.match(/postgresql: unreachable \(ECONNREFUSED/g)?.length, 2, err.message);
    assert.match(err.message, /retrying in 1s[\s\S]*retrying in 2s/);
    assert.match(err.message, new RegExp(`Error starting server: PostgreSQL unreachable after 3 attempts: ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    assert.ok(!/\n\s+at /.test(err.message), 'no stack trace');
    return true;
  });

  const admin = await db.admin();
  await admin.query('CREATE TABLE app_data (id serial, body text)');
  const foreign = writeConfig('foreign', pgStanza(db.url(), '  table = "app_data"\n'));
  await assert.rejects(spawnServer([`-config=${foreign}`, '-log-level=error']), /Error starting server: table "app_data" exists with another shape \(id integer, body text\)/);

  const viaEnv = writeConfig('env', 'storage "postgresql" {}');
  await assert.rejects(spawnServer([`-config=${viaEnv}`]), /needs connection_url \(or COFFER_PG_CONNECTION_URL/);
});
