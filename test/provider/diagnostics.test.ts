/**
 * Issue 22, the Terraform provider: diagnostics that name the real cause. Real `terraform` (1.11, on PATH) runs
 * the provider through `dev_overrides` against a live `coffer server -dev` process and PostgreSQL, and against
 * servers that misbehave on purpose: one that accepts connections and never answers, one that is not coffer,
 * and a proxy in front of coffer that goes away (or revokes the token) in the middle of a plan.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT, type ServerProcess } from '../helpers/process.js';
import type { client } from '../helpers/server.js';
import { assertNoCrash, providerFixture, runTerraform, type Run } from '../helpers/terraform.js';

let server: ServerProcess;
let api: ReturnType<typeof client>;
let work: string;
let close: () => Promise<void>;
let root: import('pg').Client;

const HEADER = `terraform {\n  required_providers {\n    coffer = { source = "terraform.local/coffer/coffer" }\n  }\n}\n`;

function project(name: string, body: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'main.tf'), `${HEADER}\n${body}\n`);
  return dir;
}

function terraform(dir: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return runTerraform(dir, args, { TF_CLI_CONFIG_FILE: path.join(work, 'cli.tfrc'), HOME: work, COFFER_ADDR: server.addr, ...env });
}

/** A token with exactly these policies (besides default), created by root. */
async function tokenWith(name: string, policy: string): Promise<string> {
  assert.equal((await api.put(`sys/policies/acl/${name}`, { policy })).status, 204);
  const res = await api.post('auth/token/create', { policies: [name], ttl: '1h' });
  assert.equal(res.status, 200, res.text);
  return res.body.auth.client_token;
}

/** Terraform wraps a diagnostic's detail: compare with every run of whitespace as one space. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, 'g')) ?? []).length;

/** `n` KV data sources reading secret/many/0 … secret/many/n-1. */
const manyReads = (n: number) =>
  Array.from({ length: n }, (_, i) => `data "coffer_kv_secret_v2" "s${i}" {\n  mount = "secret"\n  name  = "many/${i}"\n}\n`).join('');

/**
 * An HTTP proxy in front of coffer that forwards every request until the `after`-th read of `secret/data/many/`,
 * then runs `trigger` before handling that read and every later request.
 */
async function interruptingProxy(after: number, trigger: (proxy: http.Server) => Promise<void>): Promise<{ addr: string; close(): Promise<void> }> {
  const target = new URL(server.addr);
  let reads = 0;
  let triggered: Promise<void> | null = null;
  const proxy = http.createServer((req, res) => {
    if (req.url?.startsWith('/v1/secret/data/many/') && ++reads >= after) triggered ??= trigger(proxy);
    void (async () => {
      await triggered;
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as net.AddressInfo;
  return {
    addr: `http://127.0.0.1:${port}`,
    close: async () => {
      proxy.closeAllConnections();
      if (proxy.listening) await new Promise((resolve) => proxy.close(resolve));
    },
  };
}

/** Stops a proxy as a server going away does: no new connections, and the open ones cut. */
async function goAway(proxy: http.Server): Promise<void> {
  proxy.close();
  proxy.closeAllConnections();
}

before(async () => {
  const fixture = await providerFixture('tfdiag', 'diag', { k: 'v' });
  ({ work, server, api, root } = fixture);
  close = fixture.close;
  writeFileSync(
    path.join(work, 'cli.tfrc'),
    `provider_installation {\n  dev_overrides {\n    "terraform.local/coffer/coffer" = "${path.join(REPO_ROOT, 'provider/bin')}"\n  }\n  direct {}\n}\n`,
  );
  for (let i = 0; i < 50; i++) assert.equal((await api.post(`secret/data/many/${i}`, { data: { i: String(i) } })).status, 200);
});

after(() => close?.());

describe('provider diagnostics name the real cause', { timeout: 600_000 }, () => {
  it('a token revoked mid-plan is reported as revoked or expired (once), not as a missing grant', async () => {
    const token = await tokenWith('tfdiag-reader', 'path "secret/data/many/*" {\n  capabilities = ["read"]\n}\npath "auth/token/create" {\n  capabilities = ["update"]\n}\n');
    const proxy = await interruptingProxy(5, async () => {
      assert.equal((await api.post('auth/token/revoke', { token })).status, 204);
    });
    try {
      const run = await terraform(project('revoked', `provider "coffer" {}\n${manyReads(50)}`), ['plan', '-input=false'], { COFFER_ADDR: proxy.addr, COFFER_TOKEN: token });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assertNoCrash(run);
      assert.equal(count(run.stderr, /Error: the provider's token was revoked or has expired \(reading secret\/data\/many\/\d+ was refused\)/), 1, run.stderr);
      assert.match(flat(run.stderr), /no longer accepts the token for its own lookup \(auth\/token\/lookup-self\), so no policy is at fault/);
      const errors = count(run.stderr, /Error: /);
      assert.ok(errors >= 2, `several reads failed (${errors})`);
      assert.equal(count(run.stderr, /Error: reading secret\/data\/many\/\d+ was refused: the provider's token was revoked or has expired \(explained in full once in this run\)/), errors - 1);
      assert.doesNotMatch(run.stderr, /do not grant|Grant "/);
      assert.ok(!run.stderr.includes(token), 'the token is not shown');
    } finally {
      await proxy.close();
    }
  });

  it('when the server goes away mid-plan, 50 data sources give one full diagnostic and brief marks', async () => {
    const token = await tokenWith('tfdiag-reader2', 'path "secret/data/many/*" {\n  capabilities = ["read"]\n}\npath "auth/token/create" {\n  capabilities = ["update"]\n}\n');
    const proxy = await interruptingProxy(5, goAway);
    try {
      const run = await terraform(project('gone', `provider "coffer" {}\n${manyReads(50)}`), ['plan', '-input=false'], { COFFER_ADDR: proxy.addr, COFFER_TOKEN: token });
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assertNoCrash(run);
      const full = new RegExp(`Error: cannot reach the coffer server at ${proxy.addr.replace(/[.]/g, '\\.')}\\n`);
      assert.equal(count(run.stderr, full), 1, run.stderr);
      const errors = count(run.stderr, /Error: /);
      assert.ok(errors >= 40, `most reads failed (${errors})`);
      const brief = /Error: reading secret\/data\/many\/\d+ failed: the coffer server at \S+ cannot be reached \(explained in full once in this run\)/;
      assert.equal(count(run.stderr, brief), errors - 1, run.stderr.slice(0, 3000));
      assert.equal(count(run.stderr, /check the provider's address/), 1, 'the explanation is given once');
    } finally {
      await proxy.close();
    }
  });

  it('closing ephemeral credentials without permission to revoke them is a warning naming the real permission; the run revokes them', async () => {
    const token = await tokenWith('tfdiag-creds', 'path "database/creds/diag" {\n  capabilities = ["read"]\n}\npath "auth/token/create" {\n  capabilities = ["update"]\n}\n');
    const dir = project('norevoke', `provider "coffer" {}\nephemeral "coffer_database_credentials" "db" {\n  mount = "database"\n  role  = "diag"\n}\n`);
    const run = await terraform(dir, ['plan', '-input=false'], { COFFER_TOKEN: token });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assertNoCrash(run);
    const all = flat(run.stdout + run.stderr);
    assert.match(all, /Warning: lease database\/creds\/diag\/\S+ was not revoked at close: permission denied/);
    assert.match(all, /do not grant "update" on "sys\/leases\/revoke"/);
    assert.match(all, /revoked anyway when the provider's child token is revoked at the end of the run/);
    assert.doesNotMatch(all, /Grant "revoke"|"revoke" on/);
    // The child token's revocation at shutdown took the lease, and the database user, with it.
    const leases = await api.list('sys/leases/lookup/database/creds/diag');
    assert.deepEqual(leases.body?.data?.keys ?? [], [], 'no lease left');
    const users = await root.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%diag%'");
    assert.deepEqual(users.rows, [], 'the database user was dropped');
  });

  it('a server that accepts connections and never answers: the start-up check times out quickly, naming the address', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const addr = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const kv = `data "coffer_kv_secret_v2" "s" {\n  mount = "secret"\n  name  = "many/1"\n}\n`;
      const byAttribute = await terraform(project('silent', `provider "coffer" {\n  address                 = "${addr}"\n  startup_timeout_seconds = 1\n}\n${kv}`), ['plan', '-input=false'], { COFFER_TOKEN: 'cfs.x' });
      assert.equal(byAttribute.code, 1);
      assert.match(byAttribute.stderr, new RegExp(`the coffer server at ${addr.replace(/[.]/g, '\\.')} did not answer within 1 s`));
      assert.match(flat(byAttribute.stderr), /raise startup_timeout_seconds in the provider block \(or COFFER_STARTUP_TIMEOUT\)/);
      assertNoCrash(byAttribute);
      const byEnv = await terraform(project('silent-env', `provider "coffer" {}\n${kv}`), ['plan', '-input=false'], { COFFER_ADDR: addr, COFFER_TOKEN: 'cfs.x', COFFER_STARTUP_TIMEOUT: '2s' });
      assert.equal(byEnv.code, 1);
      assert.match(byEnv.stderr, /did not answer within 2 s/);
      const badEnv = await terraform(project('silent-bad', `provider "coffer" {}\n${kv}`), ['plan', '-input=false'], { COFFER_ADDR: addr, COFFER_TOKEN: 'cfs.x', COFFER_STARTUP_TIMEOUT: 'soon' });
      assert.match(badEnv.stderr, /invalid COFFER_STARTUP_TIMEOUT/);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('address mistakes get precise hints: /v1 at the end, no scheme, a server that is not coffer or Vault', async () => {
    const other = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>not here</html>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherAddr = `http://127.0.0.1:${(other.address() as net.AddressInfo).port}`;
    const bare = server.addr.replace(/^http:\/\//, '');
    const kv = `data "coffer_kv_secret_v2" "s" {\n  mount = "secret"\n  name  = "many/1"\n}\n`;
    const cases: { name: string; provider: string; env?: Record<string, string | undefined>; expect: RegExp[] }[] = [
      { name: 'v1', provider: `address = "${server.addr}/v1"`, expect: [/ends in \/v1: drop the \/v1/, /adds \/v1\/ to every request/, /on main\.tf line \d+, in provider "coffer"/] },
      { name: 'v1-env', provider: '', env: { COFFER_ADDR: `${server.addr}/v1/` }, expect: [/invalid COFFER_ADDR/, /ends in \/v1: drop the \/v1/, /It comes from COFFER_ADDR in the environment/] },
      { name: 'no-scheme', provider: `address = "${bare}"`, expect: [new RegExp(`"${bare.replace(/[.]/g, '\\.')}" has no scheme`), new RegExp(`https://${bare.replace(/[.]/g, '\\.')}`)] },
      { name: 'no-scheme-env', provider: '', env: { VAULT_ADDR: bare, COFFER_ADDR: undefined }, expect: [/invalid VAULT_ADDR/, /has no scheme/] },
      { name: 'not-coffer', provider: `address = "${otherAddr}"`, expect: [new RegExp(`the server at ${otherAddr.replace(/[.]/g, '\\.')} is not coffer or Vault`), /answered 404 \(text\/html\)/] },
    ];
    try {
      for (const c of cases) {
        const run = await terraform(project(`addr-${c.name}`, `provider "coffer" {\n  ${c.provider}\n}\n${kv}`), ['plan', '-input=false'], { COFFER_TOKEN: 'cfs.x', ...(c.env ?? {}) });
        assert.equal(run.code, 1, `${c.name}: ${run.stdout}`);
        for (const e of c.expect) assert.match(flat(run.stderr), e, `${c.name}: ${run.stderr}`);
        assertNoCrash(run);
      }
    } finally {
      other.close();
    }
  });
});

describe('the permissions the README lists', { timeout: 600_000 }, () => {
  // The README's table, for one of each kind: data sources, ephemeral resources with a lease and a token, and
  // managed resources, with the UPPER-CASE parts filled in. No more: a grant missing here fails the run.
  const POLICY = `
path "auth/token/create" { capabilities = ["update"] }
path "secret/data/perm/app" { capabilities = ["read"] }
path "secret/metadata/perm" { capabilities = ["list"] }
path "database/creds/diag" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "secret/data/perm-managed" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/perm-managed" { capabilities = ["read", "update", "delete"] }
path "sys/policies/acl/tfdiag-made" { capabilities = ["create", "read", "update", "delete"] }
`;
  const CONFIG = `provider "coffer" {}

data "coffer_kv_secret_v2" "app" {
  mount = "secret"
  name  = "perm/app"
}

data "coffer_kv_secrets_list_v2" "all" {
  mount = "secret"
  name  = "perm"
}

data "coffer_policy_document" "reader" {
  rule {
    path         = "secret/data/perm/*"
    capabilities = ["read"]
  }
}

ephemeral "coffer_database_credentials" "db" {
  mount = "database"
  role  = "diag"
}

ephemeral "coffer_token" "t" {
  policies = ["default"]
  ttl      = "10m"
}

resource "coffer_kv_secret_v2" "managed" {
  mount               = "secret"
  name                = "perm-managed"
  data_json           = jsonencode({ from = data.coffer_kv_secret_v2.app.data["k"], names = length(data.coffer_kv_secrets_list_v2.all.names) })
  delete_all_versions = true
  custom_metadata {
    max_versions = 3
  }
}

resource "coffer_policy" "made" {
  name   = "tfdiag-made"
  policy = data.coffer_policy_document.reader.hcl
}

resource "terraform_data" "use" {
  input = "used"
  provisioner "local-exec" {
    command     = "true"
    environment = {
      U = ephemeral.coffer_database_credentials.db.username
      T = ephemeral.coffer_token.t.client_token
    }
  }
}
`;

  it('a token holding exactly those permissions plans, applies and destroys a representative configuration without a warning', async () => {
    assert.equal((await api.post('secret/data/perm/app', { data: { k: 'v' } })).status, 200);
    const token = await tokenWith('tfdiag-perm', POLICY);
    const dir = project('permissions', CONFIG);
    const env = { COFFER_TOKEN: token };
    for (const args of [['apply', '-auto-approve', '-input=false'], ['plan', '-input=false', '-detailed-exitcode'], ['destroy', '-auto-approve', '-input=false']]) {
      const run = await terraform(dir, args, env);
      assert.equal(run.code, 0, `${args[0]}: ${run.stdout}${run.stderr}`);
      assert.doesNotMatch(run.stdout + run.stderr, /Warning: (?!Provider development overrides)/, `${args[0]}: no warning but dev_overrides'`);
      assertNoCrash(run);
    }
    assert.equal((await api.get('secret/metadata/perm-managed')).status, 404, 'destroyed with all versions');
    assert.equal((await api.get('sys/policies/acl/tfdiag-made')).status, 404, 'policy destroyed');
    const leases = await api.list('sys/leases/lookup/database/creds/diag');
    assert.deepEqual(leases.body?.data?.keys ?? [], [], 'credentials revoked at close');
  });
});
