/**
 * The database engine against the machine's Redis (127.0.0.1:6379) through the redis-database-plugin: ACL users
 * from creation_statements. The tests create their own admin ACL user (random suffix) and delete every user.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { databaseHarness as harness, type DatabaseHarness } from '../helpers/engine-harness.js';

// ---- helpers ---------------------------------------------------------------------------------------------

const suffix = () => randomBytes(4).toString('hex');

function client(username?: string, password?: string): Redis {
  const c = new Redis({ host: '127.0.0.1', port: 6379, username, password, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  c.on('error', () => undefined);
  return c;
}

async function loginFails(username: string, password: string): Promise<void> {
  const c = client(username, password);
  try {
    await c.connect();
    await c.ping();
  } catch {
    return;
  } finally {
    c.disconnect();
  }
  assert.fail(`login as ${username} should have failed`);
}

describe('database engine: Redis', { timeout: 30_000 }, () => {
  let admin: Redis;
  const adminUser = `coffer_adm_${suffix()}`;
  const adminPassword = `adm-${suffix()}-${suffix()}`;
  const configure = (h: DatabaseHarness, name: string, extra: Record<string, unknown> = {}) =>
    h.call('write', `config/${name}`, {
      plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 6379, username: adminUser, password: adminPassword,
      allowed_roles: '*', ...extra,
    });
  const aclUser = (name: string) => admin.call('ACL', 'GETUSER', name);

  before(async () => {
    admin = client();
    await admin.connect();
    await admin.call('ACL', 'SETUSER', adminUser, 'on', `>${adminPassword}`, '~*', '&*', '+@all');
  });

  after(async () => {
    await admin.call('ACL', 'DELUSER', adminUser);
    admin.disconnect();
  });

  it('an ACL user from creation_statements can GET but not SET; revoke deletes it, idempotently', async () => {
    const h = await harness();
    const key = `coffer:test:${suffix()}`;
    await admin.set(key, 'hello');
    let issued = '';
    try {
      assert.equal(await configure(h, 'cache'), null);
      const read = (await h.call('read', 'config/cache'))!.data as any;
      assert.deepEqual(Object.keys(read.connection_details).sort(), ['host', 'port', 'username']);
      assert.doesNotMatch(JSON.stringify(read), new RegExp(adminPassword));

      await h.call('write', 'roles/reader', { db_name: 'cache', creation_statements: '["+@read", "~*"]', default_ttl: '5m' });
      const res = (await h.call('read', 'creds/reader'))!;
      const { username, password } = res.data as { username: string; password: string };
      issued = username;
      assert.match(username, /^V_TOKEN_READER_[A-Z0-9]{20}_\d{10}$/);
      assert.equal(res.secret!.ttl, 300);
      assert.notEqual(await aclUser(username), null);

      const user = client(username, password);
      await user.connect();
      assert.equal(await user.get(key), 'hello');
      await assert.rejects(user.set(key, 'changed'), /NOPERM/);
      user.disconnect();

      assert.equal((await h.renew(res.secret!.internal!)).ttl, 300);
      await h.revoke(res.secret!.internal!);
      assert.equal(await aclUser(username), null);
      await loginFails(username, password);
      await h.revoke(res.secret!.internal!);
    } finally {
      await h.close();
      await admin.del(key);
      if (issued) await admin.call('ACL', 'DELUSER', issued);
    }
  });

  it('default rules are ["~*", "+@read"]; a bad rule is a 400 and leaves no user', async () => {
    const h = await harness();
    const tag = suffix();
    try {
      await configure(h, 'cache');
      await h.call('write', 'roles/default', { db_name: 'cache' });
      const res = (await h.call('read', 'creds/default'))!;
      const rules = String(await admin.call('ACL', 'GETUSER', (res.data as any).username).then((r: any) => r[r.indexOf('commands') + 1]));
      assert.match(rules, /\+@read/);
      await h.revoke(res.secret!.internal!);

      await h.call('write', 'roles/broken', {
        db_name: 'cache', username_template: `bad_${tag}_{{random 4}}`, creation_statements: '["+@nosuchcategory"]',
      });
      const err = await h.fail('read', 'creds/broken');
      assert.equal(err.status, 400);
      assert.match(err.errors[0], /ACL SETUSER|Unknown command or category|Error in ACL/i);
      const users = (await admin.call('ACL', 'USERS')) as string[];
      assert.equal(users.filter((u) => u.startsWith(`bad_${tag}_`)).length, 0);
    } finally {
      await h.close();
    }
  });

  it('wrong password, unreachable host and missing settings are 400s', async () => {
    const h = await harness();
    try {
      const wrong = await h.fail('write', 'config/r', {
        plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 6379, username: adminUser, password: 'not-the-password',
      });
      assert.equal(wrong.status, 400);
      assert.match(wrong.errors[0], /error verifying connection: WRONGPASS/);
      assert.doesNotMatch(wrong.errors[0], /not-the-password/);
      const down = await h.fail('write', 'config/r', {
        plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 1, username: adminUser, password: adminPassword,
      });
      assert.match(down.errors[0], /ECONNREFUSED/);
      const missing = await h.fail('write', 'config/r', { plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 6379 });
      assert.match(missing.errors[0], /username cannot be empty/);
      const tls = await h.fail('write', 'config/r', {
        plugin_name: 'redis-database-plugin', host: '127.0.0.1', port: 6379, username: adminUser, password: adminPassword, tls: true,
      });
      assert.match(tls.errors[0], /ca_cert cannot be empty/);
      assert.equal((await h.fail('read', 'config/r')).status, 404);
    } finally {
      await h.close();
    }
  });

  it('rotate-root: the admin user\'s old password stops working; the engine keeps working', async () => {
    const h = await harness();
    const adm = `coffer_rot_${suffix()}`;
    await admin.call('ACL', 'SETUSER', adm, 'on', '>rot-initial-pw', '~*', '&*', '+@all');
    try {
      await configure(h, 'rot', { username: adm, password: 'rot-initial-pw' });
      await h.call('write', 'rotate-root/rot', {});
      await loginFails(adm, 'rot-initial-pw');
      await h.call('write', 'roles/r', { db_name: 'rot' });
      const res = (await h.call('read', 'creds/r'))!;
      assert.notEqual(await aclUser((res.data as any).username), null);
      await h.revoke(res.secret!.internal!);
    } finally {
      await h.close();
      await admin.call('ACL', 'DELUSER', adm);
    }
  });
});
