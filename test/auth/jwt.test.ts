/**
 * The jwt/oidc auth method against a live coffer server and a local identity provider over HTTPS
 * (test/helpers/oidc-provider.ts: discovery document + JWKS with a test CA, tokens signed by the test with jose).
 * Also runs the GitLab CI example of examples/gitlab-ci/ with its policy and role files as shipped.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { exportSPKI } from 'jose';
import { cliDevServer } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/process.js';
import { client } from '../helpers/server.js';
import { startOidcProvider, type OidcProvider } from '../helpers/oidc-provider.js';

let idp: OidcProvider;

const cli = cliDevServer('coffer-jwt-auth-', async (cli) => {
  idp = await startOidcProvider();
  await cli.root.post('sys/auth/jwt', { type: 'jwt' });
  const cfg = await cli.root.post('auth/jwt/config', { jwks_url: idp.jwksUrl, jwks_ca_pem: idp.caPem, bound_issuer: idp.issuer });
  assert.equal(cfg.status, 204, cfg.text);
  const role = await cli.root.post('auth/jwt/role/ci', {
    role_type: 'jwt',
    user_claim: 'sub',
    bound_audiences: 'coffer',
    bound_claims: { project_path: 'team/app', groups: ['deployers'] },
    claim_mappings: { project_path: 'project', '/nested/env': 'env' },
    token_policies: 'ci',
    token_ttl: '5m',
  });
  assert.equal(role.status, 204, role.text);
}, { loginRateLimit: { maxFailures: 1000 }, userLockout: { all: { disabled: true } } });
after(() => idp?.close());

const anon = () => client(cli.srv.addr, null);
const login = (jwt: string, role = 'ci', mount = 'jwt') => anon().post(`auth/${mount}/login`, { role, jwt });
const good = { sub: 'pipeline-1', aud: 'coffer', project_path: 'team/app', groups: ['readers', 'deployers'], nested: { env: 'prod' } };

function refused(res: { status: number; body: any; text: string }, message: string) {
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(res.body.errors, [message]);
  assert.ok(!res.text.includes('cfs.'));
}

describe('config', () => {
  test('exactly one key source; asymmetric algorithms only; CA fields checked', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set"],
      [{ jwks_url: idp.jwksUrl, oidc_discovery_url: idp.issuer }, "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set"],
      [{ jwks_url: idp.jwksUrl, jwt_supported_algs: 'RS256,HS256' }, 'invalid jwt_supported_algs: "HS256" is not supported (one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)'],
      [{ jwks_url: idp.jwksUrl, jwks_ca_pem: 'nope' }, 'jwks_ca_pem: no PEM certificate found'],
      [{ jwks_url: 'file:///etc/passwd' }, 'jwks_url: must be an http or https URL'],
      [{ jwt_validation_pubkeys: 'not a key' }, 'jwt_validation_pubkeys[0]: not a PEM public key or certificate'],
      // The discovery document is fetched when the config is written; without the CA, TLS verification fails.
      [{ oidc_discovery_url: idp.issuer }, `OIDC discovery request to ${new URL(idp.issuer).host} failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE`],
    ];
    await cli.root.post('sys/auth/jwt-bad', { type: 'jwt' });
    for (const [body, message] of cases) {
      const res = await cli.root.post('auth/jwt-bad/config', body);
      assert.ok(res.status === 400 || res.status === 500, res.text);
      assert.deepEqual(res.body.errors, [message]);
    }
    assert.equal((await cli.root.get('auth/jwt-bad/config')).status, 404);
    const read = await cli.root.get('auth/jwt/config');
    assert.deepEqual([read.body.data.jwks_url, read.body.data.bound_issuer, read.body.data.jwt_supported_algs], [idp.jwksUrl, idp.issuer, []]);
  });

  test('roles: jwt only, at least one bound constraint, leeways and claim types validated', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ role_type: 'oidc', bound_audiences: 'a' }, 'role_type "oidc" is not supported: coffer implements the jwt login (no browser OIDC flow); use role_type "jwt"'],
      [{ user_claim: 'sub' }, 'must have at least one bound constraint when creating/updating a role'],
      [{ bound_audiences: 'a', bound_claims_type: 'regex' }, 'invalid request data: field "bound_claims_type": must be "string" or "glob"'],
      [{ bound_audiences: 'a', clock_skew_leeway: 'soon' }, 'invalid request data: field "clock_skew_leeway": must be a number of seconds or a duration (0 = the default, negative = none)'],
      [{ bound_audiences: 'a', claim_mappings: { a: 'x', b: 'x' } }, 'claim_mappings contains duplicate target names'],
    ];
    for (const [body, message] of cases) {
      const res = await cli.root.post('auth/jwt/role/bad', body);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(res.body.errors, [message]);
    }
    const d = (await cli.root.get('auth/jwt/role/ci')).body.data;
    assert.deepEqual([d.role_type, d.user_claim, d.bound_audiences, d.bound_claims_type, d.token_ttl, d.token_policies], ['jwt', 'sub', ['coffer'], 'string', 300, ['ci']]);
  });
});

describe('login with a JWKS URL', () => {
  test('a valid token: policies, TTL, claims mapped into metadata (JSON pointer too)', async () => {
    const res = await login(await idp.sign(good));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.auth.policies, ['ci', 'default']);
    assert.deepEqual(res.body.auth.metadata, { role: 'ci', project: 'team/app', env: 'prod' });
    assert.equal(res.body.auth.lease_duration, 300);
    const self = await client(cli.srv.addr, res.body.auth.client_token).get('auth/token/lookup-self');
    assert.equal(self.body.data.display_name, 'jwt-pipeline-1');
  });

  test('time claims: expired and not-yet-valid refused, small skew within the leeways accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    refused(await login(await idp.sign({ ...good, exp: now - 3600 })), 'error validating token: invalid expiration time (exp) claim: token is expired');
    refused(await login(await idp.sign({ ...good, nbf: now + 3600 })), 'error validating token: invalid not before (nbf) claim: token not yet valid');
    refused(await login(await idp.sign({ ...good, iat: now + 3600 })), 'error validating token: invalid issued at (iat) claim: token issued in the future');
    // Without nbf, iat stands in for it (Vault derives nbf from iat).
    refused(await login(await idp.sign({ ...good, iat: now + 3600, nbf: undefined })), 'error validating token: invalid not before (nbf) claim: token not yet valid');
    assert.equal((await login(await idp.sign({ ...good, exp: now - 30 }))).status, 200, 'within the default 60 s clock skew');
    await cli.root.post('auth/jwt/role/strict', { bound_audiences: 'coffer', clock_skew_leeway: -1, expiration_leeway: -1 });
    refused(await login(await idp.sign({ ...good, exp: now - 30 }), 'strict'), 'error validating token: invalid expiration time (exp) claim: token is expired');
  });

  test('a token without exp, iat and nbf is refused; without exp it expires at the later of iat/nbf plus the leeway', async () => {
    const now = Math.floor(Date.now() / 1000);
    const noTimes = { ...good, exp: undefined, iat: undefined, nbf: undefined };
    refused(await login(await idp.sign(noTimes)), 'error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token');
    refused(await login(await idp.sign({ ...noTimes, exp: 0 })), 'error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token');
    // Defaults: expiration_leeway 150 s plus the 60 s clock skew after the later of iat and nbf.
    assert.equal((await login(await idp.sign({ ...noTimes, iat: now - 100 }))).status, 200);
    refused(await login(await idp.sign({ ...noTimes, iat: now - 400 })), 'error validating token: invalid expiration time (exp) claim: token is expired');
    refused(await login(await idp.sign({ ...noTimes, iat: now - 4000, nbf: now - 400 })), 'error validating token: invalid expiration time (exp) claim: token is expired');
    assert.equal((await login(await idp.sign({ ...noTimes, iat: now - 4000, nbf: now - 100 }))).status, 200, 'nbf is the later start');
    // A longer expiration_leeway (a Go duration is accepted) keeps the old token valid; a negative one disables it.
    await cli.root.post('auth/jwt/role/long', { bound_audiences: 'coffer', expiration_leeway: '1h' });
    assert.equal((await cli.root.get('auth/jwt/role/long')).body.data.expiration_leeway, 3600);
    assert.equal((await login(await idp.sign({ ...noTimes, iat: now - 400 }), 'long')).status, 200);
    await cli.root.post('auth/jwt/role/none', { bound_audiences: 'coffer', expiration_leeway: -5, clock_skew_leeway: -1 });
    refused(await login(await idp.sign({ ...noTimes, iat: now - 5 }), 'none'), 'error validating token: invalid expiration time (exp) claim: token is expired');
    // Only exp: nbf is exp minus not_before_leeway (150 s by default), so a far exp is not valid yet.
    refused(await login(await idp.sign({ ...noTimes, exp: now + 3600 })), 'error validating token: invalid not before (nbf) claim: token not yet valid');
    assert.equal((await login(await idp.sign({ ...noTimes, exp: now + 100 }))).status, 200);
    await cli.root.post('auth/jwt/role/early', { bound_audiences: 'coffer', not_before_leeway: 7200 });
    assert.equal((await login(await idp.sign({ ...noTimes, exp: now + 3600 }), 'early')).status, 200);
  });

  test('issuer, audience, subject and bound claims must match', async () => {
    refused(await login(await idp.sign({ ...good, iss: 'https://evil.example.com' })), 'error validating token: invalid issuer (iss) claim');
    refused(await login(await idp.sign({ ...good, aud: ['someone-else'] })), 'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience');
    refused(await login(await idp.sign({ ...good, project_path: 'team/other' })), 'error validating claims: claim "project_path" does not match any associated bound claim values');
    refused(await login(await idp.sign({ ...good, groups: ['readers'] })), 'error validating claims: claim "groups" does not match any associated bound claim values');
    refused(await login(await idp.sign({ ...good, project_path: undefined })), 'error validating claims: claim "project_path" is missing');
    refused(await login(await idp.sign({ ...good, sub: undefined })), 'claim "sub" not found in token');
    await cli.root.post('auth/jwt/role/subject', { bound_subject: 'pipeline-1', bound_audiences: 'coffer' });
    assert.equal((await login(await idp.sign(good), 'subject')).status, 200);
    refused(await login(await idp.sign({ ...good, sub: 'pipeline-2' }), 'subject'), 'error validating token: invalid subject (sub) claim');
    await cli.root.post('auth/jwt/role/no-aud', { bound_subject: 'pipeline-1' });
    refused(await login(await idp.sign(good), 'no-aud'), 'audience claim found in JWT but no audiences bound to the role');
    refused(await login(await idp.sign(good), 'ghost'), 'role "ghost" could not be found');
    refused(await anon().post('auth/jwt/login', { role: 'ci' }), 'missing token');
  });

  test('glob bound claims: `*` matches, lists match when any element does', async () => {
    await cli.root.post('auth/jwt/role/glob', { bound_audiences: 'coffer', bound_claims_type: 'glob', bound_claims: { ref: ['main', 'release/*'], groups: 'team-*-admins' } });
    const claims = { ...good, groups: ['users', 'team-web-admins'] };
    assert.equal((await login(await idp.sign({ ...claims, ref: 'release/1.4' }), 'glob')).status, 200);
    assert.equal((await login(await idp.sign({ ...claims, ref: 'main' }), 'glob')).status, 200);
    refused(await login(await idp.sign({ ...claims, ref: 'feature/x' }), 'glob'), 'error validating claims: claim "ref" does not match any associated bound claim values');
    refused(await login(await idp.sign({ ...claims, ref: 'main', groups: ['team-admins'] }), 'glob'), 'error validating claims: claim "groups" does not match any associated bound claim values');
    // With the string type the same value is literal.
    await cli.root.post('auth/jwt/role/literal', { bound_audiences: 'coffer', bound_claims: { ref: 'release/*' } });
    refused(await login(await idp.sign({ ...claims, ref: 'release/1.4' }), 'literal'), 'error validating claims: claim "ref" does not match any associated bound claim values');
  });

  test('key rotation: an unknown kid refetches the JWKS exactly once, then the new key is cached', async () => {
    assert.equal((await login(await idp.sign(good))).status, 200);
    const before = idp.jwksFetches;
    assert.equal((await login(await idp.sign(good))).status, 200);
    assert.equal(idp.jwksFetches, before, 'a known kid is served from the cache');
    const oldKey = idp.current;
    await idp.rotate();
    assert.equal((await login(await idp.sign(good))).status, 200);
    assert.equal(idp.jwksFetches, before + 1);
    assert.equal((await login(await idp.sign(good))).status, 200);
    assert.equal(idp.jwksFetches, before + 1);
    // The withdrawn key is gone from the JWKS now: its tokens fail (after one more refetch for its kid).
    refused(await login(await idp.sign(good, { key: oldKey })), 'error validating token: error verifying token signature: no known key successfully validated the token signature');
    assert.equal(idp.jwksFetches, before + 2);
  });

  test('alg none, HMAC signed with the public key, unsupported algorithm, forged kid: all refused', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const payload = b64({ ...good, iss: idp.issuer, exp: Math.floor(Date.now() / 1000) + 300 });
    refused(await login(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`), 'error validating token: token signed with an unsupported algorithm "none"');
    // The classic confusion: HS256 keyed with the provider's public key, which an attacker can download.
    const pem = await exportSPKI(idp.current.publicKey);
    const forge = (header: Record<string, unknown>) => {
      const input = `${b64(header)}.${payload}`;
      return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    };
    refused(await login(forge({ alg: 'HS256', kid: idp.current.kid })), 'error validating token: token signed with an unsupported algorithm "HS256"');
    // The same HMAC signature under an RS256 header is not a valid RSA signature.
    refused(await login(forge({ alg: 'RS256', kid: idp.current.kid })), 'error validating token: error verifying token signature: no known key successfully validated the token signature');
    // An ES256 token signed by a key the provider never published is refused...
    const ecKey = await idp.newKey('ES256');
    refused(await login(await idp.sign(good, { key: ecKey })), 'error validating token: error verifying token signature: no known key successfully validated the token signature');
    // ...and a token signed by a key the provider never published fails even with the provider's kid.
    const stranger = await idp.newKey('RS256');
    refused(await login(await idp.sign(good, { key: stranger, header: { kid: idp.current.kid } })), 'error validating token: error verifying token signature: no known key successfully validated the token signature');
    refused(await login('garbage'), 'error validating token: token is not a well-formed JWT');
  });
});

describe('other key sources', () => {
  test('jwt_supported_algs unset: ES256, PS256 and EdDSA keys from a JWKS and from jwt_validation_pubkeys', async () => {
    try {
      for (const alg of ['ES256', 'PS256', 'EdDSA', 'ES384', 'RS512']) {
        await idp.rotate(alg);
        const res = await login(await idp.sign(good));
        assert.equal(res.status, 200, `${alg} from the JWKS: ${res.text}`);
      }
    } finally {
      await idp.rotate();
    }
    const keys = await Promise.all(['ES256', 'PS256', 'EdDSA'].map((alg) => idp.newKey(alg)));
    await cli.root.post('sys/auth/jwt-all', { type: 'jwt' });
    const cfg = await cli.root.post('auth/jwt-all/config', { jwt_validation_pubkeys: await Promise.all(keys.map((k) => exportSPKI(k.publicKey))) });
    assert.equal(cfg.status, 204, cfg.text);
    assert.deepEqual((await cli.root.get('auth/jwt-all/config')).body.data.jwt_supported_algs, []);
    await cli.root.post('auth/jwt-all/role/r', { bound_audiences: 'coffer', token_policies: 'p' });
    for (const key of keys) {
      const res = await login(await idp.sign(good, { key }), 'r', 'jwt-all');
      assert.equal(res.status, 200, `${key.alg} from a PEM key: ${res.text}`);
    }
  });

  test('an explicit jwt_supported_algs still restricts (PEM keys and JWKS)', async () => {
    const ecKey = await idp.newKey('ES256');
    await cli.root.post('sys/auth/jwt-pem', { type: 'jwt' });
    const cfg = await cli.root.post('auth/jwt-pem/config', { jwt_validation_pubkeys: [await exportSPKI(ecKey.publicKey)], jwt_supported_algs: 'ES256' });
    assert.equal(cfg.status, 204, cfg.text);
    await cli.root.post('auth/jwt-pem/role/r', { bound_audiences: 'coffer', token_policies: 'p' });
    assert.equal((await login(await idp.sign(good, { key: ecKey }), 'r', 'jwt-pem')).status, 200);
    refused(await login(await idp.sign(good), 'r', 'jwt-pem'), 'error validating token: token signed with an unsupported algorithm "RS256"');
    await cli.root.post('sys/auth/jwt-rs', { type: 'jwt' });
    await cli.root.post('auth/jwt-rs/config', { jwks_url: idp.jwksUrl, jwks_ca_pem: idp.caPem, jwt_supported_algs: ['RS256'] });
    await cli.root.post('auth/jwt-rs/role/r', { bound_audiences: 'coffer' });
    try {
      await idp.rotate('ES256');
      refused(await login(await idp.sign(good), 'r', 'jwt-rs'), 'error validating token: token signed with an unsupported algorithm "ES256"');
    } finally {
      await idp.rotate();
    }
    assert.equal((await login(await idp.sign(good), 'r', 'jwt-rs')).status, 200);
  });

  test('an `oidc` mount with oidc_discovery_url + oidc_discovery_ca_pem; default_role', async () => {
    await cli.root.post('sys/auth/oidc', { type: 'oidc' });
    const cfg = await cli.root.post('auth/oidc/config', { oidc_discovery_url: idp.issuer, oidc_discovery_ca_pem: idp.caPem, bound_issuer: idp.issuer, default_role: 'dflt' });
    assert.equal(cfg.status, 204, cfg.text);
    await cli.root.post('auth/oidc/role/dflt', { bound_audiences: 'coffer', token_policies: 'from-oidc' });
    const res = await anon().post('auth/oidc/login', { jwt: await idp.sign(good) });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.auth.policies, ['default', 'from-oidc']);
    assert.equal(res.body.mount_type, 'oidc');
    // Without bound_issuer the discovered issuer is still required.
    await cli.root.post('sys/auth/oidc2', { type: 'oidc' });
    await cli.root.post('auth/oidc2/config', { oidc_discovery_url: idp.issuer, oidc_discovery_ca_pem: idp.caPem });
    await cli.root.post('auth/oidc2/role/r', { bound_audiences: 'coffer' });
    assert.equal((await login(await idp.sign(good), 'r', 'oidc2')).status, 200);
    refused(await login(await idp.sign({ ...good, iss: 'https://elsewhere.example.com' }), 'r', 'oidc2'), 'error validating token: invalid issuer (iss) claim');
    // A discovery document fetched from a URL that is not its issuer is refused, as go-oidc does.
    const wrong = await cli.root.post('auth/oidc/config', { oidc_discovery_url: `${idp.issuer}/other`, oidc_discovery_ca_pem: idp.caPem });
    assert.equal(wrong.status, 400, wrong.text);
  });
});

describe('examples/gitlab-ci', () => {
  const dir = path.join(REPO_ROOT, 'examples/gitlab-ci');
  const gitlab = (over: Record<string, unknown> = {}) =>
    idp.sign({
      sub: 'project_path:mygroup/myproject:ref_type:branch:ref:main',
      aud: 'https://coffer.example.com',
      namespace_path: 'mygroup',
      project_path: 'mygroup/myproject',
      user_login: 'alice',
      pipeline_id: '1201',
      pipeline_source: 'push',
      job_id: '90210',
      ref: 'main',
      ref_type: 'branch',
      ref_protected: 'true',
      ...over,
    });

  test('the shipped policy and role: this project on main or release/* reads its secrets, nothing else gets in', async () => {
    await cli.ok(['auth', 'enable', '-path=gitlab', 'jwt']);
    await cli.ok(['write', 'auth/gitlab/config', `jwks_url=${idp.jwksUrl}`, `jwks_ca_pem=${idp.caPem}`, `bound_issuer=${idp.issuer}`]);
    await cli.ok(['policy', 'write', 'myproject-ci-read', path.join(dir, 'policy.hcl')]);
    await cli.ok(['write', 'auth/gitlab/role/myproject-ci', '-'], { input: readFileSync(path.join(dir, 'role.json'), 'utf8') });
    await cli.root.post('secret/data/ci/mygroup/myproject/deploy', { data: { api_key: 'k-123' } });
    await cli.root.post('secret/data/ci/mygroup/otherproject/deploy', { data: { api_key: 'other' } });

    // The job's script line, as in .gitlab-ci.yml: the ID token on stdin, the coffer token on stdout.
    const jobLogin = (idToken: string) => cli.coffer(['login', '-method=jwt', '-path=gitlab', '-token-only', 'role=myproject-ci', 'jwt=-'], { input: idToken, env: { VAULT_TOKEN: '' } });
    const r = await jobLogin(await gitlab());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cfs\.[\w-]+$/);
    const token = client(cli.srv.addr, r.stdout);
    assert.equal((await token.get('secret/data/ci/mygroup/myproject/deploy')).body.data.data.api_key, 'k-123');
    assert.equal((await token.get('secret/data/ci/mygroup/otherproject/deploy')).status, 403);
    const self = (await token.get('auth/token/lookup-self')).body.data;
    assert.deepEqual(self.meta, { role: 'myproject-ci', project_path: 'mygroup/myproject', ref: 'main', pipeline_id: '1201', job_id: '90210' });
    assert.equal(self.creation_ttl, 900);

    assert.equal((await jobLogin(await gitlab({ ref: 'release/2.1' }))).code, 0);
    for (const [over, claim] of [
      [{ project_path: 'mygroup/otherproject' }, 'project_path'],
      [{ ref: 'feature/login' }, 'ref'],
      [{ ref_type: 'tag' }, 'ref_type'],
      [{ ref_protected: 'false' }, 'ref_protected'],
    ] as const) {
      const bad = await jobLogin(await gitlab(over));
      assert.equal(bad.code, 2, JSON.stringify(over));
      assert.equal(bad.stdout, '');
      assert.ok(bad.stderr.includes(`error validating claims: claim "${claim}" does not match any associated bound claim values`), bad.stderr);
    }
    const wrongAudience = await jobLogin(await gitlab({ aud: 'https://vault.example.com' }));
    assert.equal(wrongAudience.code, 2);
  });
});
