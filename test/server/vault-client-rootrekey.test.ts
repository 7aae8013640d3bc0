/**
 * A third-party Vault client, `node-vault` from npm in its default configuration, generates a root token and
 * rekeys a live coffer dev server (one unseal key share): its own generateRoot* commands and its generic
 * read/write/delete for sys/rekey, which it has no dedicated commands for.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import vault from 'node-vault';
import { startDevServer, type TestServer } from '../helpers/server.js';
import { decodeToken } from '../../src/shared/otp.js';

let srv: TestServer;
let unsealKey: string;

/** A client with no token: these paths are authorised by key shares alone. */
function anonymous() {
  const v = vault({ apiVersion: 'v1', endpoint: srv.addr });
  v.token = ''; // node-vault falls back to $VAULT_TOKEN otherwise
  return v;
}

before(async () => {
  srv = await startDevServer();
  unsealKey = srv.server.unsealKey!;
});
after(() => srv.close());

test('node-vault: generateRootInit / generateRootUpdate yield an OTP-encoded root token that works', async () => {
  const v = anonymous();
  const started = await v.generateRootInit();
  assert.equal(started.started, true);
  assert.equal(started.otp.length, started.otp_length);
  const done = await v.generateRootUpdate({ key: unsealKey, nonce: started.nonce });
  assert.equal(done.complete, true);
  const token = decodeToken(done.encoded_root_token, started.otp);
  const self = await vault({ apiVersion: 'v1', endpoint: srv.addr, token }).tokenLookupSelf();
  assert.deepEqual(self.data.policies, ['root']);

  await v.generateRootInit();
  await v.generateRootCancel();
  assert.equal((await v.read('sys/generate-root/attempt')).started, false);
});

test('node-vault: a wrong nonce is refused with Vault\'s message', async () => {
  const v = anonymous();
  const started = await v.generateRootInit();
  await assert.rejects(v.generateRootUpdate({ key: unsealKey, nonce: 'wrong' }), (e: any) => {
    assert.equal(e.response.statusCode, 400);
    assert.match(e.message, /incorrect nonce supplied; nonce for this root generation operation is/);
    return true;
  });
  await v.generateRootUpdate({ key: unsealKey, nonce: started.nonce });
});

test('node-vault: rekey through write/read/delete; the new key unseals, the old one no longer does', async () => {
  const v = anonymous();
  const started = await v.write('sys/rekey/init', { secret_shares: 3, secret_threshold: 2 });
  assert.deepEqual([started.started, started.n, started.t, started.required], [true, 3, 2, 1]);
  const done = await v.write('sys/rekey/update', { key: unsealKey, nonce: started.nonce });
  assert.equal(done.keys_base64.length, 3);
  assert.equal((await v.read('sys/rekey/init')).started, false);

  const root = vault({ apiVersion: 'v1', endpoint: srv.addr, token: srv.token });
  await root.seal();
  await assert.rejects(v.unseal({ key: unsealKey }), (e: any) => e.response.statusCode === 400);
  assert.equal((await v.status()).sealed, true, 'the old key does not unseal');
  await v.unseal({ key: done.keys_base64[2] });
  assert.equal((await v.unseal({ key: done.keys_base64[0] })).sealed, false);

  await v.write('sys/rekey/init', { secret_shares: 1, secret_threshold: 1 });
  await v.delete('sys/rekey/init');
  assert.equal((await v.read('sys/rekey/init')).started, false);
});
