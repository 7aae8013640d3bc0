/**
 * The plugin's AppRole and Kubernetes logins against a live coffer server with those auth methods enabled, through
 * the real launcher (child processes): rendering after login, the per-identity token cache (mode 0600, reused by
 * the next run, bypassed by --disable-token-cache), custom mount paths, short token TTLs, revoked cached tokens,
 * and refused logins (exit 1, a message naming the method and mount, never the secret ID). The Kubernetes API
 * server's TokenReview side is test/helpers/k8s-tokenreview.ts (no cluster runs here).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import type { ApiClient } from '../helpers/cli.js';
import { startTokenReviewServer, type TokenReviewServer } from '../helpers/k8s-tokenreview.js';
import { runPlugin } from '../helpers/argocd.js';

const MANIFEST = 'apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\ndata:\n  k: <path:kv/data/app#user>\n';
const RENDERED = 'apiVersion: v1\ndata:\n  k: admin\nkind: Widget\nmetadata:\n  name: w\n---\n';

let srv: TestServer;
let root: ApiClient;
let k8s: TokenReviewServer;
let dir: string;
let manifest: string;

before(async () => {
  srv = await startDevServer({ loginRateLimit: { maxFailures: 1000, windowMs: 60_000 } });
  root = client(srv.addr, srv.token);
  k8s = await startTokenReviewServer();
  k8s.delegators.add('kube-system:coffer-reviewer');
  const steps: [string, unknown][] = [
    ['sys/mounts/kv', { type: 'kv', options: { version: '2' } }],
    ['kv/data/app', { data: { user: 'admin' } }],
    ['sys/policies/acl/app', { policy: 'path "kv/data/app" { capabilities = ["read"] }' }],
    ['sys/auth/approle', { type: 'approle' }],
    ['sys/auth/approle-ci', { type: 'approle' }],
    ['sys/auth/kubernetes', { type: 'kubernetes' }],
    ['sys/auth/k8s-east', { type: 'kubernetes' }],
  ];
  for (const [p, body] of steps) {
    const res = await root.post(p, body);
    assert.ok(res.status < 300, `${p}: ${res.status} ${res.text}`);
  }
  const reviewer = await k8s.issue({ namespace: 'kube-system', name: 'coffer-reviewer' });
  for (const mount of ['kubernetes', 'k8s-east']) {
    const cfg = await root.post(`auth/${mount}/config`, { kubernetes_host: k8s.url, kubernetes_ca_cert: k8s.caPem, token_reviewer_jwt: reviewer });
    assert.equal(cfg.status, 204, cfg.text);
    const role = await root.post(`auth/${mount}/role/argocd`, {
      bound_service_account_names: 'argocd-repo-server', bound_service_account_namespaces: 'argocd', policies: 'app', ttl: '1h',
    });
    assert.equal(role.status, 204, role.text);
  }
  dir = mkdtempSync(path.join(tmpdir(), 'coffer-argocd-login-'));
  manifest = path.join(dir, 'm.yaml');
  writeFileSync(manifest, MANIFEST);
});

after(async () => {
  await srv?.close();
  await k8s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh HOME per case, so each starts with an empty token cache. */
const freshHome = () => mkdtempSync(path.join(dir, 'home-'));
const cacheFiles = (home: string) => {
  try {
    return readdirSync(path.join(home, '.coffer-argocd', 'tokens'));
  } catch {
    return [];
  }
};

async function appRole(mount: string, role: string, settings: Record<string, unknown>): Promise<{ roleId: string; secretId: string }> {
  assert.equal((await root.post(`auth/${mount}/role/${role}`, { token_policies: 'app', ...settings })).status, 204);
  const roleId = (await root.get(`auth/${mount}/role/${role}/role-id`)).body.data.role_id as string;
  const secretId = (await root.post(`auth/${mount}/role/${role}/secret-id`, {})).body.data.secret_id as string;
  return { roleId, secretId };
}

const approleEnv = (home: string, ids: { roleId: string; secretId: string }, extra: Record<string, string> = {}) => ({
  VAULT_ADDR: srv.addr, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'approle', AVP_ROLE_ID: ids.roleId, AVP_SECRET_ID: ids.secretId, HOME: home, ...extra,
});

describe('AppRole', () => {
  it('logs in, renders, and caches the token in a 0600 file; the next run reuses it without logging in', async () => {
    const ids = await appRole('approle', 'once', { secret_id_num_uses: 1, token_ttl: '1h' });
    const home = freshHome();
    const first = await runPlugin(['generate', manifest], { env: approleEnv(home, ids) });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, RENDERED);
    const files = cacheFiles(home);
    assert.equal(files.length, 1);
    assert.equal(statSync(path.join(home, '.coffer-argocd', 'tokens', files[0]!)).mode & 0o777, 0o600);
    assert.ok(!readFileSync(path.join(home, '.coffer-argocd', 'tokens', files[0]!), 'utf8').includes(ids.secretId), 'no secret ID in the cache');
    // The secret ID had one use, now spent: only the cached token can make this second run work.
    const second = await runPlugin(['generate', manifest], { env: approleEnv(home, ids) });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, RENDERED);
    // Without the cache the spent secret ID must log in again, and cannot.
    const uncached = await runPlugin(['generate', '--disable-token-cache', manifest], { env: approleEnv(home, ids) });
    assert.equal(uncached.code, 1);
    assert.equal(uncached.stdout, '');
    assert.match(uncached.stderr, /approle login at auth\/approle failed/);
    assert.ok(!uncached.stderr.includes(ids.secretId), 'the secret ID never appears in errors');
  });

  it('AVP_MOUNT_PATH selects another AppRole mount; two role IDs get two cache files', async () => {
    const home = freshHome();
    const a = await appRole('approle-ci', 'a', {});
    const b = await appRole('approle-ci', 'b', {});
    for (const ids of [a, b]) {
      const r = await runPlugin(['generate', manifest], { env: approleEnv(home, ids, { AVP_MOUNT_PATH: 'auth/approle-ci' }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, RENDERED);
    }
    assert.equal(cacheFiles(home).length, 2);
  });

  it('a wrong secret ID: exit 1, empty stdout, the failure named without the secret ID', async () => {
    const ids = await appRole('approle', 'wrong', {});
    const bad = { ...ids, secretId: '00000000-1111-2222-3333-444444444444' };
    const r = await runPlugin(['generate', manifest], { env: approleEnv(freshHome(), bad) });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /approle login at auth\/approle failed: the server answered 400 \(invalid role or secret ID\)/);
    assert.ok(!r.stderr.includes(bad.secretId));
  });

  it('a token TTL under the cache margin means a fresh login every run (each one spends a use)', async () => {
    const ids = await appRole('approle', 'short', { token_ttl: '5s', secret_id_num_uses: 3 });
    const home = freshHome();
    for (let run = 0; run < 3; run++) {
      const r = await runPlugin(['generate', manifest], { env: approleEnv(home, ids) });
      assert.equal(r.code, 0, r.stderr);
    }
    // Three logins spent the three uses: a fourth run has neither a usable cached token nor a use left.
    const spent = await runPlugin(['generate', manifest], { env: approleEnv(home, ids) });
    assert.equal(spent.code, 1);
    assert.match(spent.stderr, /approle login at auth\/approle failed/);
  });

  it('a revoked cached token: the next run logs in again and succeeds', async () => {
    const ids = await appRole('approle', 'revoked', { token_ttl: '1h' });
    const home = freshHome();
    assert.equal((await runPlugin(['generate', manifest], { env: approleEnv(home, ids) })).code, 0);
    const file = path.join(home, '.coffer-argocd', 'tokens', cacheFiles(home)[0]!);
    const cached = readFileSync(file, 'utf8');
    const token = /cfs\.[A-Za-z0-9_-]+/.exec(cached)?.[0];
    assert.ok(token, 'the cache file holds the token');
    assert.equal((await root.post('auth/token/revoke', { token })).status, 204);
    const again = await runPlugin(['generate', manifest], { env: approleEnv(home, ids) });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, RENDERED);
    assert.notEqual(/cfs\.[A-Za-z0-9_-]+/.exec(readFileSync(file, 'utf8'))?.[0], token, 'a new token was cached');
  });
});

describe('Kubernetes', () => {
  const k8sEnv = async (home: string, extra: Record<string, string> = {}, sa = { namespace: 'argocd', name: 'argocd-repo-server' }) => {
    const tokenFile = path.join(home, 'sa-token');
    writeFileSync(tokenFile, await k8s.issue(sa));
    return { VAULT_ADDR: srv.addr, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'k8s', AVP_K8S_ROLE: 'argocd', AVP_K8S_TOKEN_PATH: tokenFile, HOME: home, ...extra };
  };

  it('logs in with the service account token file, renders, caches; the next run makes no TokenReview', async () => {
    const home = freshHome();
    const env = await k8sEnv(home);
    const before = k8s.reviews.length;
    const first = await runPlugin(['generate', manifest], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, RENDERED);
    assert.equal(k8s.reviews.length, before + 1);
    assert.equal(cacheFiles(home).length, 1);
    const second = await runPlugin(['generate', manifest], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(k8s.reviews.length, before + 1, 'the cached token was used');
  });

  it('AVP_K8S_MOUNT_PATH selects another Kubernetes mount', async () => {
    const r = await runPlugin(['generate', manifest], { env: await k8sEnv(freshHome(), { AVP_K8S_MOUNT_PATH: 'auth/k8s-east' }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, RENDERED);
  });

  it('a role the service account is not bound to, or an unknown role: exit 1 naming the login', async () => {
    const wrongSa = await runPlugin(['generate', manifest], { env: await k8sEnv(freshHome(), {}, { namespace: 'default', name: 'argocd-repo-server' }) });
    assert.equal(wrongSa.code, 1);
    assert.equal(wrongSa.stdout, '');
    assert.match(wrongSa.stderr, /kubernetes login at auth\/kubernetes as role argocd failed: the server answered 403/);
    const unknownRole = await runPlugin(['generate', manifest], { env: await k8sEnv(freshHome(), { AVP_K8S_ROLE: 'nope' }) });
    assert.equal(unknownRole.code, 1);
    assert.match(unknownRole.stderr, /kubernetes login at auth\/kubernetes as role nope failed/);
    assert.ok(!unknownRole.stderr.includes('eyJ'), 'the service account JWT never appears');
  });
});
