/**
 * The kubernetes auth method against a live coffer server and a local HTTPS TokenReview endpoint
 * (test/helpers/k8s-tokenreview.ts: the API server's side of the protocol, implemented from the Kubernetes
 * docs, since no cluster runs here). The CLI part runs `coffer write` and `coffer login` as child processes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPair } from 'jose';
import { cliDevServer } from '../helpers/cli.js';
import { client } from '../helpers/server.js';
import { startTokenReviewServer, type TokenReviewServer } from '../helpers/k8s-tokenreview.js';

let k8s: TokenReviewServer;
let reviewerJwt: string;

// Setup runs inside the server's own `before` (Node 20 would run a second top-level `before` alongside it).
const cli = cliDevServer('coffer-k8s-auth-', async (cli) => {
  k8s = await startTokenReviewServer();
  k8s.delegators.add('kube-system:coffer-reviewer');
  reviewerJwt = await k8s.issue({ namespace: 'kube-system', name: 'coffer-reviewer' });
  await cli.root.post('sys/auth/kubernetes', { type: 'kubernetes' });
  await cli.root.put('sys/policies/acl/my-api-read', { policy: 'path "secret/data/my-api/*" { capabilities = ["read"] }' });
  await cli.root.post('secret/data/my-api/config', { data: { password: 'from-coffer' } });
  await cli.root.post('secret/data/other/config', { data: { password: 'not-yours' } });
  const cfg = await cli.root.post('auth/kubernetes/config', { kubernetes_host: k8s.url, kubernetes_ca_cert: k8s.caPem, token_reviewer_jwt: reviewerJwt });
  assert.equal(cfg.status, 204, cfg.text);
}, { loginRateLimit: { maxFailures: 1000 }, userLockout: { all: { disabled: true } } });
after(() => k8s?.close());

const anon = () => client(cli.srv.addr, null);
const login = (role: string, jwt: string) => anon().post('auth/kubernetes/login', { role, jwt });

/** A refused login: the status, Vault's message, and no token anywhere in the answer. */
function refused(res: { status: number; body: any; text: string }, status: number, message: string) {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(res.body.errors, [message]);
  assert.ok(!res.text.includes('cfs.'), 'no token in a refused login');
}

describe('config', () => {
  test('writing a config does not contact the cluster; fields read back, the reviewer JWT never does', async () => {
    await cli.root.post('sys/auth/k8s-other', { type: 'kubernetes' });
    const { publicKey } = await generateKeyPair('RS256');
    const { exportSPKI } = await import('jose');
    const pem = await exportSPKI(publicKey);
    const before = k8s.reviews.length;
    const res = await cli.root.post('auth/k8s-other/config', {
      kubernetes_host: 'https://127.0.0.1:1',
      token_reviewer_jwt: reviewerJwt,
      pem_keys: [pem],
      issuer: 'https://kubernetes.default.svc.cluster.local',
      disable_local_ca_jwt: true,
    });
    assert.equal(res.status, 204, res.text);
    assert.equal(k8s.reviews.length, before);
    const read = await cli.root.get('auth/k8s-other/config');
    assert.equal(read.status, 200);
    assert.equal(read.body.data.kubernetes_host, 'https://127.0.0.1:1');
    assert.deepEqual(read.body.data.pem_keys, [pem]);
    assert.equal(read.body.data.issuer, 'https://kubernetes.default.svc.cluster.local');
    assert.equal(read.body.data.disable_local_ca_jwt, true);
    assert.equal(read.body.data.token_reviewer_jwt_set, true);
    assert.ok(!read.text.includes(reviewerJwt));
  });

  test('bad config values are 400s naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'no host provided'],
      [{ kubernetes_host: 'ftp://x' }, 'kubernetes_host: must be an http or https URL'],
      [{ kubernetes_host: k8s.url, kubernetes_ca_cert: 'not a pem' }, 'kubernetes_ca_cert: no PEM certificate found'],
      [{ kubernetes_host: k8s.url, pem_keys: ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'] }, 'pem_keys[0]: not a PEM public key or certificate'],
    ];
    await cli.root.post('sys/auth/k8s-bad', { type: 'kubernetes' });
    for (const [body, message] of cases) {
      const res = await cli.root.post('auth/k8s-bad/config', body);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body.errors, [message]);
    }
  });
});

describe('roles', () => {
  test('role fields validate and read back in Vault shape (token_* and legacy names)', async () => {
    const w = await cli.root.post('auth/kubernetes/role/shape', {
      bound_service_account_names: 'a,b',
      bound_service_account_namespaces: ['ns'],
      token_policies: 'p2,p1',
      token_ttl: '10m',
      token_max_ttl: '1h',
      token_bound_cidrs: '127.0.0.0/8',
      audience: 'vault',
      alias_name_source: 'serviceaccount_name',
    });
    assert.equal(w.status, 204, w.text);
    const d = (await cli.root.get('auth/kubernetes/role/shape')).body.data;
    assert.deepEqual(
      { names: d.bound_service_account_names, ns: d.bound_service_account_namespaces, p: d.token_policies, legacy: d.policies, ttl: d.token_ttl, ttlLegacy: d.ttl, max: d.token_max_ttl, cidrs: d.token_bound_cidrs, aud: d.audience, alias: d.alias_name_source, type: d.token_type },
      { names: ['a', 'b'], ns: ['ns'], p: ['p1', 'p2'], legacy: ['p1', 'p2'], ttl: 600, ttlLegacy: 600, max: 3600, cidrs: ['127.0.0.0/8'], aud: 'vault', alias: 'serviceaccount_name', type: 'default' },
    );
    const list = await cli.root.list('auth/kubernetes/role');
    assert.ok(list.body.data.keys.includes('shape'));
  });

  test('invalid roles are refused with the reason', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ bound_service_account_namespaces: 'ns' }, '"bound_service_account_names" can not be empty'],
      [{ bound_service_account_names: 'a' }, '"bound_service_account_namespaces" can not be empty'],
      [{ bound_service_account_names: '*', bound_service_account_namespaces: '*' }, 'service_account_names and service_account_namespaces can not both be "*"'],
      [{ bound_service_account_names: 'a', bound_service_account_namespaces: 'n', token_type: 'batch' }, 'token_type "batch" is not supported: coffer issues service tokens only (use "service" or "default")'],
      [{ bound_service_account_names: 'a', bound_service_account_namespaces: 'n', policies: 'x', token_policies: 'y' }, 'cannot set both "token_policies" and "policies"; use "token_policies"'],
      [{ bound_service_account_names: 'a', bound_service_account_namespaces: 'n', token_ttl: '2h', token_max_ttl: '1h' }, '"token_ttl" value must be less than or equal to "token_max_ttl"'],
      [{ bound_service_account_names: 'a', bound_service_account_namespaces: 'n', token_bound_cidrs: '10.0.0.0/33' }, 'invalid request data: field "token_bound_cidrs": invalid CIDR "10.0.0.0/33"'],
      [{ bound_service_account_names: 'a', bound_service_account_namespaces: 'n', alias_name_source: 'pod' }, 'invalid request data: field "alias_name_source": must be "serviceaccount_uid" or "serviceaccount_name"'],
    ];
    for (const [body, message] of cases) {
      const res = await cli.root.post('auth/kubernetes/role/bad', body);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body.errors, [message]);
    }
    assert.equal((await cli.root.get('auth/kubernetes/role/bad')).status, 404);
  });
});

describe('CLI', () => {
  test('`coffer write auth/kubernetes/role/my-api ...` verbatim, then `coffer login -method=kubernetes jwt=@file`', async () => {
    const written = await cli.ok(['write', 'auth/kubernetes/role/my-api', 'bound_service_account_names=my-api', 'bound_service_account_namespaces=production', 'policies=my-api-read', 'ttl=1h']);
    assert.equal(written, 'Success! Data written to: auth/kubernetes/role/my-api\n');
    const tokenFile = path.join(cli.dir, 'token');
    // The kubelet writes the projected token without a newline; a hand-made file usually has one.
    writeFileSync(tokenFile, `${await k8s.issue({ namespace: 'production', name: 'my-api' })}\n`, { mode: 0o600 });
    const r = await cli.coffer(['login', '-method=kubernetes', '-format=json', '-no-store', 'role=my-api', `jwt=@${tokenFile}`], { env: { VAULT_TOKEN: '' } });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.auth.policies, ['default', 'my-api-read']);
    assert.equal(out.auth.lease_duration, 3600);
    assert.equal(out.auth.metadata.service_account_namespace, 'production');
    const token = out.auth.client_token as string;
    const mine = await client(cli.srv.addr, token).get('secret/data/my-api/config');
    assert.equal(mine.status, 200);
    assert.equal(mine.body.data.data.password, 'from-coffer');
    assert.equal((await client(cli.srv.addr, token).get('secret/data/other/config')).status, 403);
  });
});

describe('login', () => {
  before(async () => {
    const res = await cli.root.post('auth/kubernetes/role/web', {
      bound_service_account_names: ['web', 'web-*'],
      bound_service_account_namespaces: 'prod-*',
      token_policies: 'web',
      token_ttl: '20m',
    });
    assert.equal(res.status, 204, res.text);
  });

  test('the right service account and namespace get a token with the role policies and Vault metadata', async () => {
    const jwt = await k8s.issue({ namespace: 'prod-eu', name: 'web-worker', uid: 'f3c1f0b2-0000-4000-8000-000000000001' });
    const res = await login('web', jwt);
    assert.equal(res.status, 200, res.text);
    const auth = res.body.auth;
    assert.match(auth.client_token, /^cfs\./);
    assert.deepEqual(auth.policies, ['default', 'web']);
    assert.deepEqual(auth.token_policies, ['default', 'web']);
    assert.deepEqual(auth.metadata, {
      role: 'web',
      service_account_name: 'web-worker',
      service_account_namespace: 'prod-eu',
      service_account_uid: 'f3c1f0b2-0000-4000-8000-000000000001',
      service_account_secret_name: '',
    });
    assert.equal(auth.lease_duration, 1200);
    assert.equal(auth.renewable, true);
    assert.equal(auth.orphan, true);
    assert.equal(auth.token_type, 'service');
    assert.equal(res.body.mount_type, 'kubernetes');
    // The reviewer JWT authenticated the TokenReview, and the login's own JWT was the one reviewed.
    const review = k8s.reviews.at(-1)!;
    assert.equal(review.authorization, reviewerJwt);
    assert.equal(review.token, jwt);
    const self = await client(cli.srv.addr, auth.client_token).get('auth/token/lookup-self');
    assert.equal(self.body.data.display_name, 'kubernetes-prod-eu-web-worker');
    assert.equal(self.body.data.path, 'auth/kubernetes/login');
  });

  test('wrong namespace, wrong name, expired, foreign signature: 403 with the reason, no token', async () => {
    refused(await login('web', await k8s.issue({ namespace: 'staging', name: 'web' })), 403, 'namespace not authorized');
    refused(await login('web', await k8s.issue({ namespace: 'prod-eu', name: 'api' })), 403, 'service account name not authorized');
    const unauthenticated = 'lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token';
    refused(await login('web', await k8s.issue({ namespace: 'prod-eu', name: 'web', expiresIn: -120 })), 403, unauthenticated);
    const { privateKey: foreign } = await generateKeyPair('ES256');
    refused(await login('web', await k8s.issue({ namespace: 'prod-eu', name: 'web' }, foreign)), 403, unauthenticated);
  });

  test('audience: sent to the TokenReview and required in its answer', async () => {
    await cli.root.post('auth/kubernetes/role/aud', { bound_service_account_names: 'web', bound_service_account_namespaces: 'prod', audience: 'coffer' });
    const ok = await login('aud', await k8s.issue({ namespace: 'prod', name: 'web', audiences: ['coffer'] }));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(k8s.reviews.at(-1)!.audiences, ['coffer']);
    refused(await login('aud', await k8s.issue({ namespace: 'prod', name: 'web' })), 403, 'lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token');
  });

  test('bad requests: missing fields, unknown role, not a service account token', async () => {
    refused(await login('', 'x'), 400, 'missing role');
    refused(await login('web', ''), 400, 'missing jwt');
    refused(await login('nope', 'x'), 400, 'invalid role name "nope"');
    refused(await login('../config', 'x'), 400, 'invalid role name "../config"');
    refused(await login('web', 'not-a-jwt'), 400, 'invalid jwt: not a Kubernetes service account token');
  });

  test('without token_reviewer_jwt the caller\'s own JWT authenticates the TokenReview', async () => {
    await cli.root.post('sys/auth/k8s-self', { type: 'kubernetes' });
    await cli.root.post('auth/k8s-self/config', { kubernetes_host: k8s.url, kubernetes_ca_cert: k8s.caPem });
    await cli.root.post('auth/k8s-self/role/r', { bound_service_account_names: '*', bound_service_account_namespaces: 'kube-system' });
    const jwt = await k8s.issue({ namespace: 'kube-system', name: 'coffer-reviewer' });
    const ok = await anon().post('auth/k8s-self/login', { role: 'r', jwt });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(k8s.reviews.at(-1)!.authorization, jwt);
    // A caller without system:auth-delegator: the API server refuses the review itself, a server-side 500.
    const other = await anon().post('auth/k8s-self/login', { role: 'r', jwt: await k8s.issue({ namespace: 'kube-system', name: 'default' }) });
    refused(other, 500, 'kubernetes TokenReview was refused (HTTP 403): the reviewer JWT may lack the system:auth-delegator role');
  });

  test('reviewer down, or its certificate not trusted: 500 naming the peer, no token', async () => {
    await cli.root.post('sys/auth/k8s-down', { type: 'kubernetes' });
    await cli.root.post('auth/k8s-down/role/r', { bound_service_account_names: 'web', bound_service_account_namespaces: 'prod' });
    const jwt = await k8s.issue({ namespace: 'prod', name: 'web' });
    await cli.root.post('auth/k8s-down/config', { kubernetes_host: 'https://127.0.0.1:1', kubernetes_ca_cert: k8s.caPem, token_reviewer_jwt: reviewerJwt });
    refused(await anon().post('auth/k8s-down/login', { role: 'r', jwt }), 500, 'kubernetes TokenReview request to 127.0.0.1:1 failed: ECONNREFUSED');
    // No kubernetes_ca_cert: the test CA is not trusted, so TLS verification fails before anything is sent.
    const before = k8s.reviews.length;
    const noCa = await cli.root.post('sys/auth/k8s-noca', { type: 'kubernetes' });
    assert.equal(noCa.status, 204);
    await cli.root.post('auth/k8s-noca/config', { kubernetes_host: k8s.url, token_reviewer_jwt: reviewerJwt });
    await cli.root.post('auth/k8s-noca/role/r', { bound_service_account_names: 'web', bound_service_account_namespaces: 'prod' });
    const res = await anon().post('auth/k8s-noca/login', { role: 'r', jwt });
    assert.equal(res.status, 500, res.text);
    assert.match(res.body.errors[0], /^kubernetes TokenReview request to 127\.0\.0\.1:\d+ failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
    assert.equal(k8s.reviews.length, before);
  });
});
