/**
 * The database engine against the machine's MariaDB (127.0.0.1:3306, root with an empty password) through the
 * mysql-database-plugin. Each test run creates its own database and users (random suffixes) and drops them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { databaseHarness as harness, type DatabaseHarness } from '../helpers/engine-harness.js';

// ---- helpers ---------------------------------------------------------------------------------------------

const suffix = () => randomBytes(4).toString('hex');
const DSN = '{{username}}:{{password}}@tcp(127.0.0.1:3306)/';

async function login(user: string, password: string, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: 3306, user, password, database });
}

async function loginFails(user: string, password: string): Promise<string> {
  try {
    const conn = await login(user, password);
    await conn.end();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail(`login as ${user} should have failed`);
}

describe('database engine: MariaDB', { timeout: 60_000 }, () => {
  let root: mysql.Connection;
  const db = `coffer_t_${suffix()}`;
  const readonlyCreation = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON ${db}.* TO '{{name}}'@'%';`;
  const configure = (h: DatabaseHarness, name: string, extra: Record<string, unknown> = {}) =>
    h.call('write', `config/${name}`, {
      plugin_name: 'mysql-database-plugin', connection_url: DSN, username: 'root', password: '', allowed_roles: '*', ...extra,
    });
  const userCount = async (pattern: string) => {
    const [rows] = await root.query('SELECT User FROM mysql.user WHERE User LIKE ?', [pattern]);
    return (rows as unknown[]).length;
  };

  before(async () => {
    root = await login('root', '');
    await root.query(`CREATE DATABASE ${db}`);
    await root.query(`CREATE TABLE ${db}.items (id INT PRIMARY KEY, name VARCHAR(20))`);
    await root.query(`INSERT INTO ${db}.items VALUES (1, 'one'), (2, 'two')`);
    await root.query(`CREATE TABLE ${db}.rollback_marker (username VARCHAR(100))`);
  });

  after(async () => {
    await root?.query(`DROP DATABASE IF EXISTS ${db}`);
    await root?.end();
  });

  it('a read-only role\'s credentials can SELECT but not INSERT; revoke drops the user, idempotently', async () => {
    const h = await harness();
    let issued = '';
    try {
      assert.equal(await configure(h, 'maria'), null);
      const read = (await h.call('read', 'config/maria'))!.data as any;
      assert.equal(read.connection_details.connection_url, DSN);
      assert.equal('password' in read.connection_details, false);

      await h.call('write', 'roles/readonly', { db_name: 'maria', creation_statements: readonlyCreation, default_ttl: '1h', max_ttl: '24h' });
      const res = (await h.call('read', 'creds/readonly'))!;
      const { username, password } = res.data as { username: string; password: string };
      issued = username;
      assert.match(username, /^v-token-readonly-[A-Za-z0-9]{15}$/, 'Vault\'s default template, truncated to 32');
      assert.equal(username.length, 32);
      assert.equal(res.secret!.ttl, 3600);

      const conn = await login(username, password, db);
      const [rows] = await conn.query('SELECT name FROM items ORDER BY id');
      assert.deepEqual((rows as any[]).map((r) => r.name), ['one', 'two']);
      await assert.rejects(conn.query(`INSERT INTO items VALUES (3, 'three')`), /INSERT command denied/);
      await conn.end();

      // Renewal is a no-op for MySQL but grants the TTL.
      assert.equal((await h.renew(res.secret!.internal!, 600)).ttl, 600);

      await h.revoke(res.secret!.internal!);
      assert.equal(await userCount(username), 0);
      assert.match(await loginFails(username, password), /Access denied/);
      await h.revoke(res.secret!.internal!);
    } finally {
      await h.close();
      if (issued) await root.query('DROP USER IF EXISTS ?@?', [issued, '%']);
    }
  });

  it('bad SQL: 400 with the server\'s error, rollback statements run, no user left, password redacted', async () => {
    const h = await harness();
    const tag = suffix();
    try {
      await configure(h, 'maria');
      await h.call('write', 'roles/bad', {
        db_name: 'maria',
        username_template: `bad_${tag}_{{random 6 | lowercase}}`,
        creation_statements: [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`, `GRANT SELEC ON ${db}.* TO '{{name}}'@'%'`],
        rollback_statements: [`INSERT INTO ${db}.rollback_marker VALUES ('{{name}}')`],
      });
      const err = await h.fail('read', 'creds/bad');
      assert.equal(err.status, 400);
      assert.match(err.errors[0], /^failed to execute query: Error 1064 \(42000\): You have an error in your SQL syntax/);
      assert.equal(await userCount(`bad_${tag}_%`), 0, 'the user created by the first statement was removed');
      const [marker] = await root.query(`SELECT username FROM ${db}.rollback_marker`);
      assert.match((marker as any[])[0].username, new RegExp(`^bad_${tag}_[a-z0-9]{6}$`));

      // The password itself lands in the server's "near '...'" fragment: it must come back redacted.
      await h.call('write', 'roles/leaky', {
        db_name: 'maria',
        username_template: `leak_${tag}_{{random 4 | lowercase}}`,
        creation_statements: `CREATE USER '{{name}}'@'%' IDENTIFIED BY {{password}}`,
      });
      const leaky = await h.fail('read', 'creds/leaky');
      assert.match(leaky.errors[0], /near '\[password\]' at line 1/);
      assert.doesNotMatch(leaky.errors[0], /near '[A-Za-z0-9-]{20}'/);
      assert.equal(await userCount(`leak_${tag}_%`), 0);
    } finally {
      await h.close();
    }
  });

  it('wrong root password, unreachable host and a bad DSN are 400s; nothing is stored', async () => {
    const h = await harness();
    const adm = `adm_${suffix()}`;
    await root.query(`CREATE USER '${adm}'@'%' IDENTIFIED BY 'right-pw-123'`);
    try {
      const wrong = await h.fail('write', 'config/m', {
        plugin_name: 'mysql-database-plugin', connection_url: DSN, username: adm, password: 'wrong-pw-456',
      });
      assert.equal(wrong.status, 400);
      assert.match(wrong.errors[0], /error verifying connection: Error 1045 \(28000\): Access denied for user/);
      assert.doesNotMatch(wrong.errors[0], /wrong-pw-456/);
      const down = await h.fail('write', 'config/m', {
        plugin_name: 'mysql-database-plugin', connection_url: '{{username}}:{{password}}@tcp(127.0.0.1:1)/', username: 'root', password: '',
      });
      assert.match(down.errors[0], /ECONNREFUSED/);
      const bad = await h.fail('write', 'config/m', { plugin_name: 'mysql-database-plugin', connection_url: 'no-slash-here', username: 'root' });
      assert.match(bad.errors[0], /invalid DSN/);
      assert.equal((await h.fail('read', 'config/m')).status, 404);
    } finally {
      await h.close();
      await root.query(`DROP USER IF EXISTS '${adm}'@'%'`);
    }
  });

  it('rotate-root: the old admin password stops working, credentials keep being issued', async () => {
    const h = await harness();
    const adm = `adm_${suffix()}`;
    await root.query(`CREATE USER '${adm}'@'%' IDENTIFIED BY 'initial-pw-789'`);
    await root.query(`GRANT ALL PRIVILEGES ON *.* TO '${adm}'@'%' WITH GRANT OPTION`);
    try {
      await configure(h, 'adm', { username: adm, password: 'initial-pw-789', allowed_roles: ['ro'] });
      await h.call('write', 'roles/ro', { db_name: 'adm', creation_statements: readonlyCreation });
      await h.call('write', 'rotate-root/adm', {});
      assert.match(await loginFails(adm, 'initial-pw-789'), /Access denied/);
      const res = (await h.call('read', 'creds/ro'))!;
      const { username, password } = res.data as { username: string; password: string };
      const conn = await login(username, password, db);
      await conn.query('SELECT 1 FROM items');
      await conn.end();
      await h.revoke(res.secret!.internal!);
      assert.equal(await userCount(username), 0);
    } finally {
      await h.close();
      await root.query(`DROP USER IF EXISTS '${adm}'@'%'`);
    }
  });

  it('static role: taken over at creation and rotated by rotate-role', async () => {
    const h = await harness();
    const svc = `svc_${suffix()}`;
    await root.query(`CREATE USER '${svc}'@'%' IDENTIFIED BY 'original-pw'`);
    try {
      await configure(h, 'maria', { allowed_roles: 'svc*' });
      await h.call('write', 'static-roles/svc', { db_name: 'maria', username: svc, rotation_period: '1h' });
      const first = (await h.call('read', 'static-creds/svc'))!.data as any;
      assert.match(await loginFails(svc, 'original-pw'), /Access denied/);
      await (await login(svc, first.password)).end();
      await h.call('write', 'rotate-role/svc', {});
      const second = (await h.call('read', 'static-creds/svc'))!.data as any;
      assert.notEqual(second.password, first.password);
      assert.ok(second.ttl > 3590 && second.ttl <= 3600);
      await (await login(svc, second.password)).end();
      assert.match(await loginFails(svc, first.password), /Access denied/);
    } finally {
      await h.close();
      await root.query(`DROP USER IF EXISTS '${svc}'@'%'`);
    }
  });
});
