/**
 * A third-party Vault client, `node-vault` from npm in its default configuration, against a live coffer dev
 * server: a read wrapped with X-Vault-Wrap-TTL and unwrapped by its `unwrap` command (once only), an AppRole
 * secret ID delivered wrapped and used to log in, and the cubbyhole engine.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import vault from 'node-vault';
import { startDevServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
const wrapTTL = (ttl: string) => ({ headers: { 'X-Vault-Wrap-TTL': ttl } });
const as = (token: string) => vault({ apiVersion: 'v1', endpoint: srv.addr, token });

before(async () => {
  srv = await startDevServer();
});
after(() => srv.close());

test('node-vault: a wrapped KV read unwraps once with `unwrap`', async () => {
  const v = as(srv.token);
  await v.write('secret/data/app', { data: { password: 'hunter2' } });
  const wrapped = await v.read('secret/data/app', wrapTTL('2m'));
  assert.equal(wrapped.data, null);
  assert.equal(wrapped.wrap_info.ttl, 120);
  const unwrapped = await v.unwrap({ token: wrapped.wrap_info.token });
  assert.equal(unwrapped.data.data.password, 'hunter2');
  await assert.rejects(v.unwrap({ token: wrapped.wrap_info.token }), (e: any) => {
    assert.equal(e.response.statusCode, 400);
    assert.match(e.message, /wrapping token is not valid or does not exist/);
    return true;
  });
});

test('node-vault: an AppRole secret ID delivered wrapped logs in once unwrapped', async () => {
  const v = as(srv.token);
  await v.write('sys/auth/approle', { type: 'approle' });
  await v.write('auth/approle/role/deploy', { token_policies: ['default'] });
  const roleId = (await v.read('auth/approle/role/deploy/role-id')).data.role_id;
  const wrapped = await v.write('auth/approle/role/deploy/secret-id', {}, wrapTTL('1m'));
  assert.equal(wrapped.data, null);
  // The wrapping token as the client's own token, as a machine receiving it would use it.
  const secret = await as(wrapped.wrap_info.token).unwrap();
  assert.equal(secret.data.secret_id_accessor, wrapped.wrap_info.wrapped_accessor);
  const login = await vault({ apiVersion: 'v1', endpoint: srv.addr, token: '' }).approleLogin({ role_id: roleId, secret_id: secret.data.secret_id });
  assert.match(login.auth.client_token, /^cfs\./);
});

test('node-vault: each token has its own cubbyhole', async () => {
  // node-vault clients share one token setting (a second `vault({ token })` changes the first's): switch it.
  const v = as(srv.token);
  const other = (await v.tokenCreate({ policies: ['default'] })).auth.client_token;
  v.token = other;
  await v.write('cubbyhole/note', { text: 'mine' });
  assert.deepEqual((await v.read('cubbyhole/note')).data, { text: 'mine' });
  v.token = srv.token;
  await assert.rejects(v.read('cubbyhole/note'), (e: any) => e.response.statusCode === 404);
});
