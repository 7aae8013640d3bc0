/**
 * Namespace-templated policy paths (`{{kubernetes.namespace}}`): parsing, binding, and the live behaviour of
 * `sys/policies/acl` and `sys/capabilities*`, which never carry a namespace.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACL } from '../../src/core/acl/acl.js';
import { bindNamespace, parsePolicy } from '../../src/core/acl/policy.js';
import { CofferError } from '../../src/sdk/errors.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

const TEMPLATED = `
path "secret/data/{{kubernetes.namespace}}/*" { capabilities = ["read"] }
path "secret/data/{{ kubernetes.namespace }}-shared" { capabilities = ["read"] }
path "secret/data/common" { capabilities = ["read"] }
`;

describe('policy templates', () => {
  it('render with the namespace; the rest of the policy is untouched', async () => {
    const acl = new ACL([bindNamespace(await parsePolicy('t', TEMPLATED), 'team-a')]);
    assert.equal(acl.check('secret/data/team-a/db', 'read').allowed, true);
    assert.equal(acl.check('secret/data/team-a-shared', 'read').allowed, true);
    assert.equal(acl.check('secret/data/team-b/db', 'read').allowed, false);
    assert.equal(acl.check('secret/data/common', 'read').allowed, true);
    assert.equal(acl.check('secret/data/team-a/db', 'update').allowed, false);
  });

  it('without a namespace the templated rules grant nothing', async () => {
    const acl = new ACL([bindNamespace(await parsePolicy('t', TEMPLATED), undefined)]);
    assert.equal(acl.check('secret/data/team-a/db', 'read').allowed, false);
    assert.equal(acl.check('secret/data/{{kubernetes.namespace}}/db', 'read').allowed, false);
    assert.equal(acl.check('secret/data/common', 'read').allowed, true);
  });

  it('a value that is not a namespace name (wildcards, slashes) binds nothing', async () => {
    for (const bad of ['*', 'a/b', 'Team', '+', '', 'a'.repeat(64)]) {
      const acl = new ACL([bindNamespace(await parsePolicy('t', TEMPLATED), bad)]);
      assert.equal(acl.check('secret/data/team-a/db', 'read').allowed, false, bad);
      assert.equal(acl.check(`secret/data/${bad}/x`, 'read').allowed, false, bad);
    }
  });

  it('unknown or broken templates are refused when the policy is written', async () => {
    await assert.rejects(parsePolicy('t', 'path "secret/data/{{identity.entity.id}}/*" { capabilities = ["read"] }'), (err: CofferError) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /unknown template parameter "identity.entity.id" \(coffer knows \{\{kubernetes.namespace\}\}\)/);
      return true;
    });
    await assert.rejects(parsePolicy('t', 'path "secret/data/{{kubernetes.namespace/*" { capabilities = ["read"] }'), /unterminated template/);
  });
});

describe('policy templates on a live server', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startDevServer();
  });
  after(() => srv.close());

  it('are stored and read back as written, refused with a 400 when unknown', async () => {
    const root = client(srv.addr, srv.token);
    assert.equal((await root.put('sys/policies/acl/tenants', { policy: TEMPLATED })).status, 204);
    assert.equal((await root.get('sys/policies/acl/tenants')).body.data.policy, TEMPLATED);
    const bad = await root.put('sys/policies/acl/bad', { policy: 'path "x/{{nope}}" { capabilities = ["read"] }' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors[0], /unknown template parameter "nope"/);
  });

  it('a token with only templated rules reads nothing through /v1 and capabilities say deny', async () => {
    const root = client(srv.addr, srv.token);
    await root.put('sys/policies/acl/tenants', { policy: TEMPLATED });
    await root.post('secret/data/team-a/db', { data: { v: '1' } });
    const token = (await root.post('auth/token/create', { policies: ['tenants'] })).body.auth.client_token;
    const user = client(srv.addr, token);
    assert.equal((await user.get('secret/data/team-a/db')).status, 403);
    const caps = await user.post('sys/capabilities-self', { paths: ['secret/data/team-a/db'] });
    assert.deepEqual(caps.body.data['secret/data/team-a/db'], ['deny']);
  });
});
