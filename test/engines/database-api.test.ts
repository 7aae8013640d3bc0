/**
 * Issue 4's acceptance tests, end to end: a live coffer server (in this process, on a random port) driven only
 * through its HTTP API (`sys/mounts/database`, `database/config/:name`, `database/roles/:name`,
 * `database/creds/:role`, `database/rotate-root/:name`, `sys/leases/*`, `sys/audit/*`), against the real
 * databases: a private PostgreSQL cluster with scram-sha-256 (so that passwords are really checked), the machine's
 * MariaDB (127.0.0.1:3306) and Redis (127.0.0.1:6379). Every group creates its own databases/users with random
 * suffixes and drops them. Independent groups run concurrently.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { MAX_ATTEMPTS } from '../../src/core/leases/manager.js';
import type { DatabaseBackend } from '../../src/engines/database/index.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import type { ServerConfig } from '../../src/server/config.js';
import { freePort, startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';
import { bringUp, takeDown } from '../helpers/pg-cluster-control.js';
import { client, startDevServer, type ApiResponse, type TestServer } from '../helpers/server.js';

// ---- helpers ---------------------------------------------------------------------------------------------

type Client = ReturnType<typeof client>;

const sfx = () => randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000, step = 100): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await sleep(step);
  }
  assert.fail(`not reached within ${ms} ms: ${what}`);
}

const lookup = (c: Client, leaseId: string) => c.put('sys/leases/lookup', { lease_id: leaseId });
const leaseGone = async (c: Client, leaseId: string) => (await lookup(c, leaseId)).status === 400;
const errorText = (res: ApiResponse) => ((res.body?.errors ?? []) as string[]).join('; ');

function expectStatus(res: ApiResponse, status: number, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.text}`);
}

/** A dev server with the database engine mounted at database/. */
async function devServerWithDatabase(): Promise<{ srv: TestServer; c: Client }> {
  const srv = await startDevServer();
  const c = client(srv.addr, srv.token);
  expectStatus(await c.post('sys/mounts/database', { type: 'database' }), 204, 'mount database');
  return { srv, c };
}

/** Reads creds and checks the lease envelope. */
async function creds(c: Client, role: string): Promise<{ leaseId: string; duration: number; username: string; password: string; body: any }> {
  const res = await c.get(`database/creds/${role}`);
  expectStatus(res, 200, `creds/${role}`);
  assert.match(res.body.lease_id, new RegExp(`^database/creds/${role}/[A-Za-z0-9]+$`));
  assert.equal(res.body.renewable, true);
  assert.equal(typeof res.body.data.username, 'string');
  assert.equal(typeof res.body.data.password, 'string');
  return { leaseId: res.body.lease_id, duration: res.body.lease_duration, username: res.body.data.username, password: res.body.data.password, body: res.body };
}

// PostgreSQL

async function pgConnect(port: number, database: string, user: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (err) {
    await c.end().catch(() => undefined);
    throw err;
  }
  return c;
}

/** The login error's message; fails the test when the login succeeds. */
async function pgLoginFails(port: number, database: string, user: string, password: string): Promise<string> {
  try {
    const c = await pgConnect(port, database, user, password);
    await c.end();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`PostgreSQL login as ${user} should have failed`);
}

async function pgRoleExists(cluster: PgCluster, name: string): Promise<boolean> {
  const c = await pgConnect(cluster.port, 'postgres', 'postgres', cluster.password);
  try {
    return ((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0;
  } finally {
    await c.end();
  }
}

async function pgRolesLike(cluster: PgCluster, pattern: string): Promise<string[]> {
  const c = await pgConnect(cluster.port, 'postgres', 'postgres', cluster.password);
  try {
    return (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [pattern])).rows.map((r) => r.rolname);
  } finally {
    await c.end();
  }
}

async function pgAdmin(cluster: PgCluster, sql: string, database = 'postgres'): Promise<void> {
  const c = await pgConnect(cluster.port, database, 'postgres', cluster.password);
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates a database with a table `items` (two rows). */
async function pgCreateAppDb(cluster: PgCluster, db: string): Promise<void> {
  await pgAdmin(cluster, `CREATE DATABASE ${db}`);
  await pgAdmin(cluster, `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two')`, db);
}

const pgUrl = (cluster: PgCluster, db: string, port = cluster.port) =>
  `postgresql://{{username}}:{{password}}@127.0.0.1:${port}/${db}?sslmode=disable`;

const pgConfig = (cluster: PgCluster, db: string, extra: Record<string, unknown> = {}) => ({
  plugin_name: 'postgresql-database-plugin',
  connection_url: pgUrl(cluster, db),
  username: 'postgres',
  password: cluster.password,
  allowed_roles: '*',
  ...extra,
});

const PG_READONLY = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; `
  + 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";';

/** Logs in as `user`, reads items, and checks that an INSERT is refused. */
async function pgReadOnlyWorks(cluster: PgCluster, db: string, user: string, password: string): Promise<void> {
  const c = await pgConnect(cluster.port, db, user, password);
  try {
    const rows = await c.query('SELECT id, name FROM items ORDER BY id');
    assert.deepEqual(rows.rows, [{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    await assert.rejects(c.query(`INSERT INTO items VALUES (99, 'nope')`), (err: any) => {
      assert.equal(err.code, '42501');
      assert.match(err.message, /permission denied for table items/);
      return true;
    });
  } finally {
    await c.end();
  }
}

// MariaDB

const MYSQL_DSN = (port = 3306) => `{{username}}:{{password}}@tcp(127.0.0.1:${port})/`;

async function myLogin(user: string, password: string, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user, password, database, connectTimeout: 5000 });
}

async function myLoginFails(user: string, password: string): Promise<string> {
  try {
    const c = await myLogin(user, password);
    await c.end();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`MariaDB login as ${user} should have failed`);
}

// Redis

function redisConn(username?: string, password?: string): Redis {
  const r = new Redis({
    host: '127.0.0.1', port: 6379, username, password, lazyConnect: true, enableReadyCheck: false,
    retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5000,
  });
  r.on('error', () => undefined);
  return r;
}

async function redisLoginFails(username: string, password: string): Promise<string> {
  // AUTH on a fresh unauthenticated connection, so that the server's own answer comes back.
  const r = redisConn();
  try {
    await r.connect();
    await r.call('AUTH', username, password);
  } catch (err) {
    return (err as Error).message;
  } finally {
    r.disconnect();
  }
  assert.fail(`Redis login as ${username} should have failed`);
}

// Secrets in text

/** Every form a secret could take in a log line or body: plain, JSON-escaped, URL-encoded, base64(url), hex. */
function secretForms(secret: string): string[] {
  const b = Buffer.from(secret);
  return [...new Set([
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    b.toString('base64').replace(/=+$/, ''),
    b.toString('base64url'),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
  ])];
}

function assertNoSecrets(haystack: string, secrets: Record<string, string>, where: string): void {
  for (const [label, secret] of Object.entries(secrets)) {
    for (const form of secretForms(secret)) {
      assert.ok(!haystack.includes(form), `${where} contains ${label} (${form === secret ? 'in clear' : `encoded as ${form}`})`);
    }
  }
}

// ---- the tests -------------------------------------------------------------------------------------------

describe('database engine end to end through the HTTP API', { concurrency: true, timeout: 120_000 }, () => {
  /** The private scram-sha-256 cluster shared by the PostgreSQL groups that never stop it. */
  let pgc: PgCluster;

  before(async () => {
    pgc = await startPgCluster();
  });

  after(async () => {
    await pgc?.stop();
  });

  // 1 + 3 -------------------------------------------------------------------------------------------------

  describe('PostgreSQL: the seed example, and token revocation', { concurrency: false }, () => {
    const db = `seed_${sfx()}`;
    let srv: TestServer;
    let c: Client;

    before(async () => {
      await pgCreateAppDb(pgc, db);
      ({ srv, c } = await devServerWithDatabase());
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
    });

    it('my-api-readonly: creds log in, SELECT works, INSERT is refused; revoke locks the user out and drops it', async () => {
      expectStatus(await c.post('database/config/my-postgresql-database', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: pgUrl(pgc, db),
        username: 'postgres',
        password: pgc.password,
        allowed_roles: 'my-api-readonly',
      }), 204, 'config');
      expectStatus(await c.post('database/roles/my-api-readonly', {
        db_name: 'my-postgresql-database',
        creation_statements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
        ],
        revocation_statements: ['DROP ROLE IF EXISTS "{{name}}";'],
        default_ttl: '1h',
        max_ttl: '24h',
      }), 204, 'role');

      const cred = await creds(c, 'my-api-readonly');
      assert.match(cred.leaseId, /^database\/creds\/my-api-readonly\/[A-Za-z0-9]+$/);
      assert.equal(cred.duration, 3600);
      assert.ok(await pgRoleExists(pgc, cred.username));
      await pgReadOnlyWorks(pgc, db, cred.username, cred.password);
      const look = await lookup(c, cred.leaseId);
      expectStatus(look, 200, 'lookup');
      assert.ok(look.body.data.ttl > 3590 && look.body.data.ttl <= 3600);

      // An open session of the user is cut when the lease is revoked.
      const session = await pgConnect(pgc.port, db, cred.username, cred.password);
      expectStatus(await c.put('sys/leases/revoke', { lease_id: cred.leaseId }), 204, 'revoke');
      await assert.rejects(session.query('SELECT 1'));
      await session.end().catch(() => undefined);
      assert.match(await pgLoginFails(pgc.port, db, cred.username, cred.password), /password authentication failed|does not exist/);
      assert.equal(await pgRoleExists(pgc, cred.username), false);
      assert.ok(await leaseGone(c, cred.leaseId));
    });

    it('revoking the token that read the creds drops the database user', async () => {
      expectStatus(await c.post('database/roles/token-owned', { db_name: 'my-postgresql-database', creation_statements: PG_READONLY, default_ttl: '1h' }), 204, 'role');
      expectStatus(await c.post('database/config/my-postgresql-database', { allowed_roles: 'my-api-readonly,token-owned' }), 204, 'allowed_roles');
      expectStatus(await c.put('sys/policies/acl/dbcreds', { policy: 'path "database/creds/*" { capabilities = ["read"] }' }), 204, 'policy');
      const made = await c.post('auth/token/create', { policies: ['dbcreds'] });
      expectStatus(made, 200, 'token');
      const childToken = made.body.auth.client_token as string;
      const child = client(srv.addr, childToken);
      const cred = await creds(child, 'token-owned');
      await pgReadOnlyWorks(pgc, db, cred.username, cred.password);

      expectStatus(await c.post('auth/token/revoke', { token: childToken }), 204, 'revoke token');
      await until('user dropped after its token was revoked', async () => !(await pgRoleExists(pgc, cred.username)), 5000);
      assert.ok(await leaseGone(c, cred.leaseId));
      await pgLoginFails(pgc.port, db, cred.username, cred.password);
    });
  });

  // 2: PostgreSQL -------------------------------------------------------------------------------------------

  describe('PostgreSQL: read-only creds, revoke, TTL expiry, renew up to max_ttl', { concurrency: true }, () => {
    const db = `ro_${sfx()}`;
    let srv: TestServer;
    let c: Client;

    before(async () => {
      await pgCreateAppDb(pgc, db);
      ({ srv, c } = await devServerWithDatabase());
      expectStatus(await c.post('database/config/pg', pgConfig(pgc, db)), 204, 'config');
      expectStatus(await c.post('database/roles/ro', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '1h', max_ttl: '2h' }), 204, 'role ro');
      expectStatus(await c.post('database/roles/short', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '2s', max_ttl: '1m' }), 204, 'role short');
      expectStatus(await c.post('database/roles/renew', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '2s', max_ttl: '5s' }), 204, 'role renew');
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
    });

    it('a read-only credential reads and cannot write; after revoke it cannot log in and the role is gone', async () => {
      const cred = await creds(c, 'ro');
      assert.equal(cred.duration, 3600);
      await pgReadOnlyWorks(pgc, db, cred.username, cred.password);
      expectStatus(await c.put('sys/leases/revoke', { lease_id: cred.leaseId }), 204, 'revoke');
      await pgLoginFails(pgc.port, db, cred.username, cred.password);
      assert.equal(await pgRoleExists(pgc, cred.username), false);
      assert.ok(await leaseGone(c, cred.leaseId));
    });

    it('TTL expiry (default_ttl 2s): the role is dropped and the lease is gone within seconds', async () => {
      const cred = await creds(c, 'short');
      assert.equal(cred.duration, 2);
      await pgReadOnlyWorks(pgc, db, cred.username, cred.password);
      const issued = Date.now();
      await until('expired user dropped', async () => !(await pgRoleExists(pgc, cred.username)), 8000);
      assert.ok(Date.now() - issued >= 1500, 'not dropped before its TTL');
      await until('expired lease gone from lookup', () => leaseGone(c, cred.leaseId), 3000);
      await pgLoginFails(pgc.port, db, cred.username, cred.password);
      assert.equal((await c.list('sys/leases/lookup/database/creds/short/')).status, 404);
    });

    it('renew moves the expiry (and VALID UNTIL) and stops at the role\'s max_ttl', async () => {
      const cred = await creds(c, 'renew');
      assert.equal(cred.duration, 2);
      const first = (await lookup(c, cred.leaseId)).body.data;
      const issueTime = Date.parse(first.issue_time);
      const validUntil = async () => {
        const a = await pgConnect(pgc.port, 'postgres', 'postgres', pgc.password);
        try {
          return Date.parse((await a.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [cred.username])).rows[0].rolvaliduntil);
        } finally {
          await a.end();
        }
      };
      const validBefore = await validUntil();

      const renewed = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3 });
      expectStatus(renewed, 200, 'renew');
      assert.equal(renewed.body.lease_id, cred.leaseId);
      assert.equal(renewed.body.lease_duration, 3);
      const second = (await lookup(c, cred.leaseId)).body.data;
      assert.ok(Date.parse(second.expire_time) > Date.parse(first.expire_time) + 500, 'expiry moved');
      assert.ok(second.last_renewal);
      assert.ok((await validUntil()) > validBefore + 500, 'VALID UNTIL moved in PostgreSQL');

      const capped = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3600 });
      expectStatus(capped, 200, 'renew past max');
      assert.ok(capped.body.lease_duration <= 5 && capped.body.lease_duration >= 1, `capped at max_ttl: ${capped.body.lease_duration}`);
      const third = (await lookup(c, cred.leaseId)).body.data;
      assert.ok(Date.parse(third.expire_time) <= issueTime + 5000 + 1000, 'never past issue + max_ttl');

      // Alive past its original 2 s TTL, gone once max_ttl is reached.
      await sleep(Math.max(0, issueTime + 2600 - Date.now()));
      expectStatus(await lookup(c, cred.leaseId), 200, 'lookup after original TTL');
      await pgReadOnlyWorks(pgc, db, cred.username, cred.password);
      await until('dropped at max_ttl', async () => !(await pgRoleExists(pgc, cred.username)), issueTime + 12_000 - Date.now());
      assert.ok(Date.now() >= issueTime + 4000, 'not dropped well before max_ttl');
      await until('lease gone at max_ttl', () => leaseGone(c, cred.leaseId), 3000);
      const late = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3 });
      expectStatus(late, 400, 'renew after max_ttl');
    });
  });

  // 2: MariaDB ----------------------------------------------------------------------------------------------

  describe('MariaDB: read-only creds, revoke, TTL expiry, renew up to max_ttl', { concurrency: true }, () => {
    const db = `coffer_api_${sfx()}`;
    let root: mysql.Connection;
    let srv: TestServer;
    let c: Client;
    const userExists = async (user: string) => ((await root.query('SELECT 1 FROM mysql.user WHERE User = ?', [user]))[0] as unknown[]).length > 0;
    const creation = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON ${db}.* TO '{{name}}'@'%';`;
    const readOnlyWorks = async (user: string, password: string) => {
      const conn = await myLogin(user, password, db);
      try {
        const [rows] = await conn.query('SELECT id, name FROM items ORDER BY id');
        assert.deepEqual(JSON.parse(JSON.stringify(rows)), [{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
        await assert.rejects(conn.query(`INSERT INTO items VALUES (99, 'nope')`), /INSERT command denied/);
      } finally {
        await conn.end();
      }
    };

    before(async () => {
      root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '', multipleStatements: true });
      await root.query(`CREATE DATABASE ${db}; CREATE TABLE ${db}.items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO ${db}.items VALUES (1, 'one'), (2, 'two');`);
      ({ srv, c } = await devServerWithDatabase());
      expectStatus(await c.post('database/config/maria', {
        plugin_name: 'mysql-database-plugin', connection_url: MYSQL_DSN(), username: 'root', password: '', allowed_roles: '*',
      }), 204, 'config');
      expectStatus(await c.post('database/roles/ro', { db_name: 'maria', creation_statements: creation, default_ttl: '1h' }), 204, 'role ro');
      expectStatus(await c.post('database/roles/short', { db_name: 'maria', creation_statements: creation, default_ttl: '2s', max_ttl: '1m' }), 204, 'role short');
      expectStatus(await c.post('database/roles/renew', { db_name: 'maria', creation_statements: creation, default_ttl: '2s', max_ttl: '5s' }), 204, 'role renew');
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
      await root?.query(`DROP DATABASE IF EXISTS ${db}`);
      await root?.end();
    });

    it('a read-only credential reads and cannot write; after revoke it cannot log in and the user is gone', async () => {
      const cred = await creds(c, 'ro');
      assert.equal(cred.duration, 3600);
      assert.ok(await userExists(cred.username));
      await readOnlyWorks(cred.username, cred.password);
      expectStatus(await c.put('sys/leases/revoke', { lease_id: cred.leaseId }), 204, 'revoke');
      assert.match(await myLoginFails(cred.username, cred.password), /Access denied/);
      assert.equal(await userExists(cred.username), false);
      assert.ok(await leaseGone(c, cred.leaseId));
    });

    it('TTL expiry (default_ttl 2s): the user is dropped and the lease is gone within seconds', async () => {
      const cred = await creds(c, 'short');
      assert.equal(cred.duration, 2);
      await readOnlyWorks(cred.username, cred.password);
      await until('expired user dropped', async () => !(await userExists(cred.username)), 8000);
      await until('expired lease gone from lookup', () => leaseGone(c, cred.leaseId), 3000);
      assert.match(await myLoginFails(cred.username, cred.password), /Access denied/);
    });

    it('renew moves the expiry and stops at the role\'s max_ttl', async () => {
      const cred = await creds(c, 'renew');
      const first = (await lookup(c, cred.leaseId)).body.data;
      const issueTime = Date.parse(first.issue_time);
      const renewed = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3 });
      expectStatus(renewed, 200, 'renew');
      assert.equal(renewed.body.lease_duration, 3);
      assert.ok(Date.parse((await lookup(c, cred.leaseId)).body.data.expire_time) > Date.parse(first.expire_time) + 500);
      const capped = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3600 });
      expectStatus(capped, 200, 'renew past max');
      assert.ok(capped.body.lease_duration <= 5 && capped.body.lease_duration >= 1, `capped: ${capped.body.lease_duration}`);
      assert.ok(Date.parse((await lookup(c, cred.leaseId)).body.data.expire_time) <= issueTime + 6000);
      await sleep(Math.max(0, issueTime + 2600 - Date.now()));
      await readOnlyWorks(cred.username, cred.password);
      await until('dropped at max_ttl', async () => !(await userExists(cred.username)), issueTime + 12_000 - Date.now());
      assert.ok(Date.now() >= issueTime + 4000);
      await until('lease gone', () => leaseGone(c, cred.leaseId), 3000);
      expectStatus(await c.put('sys/leases/renew', { lease_id: cred.leaseId }), 400, 'renew after max_ttl');
    });
  });

  // 2: Redis ------------------------------------------------------------------------------------------------

  describe('Redis: read-only creds, revoke, TTL expiry, renew up to max_ttl', { concurrency: true }, () => {
    const adminUser = `coffer_api_adm_${sfx()}`;
    const adminPassword = `adm-${randomBytes(12).toString('hex')}`;
    const key = `coffer:api:${sfx()}`;
    let admin: Redis;
    let srv: TestServer;
    let c: Client;
    const aclUser = async (name: string) => (await admin.call('ACL', 'GETUSER', name)) as unknown;
    const readOnlyWorks = async (user: string, password: string) => {
      const r = redisConn(user, password);
      try {
        await r.connect();
        assert.equal(await r.get(key), 'hello');
        await assert.rejects(r.set(key, 'changed'), /NOPERM/);
      } finally {
        r.disconnect();
      }
      assert.equal(await admin.get(key), 'hello');
    };

    before(async () => {
      admin = redisConn();
      await admin.connect();
      await admin.call('ACL', 'SETUSER', adminUser, 'on', `>${adminPassword}`, '~*', '&*', '+@all');
      await admin.set(key, 'hello');
      ({ srv, c } = await devServerWithDatabase());
      expectStatus(await c.post('database/config/redis', {
        plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 6379, username: adminUser, password: adminPassword, allowed_roles: '*',
      }), 204, 'config');
      const rules = JSON.stringify(['~*', '+@read']);
      expectStatus(await c.post('database/roles/ro', { db_name: 'redis', creation_statements: rules, default_ttl: '1h' }), 204, 'role ro');
      expectStatus(await c.post('database/roles/short', { db_name: 'redis', creation_statements: rules, default_ttl: '2s', max_ttl: '1m' }), 204, 'role short');
      expectStatus(await c.post('database/roles/renew', { db_name: 'redis', creation_statements: rules, default_ttl: '2s', max_ttl: '5s' }), 204, 'role renew');
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
      if (admin) {
        await admin.del(key);
        await admin.call('ACL', 'DELUSER', adminUser);
        admin.disconnect();
      }
    });

    it('a read-only credential can GET but not SET; after revoke it cannot log in and the ACL user is gone', async () => {
      const cred = await creds(c, 'ro');
      assert.equal(cred.duration, 3600);
      assert.notEqual(await aclUser(cred.username), null);
      await readOnlyWorks(cred.username, cred.password);
      expectStatus(await c.put('sys/leases/revoke', { lease_id: cred.leaseId }), 204, 'revoke');
      assert.match(await redisLoginFails(cred.username, cred.password), /WRONGPASS|invalid username-password/);
      assert.equal(await aclUser(cred.username), null);
      assert.ok(await leaseGone(c, cred.leaseId));
    });

    it('TTL expiry (default_ttl 2s): the ACL user is deleted and the lease is gone within seconds', async () => {
      const cred = await creds(c, 'short');
      assert.equal(cred.duration, 2);
      await readOnlyWorks(cred.username, cred.password);
      await until('expired ACL user deleted', async () => (await aclUser(cred.username)) === null, 8000);
      await until('expired lease gone from lookup', () => leaseGone(c, cred.leaseId), 3000);
      await redisLoginFails(cred.username, cred.password);
    });

    it('renew moves the expiry and stops at the role\'s max_ttl', async () => {
      const cred = await creds(c, 'renew');
      const first = (await lookup(c, cred.leaseId)).body.data;
      const issueTime = Date.parse(first.issue_time);
      const renewed = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3 });
      expectStatus(renewed, 200, 'renew');
      assert.equal(renewed.body.lease_duration, 3);
      assert.ok(Date.parse((await lookup(c, cred.leaseId)).body.data.expire_time) > Date.parse(first.expire_time) + 500);
      const capped = await c.put('sys/leases/renew', { lease_id: cred.leaseId, increment: 3600 });
      expectStatus(capped, 200, 'renew past max');
      assert.ok(capped.body.lease_duration <= 5 && capped.body.lease_duration >= 1, `capped: ${capped.body.lease_duration}`);
      assert.ok(Date.parse((await lookup(c, cred.leaseId)).body.data.expire_time) <= issueTime + 6000);
      await sleep(Math.max(0, issueTime + 2600 - Date.now()));
      await readOnlyWorks(cred.username, cred.password);
      await until('deleted at max_ttl', async () => (await aclUser(cred.username)) === null, issueTime + 12_000 - Date.now());
      assert.ok(Date.now() >= issueTime + 4000);
      await until('lease gone', () => leaseGone(c, cred.leaseId), 3000);
      expectStatus(await c.put('sys/leases/renew', { lease_id: cred.leaseId }), 400, 'renew after max_ttl');
    });
  });

  // 4 -------------------------------------------------------------------------------------------------------

  describe('restart with outstanding leases (file-backed server)', { concurrency: false }, () => {
    const db = `rs_${sfx()}`;
    let dir: string;
    let srv: RunningServer | null = null;

    before(async () => {
      await pgCreateAppDb(pgc, db);
      dir = mkdtempSync(path.join(tmpdir(), 'coffer-db-restart-'));
    });

    after(async () => {
      await srv?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('leases are still listed; the one that expired while down is revoked within seconds of unseal', async () => {
      const config: ServerConfig = {
        listeners: [{ address: '127.0.0.1:0', tlsDisable: true, maxRequestSize: 1 << 20 }],
        storage: { type: 'sqlite', path: path.join(dir, 'coffer.db') },
        defaultLeaseTTL: 3600,
        maxLeaseTTL: 7200,
        ui: false,
        logLevel: 'silent',
      };
      srv = await startServer(config);
      let anon = client(srv.addresses[0], null);
      const init = await anon.put('sys/init', { secret_shares: 1, secret_threshold: 1 });
      expectStatus(init, 200, 'init');
      expectStatus(await anon.put('sys/unseal', { key: init.body.keys[0] }), 200, 'unseal');
      let c = client(srv.addresses[0], init.body.root_token);
      expectStatus(await c.post('sys/mounts/database', { type: 'database' }), 204, 'mount');
      expectStatus(await c.post('database/config/pg', pgConfig(pgc, db)), 204, 'config');
      expectStatus(await c.post('database/roles/short', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '3s' }), 204, 'role short');
      expectStatus(await c.post('database/roles/long', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '1h' }), 204, 'role long');
      const short = await creds(c, 'short');
      const long = await creds(c, 'long');
      assert.equal(short.duration, 3);
      const shortExpiry = Date.parse((await lookup(c, short.leaseId)).body.data.expire_time);

      await srv.close();
      srv = null;
      await sleep(Math.max(0, shortExpiry + 500 - Date.now())); // the short lease expires while coffer is down
      assert.ok(await pgRoleExists(pgc, short.username), 'nobody revoked it while the server was down');

      srv = await startServer(config);
      anon = client(srv.addresses[0], null);
      expectStatus(await anon.put('sys/unseal', { key: init.body.keys[0] }), 200, 'unseal after restart');
      const unsealedAt = Date.now();
      c = client(srv.addresses[0], init.body.root_token);

      const listed = await c.list('sys/leases/lookup/database/creds/');
      expectStatus(listed, 200, 'list after restart');
      assert.ok(listed.body.data.keys.includes('long/'), `long lease listed: ${listed.text}`);
      // The short one is either still listed or already revoked, never anything else.
      assert.ok(listed.body.data.keys.every((k: string) => k === 'long/' || k === 'short/'), listed.text);

      await until('overdue user dropped after unseal', async () => !(await pgRoleExists(pgc, short.username)), 6000);
      assert.ok(Date.now() - unsealedAt <= 6000, `revoked ${Date.now() - unsealedAt} ms after unseal`);
      await until('overdue lease gone', () => leaseGone(c, short.leaseId), 2000);
      await pgLoginFails(pgc.port, db, short.username, short.password);

      await pgReadOnlyWorks(pgc, db, long.username, long.password);
      const longList = await c.list('sys/leases/lookup/database/creds/long/');
      expectStatus(longList, 200, 'list long');
      assert.deepEqual(longList.body.data.keys, [long.leaseId.split('/').pop()]);
      const longLook = await lookup(c, long.leaseId);
      expectStatus(longLook, 200, 'lookup long');
      assert.ok(longLook.body.data.ttl > 3500);

      expectStatus(await c.put('sys/leases/revoke', { lease_id: long.leaseId }), 204, 'revoke long');
      assert.equal(await pgRoleExists(pgc, long.username), false);
    });
  });

  // 5 -------------------------------------------------------------------------------------------------------

  describe('database down during revocation', { concurrency: true }, () => {
    let down: PgCluster;
    let gone: PgCluster;
    const db = `dn_${sfx()}`;

    before(async () => {
      [down, gone] = await Promise.all([startPgCluster(), startPgCluster()]);
      await Promise.all([pgCreateAppDb(down, db), pgCreateAppDb(gone, db)]);
    });

    after(async () => {
      await Promise.all([down?.stop(), gone?.stop()]);
    });

    describe('PostgreSQL down, then back', { concurrency: false }, () => {
      it('an expired lease keeps retrying while PostgreSQL is down and is revoked once it is back', async () => {
        const { srv, c } = await devServerWithDatabase();
        try {
          srv.server.core.leases.retryBaseMs = 400; // retries at +0.4, +1.2, +2.8, +6 s ... (irrevocable after 6)
          expectStatus(await c.post('database/config/pg', pgConfig(down, db)), 204, 'config');
          expectStatus(await c.post('database/roles/blip', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '2s' }), 204, 'role');
          const cred = await creds(c, 'blip');
          await pgReadOnlyWorks(down, db, cred.username, cred.password);

          await takeDown(down);
          let look: ApiResponse | null = null;
          await until('a failed revocation recorded', async () => {
            look = await lookup(c, cred.leaseId);
            return look.status === 200 && look.body.data.revoke_attempts > 0;
          }, 8000);
          const data = look!.body.data;
          assert.equal(data.irrevocable, false);
          assert.match(data.revoke_error, /ECONNREFUSED|Connection terminated|terminating connection/, `driver error: ${data.revoke_error}`);
          assert.equal(data.ttl, 0);
          const listed = await c.list('sys/leases/lookup/database/creds/blip/');
          assert.deepEqual(listed.body.data.keys, [cred.leaseId.split('/').pop()], 'still stored');

          await bringUp(down);
          await until('revoked once the database is back', () => leaseGone(c, cred.leaseId), 10_000);
          assert.equal(await pgRoleExists(down, cred.username), false);
          await pgLoginFails(down.port, db, cred.username, cred.password);
        } finally {
          await srv.close();
        }
      });

      it('revoking a token while PostgreSQL is down: the token is revoked, its lease retries and drops the user once the database is back', async () => {
        const { srv, c } = await devServerWithDatabase();
        try {
          srv.server.core.leases.retryBaseMs = 400;
          expectStatus(await c.post('database/config/pg', pgConfig(down, db)), 204, 'config');
          expectStatus(await c.post('database/roles/owned', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '1h' }), 204, 'role');
          expectStatus(await c.put('sys/policies/acl/dbcreds', { policy: 'path "database/creds/*" { capabilities = ["read"] }' }), 204, 'policy');
          const childToken = (await c.post('auth/token/create', { policies: ['dbcreds'] })).body.auth.client_token as string;
          const cred = await creds(client(srv.addr, childToken), 'owned');
          await pgReadOnlyWorks(down, db, cred.username, cred.password);

          await takeDown(down);
          expectStatus(await c.post('auth/token/revoke', { token: childToken }), 204, 'revoke token while the database is down');
          expectStatus(await client(srv.addr, childToken).get('auth/token/lookup-self'), 403, 'token is revoked');
          await until('a failed revocation recorded', async () => (await lookup(c, cred.leaseId)).body?.data?.revoke_attempts > 0, 8000);

          await bringUp(down);
          await until('user dropped once the database is back', () => leaseGone(c, cred.leaseId), 10_000);
          assert.equal(await pgRoleExists(down, cred.username), false);
        } finally {
          await srv.close();
        }
      });
    });

    it('a database that never comes back leaves the lease irrevocable: visible, counted, stored; revoke-force removes it', async () => {
      const { srv, c } = await devServerWithDatabase();
      try {
        srv.server.core.leases.retryBaseMs = 100; // 6 attempts within ~3 s
        expectStatus(await c.post('database/config/pg', pgConfig(gone, db)), 204, 'config');
        expectStatus(await c.post('database/roles/lost', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '1s' }), 204, 'role');
        const cred = await creds(c, 'lost');
        await pgReadOnlyWorks(gone, db, cred.username, cred.password);
        await takeDown(gone);

        let look: ApiResponse | null = null;
        await until('lease marked irrevocable', async () => {
          look = await lookup(c, cred.leaseId);
          return look.status === 200 && look.body.data.irrevocable === true;
        }, 15_000);
        const data = look!.body.data;
        assert.equal(data.revoke_attempts, MAX_ATTEMPTS);
        assert.match(data.revoke_error, /ECONNREFUSED|Connection terminated|terminating connection/);
        assert.equal(data.renewable, false);
        const count = await c.get('sys/leases/count');
        expectStatus(count, 200, 'count');
        assert.equal(count.body.data.irrevocable, 1);
        assert.deepEqual((await c.list('sys/leases/lookup/database/creds/lost/')).body.data.keys, [cred.leaseId.split('/').pop()]);
        await sleep(500);
        expectStatus(await lookup(c, cred.leaseId), 200, 'still stored, not dropped silently');

        expectStatus(await c.put('sys/leases/revoke-prefix/database/creds/lost'), 400, 'revoke-prefix cannot revoke it');
        expectStatus(await lookup(c, cred.leaseId), 200, 'still stored after a failed revoke-prefix');
        expectStatus(await c.put('sys/leases/revoke-force/database/creds/lost'), 204, 'revoke-force');
        assert.ok(await leaseGone(c, cred.leaseId));
        assert.equal((await c.get('sys/leases/count')).body.data.irrevocable, 0);
        assert.equal((await c.list('sys/leases/lookup/database/creds/lost/')).status, 404);
      } finally {
        await srv.close();
      }
    });
  });

  // 6 -------------------------------------------------------------------------------------------------------

  describe('rotate-root through the API', { concurrency: false }, () => {
    const db = `rot_${sfx()}`;
    const rootUser = `coffer_root_${sfx()}`;
    const rootPassword = `rp-${randomBytes(12).toString('hex')}`;
    let srv: TestServer;
    let c: Client;

    before(async () => {
      await pgCreateAppDb(pgc, db);
      await pgAdmin(pgc, `CREATE ROLE ${rootUser} WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
      ({ srv, c } = await devServerWithDatabase());
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
      await pgAdmin(pgc, `DROP ROLE IF EXISTS ${rootUser}`).catch(() => undefined);
    });

    it('the original root password stops working; creds issued before and after keep working', async () => {
      expectStatus(await c.post('database/config/pg', pgConfig(pgc, db, { username: rootUser, password: rootPassword })), 204, 'config');
      expectStatus(await c.post('database/roles/ro', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '1h' }), 204, 'role');
      const before = await creds(c, 'ro');
      await (await pgConnect(pgc.port, db, rootUser, rootPassword)).end();

      expectStatus(await c.post('database/rotate-root/pg', {}), 204, 'rotate-root');
      assert.match(await pgLoginFails(pgc.port, db, rootUser, rootPassword), /password authentication failed for user "coffer_root_/);
      const read = await c.get('database/config/pg');
      expectStatus(read, 200, 'config read');
      assert.equal('password' in read.body.data.connection_details, false);
      assert.ok(!read.text.includes(rootPassword));

      await pgReadOnlyWorks(pgc, db, before.username, before.password);
      const afterRotation = await creds(c, 'ro');
      await pgReadOnlyWorks(pgc, db, afterRotation.username, afterRotation.password);

      // coffer still administers the database with the password only it knows.
      expectStatus(await c.put('sys/leases/revoke-prefix/database/creds/ro'), 204, 'revoke-prefix');
      assert.equal(await pgRoleExists(pgc, before.username), false);
      assert.equal(await pgRoleExists(pgc, afterRotation.username), false);
      await pgLoginFails(pgc.port, db, before.username, before.password);
    });
  });

  // 7 -------------------------------------------------------------------------------------------------------

  describe('bad input through the API', { concurrency: false }, () => {
    const db = `bad_${sfx()}`;
    const myDb = `coffer_bad_${sfx()}`;
    const myAdmin = `coffer_adm_${sfx()}`;
    const myAdminPassword = `ma-${randomBytes(10).toString('hex')}`;
    const redisAdmin = `coffer_api_bad_${sfx()}`;
    const redisAdminPassword = `ra-${randomBytes(10).toString('hex')}`;
    let root: mysql.Connection;
    let redisRoot: Redis;
    let srv: TestServer;
    let c: Client;

    before(async () => {
      await pgCreateAppDb(pgc, db);
      root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '', multipleStatements: true });
      await root.query(`CREATE DATABASE ${myDb}; CREATE TABLE ${myDb}.rollback_log (name VARCHAR(80));`);
      await root.query(`CREATE USER '${myAdmin}'@'%' IDENTIFIED BY '${myAdminPassword}'; GRANT ALL PRIVILEGES ON *.* TO '${myAdmin}'@'%' WITH GRANT OPTION;`);
      redisRoot = redisConn();
      await redisRoot.connect();
      await redisRoot.call('ACL', 'SETUSER', redisAdmin, 'on', `>${redisAdminPassword}`, '~*', '&*', '+@all');
      ({ srv, c } = await devServerWithDatabase());
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
      await root?.query(`DROP DATABASE IF EXISTS ${myDb}; DROP USER IF EXISTS '${myAdmin}'@'%';`);
      await root?.end();
      if (redisRoot) {
        await redisRoot.call('ACL', 'DELUSER', redisAdmin);
        redisRoot.disconnect();
      }
    });

    it('unknown plugin, unreachable host and wrong root password are 400s with the driver\'s text; nothing is stored', async () => {
      const unknown = await c.post('database/config/x', { plugin_name: 'nosuch-database-plugin', connection_url: 'x' });
      expectStatus(unknown, 400, 'unknown plugin');
      assert.match(errorText(unknown), /plugin not found in the catalog: nosuch-database-plugin/);

      const closed = await freePort();
      const unreachable = await c.post('database/config/x', {
        ...pgConfig(pgc, db), connection_url: pgUrl(pgc, db, closed), password: 'pw-unreachable-1',
      });
      expectStatus(unreachable, 400, 'unreachable PostgreSQL');
      assert.match(errorText(unreachable), /error verifying connection: .*ECONNREFUSED 127\.0\.0\.1:\d+/);
      assert.ok(!unreachable.text.includes('pw-unreachable-1'));

      const wrong = `wrong-${randomBytes(8).toString('hex')}`;
      const badPassword = await c.post('database/config/x', { ...pgConfig(pgc, db), password: wrong });
      expectStatus(badPassword, 400, 'wrong PostgreSQL password');
      assert.match(errorText(badPassword), /password authentication failed for user "postgres"/);
      assert.ok(!badPassword.text.includes(wrong));

      const myUnreachable = await c.post('database/config/x', {
        plugin_name: 'mysql-database-plugin', connection_url: MYSQL_DSN(closed), username: myAdmin, password: myAdminPassword,
      });
      expectStatus(myUnreachable, 400, 'unreachable MariaDB');
      assert.match(errorText(myUnreachable), /ECONNREFUSED/);
      const myWrong = await c.post('database/config/x', {
        plugin_name: 'mysql-database-plugin', connection_url: MYSQL_DSN(), username: myAdmin, password: wrong,
      });
      expectStatus(myWrong, 400, 'wrong MariaDB password');
      assert.match(errorText(myWrong), new RegExp(`Access denied for user '${myAdmin}'`));
      assert.ok(!myWrong.text.includes(wrong));

      const redisUnreachable = await c.post('database/config/x', {
        plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: closed, username: redisAdmin, password: redisAdminPassword,
      });
      expectStatus(redisUnreachable, 400, 'unreachable Redis');
      assert.match(errorText(redisUnreachable), /ECONNREFUSED/);
      const redisWrong = await c.post('database/config/x', {
        plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 6379, username: redisAdmin, password: wrong,
      });
      expectStatus(redisWrong, 400, 'wrong Redis password');
      assert.match(errorText(redisWrong), /WRONGPASS|invalid username-password/);
      assert.ok(!redisWrong.text.includes(wrong));

      expectStatus(await c.get('database/config/x'), 404, 'nothing stored');
      expectStatus(await c.list('database/config/'), 404, 'no configs');
    });

    it('PostgreSQL: bad SQL in creation_statements → 400 with the database\'s text, no lease, no user left', async () => {
      expectStatus(await c.post('database/config/pg', pgConfig(pgc, db)), 204, 'config');
      const cases: [string, string, RegExp][] = [
        [`pm${sfx()}`, `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON no_such_table TO "{{name}}";`,
          /failed to execute query: ERROR: relation "no_such_table" does not exist \(SQLSTATE 42P01\)/],
        [`ps${sfx()}`, `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; CREAT TABLE x (id int);`,
          /ERROR: syntax error at or near "CREAT" \(SQLSTATE 42601\)/],
      ];
      for (const [role, statements, expected] of cases) {
        expectStatus(await c.post(`database/roles/${role}`, { db_name: 'pg', creation_statements: statements, default_ttl: '1h' }), 204, 'role');
        const res = await c.get(`database/creds/${role}`);
        expectStatus(res, 400, `creds/${role}`);
        assert.match(errorText(res), expected);
        assert.equal(res.body.lease_id, undefined);
        expectStatus(await c.list(`sys/leases/lookup/database/creds/${role}/`), 404, 'no lease created');
        assert.deepEqual(await pgRolesLike(pgc, `%${role}%`), [], 'no user left behind');
      }
    });

    it('MariaDB: a failing GRANT after CREATE USER runs the rollback statements and leaves no user; no lease', async () => {
      expectStatus(await c.post('database/config/maria', {
        plugin_name: 'mysql-database-plugin', connection_url: MYSQL_DSN(), username: myAdmin, password: myAdminPassword, allowed_roles: '*',
      }), 204, 'config');
      const role = `mb${sfx()}`;
      expectStatus(await c.post(`database/roles/${role}`, {
        db_name: 'maria',
        creation_statements: `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON ${myDb}.no_such_table TO '{{name}}'@'%';`,
        rollback_statements: `INSERT INTO ${myDb}.rollback_log VALUES ('{{name}}'); DROP USER IF EXISTS '{{name}}'@'%';`,
        default_ttl: '1h',
      }), 204, 'role');
      const res = await c.get(`database/creds/${role}`);
      expectStatus(res, 400, 'creds');
      assert.match(errorText(res), new RegExp(`failed to execute query: Error 1146 \\(42S02\\): Table '${myDb}\\.no_such_table' doesn't exist`));
      expectStatus(await c.list(`sys/leases/lookup/database/creds/${role}/`), 404, 'no lease created');
      const [logged] = await root.query(`SELECT name FROM ${myDb}.rollback_log`);
      assert.equal((logged as { name: string }[]).length, 1, 'the rollback statements ran');
      assert.match((logged as { name: string }[])[0].name, new RegExp(role));
      const [users] = await root.query('SELECT User FROM mysql.user WHERE User LIKE ?', [`%${role}%`]);
      assert.deepEqual(users, [], 'no user left behind');
    });
  });

  // 8 -------------------------------------------------------------------------------------------------------

  describe('secrets never leak into audit entries, logs, errors or config reads', { concurrency: false }, () => {
    const db = `leak_${sfx()}`;
    const rootUser = `coffer_leak_${sfx()}`;
    const rootPassword = `lk-${randomBytes(12).toString('hex')}`;
    const myDb = `coffer_leak_${sfx()}`;
    let dir: string;
    let srv: TestServer;
    let c: Client;
    const logLines: string[] = [];
    const errorBodies: string[] = [];
    const secrets: Record<string, string> = {};
    let root: mysql.Connection;

    /** The client, recording every error body. */
    const recorded = (raw: Client): Client => {
      const wrap = <A extends unknown[]>(fn: (...args: A) => Promise<ApiResponse>) => async (...args: A) => {
        const res = await fn(...args);
        if (res.status >= 400) errorBodies.push(res.text);
        return res;
      };
      return { get: wrap(raw.get), list: wrap(raw.list), post: wrap(raw.post), put: wrap(raw.put), patch: wrap(raw.patch), delete: wrap(raw.delete) };
    };

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'coffer-db-audit-'));
      await pgCreateAppDb(pgc, db);
      await pgAdmin(pgc, `CREATE ROLE ${rootUser} WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
      root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
      await root.query(`CREATE DATABASE ${myDb}`);
      let raw: Client;
      ({ srv, c: raw } = await devServerWithDatabase());
      c = recorded(raw);
      // Everything the core logs (the server's own pino logger is silent in tests).
      const logger = srv.server.core.logger as unknown as Record<'info' | 'warn' | 'error', (m: string) => void>;
      for (const level of ['info', 'warn', 'error'] as const) {
        const orig = logger[level];
        logger[level] = (m: string) => {
          logLines.push(`${level}: ${m}`);
          orig(m);
        };
      }
      expectStatus(await c.put('sys/audit/file', { type: 'file', options: { file_path: path.join(dir, 'audit.log') } }), 204, 'audit');
    });

    after(async () => {
      await c?.put('sys/leases/revoke-prefix/database/');
      await srv?.close();
      await pgAdmin(pgc, `DROP ROLE IF EXISTS ${rootUser}`).catch(() => undefined);
      await root?.query(`DROP DATABASE IF EXISTS ${myDb}`);
      await root?.end();
      rmSync(dir, { recursive: true, force: true });
    });

    it('issued passwords, the root password (old and rotated) and rejected passwords appear nowhere', async () => {
      secrets['root password'] = rootPassword;
      const wrong = `wr-${randomBytes(12).toString('hex')}`;
      secrets['rejected root password'] = wrong;

      const rejected = await c.post('database/config/pg', pgConfig(pgc, db, { username: rootUser, password: wrong }));
      expectStatus(rejected, 400, 'wrong password');
      expectStatus(await c.post('database/config/pg', pgConfig(pgc, db, { username: rootUser, password: rootPassword })), 204, 'config');
      const read = await c.get('database/config/pg');
      expectStatus(read, 200, 'config read');
      assert.equal('password' in read.body.data.connection_details, false);
      assertNoSecrets(read.text, { 'root password': rootPassword }, 'config read');

      expectStatus(await c.post('database/roles/ro', { db_name: 'pg', creation_statements: PG_READONLY, default_ttl: '1h' }), 204, 'role');
      const issued = [await creds(c, 'ro'), await creds(c, 'ro')];
      issued.forEach((cred, i) => (secrets[`issued password ${i}`] = cred.password));
      for (const cred of issued) {
        const look = await lookup(c, cred.leaseId);
        assertNoSecrets(look.text, { password: cred.password }, 'lease lookup');
      }

      // Failing creations whose database error quotes the generated password.
      expectStatus(await c.post('database/roles/leaky', {
        db_name: 'pg', creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{password}}';`,
      }), 204, 'leaky role');
      const leaky = await c.get('database/creds/leaky');
      expectStatus(leaky, 400, 'leaky creds');
      assert.match(errorText(leaky), /invalid input syntax for type timestamp with time zone: "\[password\]"/);

      expectStatus(await c.post('database/config/maria', {
        plugin_name: 'mysql-database-plugin', connection_url: MYSQL_DSN(), username: 'root', password: '', allowed_roles: '*',
      }), 204, 'maria config');
      expectStatus(await c.post('database/roles/myleaky', {
        db_name: 'maria', creation_statements: `CREATE USER '{{name}}'@'%' IDENTIFIED BOGUS '{{password}}';`,
      }), 204, 'maria leaky role');
      const myLeaky = await c.get('database/creds/myleaky');
      expectStatus(myLeaky, 400, 'maria leaky creds');
      assert.match(errorText(myLeaky), /Error 1064 \(42000\): .*near 'BOGUS '\[password\]'/);

      expectStatus(await c.post('database/rotate-root/pg', {}), 204, 'rotate-root');
      const mount = srv.server.core.mounts.find('database/');
      assert.ok(mount);
      const stored = await (mount.backend as DatabaseBackend).context.readConfig(mount.view, 'pg');
      const rotated = String(stored?.connection_details.password ?? '');
      assert.ok(rotated.length >= 20 && rotated !== rootPassword);
      secrets['rotated root password'] = rotated;
      issued.push(await creds(c, 'ro'));
      secrets['issued password after rotation'] = issued[2].password;
      await pgReadOnlyWorks(pgc, db, issued[2].username, issued[2].password);
      const readAfter = await c.get('database/config/pg');
      assert.equal('password' in readAfter.body.data.connection_details, false);
      assertNoSecrets(readAfter.text, { 'root password': rootPassword, 'rotated root password': rotated }, 'config read after rotation');

      // A revocation error path, too: revoke everything, then look at what was recorded.
      expectStatus(await c.put('sys/leases/revoke-prefix/database/creds/ro'), 204, 'revoke');

      const audit = readFileSync(path.join(dir, 'audit.log'), 'utf8');
      assert.ok(audit.includes('database/creds/ro'), 'the audit log recorded the requests');
      assert.ok(audit.includes('hmac-sha256:'), 'values are hashed');
      assert.ok(errorBodies.length >= 3, 'the failures were seen');
      assertNoSecrets(audit, secrets, 'audit log');
      assertNoSecrets(errorBodies.join('\n'), secrets, 'error bodies');
      assertNoSecrets(logLines.join('\n'), secrets, 'server log');
    });
  });
});
