/**
 * `auth/token/tidy` over HTTP: garbage planted straight into the token store's storage (as an interrupted
 * revocation or a crash would leave it) is removed — accessor entries without a token, expired tokens never
 * revoked, children of a revoked parent, child links to missing tokens, leases of missing tokens — and live
 * tokens, their links and their leases are left alone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { StorageView } from '../../src/storage/view.js';
import type { TokenEntry } from '../../src/core/tokens/store.js';
import { registerLeaseEngine } from '../helpers/lease-engine.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

const engine = registerLeaseEngine('tidytest');
let srv: TestServer;
let root: ReturnType<typeof client>;
let store: StorageView;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
  store = new StorageView(srv.server.core.barrier, 'sys/token/');
  assert.equal((await root.post('sys/mounts/dyn', { type: engine.type })).status, 204);
});
after(() => srv?.close());

async function newToken(creator = root, body: Record<string, unknown> = {}) {
  const res = await creator.post('auth/token/create', { policies: ['default'], ttl: '1h', ...body });
  assert.equal(res.status, 200, res.text);
  const token = res.body.auth.client_token as string;
  const id = srv.server.core.tokens.hmac(token);
  return { token, id, accessor: res.body.auth.accessor as string, as: client(srv.addr, token) };
}

const fakeId = () => randomBytes(32).toString('hex');

test('tidy removes planted leftovers and leaves live tokens alone', async () => {
  await root.put('sys/policies/acl/dyn', { policy: 'path "dyn/*" { capabilities = ["read"] }\npath "auth/token/create" { capabilities = ["update"] }' });

  // Live: a token with a child and a lease; all of it must survive.
  const live = await newToken(root, { policies: ['dyn', 'default'] });
  const liveChild = await newToken(live.as, { policies: ['default'] });
  const liveLease = (await live.as.get('dyn/creds/keep?ttl=600')).body.data.username;
  assert.ok(engine.live.has(liveLease));

  // 1. An accessor entry pointing at no token.
  await store.put(`accessor/${fakeId()}`, Buffer.from(fakeId()));
  // 2. An expired token that was never revoked (its expiry rewritten into the past in storage).
  const expired = await newToken();
  const entry = (await store.getJSON<TokenEntry>(`id/${expired.id}`))!;
  await store.putJSON(`id/${expired.id}`, { ...entry, expire_at: Date.now() - 60_000 });
  // 3. A child whose parent entry vanished without revoking it, and the link under that parent.
  const parent = await newToken(root, { policies: ['default', 'dyn'] });
  const stranded = await newToken(parent.as, { policies: ['default'] });
  await store.delete(`id/${parent.id}`);
  // 4. A child link under a live token pointing at a missing child.
  await store.put(`parent/${live.id}/${fakeId()}`, Buffer.alloc(0));
  // 5. A lease whose token entry vanished before its leases were revoked.
  const leaseOwner = await newToken(root, { policies: ['default', 'dyn'] });
  const strandedLease = (await leaseOwner.as.get('dyn/creds/drop?ttl=600')).body.data.username;
  await store.delete(`id/${leaseOwner.id}`);

  const res = await root.post('auth/token/tidy', {});
  assert.equal(res.status, 202, res.text);
  assert.ok(res.body.warnings.length > 0);
  assert.deepEqual(res.body.data, {
    expired_tokens: 1,
    tokens_with_missing_parent: 1,
    // #1, plus the accessors of the two token entries deleted underneath (#3 parent, #5 owner).
    accessor_entries: 3,
    // #4, and root's links to the two token entries deleted underneath (#3 parent, #5 owner).
    child_index_entries: 3,
    leases_of_missing_tokens: 1,
  });

  // Garbage gone.
  const ids = await Promise.all((await store.list('accessor/')).map(async (k) => (await store.get(`accessor/${k}`))!.toString()));
  for (const id of ids) assert.notEqual(await store.get(`id/${id}`), null, 'every accessor left points at a stored token');
  for (const id of [srv.server.core.tokens.hmac(srv.token), live.id, liveChild.id]) assert.ok(ids.includes(id), 'live accessors kept');
  assert.equal(await store.get(`id/${expired.id}`), null);
  assert.equal(await store.get(`id/${stranded.id}`), null);
  assert.deepEqual(await store.list(`parent/${parent.id}/`), []);
  assert.ok(!engine.live.has(strandedLease), 'the stranded lease was revoked in its backing system');
  assert.equal((await root.post('auth/token/lookup', { token: stranded.token })).status, 400);

  // Live state untouched.
  for (const t of [live, liveChild]) assert.equal((await t.as.get('auth/token/lookup-self')).status, 200);
  assert.equal((await client(srv.addr, srv.token).get('auth/token/lookup-self')).status, 200);
  assert.deepEqual(await store.list(`parent/${live.id}/`), [liveChild.id]);
  assert.ok(engine.live.has(liveLease), 'the live lease is kept');

  // A second run finds nothing left.
  const again = await root.post('auth/token/tidy', {});
  assert.equal(again.status, 202, again.text);
  assert.ok(Object.values(again.body.data).every((n) => n === 0), JSON.stringify(again.body.data));
});

test('tidy needs update on auth/token/tidy (the default policy does not grant it)', async () => {
  const plain = await newToken();
  assert.equal((await plain.as.post('auth/token/tidy', {})).status, 403);
});
