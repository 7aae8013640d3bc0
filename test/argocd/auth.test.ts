/**
 * Settings and tokens: the static token from each place it may come from (VAULT_*, COFFER_*, ARGOCD_ENV_*, a -c
 * file), the token cache (per identity, mode 0600, TTL), and a session that reuses a cached login token and
 * logs in again when the cached one expired or was revoked, against a live server.
 *
 * The session tests here log in with a `perform` step that asks the live server for a real token
 * (auth/token/create with a TTL), so the cache, its TTL and the revocation path are tested apart from any auth
 * method; the AppRole and Kubernetes logins themselves are tested end to end in login.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CofferClient } from '../../src/client/client.js';
import { Session, type Login, loginFor } from '../../argocd-plugin/auth.js';
import { loadConfig, mergedSettings } from '../../argocd-plugin/config.js';
import { fetchWithSession } from '../../argocd-plugin/secrets.js';
import { EXPIRY_MARGIN_MS, TokenCache } from '../../argocd-plugin/token-cache.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import { runPlugin } from '../helpers/argocd.js';

const MANIFEST = 'apiVersion: v1\nkind: Widget\nmetadata:\n  name: w\ndata:\n  k: <path:kv/data/app#user>\n';
const RENDERED = 'apiVersion: v1\ndata:\n  k: admin\nkind: Widget\nmetadata:\n  name: w\n---\n';

describe('tokens and settings', () => {
  let srv: TestServer;
  let dir: string;
  let manifest: string;
  before(async () => {
    srv = await startDevServer();
    const root = client(srv.addr, srv.token);
    await root.post('sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await root.post('kv/data/app', { data: { user: 'admin' } });
    await root.put('sys/policies/acl/app', { policy: 'path "kv/data/app" { capabilities = ["read"] }' });
    dir = mkdtempSync(path.join(tmpdir(), 'coffer-argocd-auth-'));
    manifest = path.join(dir, 'm.yaml');
    writeFileSync(manifest, MANIFEST);
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const appToken = async (ttl = '1h') => (await client(srv.addr, srv.token).post('auth/token/create', { policies: ['app'], ttl })).body.auth.client_token as string;

  describe('the static token', () => {
    it('VAULT_ADDR and VAULT_TOKEN', async () => {
      const r = await runPlugin(['generate', manifest], { env: { VAULT_ADDR: srv.addr, VAULT_TOKEN: await appToken(), AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'token', HOME: dir } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, RENDERED);
    });

    it('COFFER_ADDR and COFFER_TOKEN, with AVP_TYPE and AVP_AUTH_TYPE left out', async () => {
      const r = await runPlugin(['generate', manifest], { env: { COFFER_ADDR: srv.addr, COFFER_TOKEN: await appToken(), HOME: dir } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, RENDERED);
    });

    it('ARGOCD_ENV_ variables override the plain ones', async () => {
      const r = await runPlugin(['generate', manifest], {
        env: { VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'cfs.wrong', ARGOCD_ENV_VAULT_ADDR: srv.addr, ARGOCD_ENV_VAULT_TOKEN: await appToken(), HOME: dir },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, RENDERED);
    });

    it('a -c settings file (YAML, JSON, KEY=VALUE), which the environment overrides', async () => {
      const token = await appToken();
      const files = {
        'avp.yaml': `VAULT_ADDR: ${srv.addr}\nVAULT_TOKEN: ${token}\nAVP_TYPE: vault\n`,
        'avp.json': JSON.stringify({ VAULT_ADDR: srv.addr, VAULT_TOKEN: token, AVP_AUTH_TYPE: 'token' }),
        'avp.env': `VAULT_ADDR=${srv.addr}\nexport VAULT_TOKEN="${token}"\n# comment\n`,
      };
      for (const [name, text] of Object.entries(files)) {
        const f = path.join(dir, name);
        writeFileSync(f, text, { mode: 0o600 });
        const r = await runPlugin(['generate', '-c', f, manifest], { env: { HOME: dir } });
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.equal(r.stdout, RENDERED);
      }
      const r = await runPlugin(['generate', `--config-path=${path.join(dir, 'avp.yaml')}`, manifest], { env: { HOME: dir, VAULT_TOKEN: 'cfs.overridden' } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /permission denied reading kv\/data\/app/);
      assert.ok(!r.stderr.includes(token));
    });

    it('a revoked token is a clear failure', async () => {
      const token = await appToken();
      await client(srv.addr, srv.token).post('auth/token/revoke', { token });
      const r = await runPlugin(['generate', manifest], { env: { VAULT_ADDR: srv.addr, VAULT_TOKEN: token, HOME: dir } });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /permission denied reading kv\/data\/app/);
    });
  });

  describe('the token cache', () => {
    it('keeps one file per identity, mode 0600 in a 0700 directory', () => {
      const cacheDir = path.join(dir, 'cache-modes', 'tokens');
      const cache = new TokenCache(cacheDir);
      cache.put(['http://a', 'approle', 'auth/approle', 'role-1'], 'cfs.one', 3600);
      cache.put(['http://a', 'approle', 'auth/approle', 'role-2'], 'cfs.two', 3600);
      assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
      const files = readdirSync(cacheDir);
      assert.equal(files.length, 2);
      for (const f of files) {
        assert.equal(statSync(path.join(cacheDir, f)).mode & 0o777, 0o600);
        assert.match(f, /^[0-9a-f]{64}\.json$/, 'file names do not show the role');
      }
      assert.equal(cache.get(['http://a', 'approle', 'auth/approle', 'role-1']), 'cfs.one');
      assert.equal(cache.get(['http://a', 'approle', 'auth/approle', 'role-2']), 'cfs.two');
      assert.equal(cache.get(['http://b', 'approle', 'auth/approle', 'role-1']), undefined, 'another server is another identity');
    });

    it('respects the TTL, with a margin', () => {
      const cache = new TokenCache(path.join(dir, 'cache-ttl'));
      const id = ['http://a', 'kubernetes', 'auth/kubernetes', 'argocd', '/t'];
      const now = 1_000_000_000;
      cache.put(id, 'cfs.ttl', 60, now);
      assert.equal(cache.get(id, now + 60_000 - EXPIRY_MARGIN_MS - 1), 'cfs.ttl');
      assert.equal(cache.get(id, now + 60_000 - EXPIRY_MARGIN_MS), undefined);
      cache.put(id, 'cfs.forever', 0, now);
      assert.equal(cache.get(id, now + 365 * 86_400_000), 'cfs.forever', 'a token without TTL does not expire');
    });

    it('ignores files that others can read, and damaged ones', () => {
      const cache = new TokenCache(path.join(dir, 'cache-perm'));
      const id = ['x'];
      cache.put(id, 'cfs.perm', 3600);
      chmodSync(cache.fileFor(id), 0o644);
      assert.equal(cache.get(id), undefined);
      writeFileSync(cache.fileFor(id), '{not json', { mode: 0o600 });
      chmodSync(cache.fileFor(id), 0o600);
      assert.equal(cache.get(id), undefined);
    });

    it('is off for static tokens and with --disable-token-cache', () => {
      const base = { VAULT_ADDR: 'http://x', AVP_AUTH_TYPE: 'approle', AVP_ROLE_ID: 'r', AVP_SECRET_ID: 's' };
      assert.equal(loadConfig(mergedSettings({ ...base, HOME: dir }), { disableTokenCache: false, home: dir }).tokenCacheDir, path.join(dir, '.coffer-argocd', 'tokens'));
      assert.equal(loadConfig(mergedSettings({ ...base, HOME: dir }), { disableTokenCache: true, home: dir }).tokenCacheDir, undefined);
      assert.equal(loadConfig(mergedSettings({ VAULT_ADDR: 'http://x', VAULT_TOKEN: 't', HOME: dir }), { disableTokenCache: false, home: dir }).tokenCacheDir, undefined);
    });

    it('keys AppRole and Kubernetes logins by server, mount and role', () => {
      const approle = loadConfig(mergedSettings({ AVP_AUTH_TYPE: 'approle', AVP_ROLE_ID: 'role-a', AVP_SECRET_ID: 'secret', AVP_MOUNT_PATH: 'auth/ci', HOME: dir }), { disableTokenCache: false, home: dir });
      assert.deepEqual(loginFor(approle.auth, 'http://s')!.identity, ['http://s', 'approle', 'auth/ci', 'role-a']);
      const k8s = loadConfig(mergedSettings({ AVP_AUTH_TYPE: 'k8s', AVP_K8S_ROLE: 'argocd', AVP_MOUNT_PATH: 'auth/generic', HOME: dir }), { disableTokenCache: false, home: dir });
      assert.deepEqual(loginFor(k8s.auth, 'http://s')!.identity, ['http://s', 'kubernetes', 'auth/generic', 'argocd', '/var/run/secrets/kubernetes.io/serviceaccount/token']);
      const k8sOwn = loadConfig(mergedSettings({ AVP_AUTH_TYPE: 'k8s', AVP_K8S_ROLE: 'argocd', AVP_MOUNT_PATH: 'auth/generic', AVP_K8S_MOUNT_PATH: 'auth/k8s-prod', HOME: dir }), { disableTokenCache: false, home: dir });
      assert.equal(loginFor(k8sOwn.auth, 'http://s')!.identity[2], 'auth/k8s-prod', 'AVP_K8S_MOUNT_PATH wins over AVP_MOUNT_PATH');
    });
  });

  describe('a session with a login', () => {
    // A login that gets a real token from the live server, counting how often it runs.
    const countingLogin = (ttl: string) => {
      const login: Login & { count: number } = {
        count: 0,
        identity: [srv.addr, 'test', ttl],
        describe: 'test login',
        perform: async () => {
          login.count++;
          const res = await client(srv.addr, srv.token).post('auth/token/create', { policies: ['app'], ttl });
          return { token: res.body.auth.client_token as string, ttlSeconds: res.body.auth.lease_duration as number };
        },
      };
      return login;
    };
    const read = { path: 'kv/data/app', version: undefined };

    it('logs in once, then reuses the cached token in later runs', async () => {
      const cache = new TokenCache(path.join(dir, 'session-reuse'));
      const login = countingLogin('1h');
      for (let run = 0; run < 3; run++) {
        const session = new Session(new CofferClient({ address: srv.addr }), login, cache);
        const answers = await fetchWithSession(session, [read]);
        assert.equal(answers.get('kv/data/app')?.status, 200);
        assert.equal(session.fromCache, run > 0);
      }
      assert.equal(login.count, 1);
    });

    it('logs in again when the cached token is within its expiry margin', async () => {
      const cache = new TokenCache(path.join(dir, 'session-expiry'));
      const login = countingLogin(`${EXPIRY_MARGIN_MS / 1000 - 5}s`);
      for (let run = 0; run < 2; run++) {
        const session = new Session(new CofferClient({ address: srv.addr }), login, cache);
        assert.equal((await fetchWithSession(session, [read])).get('kv/data/app')?.status, 200);
        assert.equal(session.fromCache, false);
      }
      assert.equal(login.count, 2);
    });

    it('replaces a cached token that was revoked, transparently', async () => {
      const cache = new TokenCache(path.join(dir, 'session-revoked'));
      const login = countingLogin('1h');
      await fetchWithSession(new Session(new CofferClient({ address: srv.addr }), login, cache), [read]);
      const cached = cache.get(login.identity)!;
      await client(srv.addr, srv.token).post('auth/token/revoke', { token: cached });
      const session = new Session(new CofferClient({ address: srv.addr }), login, cache);
      const answers = await fetchWithSession(session, [read]);
      assert.equal(answers.get('kv/data/app')?.status, 200);
      assert.equal(login.count, 2);
      assert.notEqual(cache.get(login.identity), cached, 'the new token replaced the revoked one in the cache');
    });

    it('without a cache, logs in every run', async () => {
      const login = countingLogin('1h');
      for (let run = 0; run < 2; run++) await fetchWithSession(new Session(new CofferClient({ address: srv.addr }), login, undefined), [read]);
      assert.equal(login.count, 2);
    });
  });
});
