/**
 * The field layer every path declaration goes through, over HTTP: a top-level JSON `null` means "not set" (as in
 * Vault) while a null inside KV data is a value; a field a write path does not declare is refused with 400 naming
 * it on every role and config path of every engine and auth method, never accepted and dropped; Vault client
 * zero values for fields coffer does not implement are accepted, real settings of them refused.
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
  for (const [path, type, options] of [
    ['sys/mounts/kv1', 'kv', { version: '1' }],
    ['sys/mounts/db', 'database', {}],
    ['sys/mounts/pki', 'pki', {}],
    ['sys/auth/approle', 'approle', {}],
    ['sys/auth/jwt', 'jwt', {}],
    ['sys/auth/kubernetes', 'kubernetes', {}],
  ] as const) {
    const res = await root.post(path, { type, options });
    assert.equal(res.status, 204, `${path}: ${res.text}`);
  }
});
after(() => srv?.close());

function ok(res: { status: number; text: string }, label: string) {
  assert.ok(res.status === 200 || res.status === 204, `${label}: ${res.status} ${res.text}`);
}

describe('null means "not set"', () => {
  test('sys/mounts and sys/auth: description, config and options null', async () => {
    ok(await root.post('sys/mounts/nulls', { type: 'kv', description: null, config: null, options: null, local: null }), 'mount');
    const read = await root.get('sys/mounts/nulls');
    assert.equal(read.body.data.description, '');
    ok(await root.post('sys/auth/nulls', { type: 'approle', description: null, config: null }), 'auth');
    ok(await root.post('sys/mounts/nulls/tune', { default_lease_ttl: null, description: null, options: null }), 'tune');
  });

  test('token create: id and num_uses null', async () => {
    const res = await root.post('auth/token/create', { id: null, num_uses: null, ttl: null, meta: null, policies: ['default'] });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.auth.client_token, /^cfs\./);
    assert.equal(res.body.auth.num_uses, 0);
  });

  test('token create as Vault\'s Go client sends it (empty entity_alias, type, display_name); lease is ttl', async () => {
    const res = await root.post('auth/token/create', { policies: ['default'], display_name: '', num_uses: 0, type: '', entity_alias: '', lease: '10m' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.auth.lease_duration, 600);
    const alias = await root.post('auth/token/create', { policies: ['default'], entity_alias: 'web-1' });
    assert.equal(alias.status, 400, alias.text);
    assert.match(alias.body.errors[0], /field "entity_alias": is not supported/);
  });

  test('approle custom-secret-id with metadata null; role fields null keep their values', async () => {
    ok(await root.post('auth/approle/role/n', { token_policies: 'p', token_ttl: '10m' }), 'role');
    const res = await root.post('auth/approle/role/n/custom-secret-id', { secret_id: 'my-own-secret-id-123', metadata: null });
    assert.equal(res.status, 200, res.text);
    ok(await root.post('auth/approle/role/n', { token_ttl: null, token_policies: null }), 'role update with nulls');
    const role = (await root.get('auth/approle/role/n')).body.data;
    assert.deepEqual([role.token_ttl, role.token_policies], [600, ['p']]);
  });

  test('inside KV data a null is a value, stored and returned (v1 and v2)', async () => {
    ok(await root.put('kv1/app', { a: null, b: 'x' }), 'v1 write');
    assert.deepEqual((await root.get('kv1/app')).body.data, { a: null, b: 'x' });
    ok(await root.put('secret/data/app', { data: { a: null, nested: { n: null } }, options: null }), 'v2 write');
    assert.deepEqual((await root.get('secret/data/app')).body.data.data, { a: null, nested: { n: null } });
  });
});

describe('unknown fields are refused on every role and config path', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['auth/token/roles/r', { allowed_policies: 'p' }],
    ['auth/approle/role/r', { token_policies: 'p' }],
    ['auth/jwt/config', { jwt_validation_pubkeys: [] }],
    ['auth/jwt/role/r', { user_claim: 'sub', bound_audiences: 'x' }],
    ['auth/kubernetes/config', { kubernetes_host: 'https://127.0.0.1:1' }],
    ['auth/kubernetes/role/r', { bound_service_account_names: 'a', bound_service_account_namespaces: 'b' }],
    ['db/config/conn', { plugin_name: 'postgresql-database-plugin', connection_url: 'postgresql://x' }],
    ['db/roles/r', { db_name: 'conn', creation_statements: 'x' }],
    ['db/static-roles/r', { db_name: 'conn', username: 'u' }],
    ['pki/roles/r', { allow_any_name: true }],
    ['pki/config/urls', { issuing_certificates: [] }],
    ['pki/config/crl', { expiry: '72h' }],
    ['secret/config', { max_versions: 3 }],
    ['sys/mounts/secret/tune', { description: 'x' }],
    ['sys/audit/f', { type: 'file', options: { file_path: '/dev/null' } }],
    ['sys/policies/acl/p', { policy: 'path "x" { capabilities = ["read"] }' }],
  ];
  for (const [path, body] of cases) {
    test(path, async () => {
      const res = await root.post(path, { ...body, not_a_field: 'x', zz_typo_ttl: '1h' });
      assert.equal(res.status, 400, `${path}: ${res.status} ${res.text}`);
      assert.deepEqual(res.body.errors, ['unknown field(s): not_a_field, zz_typo_ttl']);
    });
  }

  test('mount fields coffer does not implement: empty values (as Vault clients send them) pass, settings are refused', async () => {
    ok(await root.post('sys/mounts/secret/tune', { force_no_cache: false, listing_visibility: '', default_lease_ttl: '' }), 'zero values');
    for (const body of [{ force_no_cache: true }, { listing_visibility: 'unauth' }, { audit_non_hmac_request_keys: ['password'] }]) {
      const res = await root.post('sys/mounts/secret/tune', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.body.errors[0], new RegExp(`field "${Object.keys(body)[0]}": is not supported`));
    }
    const local = await root.post('sys/mounts/local', { type: 'kv', local: true });
    assert.equal(local.status, 400, local.text);
    const nested = await root.post('sys/mounts/nested', { type: 'kv', config: { force_no_cache: false, bogus: 1 } });
    assert.equal(nested.status, 400, nested.text);
    assert.match(nested.text, /bogus/);
    const opts = await root.post('sys/mounts/secret/tune', { options: { version: '2', extra: 'x' } });
    assert.equal(opts.status, 400, opts.text);
    assert.deepEqual(opts.body.errors, ['unknown field(s): options.extra']);
  });

  test('database credential_config (password policies, which coffer lacks) is refused, not dropped', async () => {
    const bodies = { 'db/roles/cc': { creation_statements: 'x' }, 'db/static-roles/cc': { username: 'u' } };
    for (const [path, body] of Object.entries(bodies)) {
      const res = await root.post(path, { ...body, db_name: 'conn', credential_config: { password_policy: 'strong' } });
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.match(res.body.errors[0], /field "credential_config": is not supported/);
    }
  });

  test('fields a client echoes from its URL template pass only when they name the request path', async () => {
    ok(await root.post('sys/mounts/echoed', { type: 'kv', mount_point: 'echoed' }), 'mount_point naming the mount');
    ok(await root.put('sys/policy/echo-pol', { name: 'echo-pol', rules: 'path "x" { capabilities = ["read"] }' }), 'name naming the policy');
    const other = await root.post('sys/mounts/echoed2', { type: 'kv', mount_point: 'elsewhere' });
    assert.equal(other.status, 400, other.text);
    assert.deepEqual(other.body.errors, ['unknown field(s): mount_point']);
  });

  test('a path that takes no fields refuses any (the write would otherwise be acted on without them)', async () => {
    for (const path of ['auth/token/tidy', 'sys/leases/tidy', 'auth/token/revoke-self']) {
      const res = await root.post(path, { increment: '1h' });
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.deepEqual(res.body.errors, ['unknown field(s): increment']);
    }
    assert.equal((await root.post('auth/token/tidy', {})).status, 202);
  });

  test('reads ignore query parameters they do not use', async () => {
    assert.equal((await root.get('auth/token/roles/r?cache_buster=1')).status, 404);
  });
});
