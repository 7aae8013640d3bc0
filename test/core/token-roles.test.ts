/**
 * Token roles over HTTP: every field a role write accepts is stored, read back and enforced on the tokens created
 * through `auth/token/create/:role` (Vault's token role API, plus coffer's `token_ttl`/`token_max_ttl`); fields
 * coffer does not support are refused with 400 naming them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

type Client = ReturnType<typeof client>;
let srv: TestServer;
let root: Client;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});
after(() => srv?.close());

async function role(name: string, body: Record<string, unknown>) {
  const res = await root.post(`auth/token/roles/${name}`, body);
  assert.equal(res.status, 204, `${name}: ${res.text}`);
  return (await root.get(`auth/token/roles/${name}`)).body.data;
}

async function issue(roleName: string, body: Record<string, unknown> = {}, creator: Client = root) {
  const res = await creator.post(`auth/token/create/${roleName}`, body);
  assert.equal(res.status, 200, `${roleName}: ${res.text}`);
  return res.body.auth.client_token as string;
}

const lookup = async (token: string) => {
  const res = await root.post('auth/token/lookup', { token });
  assert.equal(res.status, 200, res.text);
  return res.body.data;
};

function refused(res: { status: number; body: any; text: string }, pattern: RegExp) {
  assert.equal(res.status, 400, res.text);
  assert.match(res.body.errors.join(' '), pattern);
}

describe('stored and read back', () => {
  test('every field, with the legacy names mirrored', async () => {
    const d = await role('full', {
      allowed_policies: 'a, B',
      disallowed_policies: ['c'],
      allowed_policies_glob: ['app-*'],
      disallowed_policies_glob: 'secret-*',
      orphan: true,
      renewable: false,
      path_suffix: 'v1',
      allowed_entity_aliases: [],
      token_bound_cidrs: '127.0.0.1/32, 10.0.0.0/8',
      token_explicit_max_ttl: '2h',
      token_no_default_policy: true,
      token_num_uses: 7,
      token_period: '30m',
      token_type: 'service',
      token_ttl: '10m',
      token_max_ttl: '1h',
    });
    const expected = {
      allowed_policies: ['a', 'b'],
      disallowed_policies: ['c'],
      allowed_policies_glob: ['app-*'],
      disallowed_policies_glob: ['secret-*'],
      orphan: true,
      renewable: false,
      path_suffix: 'v1',
      allowed_entity_aliases: [],
      token_bound_cidrs: ['127.0.0.1/32', '10.0.0.0/8'],
      bound_cidrs: ['127.0.0.1/32', '10.0.0.0/8'],
      token_explicit_max_ttl: 7200,
      explicit_max_ttl: 7200,
      token_no_default_policy: true,
      token_num_uses: 7,
      token_period: 1800,
      period: 1800,
      token_type: 'service',
      token_ttl: 600,
      token_max_ttl: 3600,
    };
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(d[k], v, k);
  });

  test('legacy names write the same fields; both names with different values is refused', async () => {
    const d = await role('legacy', { period: '90s', explicit_max_ttl: 300, bound_cidrs: ['127.0.0.1'] });
    assert.deepEqual([d.token_period, d.token_explicit_max_ttl, d.token_bound_cidrs], [90, 300, ['127.0.0.1']]);
    refused(await root.post('auth/token/roles/legacy', { period: 60, token_period: 120 }), /cannot set both "token_period" and "period"/);
  });

  test('unsupported and unknown fields are refused with 400 naming them, and nothing is stored', async () => {
    refused(await root.post('auth/token/roles/nope', { allowed_entity_aliases: ['web-*'] }), /allowed_entity_aliases/);
    refused(await root.post('auth/token/roles/nope', { token_type: 'batch' }), /token_type "batch" is not supported/);
    refused(await root.post('auth/token/roles/nope', { token_type: 'default-batch' }), /"default-batch"/);
    refused(await root.post('auth/token/roles/nope', { bogus_limit: 1, token_ttl: '1m' }), /^unknown field\(s\): bogus_limit$/);
    refused(await root.post('auth/token/roles/nope', { path_suffix: '-bad' }), /path_suffix/);
    refused(await root.post('auth/token/roles/nope', { token_ttl: '2h', token_max_ttl: '1h' }), /token_ttl/);
    assert.equal((await root.get('auth/token/roles/nope')).status, 404);
  });
});

describe('enforced on issued tokens', () => {
  test('token_bound_cidrs: the token works only from inside the blocks', async () => {
    await role('cidr', { allowed_policies: 'p', token_bound_cidrs: ['127.0.0.5/32'] });
    const token = await issue('cidr');
    assert.deepEqual((await lookup(token)).bound_cidrs, ['127.0.0.5/32']);
    const inside = await client(srv.addr, token).get('auth/token/lookup-self', { from: '127.0.0.5' });
    assert.equal(inside.status, 200, inside.text);
    const outside = await client(srv.addr, token).get('auth/token/lookup-self', { from: '127.0.0.6' });
    assert.equal(outside.status, 403, outside.text);
  });

  test('token_ttl is the default TTL; token_max_ttl caps the requested TTL and renewals', async () => {
    await role('ttls', { allowed_policies: 'p', token_ttl: '10m', token_max_ttl: '20m' });
    const dflt = await lookup(await issue('ttls'));
    assert.equal(dflt.creation_ttl, 600);
    const asked = await lookup(await issue('ttls', { ttl: '5h' }));
    assert.equal(asked.creation_ttl, 1200);
    const token = await issue('ttls', { ttl: '15m' });
    const renewed = await root.post('auth/token/renew', { token, increment: '5h' });
    assert.equal(renewed.status, 200, renewed.text);
    assert.ok(renewed.body.auth.lease_duration <= 1200, String(renewed.body.auth.lease_duration));
  });

  test('token_period makes a periodic token (the role overrides the request)', async () => {
    await role('periodic', { allowed_policies: 'p', token_period: '45m' });
    const d = await lookup(await issue('periodic', { ttl: '5m' }));
    assert.equal(d.period, 2700);
    assert.equal(d.creation_ttl, 2700);
  });

  test('token_explicit_max_ttl caps the token even when the request asks for more', async () => {
    await role('capped', { allowed_policies: 'p', token_explicit_max_ttl: '3m' });
    const token = await issue('capped', { ttl: '1h', explicit_max_ttl: '2h' });
    const d = await lookup(token);
    assert.equal(d.explicit_max_ttl, 180);
    assert.ok(d.ttl <= 180, String(d.ttl));
    const renewed = await root.post('auth/token/renew', { token, increment: '1h' });
    assert.ok(renewed.body.auth.lease_duration <= 180, renewed.text);
  });

  test('token_num_uses limits the token (a smaller request is kept)', async () => {
    await role('uses', { allowed_policies: 'p', token_num_uses: 2 });
    assert.equal((await lookup(await issue('uses', { num_uses: 1 }))).num_uses, 1);
    const token = await issue('uses', { num_uses: 50 });
    assert.equal((await lookup(token)).num_uses, 2);
    const self = client(srv.addr, token);
    assert.equal((await self.get('auth/token/lookup-self')).status, 200);
    assert.equal((await self.get('auth/token/lookup-self')).status, 200);
    assert.equal((await self.get('auth/token/lookup-self')).status, 403);
  });

  test('orphan, renewable=false, path_suffix, token_no_default_policy', async () => {
    await role('shape', { allowed_policies: 'p', orphan: true, renewable: false, path_suffix: 'build-7', token_no_default_policy: true });
    const token = await issue('shape');
    const d = await lookup(token);
    assert.deepEqual([d.orphan, d.renewable, d.path, d.policies], [true, false, 'auth/token/create/shape/build-7', ['p']]);
    refused(await root.post('auth/token/renew', { token }), /not renewable/);
    // The suffix lets revoke-prefix target exactly this role's tokens of this build.
    assert.equal((await root.put('sys/leases/revoke-prefix/auth/token/create/shape/build-7')).status, 204);
    assert.equal((await root.post('auth/token/lookup', { token })).status, 400);
  });

  test('allowed_policies_glob admits matching policies only', async () => {
    await role('globbed', { allowed_policies_glob: ['app-*', 'team-?'] });
    assert.deepEqual((await lookup(await issue('globbed', { policies: ['app-web', 'App-DB'] }))).policies, ['app-db', 'app-web', 'default']);
    refused(await root.post('auth/token/create/globbed', { policies: ['other'] }), /must be subset of the role's allowed policies/);
    refused(await root.post('auth/token/create/globbed', { policies: ['team-a'] }), /must be subset/);
  });

  test('disallowed_policies and disallowed_policies_glob refuse a policy even when allowed', async () => {
    await role('denylist', { allowed_policies_glob: '*', disallowed_policies: 'admin', disallowed_policies_glob: 'secret-*' });
    assert.deepEqual((await lookup(await issue('denylist', { policies: ['reader'] }))).policies, ['default', 'reader']);
    refused(await root.post('auth/token/create/denylist', { policies: ['secret-db'] }), /secret-db.*disallowed/);
    refused(await root.post('auth/token/create/denylist', { policies: ['reader', 'ADMIN'] }), /admin.*disallowed/);
    // A role that disallows `default` issues tokens without it.
    await role('nodefault', { allowed_policies: 'p', disallowed_policies: 'default' });
    assert.deepEqual((await lookup(await issue('nodefault'))).policies, ['p']);
  });

  test('without allowed policies, a non-root creator is held to a subset of its own policies', async () => {
    await root.put('sys/policies/acl/creator', { policy: 'path "auth/token/create/*" { capabilities = ["update"] }' });
    const creator = client(srv.addr, (await root.post('auth/token/create', { policies: ['creator', 'p'] })).body.auth.client_token);
    await role('open', { token_bound_cidrs: '127.0.0.1' });
    assert.deepEqual((await lookup(await issue('open', { policies: ['p'] }, creator))).policies, ['default', 'p']);
    refused(await creator.post('auth/token/create/open', { policies: ['q'] }), /child policies must be subset of parent/);
  });
});
