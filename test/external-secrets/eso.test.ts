/**
 * Issue 9 acceptance: coffer's ESO endpoints driven exactly as External Secrets Operator drives them, from the
 * shipped manifests. ESO, Kubernetes and Go cannot run on this machine, so `eso-provider.ts` implements ESO's
 * side from its documentation (template rendering with query-escaping, the request, jsonPath and value rules),
 * and this file plays the controller: it resolves store and Secret references, calls the provider per
 * ExternalSecret entry and asserts the resulting Kubernetes Secret data. The server is a live coffer on a random
 * port, over real TLS (the caBundle is the server's certificate); the generator uses the real PostgreSQL on
 * 127.0.0.1:5432 (roles created by coffer, checked and cleaned up here).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { request, Agent } from 'undici';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import { renderGoTemplate } from './gotemplate.js';
import { EsoError, NoSecretError, VaultProviderClient, WebhookClient, extractSecretData, type EsoCluster, type WebhookSpec } from './eso-provider.js';
import { CRD_SOURCES, REPO, find, loadManifests, validateAgainstCrd, type Manifest } from './manifests.js';
import { PgRoles, setupDatabaseRole } from './postgres.js';

type Client = ReturnType<typeof client>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tmp: string;
let srv: TestServer;
let root: Client;
let manifests: Manifest[];
let cluster: EsoCluster;
let caPem: string;
let dispatcher: Agent;
const tokens: Record<string, string> = {};
const clients: { close(): Promise<void> }[] = [];

function ok(res: { status: number; text: string }, what: string) {
  assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${res.text}`);
}

async function createToken(policies: string[]): Promise<string> {
  const res = await root.post('auth/token/create', { policies, ttl: '1h' });
  ok(res, 'token create');
  return res.body.auth.client_token;
}

function webhookSpec(kind: string, name: string): WebhookSpec {
  const m = find(manifests, kind, name);
  return (m.spec.provider?.webhook ?? m.spec) as WebhookSpec;
}

/** The store's webhook client for an object in `namespace`, as ESO's NewClient builds it. */
function storeClient(storeName: string, namespace: string, kind = 'ClusterSecretStore'): WebhookClient {
  const c = new WebhookClient(webhookSpec(kind, storeName), cluster, namespace, kind === 'ClusterSecretStore');
  clients.push(c);
  return c;
}

/** ESO's reconcile of one ExternalSecret: data[], dataFrom (extract, generatorRef) and target.template. */
async function sync(es: Manifest): Promise<Record<string, string>> {
  const ns = es.metadata.namespace!;
  const ref = es.spec.secretStoreRef;
  const out: Record<string, string> = {};
  for (const from of es.spec.dataFrom ?? []) {
    if (from.extract) Object.assign(out, await storeClient(ref.name, ns, ref.kind).getSecretMap(from.extract));
    else {
      const gen = find(manifests, from.sourceRef.generatorRef.kind, from.sourceRef.generatorRef.name);
      const c = new WebhookClient(gen.spec, cluster, ns, false);
      clients.push(c);
      Object.assign(out, await c.getSecretMap(null));
    }
  }
  for (const d of es.spec.data ?? []) out[d.secretKey] = await storeClient(ref.name, ns, ref.kind).getSecret(d.remoteRef);
  const template = es.spec.target?.template?.data as Record<string, string> | undefined;
  if (!template) return out;
  return Object.fromEntries(Object.entries(template).map(([k, t]) => [k, renderGoTemplate(t, out)]));
}

/** Same ExternalSecret in another namespace (what a tenant there could write). */
const inNamespace = (es: Manifest, namespace: string): Manifest => ({ ...es, metadata: { ...es.metadata, namespace } });

const esoCall = (method: string, pathAndQuery: string, headers: Record<string, string>, body?: string) =>
  request(`${srv.addr}/eso/v1/${pathAndQuery}`, { method: method as 'GET', headers, body, dispatcher }).then(async (r) => ({
    status: r.statusCode,
    reason: r.statusText,
    headers: r.headers,
    text: await r.body.text(),
  }));

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'coffer-eso-'));
  const cert = path.join(tmp, 'tls.crt');
  const key = path.join(tmp, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=coffer', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  caPem = readFileSync(cert, 'utf8');
  srv = await startDevServer({
    listeners: [{ address: '127.0.0.1:0', tlsDisable: false, tlsCertFile: cert, tlsKeyFile: key, maxRequestSize: 1 << 20 }],
  });
  dispatcher = new Agent({ connect: { ca: caPem } });
  // The helper's client speaks plain HTTP through undici's global dispatcher: trust the test CA there too.
  const { setGlobalDispatcher } = await import('undici');
  setGlobalDispatcher(dispatcher);
  root = client(srv.addr, srv.token);
  manifests = loadManifests(srv.addr, Buffer.from(caPem).toString('base64'));

  for (const name of ['eso-tenants', 'eso-push', 'team-a-generator']) {
    const policy = readFileSync(path.join(REPO, `examples/external-secrets/policies/${name}.hcl`), 'utf8');
    ok(await root.put(`sys/policies/acl/${name}`, { policy }), `policy ${name}`);
  }
  tokens.tenants = await createToken(['eso-tenants']);
  tokens.push = await createToken(['eso-push', 'eso-tenants']);
  tokens.teamA = await createToken(['team-a-generator']);
  const tokenSecret = find(manifests, 'Secret', 'coffer-eso-token');
  cluster = {
    secrets: new Map<string, { labels: Record<string, string>; data: Record<string, string> }>([
      ['external-secrets/coffer-eso-token', { labels: tokenSecret.metadata.labels!, data: { token: tokens.tenants } }],
      ['external-secrets/coffer-eso-push-token', { labels: tokenSecret.metadata.labels!, data: { token: tokens.push } }],
      ['external-secrets/coffer-eso-push-basic', { labels: tokenSecret.metadata.labels!, data: { username: 'eso', token: tokens.push } }],
      ['team-a/coffer-token', { labels: { 'external-secrets.io/type': 'webhook' }, data: { token: tokens.teamA } }],
    ]),
    // The `auth.ntlm` transport ignores caBundle: the ESO pod's system trust store must hold coffer's CA.
    systemCa: caPem,
  };

  ok(await root.post('secret/data/team-a/db', { data: { username: 'app', password: 'first-pw' } }), 'seed v1');
  ok(await root.post('secret/data/team-a/db', { data: { username: 'app', password: 's3cr3t "quoted" & <tagged>' } }), 'seed v2');
  ok(await root.post('secret/data/team-a/app', {
    data: { ratio: 1.5, count: 42, debug: true, off: false, nothing: null, database: { host: 'db.internal', port: 5432 }, hosts: ['a', 'b'] },
  }), 'seed app');
  ok(await root.post('secret/data/team-b/db', { data: { password: 'team-b-pw' } }), 'seed team-b');
  ok(await root.post('secret/data/team-a/odd key&name+ü', { data: { v: 'escaped' } }), 'seed odd key');
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await srv?.close();
  await dispatcher?.close();
  rmSync(tmp, { recursive: true, force: true });
});

for (const source of CRD_SOURCES) {
  // Skips go on each test, not the suite, so that the runner's summary counts them as skipped.
  const opts = { skip: source.skip };
  describe(`manifests validate against the ESO CRDs (${source.label})`, () => {
    const validate = (m: Manifest) => validateAgainstCrd(m, source.dir);

    it('every shipped ESO manifest is valid for its served CRD version', opts, () => {
      const esoKinds = manifests.filter((m) => m.kind !== 'Secret');
      assert.ok(esoKinds.length >= 13, `found ${esoKinds.length} ESO manifests`);
      for (const m of esoKinds) assert.deepEqual(validate(m), [], `${m.file} ${m.kind}/${m.metadata.name}`);
      const kinds = new Set(esoKinds.map((m) => `${m.apiVersion} ${m.kind}`));
      for (const expected of ['external-secrets.io/v1 ClusterSecretStore', 'external-secrets.io/v1 SecretStore', 'external-secrets.io/v1 ExternalSecret',
        'external-secrets.io/v1alpha1 PushSecret', 'generators.external-secrets.io/v1alpha1 Webhook', 'generators.external-secrets.io/v1alpha1 VaultDynamicSecret']) {
        assert.ok(kinds.has(expected), `ships ${expected}`);
      }
    });

    it('the validator rejects what the CRD forbids', opts, () => {
      const store = find(manifests, 'ClusterSecretStore', 'coffer');
      const { url: _url, ...noUrl } = store.spec.provider.webhook;
      assert.match(validate({ ...store, spec: { provider: { webhook: noUrl } } }).join(), /url/);
      assert.match(validate({ ...store, spec: { provider: { webhook: { ...noUrl, url: 'x', caBundle: 'not base64!' } } } }).join(), /format/);
      assert.match(validate({ ...store, apiVersion: 'external-secrets.io/v1beta1' }).join(), /no served CRD/);
    });
  });
}

describe('shipped Secrets', () => {
  it('the token Secret carries the webhook label ESO requires', () => {
    assert.equal(find(manifests, 'Secret', 'coffer-eso-token').metadata.labels?.['external-secrets.io/type'], 'webhook');
  });
});

describe('ExternalSecrets through the webhook ClusterSecretStore', () => {
  it('a single string key', async () => {
    assert.deepEqual(await sync(find(manifests, 'ExternalSecret', 'db-password')), { password: 's3cr3t "quoted" & <tagged>' });
  });

  it('several keys: number 1.5 arrives as "1.5", bool, nested path, pinned version', async () => {
    assert.deepEqual(await sync(find(manifests, 'ExternalSecret', 'app-config')), {
      username: 'app',
      ratio: '1.5',
      debug: 'true',
      'db-host': 'db.internal',
      'previous-password': 'first-pw',
    });
  });

  it('ESO itself would print a raw 1.5 as "2": the endpoint hands strings over for that reason', () => {
    assert.equal(extractSecretData(1.5), '2');
    assert.equal(extractSecretData(2.5), '2');
    assert.equal(extractSecretData('1.5'), '1.5');
  });

  it('integers, false and null', async () => {
    const c = storeClient('coffer', 'team-a');
    assert.equal(await c.getSecret({ key: 'team-a/app', property: 'count' }), '42');
    assert.equal(await c.getSecret({ key: 'team-a/app', property: 'off' }), 'false');
    assert.equal(await c.getSecret({ key: 'team-a/app', property: 'nothing' }), '');
  });

  it('a nested object and an array through data[] arrive as JSON', async () => {
    const c = storeClient('coffer', 'team-a');
    // The JSON text itself, numbers unquoted (issue 15 item 8): ESO's Vault provider gives the same bytes.
    assert.equal(await c.getSecret({ key: 'team-a/app', property: 'database' }), '{"host":"db.internal","port":5432}');
    assert.equal(await c.getSecret({ key: 'team-a/app', property: 'hosts' }), '["a","b"]');
    assert.equal(await c.getSecret({ key: 'team-a/app', property: 'hosts.1' }), 'b');
  });

  it('no property: the whole secret as JSON', async () => {
    const whole = JSON.parse(await storeClient('coffer', 'team-a').getSecret({ key: 'team-a/db' }));
    assert.deepEqual(whole, { password: 's3cr3t "quoted" & <tagged>', username: 'app' });
  });

  it('dataFrom.extract: every key, nested values as JSON strings', async () => {
    assert.deepEqual(await sync(find(manifests, 'ExternalSecret', 'app-all')), {
      ratio: '1.5',
      count: '42',
      debug: 'true',
      off: 'false',
      nothing: '',
      database: '{"host":"db.internal","port":5432}',
      hosts: '["a","b"]',
    });
  });

  it('dataFrom.extract with a property: the keys of the nested object', async () => {
    assert.deepEqual(await storeClient('coffer', 'team-a').getSecretMap({ key: 'team-a/app', property: 'database' }), { host: 'db.internal', port: '5432' });
  });

  it('a templated target', async () => {
    assert.deepEqual(await sync(find(manifests, 'ExternalSecret', 'db-url')), {
      DATABASE_URL: 'postgresql://app:s3cr3t "quoted" & <tagged>@db.team-a.svc:5432/app',
    });
  });

  it('versions: an old one, and a version that does not exist is "secret does not exist"', async () => {
    const c = storeClient('coffer', 'team-a');
    assert.equal(await c.getSecret({ key: 'team-a/db', property: 'password', version: '1' }), 'first-pw');
    await assert.rejects(c.getSecret({ key: 'team-a/db', property: 'password', version: '9' }), NoSecretError);
  });

  it('a key with characters that need query-escaping', async () => {
    assert.equal(await storeClient('coffer', 'team-a').getSecret({ key: 'team-a/odd key&name+ü', property: 'v' }), 'escaped');
  });

  it('a missing key or property is a 404, which ESO reads as "secret does not exist"', async () => {
    const c = storeClient('coffer', 'team-a');
    await assert.rejects(c.getSecret({ key: 'team-a/nope' }), NoSecretError);
    await assert.rejects(c.getSecret({ key: 'team-a/db', property: 'nope' }), NoSecretError);
    await assert.rejects(c.getSecretMap({ key: 'team-a/nope' }), NoSecretError);
  });

  it('namespace scoping: team-b cannot read team-a with the same store and token (403)', async () => {
    await assert.rejects(sync(inNamespace(find(manifests, 'ExternalSecret', 'db-password'), 'team-b')), (err: Error) => {
      assert.ok(err instanceof EsoError && !(err instanceof NoSecretError));
      assert.match(err.message, /^endpoint gave error 403 permission denied \(namespace team-b\)$/);
      return true;
    });
    assert.equal(await storeClient('coffer', 'team-b').getSecret({ key: 'team-b/db', property: 'password' }), 'team-b-pw');
  });

  it('the store token reads nothing outside ESO: templated rules need a namespace', async () => {
    const direct = await client(srv.addr, tokens.tenants).get('secret/data/team-a/db');
    assert.equal(direct.status, 403);
  });

  it('a namespaced SecretStore with a Bearer token', async () => {
    const tenantsInTeamA = await createToken(['eso-tenants']);
    cluster.secrets.set('team-a/coffer-token', { labels: { 'external-secrets.io/type': 'webhook' }, data: { token: tenantsInTeamA } });
    try {
      assert.equal(await storeClient('coffer', 'team-a', 'SecretStore').getSecret({ key: 'team-a/db', property: 'username' }), 'app');
    } finally {
      cluster.secrets.set('team-a/coffer-token', { labels: { 'external-secrets.io/type': 'webhook' }, data: { token: tokens.teamA } });
    }
  });

  it('a store Secret without the webhook label is refused by ESO before any call', async () => {
    cluster.secrets.set('external-secrets/unlabelled', { labels: {}, data: { token: tokens.tenants } });
    const spec = { ...webhookSpec('ClusterSecretStore', 'coffer'), secrets: [{ name: 'auth', secretRef: { name: 'unlabelled', namespace: 'external-secrets' } }] };
    const c = new WebhookClient(spec, cluster, 'team-a', true);
    clients.push(c);
    await assert.rejects(c.getSecret({ key: 'team-a/db' }), /needed label/);
  });
});

describe('PushSecret through the push store', () => {
  const pushed = () => find(manifests, 'PushSecret', 'api-key');
  const apiKeySecret = { 'api-key': 'k-123', region: 'eu-1' };

  it('pushes one key and the whole Secret, and they read back', async () => {
    const c = storeClient('coffer-push', 'team-a');
    for (const d of pushed().spec.data) await c.pushSecret(apiKeySecret, { secretKey: d.match.secretKey, remoteKey: d.match.remoteRef.remoteKey });
    const one = await root.get('secret/data/pushed/team-a-api');
    assert.deepEqual(one.body.data.data, { 'api-key': 'k-123' });
    const all = await root.get('secret/data/pushed/team-a-api-all');
    assert.deepEqual(all.body.data.data, apiKeySecret);
    // Read back as an ExternalSecret would, through the read store (the push token also holds eso-tenants).
    const reader = new WebhookClient({ ...webhookSpec('ClusterSecretStore', 'coffer'), url: webhookSpec('ClusterSecretStore', 'coffer').url.replace('secret?key=', 'secret?key=pushed/') }, {
      secrets: new Map([['external-secrets/coffer-eso-token', { labels: { 'external-secrets.io/type': 'webhook' }, data: { token: tokens.push } }]]),
    }, 'pushed', true);
    clients.push(reader);
    assert.deepEqual(await reader.getSecretMap({ key: 'team-a-api-all' }), apiKeySecret);
  });

  it('pushing a key keeps the other keys of the KV secret', async () => {
    const c = storeClient('coffer-push', 'team-a');
    await c.pushSecret({ other: 'o-1' }, { secretKey: 'other', remoteKey: 'pushed/team-a-api' });
    const res = await root.get('secret/data/pushed/team-a-api');
    assert.deepEqual(res.body.data.data, { 'api-key': 'k-123', other: 'o-1' });
  });

  it('after the latest version was soft-deleted, a push takes the current version from the metadata for check-and-set', async () => {
    const c = storeClient('coffer-push', 'team-a');
    const key = 'pushed/team-a-deleted';
    await c.pushSecret({ 'api-key': 'k-1' }, { secretKey: 'api-key', remoteKey: key });
    await c.pushSecret({ 'api-key': 'k-2' }, { secretKey: 'api-key', remoteKey: key });
    assert.equal((await root.delete(`secret/data/${key}`)).status, 204, 'soft-delete of version 2');
    await c.pushSecret({ 'api-key': 'k-3' }, { secretKey: 'api-key', remoteKey: key });
    const after = await root.get(`secret/data/${key}`);
    assert.deepEqual(after.body.data.data, { 'api-key': 'k-3' }, 'the deleted version\'s keys are not carried over');
    assert.equal(after.body.data.metadata.version, 3);
    assert.equal((await root.delete(`secret/data/${key}`)).status, 204, 'soft-delete of version 3');
    await c.pushSecret({ a: '1', b: '2' }, { remoteKey: key });
    const whole = await root.get(`secret/data/${key}`);
    assert.deepEqual(whole.body.data.data, { a: '1', b: '2' });
    assert.equal(whole.body.data.metadata.version, 4);
  });

  it('a key with cas_required takes pushes of the whole Secret and of one property', async () => {
    const c = storeClient('coffer-push', 'team-a');
    const key = 'pushed/team-a-cas';
    ok(await root.post(`secret/metadata/${key}`, { cas_required: true }), 'cas_required');
    await c.pushSecret({ a: '1', b: '2' }, { remoteKey: key });
    await c.pushSecret({ a: '1', b: '3' }, { remoteKey: key });
    await c.pushSecret({ c: '4' }, { secretKey: 'c', remoteKey: key });
    const res = await root.get(`secret/data/${key}`);
    assert.deepEqual(res.body.data.data, { a: '1', b: '3', c: '4' });
    assert.equal(res.body.data.metadata.version, 3);
  });

  it('a push outside the token policy is an error ESO shows', async () => {
    await assert.rejects(storeClient('coffer-push', 'team-a').pushSecret({ x: '1' }, { secretKey: 'x', remoteKey: 'team-a/db' }), /failed to push webhook data: endpoint gave error 403 permission denied/);
  });

  it('deletion as ESO renders it carries no token: coffer says so', async () => {
    await assert.rejects(storeClient('coffer-push', 'team-a').deleteSecret('pushed/team-a-api'), /delete endpoint gave error 401 no token: the token header rendered as "<no value>"/);
    assert.equal((await root.get('secret/data/pushed/team-a-api')).status, 200);
  });

  it('with the auth.ntlm store (Basic credentials from Secrets) deletion works as ESO sends it: 204, then 404', async () => {
    const c = storeClient('coffer-push-ntlm', 'team-a');
    await c.pushSecret({ 'api-key': 'k-ntlm' }, { secretKey: 'api-key', remoteKey: 'pushed/team-a-ntlm' });
    assert.deepEqual((await root.get('secret/data/pushed/team-a-ntlm')).body.data.data, { 'api-key': 'k-ntlm' });
    await c.deleteSecret('pushed/team-a-ntlm');
    assert.equal((await root.get('secret/metadata/pushed/team-a-ntlm')).status, 404, 'deleted with all versions');
    await c.deleteSecret('pushed/team-a-ntlm'); // the 404 of a second deletion is success for ESO
    const anonymous = await esoCall('DELETE', 'kv/secret?key=pushed/team-a-ntlm', {});
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="coffer"');
  });

  it('delete with the token (ESO delete semantics: 2xx, then 404 is success too)', async () => {
    // ESO's DeleteSecret would succeed like this if its headers saw the store's secrets (see README).
    const headers = { 'X-Vault-Token': tokens.push };
    const first = await esoCall('DELETE', 'kv/secret?key=pushed/team-a-api', headers);
    assert.equal(first.status, 204);
    const second = await esoCall('DELETE', 'kv/secret?key=pushed/team-a-api', headers);
    assert.equal(second.status, 404);
    assert.equal((await root.get('secret/metadata/pushed/team-a-api')).status, 404);
  });
});

describe('bad input gets a 4xx with a message in the status line', () => {
  it('missing token', async () => {
    const r = await esoCall('GET', 'kv/secret?key=team-a/db', {});
    assert.equal(r.status, 401);
    assert.match(r.reason, /no token: send the coffer token in X-Vault-Token/);
    const basicEmpty = await esoCall('GET', 'kv/secret?key=team-a/db', { Authorization: `Basic ${Buffer.from('eso:').toString('base64')}` });
    assert.equal(basicEmpty.status, 401);
    assert.match(r.text, /no token/);
  });

  it('wrong token, malformed namespace header, bad version', async () => {
    assert.equal((await esoCall('GET', 'kv/secret?key=team-a/db', { 'X-Vault-Token': 'cfs.wrong' })).status, 403);
    const ns = await esoCall('GET', 'kv/secret?key=team-a/db', { 'X-Vault-Token': tokens.tenants, 'X-Coffer-Kubernetes-Namespace': 'Team_A' });
    assert.equal(ns.status, 400);
    assert.match(ns.reason, /x-coffer-kubernetes-namespace must be a Kubernetes namespace name/);
    const v = await esoCall('GET', 'kv/secret?key=team-a/db&version=abc', { 'X-Vault-Token': tokens.tenants, 'X-Coffer-Kubernetes-Namespace': 'team-a' });
    assert.equal(v.status, 400);
    assert.match(v.reason, /version must be a KV version number/);
  });

  it('missing key, malformed push body, DELETE with a property', async () => {
    const h = { 'X-Vault-Token': tokens.push, 'X-Coffer-Kubernetes-Namespace': 'team-a' };
    const noKey = await esoCall('GET', 'kv/secret?property=x', h);
    assert.equal(noKey.status, 400);
    assert.match(noKey.reason, /key is required/);
    const badBody = await esoCall('POST', 'kv/secret?key=pushed/x', h, 'not json {');
    assert.equal(badBody.status, 400);
    assert.match(badBody.reason, /expects the whole Secret as a JSON object/);
    assert.doesNotMatch(badBody.text, /not json/);
    assert.equal((await esoCall('DELETE', 'kv/secret?key=pushed/x&property=a', h)).status, 400);
  });

  it('unknown endpoint, unknown mount and wrong method are 4xx but not 404 (404 would mean "deleted" to ESO)', async () => {
    const h = { 'X-Vault-Token': tokens.tenants, 'X-Coffer-Kubernetes-Namespace': 'team-a' };
    const unknown = await esoCall('GET', 'nothing/here', h);
    assert.equal(unknown.status, 400);
    assert.match(unknown.reason, /unknown ESO endpoint/);
    const mount = await esoCall('GET', 'kv/nosuchmount?key=a', h);
    assert.equal(mount.status, 400);
    assert.match(mount.reason, /no KV v2 secret engine at nosuchmount/);
    assert.equal((await esoCall('PATCH', 'kv/secret?key=a', h)).status, 405);
  });
});

describe('the vault provider shape against coffer', () => {
  let vault: VaultProviderClient;
  before(async () => {
    // The vault provider sends no namespace, so its token's policy has plain paths (policies/eso-vault.hcl).
    const policy = readFileSync(path.join(REPO, 'examples/external-secrets/policies/eso-vault.hcl'), 'utf8');
    ok(await root.put('sys/policies/acl/eso-vault', { policy }), 'policy eso-vault');
    const store = find(manifests, 'ClusterSecretStore', 'coffer-vault').spec.provider.vault;
    assert.equal(store.auth.tokenSecretRef.name, 'coffer-vault-token');
    vault = new VaultProviderClient(store, await createToken(['eso-vault']));
    clients.push(vault);
  });

  it('KV v2 reads with property as a gjson path, exact keys, versions and extract', async () => {
    const es = find(manifests, 'ExternalSecret', 'app-config-vault');
    const out: Record<string, string> = {};
    for (const from of es.spec.dataFrom) Object.assign(out, await vault.getSecretMap(from.extract));
    for (const d of es.spec.data) out[d.secretKey] = await vault.getSecret(d.remoteRef);
    assert.deepEqual(out, { username: 'app', password: 's3cr3t "quoted" & <tagged>', 'db-host': 'db.internal', ratio: '1.5' });
    assert.equal(await vault.getSecret({ key: 'team-a/db', property: 'password', version: '1' }), 'first-pw');
    assert.equal(await vault.getSecret({ key: 'team-a/app', property: 'database' }), '{"host":"db.internal","port":5432}');
    await assert.rejects(vault.getSecret({ key: 'team-a/missing' }), NoSecretError);
  });

  it('a nested property reads as the same JSON text through the webhook store as through the vault provider', async () => {
    ok(await root.post('secret/data/team-a/nested', { data: { obj: { b: ['x', { z: 1, y: null }], a: 1.5, html: '<&>' }, list: [{ k: true }] } }), 'seed nested');
    const webhook = storeClient('coffer', 'team-a');
    const expected = { obj: '{"a":1.5,"b":["x",{"y":null,"z":1}],"html":"\\u003c\\u0026\\u003e"}', list: '[{"k":true}]', 'obj.b': '["x",{"y":null,"z":1}]' };
    for (const [property, text] of Object.entries(expected)) {
      assert.equal(await vault.getSecret({ key: 'team-a/nested', property }), text, `vault provider, ${property}`);
      assert.equal(await webhook.getSecret({ key: 'team-a/nested', property }), text, `webhook store, ${property}`);
    }
  });
});

describe('the Webhook generator with the database engine (PostgreSQL on 127.0.0.1:5432)', () => {
  const role = 'team-a-app';
  const roles = new PgRoles();
  const generatorSpec = (headers: Record<string, string> = {}): WebhookSpec => {
    const spec = webhookSpec('Webhook', 'app-db-creds');
    return { ...spec, headers: { ...spec.headers, ...headers } };
  };
  async function generate(spec: WebhookSpec): Promise<Record<string, string>> {
    const c = new WebhookClient(spec, cluster, 'team-a', false);
    clients.push(c);
    const creds = await c.getSecretMap(null);
    roles.track(creds.username);
    return creds;
  }

  before(async () => {
    await roles.connect();
    await setupDatabaseRole(root, role);
  });

  after(() => roles.close());

  it('dataFrom generatorRef: working credentials as Secret keys', async () => {
    const secret = await sync(find(manifests, 'ExternalSecret', 'app-db'));
    assert.deepEqual(Object.keys(secret).sort(), ['password', 'username']);
    roles.track(secret.username);
    assert.ok(await roles.canLogin(secret), 'the generated user logs in');
  });

  it('with an owner: a refresh revokes the previous credentials after the grace period', async () => {
    const spec = generatorSpec({ 'X-Coffer-Owner': 'team-a/refresh-test', 'X-Coffer-Revoke-Grace': '1s' });
    const first = await generate(spec);
    const second = await generate(spec);
    assert.notEqual(first.username, second.username);
    assert.ok(await roles.exists(first.username!), 'the previous user lives through the grace period');
    assert.ok(await roles.dropped(first.username!), 'previous user dropped after the grace period');
    assert.ok(await roles.canLogin(second), 'the current credentials still work');
  });

  it('the owner record is scoped to the token', async () => {
    const owner = { 'X-Coffer-Owner': 'team-a/scoped', 'X-Coffer-Revoke-Grace': '0s' };
    const mine = await generate(generatorSpec(owner));
    // Another token naming the same owner cannot revoke this token's credentials.
    const other = await createToken(['team-a-generator']);
    const spec = generatorSpec({ ...owner, 'X-Vault-Token': other });
    await generate(spec);
    await generate(spec);
    await sleep(1000);
    assert.ok(await roles.exists(mine.username!), 'credentials of the first token untouched');
  });

  it('without an owner nothing is revoked (ESO never revokes generator output)', async () => {
    const a = await generate(generatorSpec());
    const b = await generate(generatorSpec());
    await sleep(500);
    assert.ok((await roles.exists(a.username!)) && (await roles.exists(b.username!)));
  });

  it('bad owner and grace headers are 400s', async () => {
    await assert.rejects(generate(generatorSpec({ 'X-Coffer-Owner': 'no-slash' })), /400 x-coffer-owner must be namespace\/name/);
    await assert.rejects(generate(generatorSpec({ 'X-Coffer-Revoke-Grace': 'soon' })), /400 x-coffer-revoke-grace must be a duration/);
    await assert.rejects(generate(generatorSpec({ 'X-Coffer-Kubernetes-Namespace': 'team-b' })), /400 x-coffer-owner names namespace team-a but/);
  });

  it('the VaultDynamicSecret generator shape: GET /v1/database/creds/<role>', async () => {
    const vds = find(manifests, 'VaultDynamicSecret', 'app-db-creds-vault').spec;
    const res = await request(`${vds.provider.server}/v1${vds.path}`, { method: vds.method, headers: { 'x-vault-token': tokens.teamA }, dispatcher });
    const body = (await res.body.json()) as { data: Record<string, string>; lease_id: string };
    assert.equal(res.statusCode, 200);
    roles.track(body.data.username);
    assert.match(body.lease_id, /^database\/creds\/team-a-app\//);
    assert.ok(await roles.canLogin(body.data));
  });
});

describe('the Webhook generator with the PKI engine', () => {
  const issuerCa = () => root.get('pki_int/ca/pem').then((r) => r.text);

  before(async () => {
    ok(await root.post('sys/mounts/pki_int', { type: 'pki', config: { max_lease_ttl: '87600h' } }), 'enable pki_int');
    ok(await root.post('pki_int/root/generate/internal', { common_name: 'Team CA', ttl: '8760h' }), 'generate CA');
    ok(await root.post('pki_int/roles/team-a-tls', {
      allowed_domains: 'team-a.svc.cluster.local', allow_subdomains: true, max_ttl: '72h', generate_lease: true,
    }), 'role');
  });

  it('dataFrom generatorRef with a kubernetes.io/tls template: a leaf, its key and the chain that verifies it', async () => {
    const secret = await sync(find(manifests, 'ExternalSecret', 'app-tls'));
    assert.deepEqual(Object.keys(secret).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const leaf = new X509Certificate(secret['tls.crt']!);
    assert.match(leaf.subject, /CN=app\.team-a\.svc\.cluster\.local/);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(secret['tls.key']!)), 'tls.key belongs to the certificate');
    const ca = new X509Certificate(secret['ca.crt']!);
    assert.ok(leaf.verify(ca.publicKey), 'signed by the issuing CA');
    assert.equal(secret['ca.crt']!.trim(), (await issuerCa()).trim());
    // The bundle carries the leaf then the chain (ca_chain joined into one PEM block list, not JSON text).
    assert.equal(secret['tls.crt']!.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    assert.doesNotMatch(secret['tls.crt']!, /\["-----BEGIN/);
  });

  it('with an owner: a renewal revokes the previous certificate after the grace period (it enters the CRL)', async () => {
    const spec = { ...webhookSpec('Webhook', 'app-tls-cert') };
    spec.headers = { ...spec.headers, 'X-Coffer-Owner': 'team-a/tls-refresh', 'X-Coffer-Revoke-Grace': '0s' };
    const issue = async () => {
      const c = new WebhookClient(spec, cluster, 'team-a', false);
      clients.push(c);
      return c.getSecretMap(null);
    };
    const first = await issue();
    const second = await issue();
    assert.notEqual(first.serial_number, second.serial_number);
    const revoked = async () => ((await root.list('pki_int/certs/revoked')).body?.data?.keys ?? []) as string[];
    const deadline = Date.now() + 8000;
    while (!(await revoked()).includes(first.serial_number!) && Date.now() < deadline) await sleep(100);
    assert.ok((await revoked()).includes(first.serial_number!), 'previous certificate revoked');
    assert.ok(!(await revoked()).includes(second.serial_number!), 'current certificate still valid');
  });

  it('a body that is not a JSON object is a 400 naming what the generator expects', async () => {
    const res = await esoCall('POST', 'generate/pki_int/issue/team-a-tls', { 'x-vault-token': tokens.teamA }, '["common_name"]');
    assert.equal(res.status, 400);
    assert.match(res.text, /generator body must be a JSON object/);
  });
});

describe('no side door', () => {
  it('ESO reads are audited like /v1 reads, with the secret hashed', async () => {
    const log = path.join(tmp, `audit-${randomBytes(3).toString('hex')}.log`);
    ok(await root.put('sys/audit/eso-file', { type: 'file', options: { file_path: log } }), 'enable audit');
    try {
      assert.equal(await storeClient('coffer', 'team-a').getSecret({ key: 'team-a/db', property: 'password' }), 's3cr3t "quoted" & <tagged>');
      const text = readFileSync(log, 'utf8');
      assert.match(text, /"path":"secret\/data\/team-a\/db"/);
      assert.doesNotMatch(text, /s3cr3t/);
      assert.doesNotMatch(text, new RegExp(tokens.tenants.replace(/\./g, '\\.')));
    } finally {
      await root.delete('sys/audit/eso-file');
    }
  });
});
