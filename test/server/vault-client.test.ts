/**
 * Existing Vault clients work unchanged: drives a live coffer dev server with the third-party `node-vault`
 * package from the npm registry (health, KV v1 and v2, mounts, policies through the current and the legacy
 * endpoint, tokens, a 403 on a denied path, null fields).
 *
 * This file and vault-client-wrapping / vault-client-rootrekey / list-method are the Vault-client compatibility
 * suite: listing, wrapping and unwrapping, null fields, generate-root and rekey through the same npm client.
 *
 * The client runs with its default settings: its `list()` sends the `LIST` HTTP method (src/server/list-method.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import vault from 'node-vault';
import { startDevServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;

function connect(token?: string) {
  const v = vault({ apiVersion: 'v1', endpoint: srv.addr, token });
  // node-vault falls back to $VAULT_TOKEN when no token is given; an anonymous client must send none.
  if (!token) v.token = '';
  return v;
}

/** Runs `fn`, expects node-vault to reject with an ApiResponseError of `status`; returns the error. */
async function rejectsWith(status: number, fn: () => Promise<unknown>): Promise<{ message: string; response: { statusCode: number; body: any } }> {
  try {
    await fn();
  } catch (err) {
    const e = err as { message: string; response?: { statusCode: number; body: any } };
    assert.ok(e.response, `expected an ApiResponseError, got ${String(err)}`);
    assert.equal(e.response.statusCode, status, `expected ${status}, got ${e.response.statusCode}: ${e.message}`);
    return e as { message: string; response: { statusCode: number; body: any } };
  }
  assert.fail(`expected the call to fail with ${status}`);
}

before(async () => {
  srv = await startDevServer();
});

after(async () => {
  await srv?.close();
});

test('health reports an initialised, unsealed, active server', async () => {
  const v = connect();
  const health = await v.health();
  assert.equal(health.initialized, true);
  assert.equal(health.sealed, false);
  assert.equal(health.standby, false);
  assert.equal(typeof health.version, 'string');
  const status = await v.status();
  assert.equal(status.sealed, false);
  assert.equal(typeof status.t, 'number');
});

test('KV v1: mount(), write, read, list, delete', async () => {
  const v = connect(srv.token);
  await v.mount({ mount_point: 'kv1', type: 'kv', description: 'v1 store', options: { version: '1' } });
  await v.write('kv1/app/db', { username: 'svc', password: 'kv1-pass' });
  await v.write('kv1/app/api', { key: 'k-123' });
  await v.write('kv1/other', { x: '1' });

  const read = await v.read('kv1/app/db');
  assert.deepEqual(read.data, { username: 'svc', password: 'kv1-pass' });
  assert.equal(read.mount_type, 'kv');

  const listed = await v.list('kv1/app/');
  assert.deepEqual(listed.data.keys, ['api', 'db']);
  const top = await v.list('kv1/');
  assert.deepEqual(top.data.keys, ['app/', 'other']);

  // Overwrite replaces the whole map.
  await v.write('kv1/app/db', { password: 'rotated' });
  assert.deepEqual((await v.read('kv1/app/db')).data, { password: 'rotated' });

  await v.delete('kv1/app/db');
  await rejectsWith(404, () => v.read('kv1/app/db'));
  assert.deepEqual((await v.list('kv1/app/')).data.keys, ['api']);
});

test('KV v2: write, read, read by version, update (PATCH), metadata list', async () => {
  const v = connect(srv.token);
  const first = await v.write('secret/data/web/config', { data: { color: 'red', size: 'L' } });
  assert.equal(first.data.version, 1);
  const second = await v.write('secret/data/web/config', { data: { color: 'blue' } });
  assert.equal(second.data.version, 2);
  await v.write('secret/data/web/other', { data: { a: 'b' } });

  const latest = await v.read('secret/data/web/config');
  assert.deepEqual(latest.data.data, { color: 'blue' });
  assert.equal(latest.data.metadata.version, 2);

  // node-vault passes the path through as-is, so the query string selects the version.
  const v1 = await v.read('secret/data/web/config?version=1');
  assert.deepEqual(v1.data.data, { color: 'red', size: 'L' });
  assert.equal(v1.data.metadata.version, 1);

  // check-and-set through the client.
  const cas = await rejectsWith(400, () => v.write('secret/data/web/config', { data: { color: 'green' }, options: { cas: 1 } }));
  assert.match(cas.message, /check-and-set/);

  // node-vault's update() is a JSON merge patch.
  const patched = await v.update('secret/data/web/config', { data: { size: 'S' } });
  assert.equal(patched.data.version, 3);
  assert.deepEqual((await v.read('secret/data/web/config')).data.data, { color: 'blue', size: 'S' });

  const listed = await v.list('secret/metadata/web/');
  assert.deepEqual(listed.data.keys, ['config', 'other']);
  const meta = await v.read('secret/metadata/web/config');
  assert.equal(meta.data.current_version, 3);
  assert.deepEqual(Object.keys(meta.data.versions).sort(), ['1', '2', '3']);

  await rejectsWith(404, () => v.read('secret/data/web/missing'));
});

test('mounts: mount, mounts listing, remount, unmount', async () => {
  const v = connect(srv.token);
  await v.mount({ mount_point: 'client-kv2', type: 'kv', options: { version: '2' }, description: 'from node-vault' });
  const mounts = await v.mounts();
  // Vault repeats the table at the top level and under `data`; clients read either.
  for (const table of [mounts, mounts.data]) {
    assert.equal(table['client-kv2/'].type, 'kv');
    assert.equal(table['client-kv2/'].options.version, '2');
    assert.equal(table['client-kv2/'].description, 'from node-vault');
    assert.equal(table['secret/'].type, 'kv');
    assert.equal(table['sys/'].type, 'system');
  }
  await v.write('client-kv2/data/k', { data: { v: 'moved' } });
  await v.remount({ from: 'client-kv2', to: 'client-kv2-moved' });
  assert.equal((await v.read('client-kv2-moved/data/k')).data.data.v, 'moved');

  await v.unmount({ mount_point: 'client-kv2-moved' });
  const after = await v.mounts();
  assert.equal(after.data['client-kv2-moved/'], undefined);
  assert.equal(after.data['client-kv2/'], undefined);
  await rejectsWith(404, () => v.read('client-kv2-moved/data/k'));
});

test('policies: current sys/policies/acl endpoint through write/read/list/delete', async () => {
  const v = connect(srv.token);
  const hcl = 'path "secret/data/acl-current/*" {\n  capabilities = ["read"]\n}\n';
  await v.write('sys/policies/acl/current-pol', { policy: hcl });
  const read = await v.read('sys/policies/acl/current-pol');
  assert.equal(read.data.name, 'current-pol');
  assert.equal(read.data.policy, hcl);
  const listed = await v.list('sys/policies/acl');
  assert.ok(listed.data.keys.includes('current-pol'));
  assert.ok(listed.data.keys.includes('default'));
  await v.delete('sys/policies/acl/current-pol');
  await rejectsWith(404, () => v.read('sys/policies/acl/current-pol'));
});

test('policies: legacy sys/policy endpoint through addPolicy/getPolicy/policies/removePolicy', async () => {
  const v = connect(srv.token);
  const rules = 'path "secret/data/legacy/*" {\n  capabilities = ["read", "list"]\n}\n';
  await v.addPolicy({ name: 'legacy-pol', rules });
  const got = await v.getPolicy({ name: 'legacy-pol' });
  assert.equal(got.rules, rules);
  assert.equal(got.name, 'legacy-pol');
  const all = await v.policies();
  assert.ok(all.policies.includes('legacy-pol'));
  assert.ok(all.policies.includes('root'));
  assert.ok(all.policies.includes('default'));
  await v.removePolicy({ name: 'legacy-pol' });
  assert.ok(!(await v.policies()).policies.includes('legacy-pol'));
  await rejectsWith(404, () => v.getPolicy({ name: 'legacy-pol' }));
  // A malformed policy is refused with 400.
  await rejectsWith(400, () => v.addPolicy({ name: 'broken', rules: 'path "x" { capabilities = ' }));
});

test('tokens: create with a policy, lookup-self, 403 on a denied path, revoke-self', async () => {
  const root = connect(srv.token);
  await root.addPolicy({
    name: 'app-reader',
    rules: 'path "secret/data/app/*" {\n  capabilities = ["read"]\n}\npath "secret/data/admin/*" {\n  capabilities = ["deny"]\n}\n',
  });
  await root.write('secret/data/app/db', { data: { password: 'app-secret' } });
  await root.write('secret/data/admin/db', { data: { password: 'admin-secret' } });

  const created = await root.tokenCreate({ policies: ['app-reader'], ttl: '1h', display_name: 'node-vault', meta: { team: 'a' } });
  const token: string = created.auth.client_token;
  assert.match(token, /^cfs\./);
  assert.deepEqual(created.auth.policies, ['app-reader', 'default']);
  assert.equal(typeof created.auth.accessor, 'string');
  assert.ok(created.auth.lease_duration > 3500 && created.auth.lease_duration <= 3600);
  assert.equal(created.auth.renewable, true);
  // node-vault declares tokenCreate a token source: like its logins, it switches the client to the new token.
  assert.equal(root.token, token);
  root.token = srv.token;

  const app = connect(token);
  const self = await app.tokenLookupSelf();
  assert.equal(self.data.id, token);
  assert.deepEqual(self.data.policies, ['app-reader', 'default']);
  assert.equal(self.data.accessor, created.auth.accessor);
  assert.equal(self.data.display_name, 'token-node-vault');
  assert.deepEqual(self.data.meta, { team: 'a' });
  assert.ok(self.data.ttl > 3500);

  assert.equal((await app.read('secret/data/app/db')).data.data.password, 'app-secret');

  const denied = await rejectsWith(403, () => app.read('secret/data/admin/db'));
  assert.deepEqual(denied.response.body, { errors: ['permission denied'] });
  assert.ok(!JSON.stringify(denied.response.body).includes('admin-secret'));
  await rejectsWith(403, () => app.write('secret/data/app/db', { data: { password: 'overwrite' } }));
  await rejectsWith(403, () => app.mounts());
  await rejectsWith(403, () => app.tokenCreate({ policies: ['root'] }));

  await app.tokenRevokeSelf();
  await rejectsWith(403, () => app.tokenLookupSelf());
  await rejectsWith(403, () => app.read('secret/data/app/db'));
  // The root token is untouched.
  assert.equal((await root.read('secret/data/app/db')).data.data.password, 'app-secret');
});

test('tokens: lookup and revoke another token by value; renew-self', async () => {
  const root = connect(srv.token);
  const created = await root.tokenCreate({ policies: ['default'], ttl: '10m' });
  const token: string = created.auth.client_token;
  root.token = srv.token;
  const looked = await root.tokenLookup({ token });
  assert.equal(looked.data.accessor, created.auth.accessor);
  const renewed = await connect(token).tokenRenewSelf({ increment: '20m' });
  assert.ok(renewed.auth.lease_duration > 600, `renewed TTL ${renewed.auth.lease_duration}`);
  await root.tokenRevoke({ token });
  await rejectsWith(403, () => connect(token).tokenLookupSelf());
});

test('missing or unknown token is refused with 403', async () => {
  await rejectsWith(403, () => connect().read('secret/data/app/db'));
  await rejectsWith(403, () => connect('cfs.not-a-real-token').read('secret/data/app/db'));
});

test('null fields mean "not set" (mount, token create, AppRole custom secret ID), and a null inside KV data is kept', async () => {
  const v = connect(srv.token);
  // Python's and Node's clients serialise unset optional arguments as JSON null; Vault treats them as absent.
  await v.mount({ mount_point: 'nulls', type: 'kv', description: null, config: null, options: { version: '2' } });
  const mounts = await v.mounts();
  assert.equal(mounts['nulls/'].type, 'kv');
  assert.equal(mounts['nulls/'].description, '');

  await v.write('nulls/data/app', { data: { password: 'p', previous: null } });
  assert.deepEqual((await v.read('nulls/data/app')).data.data, { password: 'p', previous: null });

  // node-vault's own schemas refuse null for tokenCreate and enableAuth, so those bodies go through its generic write.
  const created = await connect(srv.token).write('auth/token/create', { policies: ['default'], id: null, num_uses: null, ttl: '5m' });
  assert.match(created.auth.client_token, /^cfs\./);
  const looked = await connect(srv.token).write('auth/token/lookup', { token: created.auth.client_token });
  assert.equal(looked.data.num_uses, 0);
  assert.equal(looked.data.ttl > 0, true);

  await v.write('sys/auth/approle-nulls', { type: 'approle', description: null, config: null });
  await v.addApproleRole({ mount_point: 'approle-nulls', role_name: 'ci', token_policies: 'default' });
  const custom = await v.write('auth/approle-nulls/role/ci/custom-secret-id', { secret_id: 'custom-secret-id-with-null-meta', metadata: null });
  assert.equal(typeof custom.data.secret_id_accessor, 'string');
  const roleId = (await v.read('auth/approle-nulls/role/ci/role-id')).data.role_id;
  const login = await connect().write('auth/approle-nulls/login', { role_id: roleId, secret_id: 'custom-secret-id-with-null-meta' });
  assert.match(login.auth.client_token, /^cfs\./);
});
