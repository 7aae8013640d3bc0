/**
 * Vault token semantics over HTTP against a live dev server: create/lookup (self, token, accessor), HMAC-only
 * storage, TTL expiry (with children), num_uses, renewals up to explicit_max_ttl, periodic tokens, subtree and
 * orphan revocation, accessors, policy subsets, orphan creation rights, token roles, batch tokens, root tokens.
 * Behaviour follows Vault's token store (https://developer.hashicorp.com/vault/api-docs/auth/token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { client, startDevServer, type ApiResponse, type TestServer } from '../helpers/server.js';

type Client = ReturnType<typeof client>;

let server: TestServer;
let root: Client;
const as = (token: string | null): Client => client(server.addr, token);

interface Issued {
  token: string;
  accessor: string;
  res: ApiResponse;
}

/** Creates a token through `path` (default `auth/token/create`) as `creator` and asserts success. */
async function issue(creator: Client, body: Record<string, unknown>, path = 'auth/token/create'): Promise<Issued> {
  const res = await creator.post(path, body);
  assert.equal(res.status, 200, `${path} ${JSON.stringify(body)} → ${res.status} ${res.text}`);
  assert.match(res.body.auth.client_token, /^cfs\./);
  return { token: res.body.auth.client_token, accessor: res.body.auth.accessor, res };
}

/** Root's view of a token: the lookup response (400 once the token is gone). */
const lookup = (token: string) => root.post('auth/token/lookup', { token });

async function assertAlive(token: string, label: string): Promise<ApiResponse> {
  const res = await lookup(token);
  assert.equal(res.status, 200, `${label} should be alive: ${res.text}`);
  return res;
}

async function assertGone(t: Issued | string, label: string): Promise<void> {
  const token = typeof t === 'string' ? t : t.token;
  const res = await lookup(token);
  assert.equal(res.status, 400, `${label} should be revoked: ${res.status} ${res.text}`);
  assert.equal((await as(token).get('auth/token/lookup-self')).status, 403, `${label} must not authenticate`);
  if (typeof t !== 'string') {
    assert.equal((await root.post('auth/token/lookup-accessor', { accessor: t.accessor })).status, 400, `${label}'s accessor must be gone`);
  }
}

const policy = (name: string, text: string) => root.put(`sys/policies/acl/${name}`, { policy: text });

before(async () => {
  server = await startDevServer();
  root = client(server.addr, server.token);
  const policies: Record<string, string> = {
    'tok-create': 'path "auth/token/create" { capabilities = ["update"] }',
    'tok-sudo': [
      'path "auth/token/create" { capabilities = ["update", "sudo"] }',
      'path "auth/token/revoke-orphan" { capabilities = ["update", "sudo"] }',
      'path "auth/token/accessors*" { capabilities = ["list", "sudo"] }',
    ].join('\n'),
    'tok-nosudo': [
      'path "auth/token/revoke-orphan" { capabilities = ["update"] }',
      'path "auth/token/accessors*" { capabilities = ["list"] }',
    ].join('\n'),
    reader: 'path "secret/data/*" { capabilities = ["read"] }',
    other: 'path "secret/metadata/*" { capabilities = ["list"] }',
  };
  for (const [name, text] of Object.entries(policies)) assert.equal((await policy(name, text)).status, 204, name);
  assert.equal((await root.post('secret/data/app', { data: { k: 'v' } })).status, 200);
});

after(() => server.close());

describe('token creation and lookup', () => {
  test('create with policies, ttl, meta and display_name; lookup-self shows them', async () => {
    const { token, accessor, res } = await issue(root, {
      policies: ['reader', 'other'],
      ttl: '1h',
      meta: { team: 'payments', env: 'prod' },
      display_name: 'ci job',
    });
    const auth = res.body.auth;
    assert.deepEqual(auth.policies, ['default', 'other', 'reader']);
    assert.deepEqual(auth.token_policies, ['default', 'other', 'reader']);
    assert.deepEqual(auth.metadata, { team: 'payments', env: 'prod' });
    assert.equal(auth.renewable, true);
    assert.ok(auth.lease_duration > 3590 && auth.lease_duration <= 3600, `lease_duration ${auth.lease_duration}`);
    assert.equal(auth.orphan, false);
    assert.equal(auth.token_type, 'service');
    assert.ok(accessor && accessor !== token && !accessor.startsWith('cfs.'));

    const self = await as(token).get('auth/token/lookup-self');
    assert.equal(self.status, 200, self.text);
    const d = self.body.data;
    assert.equal(d.id, token);
    assert.equal(d.accessor, accessor);
    assert.deepEqual(d.policies, ['default', 'other', 'reader']);
    assert.deepEqual(d.meta, { team: 'payments', env: 'prod' });
    assert.equal(d.display_name, 'token-ci-job');
    assert.equal(d.creation_ttl, 3600);
    assert.ok(d.ttl > 3590 && d.ttl <= 3600);
    assert.equal(d.explicit_max_ttl, 0);
    assert.equal(d.num_uses, 0);
    assert.equal(d.orphan, false);
    assert.equal(d.renewable, true);
    assert.equal(d.path, 'auth/token/create');
    assert.equal(d.type, 'service');
    assert.ok(Math.abs(Date.parse(d.expire_time) - (Date.now() + 3600_000)) < 10_000, d.expire_time);
    assert.ok(Math.abs(d.creation_time - Date.now() / 1000) < 10);

    // The token's policies take effect: reader may read secret/data/*, nothing else.
    assert.equal((await as(token).get('secret/data/app')).status, 200);
    assert.equal((await as(token).post('secret/data/app', { data: { k: 'x' } })).status, 403);
  });

  test('lookup with the token in the body, lookup-accessor (id is empty there)', async () => {
    const { token, accessor } = await issue(root, { policies: ['reader'], ttl: '10m', meta: { a: 'b' } });
    const byToken = await lookup(token);
    assert.equal(byToken.status, 200);
    assert.equal(byToken.body.data.id, token);
    assert.equal(byToken.body.data.accessor, accessor);
    assert.deepEqual(byToken.body.data.meta, { a: 'b' });

    const byAccessor = await root.post('auth/token/lookup-accessor', { accessor });
    assert.equal(byAccessor.status, 200, byAccessor.text);
    assert.equal(byAccessor.body.data.id, '');
    assert.equal(byAccessor.body.data.accessor, accessor);
    assert.deepEqual(byAccessor.body.data.policies, ['default', 'reader']);
    assert.ok(!byAccessor.text.includes(token), 'lookup-accessor must not reveal the token');

    assert.equal((await root.post('auth/token/lookup', {})).status, 400);
    assert.equal((await root.post('auth/token/lookup', { token: 'cfs.doesnotexist' })).status, 400);
    assert.equal((await root.post('auth/token/lookup-accessor', { accessor: 'nope' })).status, 400);
    // A token without a grant on auth/token/lookup cannot look up others.
    assert.equal((await as(token).post('auth/token/lookup', { token: server.token })).status, 403);
    // No token, or an unknown one: 403.
    assert.equal((await as(null).get('auth/token/lookup-self')).status, 403);
    assert.equal((await as('cfs.bogus').get('auth/token/lookup-self')).status, 403);
  });

  test('only an HMAC of each token is stored: no stored key or value contains a clear token', async () => {
    const { token, accessor } = await issue(root, { policies: ['reader'], ttl: '1h', display_name: 'hmac-check' });
    const child = await issue(as((await issue(root, { policies: ['tok-create'] })).token), { ttl: '1h' });
    const core = server.server.core;
    const clear = [token, server.token, child.token];
    const needles = clear.flatMap((t) => [t, t.slice('cfs.'.length)]);

    const keys: string[] = [];
    const walk = async (prefix: string): Promise<void> => {
      for (const name of await core.physical.list(prefix)) {
        if (name.endsWith('/')) await walk(prefix + name);
        else keys.push(prefix + name);
      }
    };
    await walk('');
    assert.ok(keys.length > 5, `storage keys: ${keys.length}`);

    let decrypted = 0;
    for (const key of keys) {
      for (const n of needles) assert.ok(!key.includes(n), `storage key ${key} contains a clear token`);
      const raw = (await core.physical.get(key))!;
      for (const n of needles) {
        assert.ok(!raw.includes(Buffer.from(n)), `raw value of ${key} contains a clear token`);
        assert.ok(!raw.includes(Buffer.from(n).toString('base64')), `raw value of ${key} contains a token in base64`);
      }
      if (key.startsWith('core/seal/')) continue; // written by the seal itself, not through the barrier
      const plain = await core.barrier.get(key);
      assert.ok(plain, key);
      decrypted++;
      const text = plain.toString('latin1');
      for (const n of needles) {
        assert.ok(!text.includes(n), `decrypted value of ${key} contains a clear token`);
        assert.ok(!text.includes(Buffer.from(n).toString('base64')), `decrypted value of ${key} contains a token in base64`);
        assert.ok(!text.includes(Buffer.from(n).toString('hex')), `decrypted value of ${key} contains a token in hex`);
      }
    }
    assert.ok(decrypted > 5);

    // What is stored instead: the token's HMAC, keyed by a secret salt.
    const id = core.tokens.hmac(token);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.ok(keys.includes(`sys/token/id/${id}`), 'the token entry is stored under its HMAC');
    const entry = JSON.parse((await core.barrier.get(`sys/token/id/${id}`))!.toString('utf8'));
    assert.equal(entry.accessor, accessor);
    assert.ok(!keys.some((k) => k.includes(accessor)), 'the accessor index is keyed by an HMAC too');
  });

  test('auth/token/create with type=batch is refused', async () => {
    const res = await root.post('auth/token/create', { type: 'batch', policies: ['reader'] });
    assert.equal(res.status, 400, res.text);
    assert.ok(res.body.errors.length > 0);
    assert.equal((await root.post('auth/token/create', { type: 'service', policies: ['reader'] })).status, 200);
  });

  test('a root token created by auth/token/create never expires', async () => {
    const { token, res } = await issue(root, { policies: ['root'] });
    assert.deepEqual(res.body.auth.policies, ['root']);
    assert.equal(res.body.auth.lease_duration, 0);
    assert.equal(res.body.auth.renewable, false);
    const self = await as(token).get('auth/token/lookup-self');
    assert.equal(self.status, 200);
    assert.equal(self.body.data.ttl, 0);
    assert.equal(self.body.data.creation_ttl, 0);
    assert.equal(self.body.data.expire_time, null);
    assert.equal(self.body.data.explicit_max_ttl, 0);
    // It acts as root: it may write anywhere and create further root tokens.
    assert.equal((await as(token).post('secret/data/root-made', { data: { a: '1' } })).status, 200);
    assert.equal((await as(token).post('auth/token/create', { policies: ['root'] })).status, 200);
    // Renewing a non-expiring token changes nothing.
    const renewed = await as(token).post('auth/token/renew-self', { increment: '1h' });
    assert.equal(renewed.status, 200, renewed.text);
    assert.equal(renewed.body.auth.lease_duration, 0);
    assert.equal((await as(token).get('auth/token/lookup-self')).body.data.expire_time, null);
  });
});

describe('parent and child tokens', () => {
  test('non-root child policies must be a subset of the parent\'s', async () => {
    const parent = await issue(root, { policies: ['tok-create', 'reader'], ttl: '1h' });
    const p = as(parent.token);
    const bad = await p.post('auth/token/create', { policies: ['other'] });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.body.errors[0], /subset/);
    assert.equal((await p.post('auth/token/create', { policies: ['reader', 'other'] })).status, 400);
    assert.equal((await p.post('auth/token/create', { policies: ['root'] })).status, 400);
    const ok = await issue(p, { policies: ['reader'] });
    assert.deepEqual(ok.res.body.auth.policies, ['default', 'reader']);
    const inherited = await issue(p, {});
    assert.deepEqual(inherited.res.body.auth.policies, ['default', 'reader', 'tok-create']);
    assert.equal((await lookup(inherited.token)).body.data.orphan, false);
    // A non-root token may not choose a token id.
    assert.equal((await p.post('auth/token/create', { id: 'cfs.chosen-by-child' })).status, 400);
  });

  test('no_parent by a non-root token without sudo is refused; with sudo it makes an orphan', async () => {
    const plain = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    const res = await as(plain.token).post('auth/token/create', { no_parent: true });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.errors[0], /sudo/);

    const sudo = await issue(root, { policies: ['tok-sudo'], ttl: '1h' });
    const orphan = await issue(as(sudo.token), { no_parent: true });
    assert.equal(orphan.res.body.auth.orphan, true);
    assert.equal((await lookup(orphan.token)).body.data.orphan, true);
    // The orphan survives the revocation of the token that created it.
    assert.equal((await root.post('auth/token/revoke', { token: sudo.token })).status, 204);
    await assertGone(sudo, 'creator');
    await assertAlive(orphan.token, 'orphan');

    const rootOrphan = await issue(root, { no_parent: true, policies: ['reader'] });
    assert.equal((await lookup(rootOrphan.token)).body.data.orphan, true);
    const viaPath = await issue(root, { policies: ['reader'] }, 'auth/token/create-orphan');
    assert.equal((await lookup(viaPath.token)).body.data.orphan, true);
    assert.equal((await lookup(viaPath.token)).body.data.path, 'auth/token/create-orphan');
  });

  test('revoking A revokes its whole subtree: root → A → B → C and A → D', async () => {
    const a = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    const b = await issue(as(a.token), { ttl: '1h' });
    const c = await issue(as(b.token), { ttl: '1h' });
    const d = await issue(as(a.token), { ttl: '1h' });
    const bystander = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    for (const [t, label] of [[a, 'A'], [b, 'B'], [c, 'C'], [d, 'D']] as const) {
      assert.equal((await lookup(t.token)).body.data.orphan, false, label);
    }
    assert.equal((await root.post('auth/token/revoke', { token: a.token })).status, 204);
    for (const [t, label] of [[a, 'A'], [b, 'B'], [c, 'C'], [d, 'D']] as const) await assertGone(t, label);
    await assertAlive(bystander.token, 'unrelated token');
    // Revoking a token that is already gone is not an error (Vault answers 204).
    assert.equal((await root.post('auth/token/revoke', { token: a.token })).status, 204);
  });

  test('revoke-self revokes the caller and its children', async () => {
    const a = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    const b = await issue(as(a.token), { ttl: '1h' });
    assert.equal((await as(a.token).post('auth/token/revoke-self')).status, 204);
    await assertGone(a, 'A');
    await assertGone(b, 'B');
  });

  test('revoke-orphan needs sudo; it keeps the children alive and makes them orphans', async () => {
    const a = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    const b = await issue(as(a.token), { ttl: '1h' });
    const c = await issue(as(b.token), { ttl: '1h' });

    const nosudo = await issue(root, { policies: ['tok-nosudo'], ttl: '1h' });
    assert.equal((await as(nosudo.token).post('auth/token/revoke-orphan', { token: a.token })).status, 403);
    assert.equal((await as(a.token).post('auth/token/revoke-orphan', { token: a.token })).status, 403);
    await assertAlive(a.token, 'A after refused revoke-orphan');

    assert.equal((await root.post('auth/token/revoke-orphan', { token: a.token })).status, 204);
    await assertGone(a, 'A');
    const lb = await assertAlive(b.token, 'B');
    assert.equal(lb.body.data.orphan, true, 'B became an orphan');
    assert.equal((await as(b.token).get('auth/token/lookup-self')).body.data.orphan, true);
    const lc = await assertAlive(c.token, 'C');
    assert.equal(lc.body.data.orphan, false, 'C still has B as parent');
    // B keeps its own subtree.
    assert.equal((await root.post('auth/token/revoke', { token: b.token })).status, 204);
    await assertGone(b, 'B');
    await assertGone(c, 'C');

    // A non-root token with sudo on the path may revoke-orphan too.
    const x = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    const y = await issue(as(x.token), { ttl: '1h' });
    const sudo = await issue(root, { policies: ['tok-sudo'], ttl: '1h' });
    assert.equal((await as(sudo.token).post('auth/token/revoke-orphan', { token: x.token })).status, 204);
    await assertGone(x, 'X');
    assert.equal((await assertAlive(y.token, 'Y')).body.data.orphan, true);
    assert.equal((await root.post('auth/token/revoke-orphan', { token: 'cfs.unknown' })).status, 400);
  });

  test('revoke-accessor revokes the token (and its children) by accessor', async () => {
    const a = await issue(root, { policies: ['tok-create'], ttl: '1h' });
    const b = await issue(as(a.token), { ttl: '1h' });
    const res = await root.post('auth/token/revoke-accessor', { accessor: a.accessor });
    assert.equal(res.status, 204, res.text);
    await assertGone(a, 'A');
    await assertGone(b, 'B');
    assert.equal((await root.post('auth/token/revoke-accessor', { accessor: a.accessor })).status, 400);
    assert.equal((await root.post('auth/token/revoke-accessor', {})).status, 400);
  });

  test('auth/token/accessors lists live accessors and needs sudo', async () => {
    const live = await issue(root, { policies: ['reader'], ttl: '1h' });
    const dead = await issue(root, { policies: ['reader'], ttl: '1h' });
    assert.equal((await root.post('auth/token/revoke', { token: dead.token })).status, 204);
    const res = await root.list('auth/token/accessors');
    assert.equal(res.status, 200, res.text);
    const keys: string[] = res.body.data.keys;
    assert.ok(keys.includes(live.accessor));
    assert.ok(!keys.includes(dead.accessor));
    assert.ok(!keys.some((k) => k.startsWith('cfs.')), 'accessors, never tokens');
    assert.ok(!res.text.includes(live.token) && !res.text.includes(server.token));

    const nosudo = await issue(root, { policies: ['tok-nosudo'], ttl: '1h' });
    assert.equal((await as(nosudo.token).list('auth/token/accessors')).status, 403);
    const sudo = await issue(root, { policies: ['tok-sudo'], ttl: '1h' });
    const bySudo = await as(sudo.token).list('auth/token/accessors');
    assert.equal(bySudo.status, 200, bySudo.text);
    assert.ok(bySudo.body.data.keys.includes(live.accessor));
    assert.equal((await as(live.token).list('auth/token/accessors')).status, 403);
  });
});

describe('num_uses', () => {
  test('num_uses=2: two requests work, the third is 403', async () => {
    const { token } = await issue(root, { policies: ['reader'], num_uses: 2, ttl: '1h' });
    const first = await as(token).get('auth/token/lookup-self');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.data.num_uses, 1);
    const second = await as(token).get('auth/token/lookup-self');
    assert.equal(second.status, 200, `the last use must still be served: ${second.status} ${second.text}`);
    const third = await as(token).get('auth/token/lookup-self');
    assert.equal(third.status, 403);
    await assertGone(token, 'exhausted token');
  });

  test('num_uses counts requests to any path; the exhausting request is served', async () => {
    const { token } = await issue(root, { policies: ['reader'], num_uses: 2, ttl: '1h' });
    assert.equal((await as(token).get('secret/data/app')).status, 200);
    const last = await as(token).get('secret/data/app');
    assert.equal(last.status, 200);
    assert.equal(last.body.data.data.k, 'v');
    assert.equal((await as(token).get('secret/data/app')).status, 403);
    // A denied request does not consume a use.
    const other = await issue(root, { policies: ['reader'], num_uses: 1, ttl: '1h' });
    assert.equal((await as(other.token).post('secret/data/app', { data: { x: '1' } })).status, 403);
    assert.equal((await as(other.token).get('secret/data/app')).status, 200);
    assert.equal((await as(other.token).get('secret/data/app')).status, 403);
    assert.equal((await root.post('auth/token/create', { num_uses: -1 })).status, 400);
  });

  test('concurrent requests cannot spend more uses than the token has', async () => {
    for (const uses of [1, 2, 3]) {
      const { token } = await issue(root, { policies: ['reader'], num_uses: uses, ttl: '1h' });
      const results = await Promise.all(Array.from({ length: 8 }, () => as(token).get('secret/data/app')));
      const served = results.filter((r) => r.status === 200).length;
      assert.equal(served, uses, `num_uses=${uses}: ${results.map((r) => r.status).join(',')}`);
      assert.ok(results.every((r) => r.status === 200 || r.status === 403));
      await assertGone(token, `token with ${uses} uses`);
    }
  });

  test('a child created by a token\'s last use is revoked with it', async () => {
    const parent = await issue(root, { policies: ['tok-create'], num_uses: 1, ttl: '1h' });
    const child = await issue(as(parent.token), { ttl: '1h' });
    await assertGone(parent.token, 'exhausted parent');
    await assertGone(child, 'child created by the last use');
  });
});

describe('renewal', () => {
  test('renewable=false: renew is refused with 400', async () => {
    const { token, res } = await issue(root, { policies: ['reader'], ttl: '1h', renewable: false });
    assert.equal(res.body.auth.renewable, false);
    const self = await as(token).post('auth/token/renew-self', { increment: '2h' });
    assert.equal(self.status, 400, self.text);
    const other = await root.post('auth/token/renew', { token, increment: '2h' });
    assert.equal(other.status, 400, other.text);
    assert.ok((await lookup(token)).body.data.ttl <= 3600);
  });

  test('renew extends by the increment, or by the original TTL without one', async () => {
    const { token } = await issue(root, { policies: ['reader'], ttl: '10m' });
    const r1 = await as(token).post('auth/token/renew-self', { increment: '1h' });
    assert.equal(r1.status, 200, r1.text);
    assert.ok(r1.body.auth.lease_duration > 3590 && r1.body.auth.lease_duration <= 3600, String(r1.body.auth.lease_duration));
    assert.equal(r1.body.auth.client_token, token);
    assert.equal(r1.body.warnings, null);
    const r2 = await root.post('auth/token/renew', { token });
    assert.equal(r2.status, 200, r2.text);
    assert.ok(r2.body.auth.lease_duration > 590 && r2.body.auth.lease_duration <= 600, String(r2.body.auth.lease_duration));
    assert.equal((await root.post('auth/token/renew', { token: 'cfs.unknown' })).status, 400);
    assert.equal((await as(token).post('auth/token/renew-self', { increment: 'soon' })).status, 400);
  });
});

describe('time-based behaviour', { concurrency: true }, () => {
  test('ttl=2s: the token works, then answers 403 after expiry and is gone with its children', async () => {
    const parent = await issue(root, { policies: ['tok-create', 'reader'], ttl: '2s' });
    assert.equal(parent.res.body.auth.lease_duration, 2);
    const child = await issue(as(parent.token), { ttl: '1h' });
    const grandchild = await issue(as(child.token), { ttl: '1h' });
    assert.equal((await as(parent.token).get('secret/data/app')).status, 200);
    assert.equal((await as(parent.token).get('auth/token/lookup-self')).status, 200);
    const id = server.server.core.tokens.hmac(parent.token);
    assert.ok(await server.server.core.barrier.get(`sys/token/id/${id}`));

    await sleep(2500);
    assert.equal((await as(parent.token).get('secret/data/app')).status, 403);
    assert.equal((await as(parent.token).get('auth/token/lookup-self')).status, 403);
    await assertGone(parent, 'expired parent');
    await assertGone(child, 'child of the expired token');
    await assertGone(grandchild, 'grandchild of the expired token');
    // The expiry removed the stored entries, not only hid them.
    assert.equal(await server.server.core.barrier.get(`sys/token/id/${id}`), null);
    assert.equal(await server.server.core.barrier.get(`sys/token/id/${server.server.core.tokens.hmac(child.token)}`), null);
  });

  test('ttl=2s, explicit_max_ttl=4s: renewals are capped and never pass the max; then the token is dead', async () => {
    const before = Date.now();
    const { token } = await issue(root, { policies: ['reader'], ttl: '2s', explicit_max_ttl: '4s' });
    const maxAt = Date.now() + 4000; // the server's max expiry is no later than this
    const info = (await lookup(token)).body.data;
    assert.equal(info.explicit_max_ttl, 4);
    assert.ok(Date.parse(info.expire_time) >= before + 2000 - 1000);

    const first = await as(token).post('auth/token/renew-self', { increment: '10s' });
    assert.equal(first.status, 200, first.text);
    assert.ok(Array.isArray(first.body.warnings) && first.body.warnings.length > 0, 'a capped renewal carries a warning');
    assert.ok(first.body.auth.lease_duration <= Math.ceil((maxAt - Date.now()) / 1000), `ttl ${first.body.auth.lease_duration}`);
    assert.ok(first.body.auth.lease_duration <= 4);

    // Renewing until just before the max: every renewal succeeds (time is left), is capped, and keeps the
    // expiry exactly at the max: never past it, and never earlier than it (a renewal must not shorten a life).
    let renewals = 0;
    while (Date.now() < maxAt - 350) {
      const res = await as(token).post('auth/token/renew-self', { increment: '10s' });
      const remainingMs = maxAt - Date.now();
      assert.equal(res.status, 200, `renewal with ${remainingMs}ms left to the max: ${res.text}`);
      renewals++;
      assert.ok(res.body.warnings?.length > 0, 'capped renewal carries a warning');
      assert.ok(res.body.auth.lease_duration * 1000 <= remainingMs + 500, `ttl ${res.body.auth.lease_duration}s with ${remainingMs}ms to the max`);
      const exp = Date.parse((await lookup(token)).body.data.expire_time);
      assert.ok(exp <= maxAt, `renewal moved expiry ${exp - maxAt}ms past the explicit max`);
      assert.ok(exp >= before + 4000, `renewal set expiry ${before + 4000 - exp}ms before the explicit max`);
      await sleep(500);
    }
    assert.ok(renewals >= 4, `renewals: ${renewals}`);

    await sleep(Math.max(0, maxAt - Date.now()) + 400);
    assert.equal((await as(token).get('auth/token/lookup-self')).status, 403);
    assert.equal((await as(token).post('auth/token/renew-self', { increment: '10s' })).status, 403);
    assert.equal((await root.post('auth/token/renew', { token, increment: '10s' })).status, 400);
    await assertGone(token, 'token past its explicit max');
  });

  test('a periodic token (period=3s) renews back to its period and outlives it', async () => {
    const { token, res } = await issue(root, { policies: ['reader'], period: '3s' });
    assert.equal(res.body.auth.lease_duration, 3);
    assert.equal(res.body.auth.renewable, true);
    const info = (await as(token).get('auth/token/lookup-self')).body.data;
    assert.equal(info.period, 3);
    assert.equal(info.creation_ttl, 3);

    await sleep(1600);
    const ttlBefore = (await lookup(token)).body.data.ttl;
    assert.ok(ttlBefore <= 2, `ttl before renewal ${ttlBefore}`);
    const renewed = await as(token).post('auth/token/renew-self', { increment: '60s' });
    assert.equal(renewed.status, 200, renewed.text);
    assert.equal(renewed.body.auth.lease_duration, 3, 'a periodic token renews to its period, whatever the increment');
    const ttlAfter = (await lookup(token)).body.data.ttl;
    assert.ok(ttlAfter >= 2 && ttlAfter <= 3, `ttl after renewal ${ttlAfter}`);

    await sleep(1800); // 3.4 s after creation: past the first period
    assert.equal((await as(token).get('secret/data/app')).status, 200);
    const again = await root.post('auth/token/renew', { token });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.auth.lease_duration, 3);
  });
});

describe('token roles', () => {
  test('roles/NAME write, read, list and delete', async () => {
    assert.equal((await root.list('auth/token/roles')).status, 404, 'no roles yet');
    let res = await root.post('auth/token/roles/periodic-orphan', { allowed_policies: ['reader'], orphan: true, period: '90s' });
    assert.equal(res.status, 204, res.text);
    res = await root.post('auth/token/roles/capped', { allowed_policies: 'reader,other', explicit_max_ttl: '120s', renewable: false });
    assert.equal(res.status, 204, res.text);

    const read = await root.get('auth/token/roles/periodic-orphan');
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.data.name, 'periodic-orphan');
    assert.deepEqual(read.body.data.allowed_policies, ['reader']);
    assert.equal(read.body.data.orphan, true);
    assert.equal(read.body.data.period, 90);
    assert.equal(read.body.data.token_period, 90);
    assert.equal(read.body.data.renewable, true);
    const capped = (await root.get('auth/token/roles/capped')).body.data;
    assert.deepEqual(capped.allowed_policies, ['other', 'reader']);
    assert.equal(capped.explicit_max_ttl, 120);
    assert.equal(capped.token_explicit_max_ttl, 120);
    assert.equal(capped.renewable, false);

    const list = await root.list('auth/token/roles');
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.data.keys, ['capped', 'periodic-orphan']);

    // Updating one field keeps the others.
    assert.equal((await root.post('auth/token/roles/capped', { renewable: true })).status, 204);
    const updated = (await root.get('auth/token/roles/capped')).body.data;
    assert.equal(updated.renewable, true);
    assert.equal(updated.explicit_max_ttl, 120);

    assert.equal((await root.post('auth/token/roles/bad', { period: 'forever' })).status, 400);
    assert.equal((await root.post('auth/token/roles/bad', { token_type: 'batch' })).status, 400);
    assert.equal((await root.get('auth/token/roles/bad')).status, 404);
  });

  test('create/NAME honours allowed_policies, orphan, period and explicit max', async () => {
    const outside = await root.post('auth/token/create/periodic-orphan', { policies: ['other'] });
    assert.equal(outside.status, 400, outside.text);
    assert.equal((await root.post('auth/token/create/periodic-orphan', { policies: ['reader', 'tok-create'] })).status, 400);

    const po = await issue(root, {}, 'auth/token/create/periodic-orphan');
    assert.deepEqual(po.res.body.auth.policies, ['default', 'reader']);
    assert.equal(po.res.body.auth.orphan, true);
    assert.equal(po.res.body.auth.lease_duration, 90);
    const poInfo = (await lookup(po.token)).body.data;
    assert.equal(poInfo.orphan, true);
    assert.equal(poInfo.period, 90);
    assert.equal(poInfo.role, 'periodic-orphan');
    assert.equal(poInfo.path, 'auth/token/create/periodic-orphan');
    const poRenew = await as(po.token).post('auth/token/renew-self', { increment: '1h' });
    assert.equal(poRenew.status, 200, poRenew.text);
    assert.equal(poRenew.body.auth.lease_duration, 90);

    const c = await issue(root, { policies: ['other'], ttl: '1h' }, 'auth/token/create/capped');
    assert.deepEqual(c.res.body.auth.policies, ['default', 'other']);
    assert.equal(c.res.body.auth.orphan, false);
    assert.ok(c.res.body.auth.lease_duration <= 120 && c.res.body.auth.lease_duration > 110, String(c.res.body.auth.lease_duration));
    const cInfo = (await lookup(c.token)).body.data;
    assert.equal(cInfo.explicit_max_ttl, 120);
    assert.equal(cInfo.role, 'capped');
    const cRenew = await as(c.token).post('auth/token/renew-self', { increment: '1h' });
    assert.equal(cRenew.status, 200, cRenew.text);
    assert.ok(cRenew.body.auth.lease_duration <= 120);
    assert.ok(cRenew.body.warnings?.length > 0);

    // A non-root parent creating against a role: the role's orphan setting applies without sudo.
    const parent = await issue(root, { policies: ['reader'], ttl: '1h' });
    await policy('tok-role', 'path "auth/token/create/*" { capabilities = ["update"] }');
    const roleUser = await issue(root, { policies: ['tok-role', 'reader'], ttl: '1h' });
    const viaRole = await issue(as(roleUser.token), {}, 'auth/token/create/periodic-orphan');
    assert.equal((await lookup(viaRole.token)).body.data.orphan, true);
    assert.equal((await as(parent.token).post('auth/token/create/periodic-orphan', {})).status, 403);

    assert.equal((await root.post('auth/token/create/no-such-role', {})).status, 400);
  });

  test('deleting roles', async () => {
    assert.equal((await root.delete('auth/token/roles/periodic-orphan')).status, 204);
    assert.equal((await root.get('auth/token/roles/periodic-orphan')).status, 404);
    assert.equal((await root.post('auth/token/create/periodic-orphan', {})).status, 400);
    assert.deepEqual((await root.list('auth/token/roles')).body.data.keys, ['capped']);
    assert.equal((await root.delete('auth/token/roles/capped')).status, 204);
    assert.equal((await root.list('auth/token/roles')).status, 404);
  });
});
