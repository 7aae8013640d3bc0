/**
 * The database engine against real PostgreSQL: a private scram-sha-256 cluster (test/helpers/pg-cluster.ts) for
 * everything where a password must actually be checked, and the machine's server (127.0.0.1:5432, trust) for
 * the rest. Each test creates its own roles/tables with random suffixes and drops them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { CofferError } from '../../src/sdk/errors.js';
import { databaseHarness as harness, type DatabaseHarness } from '../helpers/engine-harness.js';
import { type PgCluster, startPgCluster } from '../helpers/pg-cluster.js';

// ---- helpers ---------------------------------------------------------------------------------------------

const suffix = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connect(cluster: PgCluster, db: string, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: cluster.url(db, user, password) });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function loginFails(cluster: PgCluster, db: string, user: string, password: string): Promise<string> {
  try {
    const client = await connect(cluster, db, user, password);
    await client.end();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`login as ${user} should have failed`);
}

const READONLY_CREATION = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; `
  + 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";';

describe('database engine: PostgreSQL (private scram-sha-256 cluster)', { timeout: 60_000 }, () => {
  let cluster: PgCluster;
  let admin: pg.Client;
  const db = `app_${suffix()}`;

  const connectionUrl = () => `postgresql://{{username}}:{{password}}@127.0.0.1:${cluster.port}/${db}?sslmode=disable`;
  const configure = (h: DatabaseHarness, name: string, extra: Record<string, unknown> = {}) =>
    h.call('write', `config/${name}`, {
      plugin_name: 'postgresql-database-plugin',
      connection_url: connectionUrl(),
      username: 'postgres',
      password: cluster.password,
      allowed_roles: '*',
      ...extra,
    });
  const roleExists = async (name: string) =>
    ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0;

  before(async () => {
    cluster = await startPgCluster();
    const boot = await connect(cluster, 'postgres', 'postgres', cluster.password);
    await boot.query(`CREATE DATABASE ${db}`);
    await boot.end();
    admin = await connect(cluster, db, 'postgres', cluster.password);
    await admin.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await admin.query(`INSERT INTO items VALUES (1, 'one'), (2, 'two')`);
  });

  after(async () => {
    await admin?.end().catch(() => undefined);
    await cluster?.stop();
  });

  it('rejects a wrong root password at config write with the driver\'s message, and stores nothing', async () => {
    const h = await harness();
    try {
      const err = await h.fail('write', 'config/bad', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: connectionUrl(),
        username: 'postgres',
        password: 'wrong-password-123',
      });
      assert.equal(err.status, 400);
      assert.match(err.errors[0], /^error creating database object: error verifying connection: .*password authentication failed for user "postgres"/);
      assert.doesNotMatch(err.errors.join(' '), /wrong-password-123/);
      assert.equal((await h.fail('read', 'config/bad')).status, 404);
      assert.equal(h.backend.context.openConnections, 0);
    } finally {
      await h.close();
    }
  });

  it('answers 400 for an unknown plugin, an unreachable host, a password policy and missing settings', async () => {
    const h = await harness();
    try {
      const unknown = await h.fail('write', 'config/x', { plugin_name: 'nosuch-database-plugin', connection_url: 'x' });
      assert.equal(unknown.status, 400);
      assert.match(unknown.errors[0], /plugin not found in the catalog: nosuch-database-plugin/);

      const unreachable = await h.fail('write', 'config/x', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres',
        username: 'postgres',
        password: 'pw-unreachable',
      });
      assert.equal(unreachable.status, 400);
      assert.match(unreachable.errors[0], /error verifying connection: .*ECONNREFUSED/);

      const policy = await h.fail('write', 'config/x', {
        plugin_name: 'postgresql-database-plugin', connection_url: connectionUrl(), username: 'postgres',
        password: cluster.password, password_policy: 'strong',
      });
      assert.equal(policy.status, 400);
      assert.match(policy.errors[0], /password policies are not supported/);

      const noUrl = await h.fail('write', 'config/x', { plugin_name: 'postgresql-database-plugin' });
      assert.match(noUrl.errors[0], /connection_url cannot be empty/);
      assert.deepEqual((await h.fail('write', 'config/x', {})).errors, ['empty plugin name']);
      assert.equal((await h.fail('read', 'config/x')).status, 404);
    } finally {
      await h.close();
    }
  });

  it('never returns the password on read; lists configs; warns about a literal password in the URL', async () => {
    const h = await harness();
    try {
      assert.equal(await configure(h, 'main', { allowed_roles: 'a,b*' }), null);
      const read = (await h.call('read', 'config/main'))!.data as any;
      assert.equal(read.plugin_name, 'postgresql-database-plugin');
      assert.deepEqual(read.allowed_roles, ['a', 'b*']);
      assert.equal(read.connection_details.connection_url, connectionUrl());
      assert.equal(read.connection_details.username, 'postgres');
      assert.equal('password' in read.connection_details, false);
      assert.doesNotMatch(JSON.stringify(read), new RegExp(cluster.password));
      assert.deepEqual(read.root_credentials_rotate_statements, []);
      assert.equal(read.verify_connection, true);

      const literal = await h.call('write', 'config/literal', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: cluster.url(db),
      });
      assert.match(literal!.warnings![0], /Password found in connection_url/);
      const shown = (await h.call('read', 'config/literal'))!.data as any;
      assert.equal(shown.connection_details.connection_url, `postgresql://postgres:xxxxx@127.0.0.1:${cluster.port}/${db}`);
      assert.doesNotMatch(JSON.stringify(shown), new RegExp(cluster.password));

      assert.deepEqual((await h.call('list', 'config/'))!.data, { keys: ['literal', 'main'] });
      await h.call('delete', 'config/literal');
      assert.deepEqual((await h.call('list', 'config'))!.data, { keys: ['main'] });
    } finally {
      await h.close();
    }
  });

  it('issues credentials that log in and read but cannot write; revoke terminates, drops and is idempotent', async () => {
    const h = await harness();
    try {
      await configure(h, 'pg');
      await h.call('write', 'roles/readonly', {
        db_name: 'pg', creation_statements: READONLY_CREATION, default_ttl: '1h', max_ttl: '24h',
      });
      const before = Date.now();
      const res = (await h.call('read', 'creds/readonly'))!;
      const { username, password } = res.data as { username: string; password: string };
      assert.match(username, /^v-token-readonly-[A-Za-z0-9]{20}-\d{10}$/);
      assert.match(password, /^[A-Za-z0-9-]{20}$/);
      assert.equal(res.secret!.ttl, 3600);
      assert.equal(res.secret!.renewable, true);
      const internal = res.secret!.internal!;
      assert.equal(internal.username, username);
      assert.equal(internal.role, 'readonly');
      assert.equal(internal.db_name, 'pg');
      assert.doesNotMatch(JSON.stringify(internal), new RegExp(password));

      const { rows } = await admin.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [username]);
      const validUntil = (rows[0].rolvaliduntil as Date).getTime();
      assert.ok(validUntil >= before + 3600_000 && validUntil <= Date.now() + 3606_000, 'VALID UNTIL ≈ now + ttl');

      const user = await connect(cluster, db, username, password);
      assert.equal((await user.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 2);
      await assert.rejects(user.query(`INSERT INTO items VALUES (3, 'three')`), /permission denied for table items/);
      await loginFails(cluster, db, username, 'not-the-password');

      await h.revoke(internal);
      assert.equal(await roleExists(username), false);
      await assert.rejects(user.query('SELECT 1'), 'the open session was terminated');
      await user.end().catch(() => undefined);
      assert.match(await loginFails(cluster, db, username, password), /password authentication failed/);
      await h.revoke(internal); // already gone: still succeeds
    } finally {
      await h.close();
    }
  });

  it('custom statements with comments run as one list; revoke terminates sessions and is idempotent', async () => {
    const h = await harness();
    try {
      await configure(h, 'pg');
      // Trailing `--` comments must not swallow the next statement when the list is sent in one round trip.
      await h.call('write', 'roles/commented', {
        db_name: 'pg',
        creation_statements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' -- the user`,
          'GRANT SELECT ON items TO "{{name}}" /* read only */ -- no writes',
        ],
        revocation_statements: ['REVOKE ALL ON items FROM "{{name}}" -- privileges first', 'DROP ROLE "{{name}}" -- then the role'],
        default_ttl: '1h',
      });
      const res = (await h.call('read', 'creds/commented'))!;
      const { username, password } = res.data as { username: string; password: string };
      const user = await connect(cluster, db, username, password);
      assert.equal((await user.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 2, 'the GRANT ran');

      await h.revoke(res.secret!.internal!);
      assert.equal(await roleExists(username), false, 'the DROP ran');
      await assert.rejects(user.query('SELECT 1'), 'the open session was terminated');
      await user.end().catch(() => undefined);
      // The statements now fail (no such role); revocation still succeeds because the user is gone.
      await h.revoke(res.secret!.internal!);
    } finally {
      await h.close();
    }
  });

  it('renew moves VALID UNTIL forward and stops at the role\'s max_ttl', async () => {
    const h = await harness();
    try {
      await configure(h, 'pg');
      await h.call('write', 'roles/short', { db_name: 'pg', creation_statements: READONLY_CREATION, default_ttl: 60, max_ttl: '2m' });
      const res = (await h.call('read', 'creds/short'))!;
      assert.equal(res.secret!.ttl, 60);
      const internal = res.secret!.internal!;
      const validUntil = async () =>
        ((await admin.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [internal.username])).rows[0].rolvaliduntil as Date).getTime();
      const first = await validUntil();

      const renewed = await h.renew(internal, 100);
      assert.equal(renewed.ttl, 100);
      assert.equal(renewed.renewable, true);
      const second = await validUntil();
      assert.ok(second >= first + 39_000, 'VALID UNTIL moved forward');
      assert.ok(Math.abs(second - (Date.now() + 105_000)) < 3_000);

      // Default increment: the role's default_ttl.
      assert.equal((await h.renew(internal)).ttl, 60);
      // Asking past max_ttl is capped at what is left of it.
      const capped = await h.renew(internal, 3600);
      assert.ok(capped.ttl <= 120 && capped.ttl >= 115, `capped ttl ${capped.ttl}`);
      // Once max_ttl has elapsed since issue, renewal fails.
      const err = await h.renew({ ...internal, issue_time: Date.now() - 121_000 }).then(() => null, (e) => e);
      assert.ok(err instanceof CofferError);
      assert.match(err.errors[0], /past the max TTL/);
      await h.revoke(internal);
    } finally {
      await h.close();
    }
  });

  it('rotate-root locks out the old password while issued and new credentials keep working', async () => {
    const h = await harness();
    const rootUser = `root_${suffix()}`;
    const rootPassword = `initial-${suffix()}`;
    await admin.query(`CREATE ROLE ${rootUser} WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    try {
      await configure(h, 'rot', { username: rootUser, password: rootPassword });
      await h.call('write', 'roles/ro', { db_name: 'rot', creation_statements: READONLY_CREATION, default_ttl: '10m' });
      const before = (await h.call('read', 'creds/ro'))!.data as { username: string; password: string };

      assert.equal(await h.call('write', 'rotate-root/rot', {}), null);
      assert.match(await loginFails(cluster, db, rootUser, rootPassword), /password authentication failed/);
      const stored = await h.storage.getJSON<any>('config/rot');
      assert.notEqual(stored.connection_details.password, rootPassword);
      assert.match(stored.connection_details.password, /^[A-Za-z0-9-]{20}$/);
      assert.equal(stored.pending_root_password, undefined);
      assert.equal('password' in ((await h.call('read', 'config/rot'))!.data as any).connection_details, false);

      const issuedBefore = await connect(cluster, db, before.username, before.password);
      await issuedBefore.query('SELECT 1 FROM items');
      await issuedBefore.end();
      const after = (await h.call('read', 'creds/ro'))!;
      const { username, password } = after.data as { username: string; password: string };
      const client = await connect(cluster, db, username, password);
      await client.query('SELECT 1 FROM items');
      await client.end();
      await h.revoke(after.secret!.internal!);
      assert.equal(await roleExists(username), false);
    } finally {
      await h.close();
      await admin.query(`DROP OWNED BY ${rootUser}; DROP ROLE IF EXISTS ${rootUser}`).catch(() => undefined);
    }
  });

  it('a failing creation statement runs the rollback statements, leaves no user and answers 400 with the error', async () => {
    const h = await harness();
    const tag = suffix();
    try {
      await configure(h, 'pg');
      await h.call('write', 'roles/bad', {
        db_name: 'pg',
        username_template: `bad_${tag}_{{random 6 | lowercase}}`,
        creation_statements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';`,
          'GRANT SELECT ON no_such_table TO "{{name}}";',
        ],
        rollback_statements: `CREATE TABLE IF NOT EXISTS rollback_${tag} (username text); INSERT INTO rollback_${tag} VALUES ('{{name}}');`,
      });
      const err = await h.fail('read', 'creds/bad');
      assert.equal(err.status, 400);
      assert.match(err.errors[0], /failed to execute query: ERROR: relation "no_such_table" does not exist \(SQLSTATE 42P01\)/);
      const left = await admin.query('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`bad_${tag}_%`]);
      assert.equal(left.rowCount, 0);
      const marker = await admin.query(`SELECT username FROM rollback_${tag}`);
      assert.match(marker.rows[0].username, new RegExp(`^bad_${tag}_[a-z0-9]{6}$`));

      await h.call('write', 'roles/syntax', { db_name: 'pg', creation_statements: 'CREAT ROLE "{{name}}"' });
      const syntax = await h.fail('read', 'creds/syntax');
      assert.match(syntax.errors[0], /syntax error at or near "CREAT" \(SQLSTATE 42601\)/);

      await h.call('write', 'roles/empty', { db_name: 'pg' });
      assert.match((await h.fail('read', 'creds/empty')).errors[0], /empty creation statements/);
      assert.deepEqual((await h.fail('read', 'creds/nope')).errors, ['unknown role: nope']);
    } finally {
      await h.close();
      await admin.query(`DROP TABLE IF EXISTS rollback_${tag}`);
    }
  });

  it('enforces allowed_roles (globs; empty allows none)', async () => {
    const h = await harness();
    try {
      await configure(h, 'globbed', { allowed_roles: ['app-*', 'exact'] });
      await configure(h, 'closed', { allowed_roles: [] });
      for (const name of ['app-ro', 'exact', 'other']) {
        await h.call('write', `roles/${name}`, { db_name: 'globbed', creation_statements: READONLY_CREATION });
      }
      await h.call('write', 'roles/shut', { db_name: 'closed', creation_statements: READONLY_CREATION });
      assert.deepEqual((await h.fail('read', 'creds/other')).errors, ['"other" is not an allowed role']);
      assert.deepEqual((await h.fail('read', 'creds/shut')).errors, ['"shut" is not an allowed role']);
      for (const name of ['app-ro', 'exact']) {
        const res = (await h.call('read', `creds/${name}`))!;
        await h.revoke(res.secret!.internal!);
      }
      assert.deepEqual((await h.call('list', 'roles/'))!.data, { keys: ['app-ro', 'exact', 'other', 'shut'] });
    } finally {
      await h.close();
    }
  });

  it('revoke throws while the database is unreachable (so the lease manager retries)', async () => {
    const h = await harness();
    try {
      await h.call('write', 'config/down', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: 'postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres',
        username: 'postgres', password: 'pw', allowed_roles: '*', verify_connection: false,
      });
      await h.call('write', 'roles/r', { db_name: 'down', creation_statements: READONLY_CREATION });
      await assert.rejects(h.revoke({ username: 'v-someone', role: 'r', db_name: 'down' }), (err: unknown) =>
        err instanceof CofferError && /ECONNREFUSED/.test(err.errors[0]));
      await assert.rejects(h.renew({ username: 'v-someone', role: 'r', db_name: 'down', issue_time: Date.now() }), /ECONNREFUSED/);
      assert.equal((await h.fail('read', 'creds/r')).status, 400);
    } finally {
      await h.close();
    }
  });

  it('static roles: the password is taken over at creation, rotated on demand and on rotation_period', { timeout: 30_000 }, async () => {
    const h = await harness();
    const svc = `svc_${suffix()}`;
    await admin.query(`CREATE ROLE ${svc} WITH LOGIN PASSWORD 'original-pw'`);
    try {
      await configure(h, 'pg');
      await h.call('write', 'static-roles/svc', { db_name: 'pg', username: svc, rotation_period: '5s' });
      const read = (await h.call('read', 'static-roles/svc'))!.data as any;
      assert.equal(read.username, svc);
      assert.equal(read.rotation_period, 5);
      assert.deepEqual(read.rotation_statements, []);

      const creds1 = (await h.call('read', 'static-creds/svc'))!.data as any;
      assert.equal(creds1.username, svc);
      assert.equal(creds1.rotation_period, 5);
      assert.ok(creds1.ttl >= 0 && creds1.ttl <= 5);
      assert.match(creds1.last_vault_rotation, /^\d{4}-\d{2}-\d{2}T/);
      await loginFails(cluster, db, svc, 'original-pw');
      await (await connect(cluster, db, svc, creds1.password)).end();

      await h.call('write', 'rotate-role/svc', {});
      const creds2 = (await h.call('read', 'static-creds/svc'))!.data as any;
      assert.notEqual(creds2.password, creds1.password);
      await loginFails(cluster, db, svc, creds1.password);
      await (await connect(cluster, db, svc, creds2.password)).end();

      // Background rotation after rotation_period.
      let creds3 = creds2;
      for (let i = 0; i < 40 && creds3.password === creds2.password; i++) {
        await sleep(250);
        creds3 = (await h.call('read', 'static-creds/svc'))!.data as any;
      }
      assert.notEqual(creds3.password, creds2.password, 'rotated in the background');
      await (await connect(cluster, db, svc, creds3.password)).end();

      assert.deepEqual((await h.fail('write', 'static-roles/svc', { username: 'someone-else' })).errors, ['cannot update static account username']);
      assert.match((await h.fail('write', 'static-roles/fast', { db_name: 'pg', username: svc, rotation_period: 2 })).errors[0], /5 seconds or more/);
      assert.deepEqual((await h.fail('write', 'roles/svc', { db_name: 'pg' })).errors, ['Role and Static Role names must be unique']);
      const missing = await h.fail('write', 'static-roles/ghost', { db_name: 'pg', username: `ghost_${suffix()}`, rotation_period: 60 });
      assert.match(missing.errors[0], /role "ghost_[0-9a-f]+" does not exist/);
      assert.equal((await h.fail('read', 'static-roles/ghost')).status, 404);
      assert.deepEqual((await h.call('list', 'static-roles'))!.data, { keys: ['svc'] });

      await h.call('delete', 'static-roles/svc');
      assert.equal(h.backend.rotation.dueAt('svc'), undefined);
    } finally {
      await h.close();
      await admin.query(`DROP ROLE IF EXISTS ${svc}`);
    }
  });

  it('seed example: my-api-readonly with custom revocation, scram verifier and a config username_template', async () => {
    const h = await harness();
    try {
      await configure(h, 'seed', {
        password_authentication: 'scram-sha-256',
        username_template: '{{ printf "seed_%s_%s" (.RoleName | replace "-" "_") (random 8 | lowercase) }}',
      });
      await h.call('write', 'roles/my-api-readonly', {
        db_name: 'seed',
        creation_statements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
        ],
        revocation_statements: ['DROP ROLE IF EXISTS "{{name}}";'],
        default_ttl: '1h',
        max_ttl: '24h',
      });
      const role = (await h.call('read', 'roles/my-api-readonly'))!.data as any;
      assert.deepEqual(role.revocation_statements, ['DROP ROLE IF EXISTS "{{name}}";']);
      assert.equal(role.default_ttl, 3600);
      assert.equal(role.max_ttl, 86400);

      const res = (await h.call('read', 'creds/my-api-readonly'))!;
      const { username, password } = res.data as { username: string; password: string };
      assert.match(username, /^seed_my_api_readonly_[a-z0-9]{8}$/);
      const stored = await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [username]);
      assert.match(stored.rows[0].rolpassword, /^SCRAM-SHA-256\$4096:/);
      const client = await connect(cluster, db, username, password);
      assert.equal((await client.query('SELECT name FROM items WHERE id = 1')).rows[0].name, 'one');
      await assert.rejects(client.query(`INSERT INTO items VALUES (9, 'nine')`), /permission denied/);
      await client.end();
      await h.revoke(res.secret!.internal!);
      assert.equal(await roleExists(username), false);
    } finally {
      await h.close();
    }
  });

  it('keeps one pool per connection (no connection per lease) and closes it on delete and cleanup', async () => {
    const h = await harness();
    const countPool = async () =>
      (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'coffer' AND datname = $1`, [db])).rows[0].n as number;
    const settle = async (want: (n: number) => boolean) => {
      let n = await countPool();
      for (let i = 0; i < 40 && !want(n); i++) {
        await sleep(50);
        n = await countPool();
      }
      return n;
    };
    try {
      await configure(h, 'pool', { max_open_connections: 2 });
      await h.call('write', 'roles/ro', { db_name: 'pool', creation_statements: READONLY_CREATION });
      const leases = await Promise.all(Array.from({ length: 6 }, () => h.call('read', 'creds/ro')));
      assert.ok((await countPool()) <= 2, 'at most max_open_connections');
      await Promise.all(leases.map((l) => h.revoke(l!.secret!.internal!)));
      assert.ok((await countPool()) <= 2);

      await h.call('delete', 'config/pool');
      assert.equal(await settle((n) => n === 0), 0, 'closed on config delete');

      await configure(h, 'pool2');
      await h.call('write', 'roles/ro2', { db_name: 'pool2', creation_statements: READONLY_CREATION });
      const lease = (await h.call('read', 'creds/ro2'))!;
      await h.revoke(lease.secret!.internal!);
      assert.ok((await countPool()) >= 1);
      await h.call('write', 'reset/pool2', {});
      await h.close();
      assert.equal(await settle((n) => n === 0), 0, 'closed on cleanup');
    } finally {
      await h.close();
    }
  });
});

describe('database engine: PostgreSQL (local server)', { timeout: 30_000 }, () => {
  it('creates and revokes a user on 127.0.0.1:5432 in its own database', async () => {
    const dbName = `coffer_t_${suffix()}`;
    const root = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await root.connect();
    await root.query(`CREATE DATABASE ${dbName}`);
    const h = await harness();
    let issued = '';
    try {
      await h.call('write', 'config/local', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}@127.0.0.1:5432/${dbName}?sslmode=disable`,
        username: 'postgres',
        allowed_roles: 'local-*',
      });
      await h.call('write', 'roles/local-ro', { db_name: 'local', creation_statements: READONLY_CREATION, default_ttl: 0 });
      const res = (await h.call('read', 'creds/local-ro'))!;
      assert.equal(res.secret!.ttl, 2764800, 'default_ttl 0: the mount default');
      const { username } = res.data as { username: string };
      issued = username;
      assert.equal((await root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).rowCount, 1);
      await h.revoke(res.secret!.internal!);
      assert.equal((await root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).rowCount, 0);
    } finally {
      await h.close();
      await root.query(`DROP DATABASE IF EXISTS ${dbName}`);
      if (issued) await root.query(`DROP ROLE IF EXISTS "${issued}"`).catch(() => undefined);
      await root.end();
    }
  });
});
