/**
 * Small hardening rules over HTTP: policy names are normalised and validated as Vault does (a policy named
 * ".. " is refused), listing leases (`LIST sys/leases/lookup/*`) is a root-protected path that needs `sudo`, and
 * revoke-prefix honours Vault's `sync` field instead of dropping it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerLeaseEngine } from '../helpers/lease-engine.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

const engine = registerLeaseEngine('rootpathstest');
let srv: TestServer;
let root: ReturnType<typeof client>;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});
after(() => srv?.close());

async function tokenWith(name: string, rules: string) {
  assert.equal((await root.put(`sys/policies/acl/${name}`, { policy: rules })).status, 204);
  const res = await root.post('auth/token/create', { policies: [name] });
  assert.equal(res.status, 200, res.text);
  return client(srv.addr, res.body.auth.client_token);
}

describe('policy names', () => {
  const rules = 'path "secret/*" { capabilities = ["read"] }';

  for (const name of ['..%20', '%20..', 'a..b', 'bad%20name', 'semi;colon']) {
    test(`"${decodeURIComponent(name)}" is refused with 400 on both policy paths, nothing stored`, async () => {
      for (const prefix of ['sys/policies/acl', 'sys/policy']) {
        const res = await root.put(`${prefix}/${name}`, { policy: rules });
        assert.equal(res.status, 400, `${prefix}/${name}: ${res.text}`);
        assert.match(res.body.errors[0], /^invalid policy name/);
      }
      const listed = (await root.list('sys/policies/acl')).body.data.keys as string[];
      assert.ok(!listed.some((k) => k.includes('..') || k.includes(' ')), JSON.stringify(listed));
    });
  }

  test('a name that is empty after trimming is refused', async () => {
    const res = await root.put('sys/policies/acl/%20%20', { policy: rules });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.body.errors, ['policy name must be provided']);
  });

  test('names are trimmed and lowercased: " Ops-Team " is the policy "ops-team"', async () => {
    assert.equal((await root.put('sys/policies/acl/%20Ops-Team%20', { policy: rules })).status, 204);
    const read = await root.get('sys/policies/acl/ops-team');
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.data.name, 'ops-team');
    assert.equal((await root.get('sys/policies/acl/OPS-TEAM')).body.data.name, 'ops-team');
  });
});

describe('LIST sys/leases/lookup/* needs sudo', () => {
  test('list capability alone is refused with 403; with sudo the keys are listed', async () => {
    assert.equal((await root.post('sys/mounts/dyn', { type: engine.type })).status, 204);
    assert.equal((await root.get('dyn/creds/ro?ttl=600')).status, 200);
    const plain = await tokenWith('lease-lister', 'path "sys/leases/lookup/*" { capabilities = ["list"] }');
    const sudo = await tokenWith('lease-lister-sudo', 'path "sys/leases/lookup/*" { capabilities = ["list", "sudo"] }');
    const refused = await plain.list('sys/leases/lookup/dyn/creds');
    assert.equal(refused.status, 403, refused.text);
    const allowed = await sudo.list('sys/leases/lookup/dyn/creds');
    assert.equal(allowed.status, 200, allowed.text);
    assert.deepEqual(allowed.body.data.keys, ['ro/']);
  });

  test('looking up one lease (PUT sys/leases/lookup) stays a plain update', async () => {
    const lease = (await root.get('dyn/creds/ro?ttl=600')).body.lease_id;
    const looker = await tokenWith('lease-looker', 'path "sys/leases/lookup" { capabilities = ["update"] }');
    const res = await looker.put('sys/leases/lookup', { lease_id: lease });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.data.id, lease);
  });
});

describe('sys/leases/revoke-prefix honours sync', () => {
  test('sync=false queues the revocations (a failing engine is retried later); sync=true reports the failure', async () => {
    const lease = (await root.get('dyn/creds/queued?ttl=600')).body.lease_id;
    engine.failRevoke = true;
    try {
      const waited = await root.put('sys/leases/revoke-prefix/dyn/creds/queued', { sync: true });
      assert.equal(waited.status, 400, waited.text);
      const queued = await root.put('sys/leases/revoke-prefix/dyn/creds/queued', { sync: false });
      assert.equal(queued.status, 204, queued.text);
      // Queued means due now: the lease is still there (its engine fails, retries follow) but no longer waits out its TTL.
      const looked = await root.put('sys/leases/lookup', { lease_id: lease });
      assert.equal(looked.status, 200, looked.text);
      assert.ok(looked.body.data.ttl < 300, JSON.stringify(looked.body.data));
    } finally {
      engine.failRevoke = false;
    }
  });
});

