/**
 * The cubbyhole engine over HTTP against a live dev server: mounted by default at `cubbyhole/` and fixed there,
 * read/write/list/delete as Vault's, private to each token, stored under a hash of the token id (never the
 * token), and destroyed when its token is revoked or expires — root tokens included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let root: ReturnType<typeof client>;

/** Every storage key (below the barrier's view) of the cubbyhole mount. */
const cubbyholeKeys = () => server.server.core.cubbyholeView().listRecursive();

async function newToken(body: Record<string, unknown> = {}): Promise<{ token: string; c: ReturnType<typeof client> }> {
  const res = await root.post('auth/token/create', { policies: ['default'], ...body });
  assert.equal(res.status, 200, res.text);
  return { token: res.body.auth.client_token, c: client(server.addr, res.body.auth.client_token) };
}

before(async () => {
  server = await startDevServer();
  root = client(server.addr, server.token);
});
after(() => server.close());

describe('cubbyhole', () => {
  test('is mounted at cubbyhole/ with type cubbyhole and cannot be disabled or moved', async () => {
    const mounts = await root.get('sys/mounts');
    assert.equal(mounts.body.data['cubbyhole/'].type, 'cubbyhole');
    assert.equal((await root.delete('sys/mounts/cubbyhole')).status, 400);
    assert.equal((await root.post('sys/remount', { from: 'cubbyhole', to: 'elsewhere' })).status, 400);
    assert.equal((await root.post('sys/mounts/other', { type: 'cubbyhole' })).status, 400);
    assert.equal((await root.get('sys/mounts')).body.data['cubbyhole/'].type, 'cubbyhole');
  });

  test('read, write, list and delete as Vault', async () => {
    const { c } = await newToken();
    assert.equal((await c.get('cubbyhole/app/db')).status, 404);
    assert.equal((await c.post('cubbyhole/app/db', { password: 's3cr3t', ttl: '1h' })).status, 204);
    const read = await c.get('cubbyhole/app/db');
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.data, { password: 's3cr3t', ttl: '1h' });
    assert.equal(read.body.lease_duration, 0, 'no lease hint in a cubbyhole');
    assert.deepEqual((await c.list('cubbyhole/')).body.data.keys, ['app/']);
    assert.deepEqual((await c.list('cubbyhole/app')).body.data.keys, ['db']);
    const empty = await c.post('cubbyhole/app/none', {});
    assert.equal(empty.status, 400);
    assert.deepEqual(empty.body.errors, ['missing data fields']);
    assert.equal((await c.delete('cubbyhole/app/db')).status, 204);
    assert.equal((await c.get('cubbyhole/app/db')).status, 404);
    assert.equal((await c.list('cubbyhole/')).status, 404);
  });

  test('two tokens cannot see each other\'s cubbyhole, and storage never holds the token', async () => {
    const a = await newToken();
    const b = await newToken();
    await a.c.post('cubbyhole/shared-name', { owner: 'a' });
    await b.c.post('cubbyhole/shared-name', { owner: 'b' });
    await a.c.post('cubbyhole/only-a', { x: '1' });
    assert.deepEqual((await a.c.get('cubbyhole/shared-name')).body.data, { owner: 'a' });
    assert.deepEqual((await b.c.get('cubbyhole/shared-name')).body.data, { owner: 'b' });
    assert.equal((await b.c.get('cubbyhole/only-a')).status, 404);
    assert.deepEqual((await b.c.list('cubbyhole/')).body.data.keys, ['shared-name']);
    assert.equal((await b.c.delete('cubbyhole/only-a')).status, 204);
    assert.deepEqual((await a.c.get('cubbyhole/only-a')).body.data, { x: '1' }, 'b cannot delete a\'s entry');
    const keys = await cubbyholeKeys();
    const id = server.server.core.tokens.hmac(a.token);
    assert.ok(keys.every((k) => !k.includes(a.token) && !k.includes(id)), 'keyed by a hash of the token id only');
  });

  test('revoking a token destroys its cubbyhole (storage emptied), others survive', async () => {
    const a = await newToken();
    const b = await newToken();
    await a.c.post('cubbyhole/x/y', { v: '1' });
    await a.c.post('cubbyhole/z', { v: '2' });
    await b.c.post('cubbyhole/keep', { v: '3' });
    const before = await cubbyholeKeys();
    assert.equal((await a.c.post('auth/token/revoke-self')).status, 204);
    const remaining = await cubbyholeKeys();
    assert.equal(before.length - remaining.length, 2, 'exactly a\'s two entries were deleted');
    assert.deepEqual((await b.c.get('cubbyhole/keep')).body.data, { v: '3' });
    // A new token with the same policies starts with an empty cubbyhole.
    assert.equal((await (await newToken()).c.list('cubbyhole/')).status, 404);
  });

  test('an expiring token takes its cubbyhole with it', async () => {
    const a = await newToken({ ttl: '2s' });
    await a.c.post('cubbyhole/short', { v: 'lived' });
    const withIt = (await cubbyholeKeys()).length;
    for (let i = 0; i < 100 && (await cubbyholeKeys()).length === withIt; i++) await sleep(200);
    assert.equal((await cubbyholeKeys()).length, withIt - 1);
  });

  test('a root token has its own cubbyhole, destroyed when it is revoked', async () => {
    const res = await root.post('auth/token/create', { policies: ['root'] });
    const r2 = client(server.addr, res.body.auth.client_token);
    await r2.post('cubbyhole/root-secret', { v: 'r' });
    assert.equal((await root.get('cubbyhole/root-secret')).status, 404, 'another root token does not see it');
    const before = (await cubbyholeKeys()).length;
    assert.equal((await root.post('auth/token/revoke', { token: res.body.auth.client_token })).status, 204);
    assert.equal((await cubbyholeKeys()).length, before - 1);
  });
});
