/**
 * Vault's root-token rule, over HTTP against a live server: no auth method ever issues a token carrying the
 * `root` policy (AppRole `token_policies` or legacy `policies`, JWT, Kubernetes), and only a root token creates
 * a root token (`auth/token/create`, `create-orphan`, token roles). A seeded property test drives random role
 * writes, logins and token creations by non-root tokens and checks every token obtained with lookup-self.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';
import { startTokenReviewServer, type TokenReviewServer } from '../helpers/k8s-tokenreview.js';
import { client, startDevServer, type TestServer } from '../helpers/server.js';

type Client = ReturnType<typeof client>;
let srv: TestServer;
let root: Client;
let idp: OidcProvider;
let k8s: TokenReviewServer;

const AUTH_METHOD = 'auth methods cannot create root tokens';
const NON_ROOT = 'root tokens may not be created without parent token being root';

/** A non-root token allowed only what `rules` grant. */
async function tokenWith(name: string, rules: string): Promise<Client> {
  assert.equal((await root.put(`sys/policies/acl/${name}`, { policy: rules })).status, 204);
  const res = await root.post('auth/token/create', { policies: [name], no_default_policy: true });
  assert.equal(res.status, 200, res.text);
  return client(srv.addr, res.body.auth.client_token);
}

function refused(res: { status: number; body: any; text: string }, message: string) {
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(res.body.errors, [message]);
  assert.ok(!res.text.includes('cfs.'), 'no token in a refusal');
}

async function approleLogin(writer: Client, role: string): Promise<ReturnType<Client['post']>> {
  const roleId = (await writer.get(`auth/approle/role/${role}/role-id`)).body.data.role_id;
  const secretId = (await writer.post(`auth/approle/role/${role}/secret-id`, {})).body.data.secret_id;
  return client(srv.addr, null).post('auth/approle/login', { role_id: roleId, secret_id: secretId });
}

let approleAdmin: Client;
let tokenAdmin: Client;

before(async () => {
  srv = await startDevServer({ loginRateLimit: { maxFailures: 100_000, windowMs: 60_000 } });
  root = client(srv.addr, srv.token);
  idp = await startOidcProvider();
  k8s = await startTokenReviewServer();
  k8s.delegators.add('kube-system:reviewer');
  for (const type of ['approle', 'jwt', 'kubernetes']) assert.equal((await root.post(`sys/auth/${type}`, { type })).status, 204);
  assert.equal((await root.post('auth/jwt/config', { jwks_url: idp.jwksUrl, jwks_ca_pem: idp.caPem, bound_issuer: idp.issuer })).status, 204);
  const reviewer = await k8s.issue({ namespace: 'kube-system', name: 'reviewer' });
  const cfg = await root.post('auth/kubernetes/config', { kubernetes_host: k8s.url, kubernetes_ca_cert: k8s.caPem, token_reviewer_jwt: reviewer });
  assert.equal(cfg.status, 204, cfg.text);
  approleAdmin = await tokenWith('approle-admin', 'path "auth/approle/role/*" { capabilities = ["create", "read", "update", "list"] }');
  tokenAdmin = await tokenWith('token-admin', [
    'path "auth/token/roles/*" { capabilities = ["create", "read", "update"] }',
    'path "auth/token/create/*" { capabilities = ["update"] }',
    'path "auth/token/create" { capabilities = ["update"] }',
    'path "auth/token/create-orphan" { capabilities = ["update"] }',
  ].join('\n'));
});
after(async () => {
  await srv?.close();
  await idp?.close();
  await k8s?.close();
});

describe('auth methods never issue root tokens', () => {
  for (const [label, body] of [
    ['token_policies', { token_policies: ['root'] }],
    ['legacy policies', { policies: 'root' }],
    ['mixed case and spaces', { token_policies: ['reader', ' ROOT '] }],
  ] as const) {
    test(`AppRole role with ${label} [root], written by an approle-only token: login refused`, async () => {
      const role = `r-${label.replace(/\W+/g, '-')}`;
      const w = await approleAdmin.post(`auth/approle/role/${role}`, body);
      assert.equal(w.status, 204, w.text);
      refused(await approleLogin(approleAdmin, role), AUTH_METHOD);
    });
  }

  test('the root token itself cannot log in to a root role either (auth methods never grant root)', async () => {
    assert.equal((await root.post('auth/approle/role/by-root', { token_policies: 'root' })).status, 204);
    refused(await approleLogin(root, 'by-root'), AUTH_METHOD);
  });

  test('JWT role with token_policies [root]: login refused', async () => {
    const w = await root.post('auth/jwt/role/rooted', { role_type: 'jwt', user_claim: 'sub', bound_audiences: 'coffer', token_policies: 'Root' });
    assert.equal(w.status, 204, w.text);
    const jwt = await idp.sign({ sub: 'ci', aud: 'coffer' });
    refused(await client(srv.addr, null).post('auth/jwt/login', { role: 'rooted', jwt }), AUTH_METHOD);
  });

  test('Kubernetes role with policies [root]: login refused', async () => {
    const w = await root.post('auth/kubernetes/role/rooted', { bound_service_account_names: 'app', bound_service_account_namespaces: 'prod', policies: ['root'] });
    assert.equal(w.status, 204, w.text);
    const jwt = await k8s.issue({ namespace: 'prod', name: 'app' });
    refused(await client(srv.addr, null).post('auth/kubernetes/login', { role: 'rooted', jwt }), AUTH_METHOD);
  });
});

describe('only root creates root', () => {
  test('token role allowed_policies [root] + create/ROLE by a non-root token: refused', async () => {
    assert.equal((await tokenAdmin.post('auth/token/roles/escalate', { allowed_policies: ['root'] })).status, 204);
    refused(await tokenAdmin.post('auth/token/create/escalate', {}), NON_ROOT);
    refused(await tokenAdmin.post('auth/token/create/escalate', { policies: [' ROOT'] }), NON_ROOT);
  });

  test('create and create-orphan asking for root by a non-root token: refused', async () => {
    for (const path of ['auth/token/create', 'auth/token/create-orphan']) {
      const res = await tokenAdmin.post(path, { policies: ['root'] });
      assert.equal(res.status, 400, res.text);
      assert.ok(!res.text.includes('cfs.'));
    }
  });

  test('a root token still creates root tokens, directly and through a role', async () => {
    const direct = await root.post('auth/token/create', { policies: ['root'] });
    assert.equal(direct.status, 200, direct.text);
    assert.deepEqual(direct.body.auth.policies, ['root']);
    const viaRole = await root.post('auth/token/create/escalate', {});
    assert.equal(viaRole.status, 200, viaRole.text);
    assert.deepEqual(viaRole.body.auth.policies, ['root']);
  });
});

/** mulberry32: a small seeded generator, so a failing run can be replayed from its printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('property: non-root callers never obtain a root token', () => {
  test('random role writes, logins and creates; every token obtained is looked up', async () => {
    const seed = Number(process.env.ROOT_RULE_SEED ?? Date.now() % 2 ** 31);
    console.log(`root-rule property seed: ${seed} (replay with ROOT_RULE_SEED=${seed})`);
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const names = ['root', ' root', 'ROOT', 'Root ', 'root ', 'reader', 'writer', 'default', ' default'] as const;
    const policyList = () => {
      const list = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(names));
      return rand() < 0.5 ? list : list.join(',');
    };
    const obtained: string[] = [];
    const callers: Client[] = [approleAdmin, tokenAdmin];
    const note = (res: { status: number; body: any }) => {
      const token = res.status === 200 ? res.body?.auth?.client_token : undefined;
      if (token) {
        obtained.push(token);
        // Tokens obtained become callers too: a child of a child must not escalate either.
        callers.push(client(srv.addr, token));
      }
    };
    const roles = { approle: [] as string[], token: [] as string[] };
    for (let step = 0; step < 300; step++) {
      const action = pick(['approle-role', 'approle-login', 'token-role', 'token-create-role', 'token-create'] as const);
      const ctx = `seed ${seed} step ${step} ${action}`;
      if (action === 'approle-role') {
        const name = `p${Math.floor(rand() * 6)}`;
        const field = pick(['token_policies', 'policies'] as const);
        const res = await approleAdmin.post(`auth/approle/role/${name}`, { [field]: policyList() });
        assert.ok(res.status === 204 || res.status === 400, `${ctx}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 204 && !roles.approle.includes(name)) roles.approle.push(name);
      } else if (action === 'approle-login' && roles.approle.length) {
        note(await approleLogin(approleAdmin, pick(roles.approle)));
      } else if (action === 'token-role') {
        const name = `t${Math.floor(rand() * 6)}`;
        const body: Record<string, unknown> = { allowed_policies: policyList() };
        if (rand() < 0.3) body.orphan = true;
        if (rand() < 0.3) body.allowed_policies_glob = pick(['r*', '*', 'ro*']);
        const res = await tokenAdmin.post(`auth/token/roles/${name}`, body);
        assert.ok(res.status === 204 || res.status === 400, `${ctx}: ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status === 204 && !roles.token.includes(name)) roles.token.push(name);
      } else if (action === 'token-create-role' && roles.token.length) {
        const body = rand() < 0.5 ? { policies: policyList() } : {};
        note(await tokenAdmin.post(`auth/token/create/${pick(roles.token)}`, body));
      } else if (action === 'token-create') {
        note(await pick(callers).post(pick(['auth/token/create', 'auth/token/create-orphan']), { policies: policyList() }));
      }
    }
    assert.ok(obtained.length > 0, `seed ${seed}: the run obtained no token at all, so it proved nothing`);
    for (const token of obtained) {
      const self = await client(srv.addr, token).get('auth/token/lookup-self');
      assert.equal(self.status, 200, self.text);
      assert.ok(!self.body.data.policies.includes('root'), `seed ${seed}: a non-root caller obtained ${JSON.stringify(self.body.data.policies)}`);
    }
  });
});
