/**
 * KV's mount rules live with the KV factory (`validateMount`), which the mount table asks before enabling a
 * mount: a `kv-v2` mount is stored as `kv` with version 2, and a `version` other than 1 or 2 is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kvFactory, kvV2Factory } from '../../src/engines/kv/index.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let root: ReturnType<typeof client>;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});
after(() => srv?.close());

describe('KV mount rules', () => {
  test('the factories declare them', () => {
    assert.deepEqual(kvV2Factory.validateMount?.({ foo: 'bar' }), { type: 'kv', options: { foo: 'bar', version: '2' } });
    assert.deepEqual(kvFactory.validateMount?.({ version: '1' }), { type: 'kv', options: { version: '1' } });
    assert.throws(() => kvFactory.validateMount?.({ version: '3' }), /invalid kv version "3"; expected 1 or 2/);
  });

  test('a kv-v2 mount is listed as kv with version 2', async () => {
    assert.equal((await root.post('sys/mounts/rules-v2', { type: 'kv-v2' })).status, 204);
    const mount = (await root.get('sys/mounts')).body.data['rules-v2/'];
    assert.equal(mount.type, 'kv');
    assert.equal(mount.options.version, '2');
  });

  test('a kv version other than 1 or 2 is refused with a 400 naming it, and nothing is mounted', async () => {
    const res = await root.post('sys/mounts/rules-v3', { type: 'kv', options: { version: '3' } });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.body.errors, ['invalid kv version "3"; expected 1 or 2']);
    assert.equal((await root.get('sys/mounts')).body.data['rules-v3/'], undefined);
  });
});
