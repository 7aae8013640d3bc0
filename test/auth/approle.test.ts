/**
 * The approle auth method against a live coffer server: roles and role IDs, secret IDs (generated, custom,
 * metadata, lookup/destroy by value and by accessor, listing), use counts under concurrency, TTLs, CIDR bounds
 * (connecting from other loopback addresses), HMAC-only storage of secret IDs, and `coffer login -method=approle`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageView } from '../../src/storage/view.js';
import { cliDevServer } from '../helpers/cli.js';
import { client } from '../helpers/server.js';

const cli = cliDevServer('coffer-approle-', async (cli) => {
  const res = await cli.root.post('sys/auth/approle', { type: 'approle' });
  assert.equal(res.status, 204, res.text);
}, { loginRateLimit: { maxFailures: 1000 }, userLockout: { all: { disabled: true } } });

const anon = (from?: string) => {
  const c = client(cli.srv.addr, null);
  return { login: (body: Record<string, unknown>) => c.post('auth/approle/login', body, from ? { from } : {}) };
};

async function role(name: string, body: Record<string, unknown> = {}) {
  const res = await cli.root.post(`auth/approle/role/${name}`, body);
  assert.equal(res.status, 204, res.text);
  return (await cli.root.get(`auth/approle/role/${name}/role-id`)).body.data.role_id as string;
}

async function secretId(name: string, body: Record<string, unknown> = {}) {
  const res = await cli.root.post(`auth/approle/role/${name}/secret-id`, body);
  assert.equal(res.status, 200, res.text);
  return res.body.data as { secret_id: string; secret_id_accessor: string; secret_id_ttl: number; secret_id_num_uses: number };
}

function refused(res: { status: number; body: any; text: string }, message: string, status = 400) {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(res.body.errors, [message]);
  assert.ok(!res.text.includes('cfs.'));
}

describe('roles and role IDs', () => {
  test('a role reads back in Vault shape without its role ID; role-id is read and set separately and stays unique', async () => {
    const roleId = await role('app', { token_policies: 'app', secret_id_ttl: '10m', secret_id_num_uses: 5 });
    assert.match(roleId, /^[0-9a-f-]{36}$/);
    const d = (await cli.root.get('auth/approle/role/app')).body.data;
    assert.equal(d.role_id, undefined);
    assert.deepEqual([d.bind_secret_id, d.secret_id_ttl, d.secret_id_num_uses, d.token_policies, d.policies], [true, 600, 5, ['app'], ['app']]);
    assert.equal((await cli.root.post('auth/approle/role/app/role-id', { role_id: 'my-custom-role-id' })).status, 204);
    assert.equal((await cli.root.get('auth/approle/role/app/role-id')).body.data.role_id, 'my-custom-role-id');
    await role('other');
    refused(await cli.root.post('auth/approle/role/other/role-id', { role_id: 'my-custom-role-id' }), 'role_id already in use');
    refused(await cli.root.post('auth/approle/role/other/role-id', {}), 'missing role_id');
    refused(await cli.root.get('auth/approle/role/ghost/role-id'), 'role "ghost" does not exist');
    assert.ok((await cli.root.list('auth/approle/role')).body.data.keys.includes('app'));
  });

  test('a role needs a secret ID or a CIDR bound', async () => {
    refused(await cli.root.post('auth/approle/role/open', { bind_secret_id: false }), 'at least one constraint should be enabled on the role');
    const roleId = await role('by-cidr', { bind_secret_id: false, secret_id_bound_cidrs: '127.0.0.9/32', token_policies: 'p' });
    const ok = await anon('127.0.0.9').login({ role_id: roleId });
    assert.equal(ok.status, 200, ok.text);
    refused(await anon().login({ role_id: roleId }), 'source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID');
  });
});

describe('secret IDs', () => {
  test('generate with metadata → login: policies, metadata, orphan service token', async () => {
    const roleId = await role('web', { token_policies: 'web-read', token_ttl: '20m' });
    const sid = await secretId('web', { metadata: '{"host":"web-1","rack":"r7"}' });
    assert.match(sid.secret_id, /^[0-9a-f-]{36}$/);
    const res = await anon().login({ role_id: roleId, secret_id: sid.secret_id });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.auth.policies, ['default', 'web-read']);
    assert.deepEqual(res.body.auth.metadata, { host: 'web-1', rack: 'r7', role_name: 'web' });
    assert.equal(res.body.auth.lease_duration, 1200);
    assert.equal(res.body.auth.orphan, true);
    assert.equal(res.body.auth.token_type, 'service');
  });

  test('lookup by value and by accessor, LIST of accessors, destroy by accessor and by value', async () => {
    const roleId = await role('svc', { token_policies: 'svc' });
    const a = await secretId('svc', { metadata: { team: 'blue' }, ttl: '1h' });
    const b = await secretId('svc');
    const keys = (await cli.root.list('auth/approle/role/svc/secret-id')).body.data.keys;
    assert.deepEqual([...keys].sort(), [a.secret_id_accessor, b.secret_id_accessor].sort());
    const byValue = await cli.root.post('auth/approle/role/svc/secret-id/lookup', { secret_id: a.secret_id });
    assert.equal(byValue.status, 200, byValue.text);
    assert.deepEqual([byValue.body.data.secret_id_accessor, byValue.body.data.metadata, byValue.body.data.secret_id_ttl], [a.secret_id_accessor, { team: 'blue' }, 3600]);
    assert.equal(Date.parse(byValue.body.data.expiration_time) - Date.parse(byValue.body.data.creation_time), 3600_000);
    assert.ok(!byValue.text.includes(a.secret_id), 'a lookup never returns the secret ID');
    const byAccessor = await cli.root.post('auth/approle/role/svc/secret-id-accessor/lookup', { secret_id_accessor: a.secret_id_accessor });
    assert.deepEqual(byAccessor.body.data, byValue.body.data);

    assert.equal((await cli.root.post('auth/approle/role/svc/secret-id-accessor/destroy', { secret_id_accessor: a.secret_id_accessor })).status, 204);
    refused(await anon().login({ role_id: roleId, secret_id: a.secret_id }), 'invalid role or secret ID');
    refused(await cli.root.post('auth/approle/role/svc/secret-id-accessor/lookup', { secret_id_accessor: a.secret_id_accessor }), `failed to find accessor entry for secret_id_accessor: "${a.secret_id_accessor}"`);
    assert.equal((await anon().login({ role_id: roleId, secret_id: b.secret_id })).status, 200);
    assert.equal((await cli.root.post('auth/approle/role/svc/secret-id/destroy', { secret_id: b.secret_id })).status, 204);
    refused(await anon().login({ role_id: roleId, secret_id: b.secret_id }), 'invalid role or secret ID');
    assert.equal((await cli.root.list('auth/approle/role/svc/secret-id')).status, 404);
  });

  test('custom secret IDs: registered once, then usable', async () => {
    const roleId = await role('custom', { token_policies: 'c' });
    const res = await cli.root.post('auth/approle/role/custom/custom-secret-id', { secret_id: 'chosen-by-ops-0001' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.secret_id, 'chosen-by-ops-0001');
    refused(await cli.root.post('auth/approle/role/custom/custom-secret-id', { secret_id: 'chosen-by-ops-0001' }), 'SecretID is already registered');
    assert.equal((await anon().login({ role_id: roleId, secret_id: 'chosen-by-ops-0001' })).status, 200);
  });

  test('use counts are spent atomically: 10 concurrent logins with a 3-use secret ID give exactly 3 tokens', async () => {
    const roleId = await role('counted', { token_policies: 'c', secret_id_num_uses: 3 });
    const sid = await secretId('counted');
    assert.equal(sid.secret_id_num_uses, 3);
    const results = await Promise.all(Array.from({ length: 10 }, () => anon().login({ role_id: roleId, secret_id: sid.secret_id })));
    assert.equal(results.filter((r) => r.status === 200).length, 3);
    for (const r of results.filter((r) => r.status !== 200)) refused(r, 'invalid role or secret ID');
    // The last use deleted it.
    assert.equal((await cli.root.post('auth/approle/role/counted/secret-id/lookup', { secret_id: sid.secret_id })).status, 204);
  });

  test('per-secret-ID TTL and uses may only tighten the role\'s', async () => {
    await role('limits', { secret_id_ttl: '1h', secret_id_num_uses: 5 });
    refused(await cli.root.post('auth/approle/role/limits/secret-id', { ttl: '2h' }), 'ttl must be greater than zero and no more than the role\'s "secret_id_ttl"');
    refused(await cli.root.post('auth/approle/role/limits/secret-id', { num_uses: 6 }), 'num_uses must be greater than zero and no more than the role\'s "secret_id_num_uses"');
    refused(await cli.root.post('auth/approle/role/limits/secret-id', { metadata: '{"a":1}' }), 'invalid request data: field "metadata.a": must be a JSON object of string values');
    const sid = await secretId('limits', { ttl: '30m', num_uses: 2 });
    assert.deepEqual([sid.secret_id_ttl, sid.secret_id_num_uses], [1800, 2]);
  });

  test('an expired secret ID is refused and removed', async () => {
    const roleId = await role('short', { secret_id_ttl: 1 });
    const sid = await secretId('short');
    const expires = Date.parse((await cli.root.post('auth/approle/role/short/secret-id/lookup', { secret_id: sid.secret_id })).body.data.expiration_time);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now()) + 50));
    refused(await anon().login({ role_id: roleId, secret_id: sid.secret_id }), 'invalid role or secret ID');
    assert.equal((await cli.root.list('auth/approle/role/short/secret-id')).status, 404);
  });

  test('CIDR bounds: the secret ID\'s cidr_list inside the role\'s, token_bound_cidrs carried by the token', async () => {
    const roleId = await role('net', { secret_id_bound_cidrs: '127.0.0.0/24', token_policies: 'net' });
    refused(
      await cli.root.post('auth/approle/role/net/secret-id', { cidr_list: '10.0.0.0/8' }),
      'failed to verify the CIDR restrictions set on the secret ID: cidr_list must be a subset of the role\'s "secret_id_bound_cidrs"',
    );
    const sid = await secretId('net', { cidr_list: '127.0.0.20/32', token_bound_cidrs: '127.0.0.20,127.0.0.21' });
    refused(await anon().login({ role_id: roleId, secret_id: sid.secret_id }), 'source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID');
    const ok = await anon('127.0.0.20').login({ role_id: roleId, secret_id: sid.secret_id });
    assert.equal(ok.status, 200, ok.text);
    const token = ok.body.auth.client_token;
    assert.equal((await client(cli.srv.addr, token).get('auth/token/lookup-self', { from: '127.0.0.21' })).status, 200);
    assert.equal((await client(cli.srv.addr, token).get('auth/token/lookup-self', { from: '127.0.0.1' })).status, 403);
    assert.deepEqual((await client(cli.srv.addr, token).get('auth/token/lookup-self', { from: '127.0.0.20' })).body.data.bound_cidrs, ['127.0.0.20', '127.0.0.21']);
  });

  test('deleting a role removes its secret IDs', async () => {
    const roleId = await role('gone', { token_policies: 'g' });
    const sid = await secretId('gone');
    assert.equal((await cli.root.delete('auth/approle/role/gone')).status, 204);
    await role('gone', { role_id: roleId, token_policies: 'g' });
    refused(await anon().login({ role_id: roleId, secret_id: sid.secret_id }), 'invalid role or secret ID');
  });

  test('login errors say no more than Vault does', async () => {
    const roleId = await role('errs');
    refused(await anon().login({}), 'missing role_id');
    refused(await anon().login({ role_id: 'not-a-role-id', secret_id: 'x' }), 'invalid role or secret ID');
    refused(await anon().login({ role_id: roleId, secret_id: 'wrong' }), 'invalid role or secret ID');
    refused(await anon().login({ role_id: roleId }), 'missing secret_id');
  });

  test('storage holds secret IDs only as HMACs (keys and values, read through the barrier)', async () => {
    await role('stored', { token_policies: 's' });
    const sid = await secretId('stored', { metadata: { k: 'v' } });
    const custom = await cli.root.post('auth/approle/role/stored/custom-secret-id', { secret_id: 'custom-secret-value-42' });
    assert.equal(custom.status, 200);
    const core = cli.srv.server.core;
    const mount = core.mounts.find('auth/approle/')!;
    const view = new StorageView(core.barrier, `auth/${mount.entry.uuid}/`);
    const keys = await view.listRecursive();
    assert.ok(keys.some((k) => k.startsWith('secret_id/stored/')), 'secret IDs are stored under the role');
    for (const key of keys) {
      const value = (await view.get(key))!.toString('latin1');
      for (const secret of [sid.secret_id, 'custom-secret-value-42']) {
        assert.ok(!key.includes(secret) && !value.includes(secret), `${key} holds a secret ID in clear`);
      }
    }
  });
});

describe('CLI', () => {
  test('`coffer login -method=approle role_id=... secret_id=...`', async () => {
    const roleId = await role('cli', { token_policies: 'cli-p' });
    const sid = await secretId('cli');
    const r = await cli.coffer(['login', '-method=approle', '-format=json', '-no-store', `role_id=${roleId}`, `secret_id=${sid.secret_id}`], { env: { VAULT_TOKEN: '' } });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.auth.policies, ['cli-p', 'default']);
    assert.equal(out.auth.metadata.role_name, 'cli');
    const bad = await cli.coffer(['login', '-method=approle', `role_id=${roleId}`, 'secret_id=wrong'], { env: { VAULT_TOKEN: '' } });
    assert.equal(bad.code, 2);
    assert.ok(bad.stderr.includes('* invalid role or secret ID'), bad.stderr);
    assert.ok(!bad.stderr.includes('wrong'), 'the secret ID given is not echoed');
  });
});
