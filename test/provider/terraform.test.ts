/**
 * Real `terraform` (1.11, on PATH) running the provider through `dev_overrides` (the examples/terraform test:
 * installed into a filesystem mirror by provider/install.ts, with `terraform init`) against a live `coffer server
 * -dev` process and the machine's PostgreSQL (127.0.0.1:5432, in a database of its own).
 *
 * The full run: a KV v2 data source, ephemeral database credentials used by a `local-exec` provisioner to log
 * into PostgreSQL, plan saved to a file and applied. Every credential the server issued is taken from a raw
 * audit log, so the checks cover the plan-time credentials too: no password in the state or in the saved
 * plan, and every issued user dropped again (the ephemeral resource's Close revoked its lease).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { REPO_ROOT, type ServerProcess } from '../helpers/process.js';
import { client } from '../helpers/server.js';
import { assertInstalledFromMirror, assertNoCrash, installProvider, issuedCredentials, providerFixture, runTerraform, type Run } from '../helpers/terraform.js';

const KV_VALUE = `kv-${randomBytes(9).toString('base64url')}`;

let TOKEN: string;
/** The scratch PostgreSQL database. */
let DB: string;
let server: ServerProcess;
let close: () => Promise<void>;
let work: string;
let auditFile: string;
let root: pg.Client;
let api: ReturnType<typeof client>;

/** Runs terraform in `dir` with the dev_overrides CLI config and the server in COFFER_*. */
function terraform(dir: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return runTerraform(dir, args, {
    TF_CLI_CONFIG_FILE: path.join(work, 'cli.tfrc'),
    HOME: work,
    COFFER_ADDR: server.addr,
    COFFER_TOKEN: TOKEN,
    ...env,
  });
}

const HEADER = `
terraform {
  required_providers {
    coffer = { source = "terraform.local/coffer/coffer" }
  }
}
`;

function project(name: string, body: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'main.tf'), `${HEADER}\n${body}\n`);
  return dir;
}

before(async () => {
  const fixture = await providerFixture('tf', 'app', { api_key: KV_VALUE, replicas: 3 });
  ({ work, server, api, root, auditFile, token: TOKEN, database: DB } = fixture);
  close = fixture.close;
  writeFileSync(
    path.join(work, 'cli.tfrc'),
    `provider_installation {\n  dev_overrides {\n    "terraform.local/coffer/coffer" = "${path.join(REPO_ROOT, 'provider/bin')}"\n  }\n  direct {}\n}\n`,
  );
});

after(() => close?.());

describe('terraform with the coffer provider', { timeout: 600_000 }, () => {
  it('plans and applies: KV data source, ephemeral database credentials used and revoked, no password in state or plan', async () => {
    const marker = path.join(work, 'login.txt');
    const dir = project(
      'full',
      `
provider "coffer" {
  max_lease_ttl_seconds = 600
}

data "coffer_kv_secret_v2" "app" {
  mount = "secret"
  name  = "app"
}

ephemeral "coffer_database_credentials" "db" {
  mount = "database"
  role  = "app"
}

locals {
  pg_env = {
    PGUSER     = ephemeral.coffer_database_credentials.db.username
    PGPASSWORD = ephemeral.coffer_database_credentials.db.password
  }
}

resource "terraform_data" "migrate" {
  input = data.coffer_kv_secret_v2.app.data["replicas"]

  provisioner "local-exec" {
    command     = "psql -h 127.0.0.1 -d ${DB} -tAc 'select current_user' > ${marker}"
    environment = local.pg_env
  }
}

output "replicas" {
  value     = data.coffer_kv_secret_v2.app.data["replicas"]
  sensitive = true
}
`,
    );
    const plan = await terraform(dir, ['plan', '-out=tfplan', '-input=false']);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    assert.match(plan.stdout, /ephemeral\.coffer_database_credentials\.db: Opening\.\.\./);
    assert.match(plan.stdout, /ephemeral\.coffer_database_credentials\.db: Closing\.\.\./);
    const apply = await terraform(dir, ['apply', '-input=false', 'tfplan']);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);

    const creds = issuedCredentials(auditFile, 'database/creds/app');
    assert.ok(creds.length >= 2, `credentials issued at plan and at apply (got ${creds.length})`);
    // The provisioner logged into PostgreSQL as the apply-time user.
    const loggedInAs = readFileSync(marker, 'utf8').trim();
    assert.ok(creds.some((c) => c.username === loggedInAs), `logged in as an issued user (${loggedInAs})`);

    const state = readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8');
    assert.ok(state.includes(KV_VALUE), 'data source results are in the state (as Terraform documents)');
    const planFiles = execFileSync('unzip', ['-p', path.join(dir, 'tfplan')]).toString('latin1');
    const planJson = (await terraform(dir, ['show', '-json', 'tfplan'])).stdout;
    for (const { username, password } of creds) {
      for (const [name, text] of [['terraform.tfstate', state], ['saved plan', planFiles], ['plan JSON', planJson], ['terraform output', plan.stdout + apply.stdout]]) {
        assert.ok(!text.includes(password), `a database password is in the ${name}`);
      }
      const role = await root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
      assert.equal(role.rowCount, 0, `${username} was dropped when the ephemeral resource closed`);
    }
    const leases = await api.list('sys/leases/lookup/database/creds/app');
    assert.deepEqual(leases.body?.data?.keys ?? [], [], 'no lease left');
  });

  it('reports bad input as diagnostics naming the problem, with a non-zero exit and no stack trace', async () => {
    const kv = (name: string) => `data "coffer_kv_secret_v2" "s" {\n  mount = "secret"\n  name  = "${name}"\n}\n`;
    const cases: { name: string; body: string; env?: Record<string, string | undefined>; expect: RegExp }[] = [
      { name: 'no-address', body: `provider "coffer" {}\n${kv('app')}`, env: { COFFER_ADDR: undefined }, expect: /no coffer server address/ },
      { name: 'no-token', body: `provider "coffer" {}\n${kv('app')}`, env: { COFFER_TOKEN: undefined }, expect: /no coffer token/ },
      { name: 'wrong-token', body: `provider "coffer" {\n  token = "cfs.wrong"\n}\n${kv('app')}`, expect: /token was not accepted by the coffer server at http:\/\/127\.0\.0\.1:\d+/ },
      { name: 'unreachable', body: `provider "coffer" {\n  address = "http://127.0.0.1:9"\n}\n${kv('app')}`, expect: /cannot reach the coffer server at http:\/\/127\.0\.0\.1:9/ },
      { name: 'missing-secret', body: `provider "coffer" {}\n${kv('does/not/exist')}`, expect: /no secret found at secret\/data\/does\/not\/exist/ },
      { name: 'bad-value', body: `provider "coffer" {\n  max_lease_ttl_seconds = -3\n}\n${kv('app')}`, expect: /Invalid value for max_lease_ttl_seconds[\s\S]*must be positive/ },
      {
        name: 'bad-capability',
        body: `provider "coffer" {}\ndata "coffer_policy_document" "p" {\n  rule {\n    path         = "secret/*"\n    capabilities = ["raed"]\n  }\n}\n`,
        expect: /Invalid value for rule\.0\.capabilities\.0/,
      },
    ];
    for (const c of cases) {
      const run = await terraform(project(c.name, c.body), ['plan', '-input=false'], c.env);
      assert.notEqual(run.code, 0, `${c.name}: exit code`);
      assert.match(run.stderr, c.expect, `${c.name}: ${run.stderr}`);
      assertNoCrash(run);
      assert.ok(!run.stderr.includes(TOKEN) && !run.stdout.includes(TOKEN), `${c.name}: the token is not shown`);
    }
  });

  it('issues an ephemeral PKI certificate: used by a provisioner, key kept out of state and plan, revoked at close unless revoke = false', async () => {
    const ok = (res: { status: number; text: string }, what: string) => assert.ok(res.status < 300, `${what}: ${res.status} ${res.text}`);
    ok(await api.post('sys/mounts/tfpki', { type: 'pki', config: { max_lease_ttl: '87600h' } }), 'mount');
    ok(await api.post('tfpki/root/generate/internal', { common_name: 'tf root', ttl: '8760h', key_type: 'ec', key_bits: 256 }), 'root');
    ok(await api.post('tfpki/roles/web', { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '1h', key_type: 'ec', key_bits: 256 }), 'role');
    const out = (name: string) => path.join(work, `pki-${name}`);
    const cert = (name: string, extra = '') =>
      `ephemeral "coffer_pki_certificate" "${name}" {\n  backend     = "tfpki"\n  name        = "web"\n  common_name = "${name}.example.com"\n  alt_names   = ["api.${name}.example.com"]\n  ttl         = "10m"\n${extra}}\n`;
    const dir = project(
      'pki',
      `provider "coffer" {}
${cert('app')}${cert('kept', '  revoke      = false\n')}
resource "terraform_data" "tls" {
  input = "configured"

  provisioner "local-exec" {
    command = "printf '%s' \\"$CERT\\" > ${out('cert.pem')}; printf '%s' \\"$KEY\\" > ${out('key.pem')}; printf '%s' \\"$KEPT\\" > ${out('kept-serial')}"
    environment = {
      CERT = ephemeral.coffer_pki_certificate.app.certificate
      KEY  = ephemeral.coffer_pki_certificate.app.private_key
      KEPT = ephemeral.coffer_pki_certificate.kept.serial_number
    }
  }
}
`,
    );
    const plan = await terraform(dir, ['plan', '-out=tfplan', '-input=false']);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    const apply = await terraform(dir, ['apply', '-input=false', 'tfplan']);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);
    assert.match(apply.stdout, /ephemeral\.coffer_pki_certificate\.app: Closing\.\.\./);

    // The provisioner got a certificate for the requested names and the key that belongs to it.
    const text = execFileSync('openssl', ['x509', '-noout', '-subject', '-ext', 'subjectAltName', '-serial', '-in', out('cert.pem')]).toString();
    assert.match(text, /CN ?= ?app\.example\.com/);
    assert.match(text, /DNS:api\.app\.example\.com/);
    const certKey = execFileSync('openssl', ['x509', '-noout', '-pubkey', '-in', out('cert.pem')]).toString();
    const keyPub = execFileSync('openssl', ['pkey', '-pubout', '-in', out('key.pem')]).toString();
    assert.equal(keyPub, certKey, 'the private key matches the certificate');

    const serialHex = /serial=([0-9A-F]+)/.exec(text)![1].toLowerCase();
    const colon = (hex: string) => hex.padStart(hex.length + (hex.length % 2), '0').match(/../g)!.join(':');
    const revocationTime = async (serial: string) => (await api.get(`tfpki/cert/${serial}`)).body.data.revocation_time as number;
    assert.ok((await revocationTime(colon(serialHex))) > 0, 'the apply-time certificate was revoked at close');
    const kept = readFileSync(out('kept-serial'), 'utf8').trim();
    assert.match(kept, /^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    assert.equal(await revocationTime(kept), 0, 'revoke = false keeps the certificate valid');

    const key = readFileSync(out('key.pem'), 'utf8').split('\n').slice(1, -2).join('');
    assert.ok(key.length > 40);
    const state = readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8');
    const planFiles = execFileSync('unzip', ['-p', path.join(dir, 'tfplan')]).toString('latin1');
    for (const [name, t] of [['terraform.tfstate', state], ['saved plan', planFiles], ['terraform output', plan.stdout + apply.stdout]]) {
      assert.ok(!t.includes(key.slice(0, 40)), `the private key is in the ${name}`);
    }

    const bad = [
      { name: 'pki-role', body: cert('x').replace('"web"', '"nosuch"'), expect: /error creating tfpki\/issue\/nosuch: unknown role: nosuch/ },
      { name: 'pki-name', body: cert('x').replace('x.example.com', 'x.example.org'), expect: /common name x\.example\.org not allowed by this role/ },
      { name: 'pki-format', body: cert('x', '  format      = "p12"\n'), expect: /Invalid value for format[\s\S]*must be pem, der or pem_bundle/ },
    ];
    for (const c of bad) {
      const run = await terraform(project(c.name, `provider "coffer" {}\n${c.body}`), ['plan', '-input=false']);
      assert.notEqual(run.code, 0, `${c.name}: exit code`);
      assert.match(run.stderr, c.expect, `${c.name}: ${run.stderr}`);
      assertNoCrash(run);
    }
  });

  it('manages a mount and a policy: apply, no changes on a second plan, drift, move, import, destroy', async () => {
    const mountBlock = (p: string, description: string) =>
      `resource "coffer_mount" "apps" {\n  path        = "${p}"\n  type        = "kv"\n  options     = { version = "2" }\n  description = "${description}"\n}\n`;
    const rest = `
data "coffer_policy_document" "reader" {
  rule {
    path         = "\${coffer_mount.apps.path}/data/*"
    capabilities = ["read", "list"]
  }
}

resource "coffer_policy" "reader" {
  name   = "tf-apps-reader"
  policy = data.coffer_policy_document.reader.hcl
}

resource "coffer_policy" "existing" {
  name   = "tf-existing"
  policy = "path \\"x/*\\" {\\n  capabilities = [\\"read\\"]\\n}\\n"
}
`;
    const dir = project('managed', `provider "coffer" {}\n${mountBlock('tf-apps', 'first')}${rest}`);
    // An existing policy, brought under management by import.
    assert.equal((await api.put('sys/policies/acl/tf-existing', { policy: 'path "x/*" {\n  capabilities = ["read"]\n}\n' })).status, 204);
    const imported = await terraform(dir, ['import', '-input=false', 'coffer_policy.existing', 'tf-existing']);
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);
    assert.match(imported.stdout, /Import successful/);

    const applied = await terraform(dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(applied.code, 0, applied.stderr + applied.stdout);
    assert.match(applied.stdout, /2 added, 0 changed, 0 destroyed/, 'the imported policy needed no change');
    const mount = await api.get('sys/mounts/tf-apps');
    assert.equal(mount.body.data.type, 'kv');
    assert.deepEqual(mount.body.data.options, { version: '2' });
    assert.match((await api.get('sys/policies/acl/tf-apps-reader')).body.data.policy, /path "tf-apps\/data\/\*"/);

    const again = await terraform(dir, ['plan', '-input=false', '-detailed-exitcode']);
    assert.equal(again.code, 0, `second plan shows no changes:\n${again.stdout}`);

    // Drift: a change made outside Terraform shows in the next plan.
    await api.put('sys/policies/acl/tf-apps-reader', { policy: 'path "elsewhere" { capabilities = ["read"] }' });
    const drift = await terraform(dir, ['plan', '-input=false', '-detailed-exitcode']);
    assert.equal(drift.code, 2, drift.stdout);
    assert.match(drift.stdout, /coffer_policy\.reader will be updated in-place/);

    // A new path moves the mount (its data stays); the policy follows.
    assert.equal((await api.post('tf-apps/data/kept', { data: { k: 'v' } })).status, 200);
    writeFileSync(path.join(dir, 'main.tf'), `${HEADER}\nprovider "coffer" {}\n${mountBlock('tf-apps-moved', 'second')}${rest}`);
    const moved = await terraform(dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(moved.code, 0, moved.stderr + moved.stdout);
    assert.match(moved.stdout, /0 added, 2 changed, 0 destroyed/);
    assert.equal((await api.get('tf-apps-moved/data/kept')).body.data.data.k, 'v');
    assert.equal((await api.get('sys/mounts/tf-apps-moved')).body.data.description, 'second');
    assert.equal((await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'])).code, 0);

    const destroyed = await terraform(dir, ['destroy', '-auto-approve', '-input=false']);
    assert.equal(destroyed.code, 0, destroyed.stderr + destroyed.stdout);
    assert.equal((await api.get('sys/mounts/tf-apps-moved')).status, 400);
    assert.equal((await api.get('sys/policies/acl/tf-apps-reader')).status, 404);
    assert.equal((await api.get('sys/policies/acl/tf-existing')).status, 404);
  });
});

describe('terraform managing KV v2 secrets', { timeout: 600_000 }, () => {
  const WO_FIRST = `wo-${randomBytes(9).toString('base64url')}`;
  const WO_SECOND = `wo-${randomBytes(9).toString('base64url')}`;
  const PLAIN = `plain-${randomBytes(6).toString('hex')}`;
  // The write-only value comes from an ephemeral variable: a literal would be in the saved plan's copy of the
  // configuration, which is Terraform's doing, not the provider's.
  const config = (woVersion: number, plainValue: string) => `
provider "coffer" {}

variable "wo" {
  type      = string
  ephemeral = true
  sensitive = true
}

resource "coffer_kv_secret_v2" "plain" {
  mount     = "secret"
  name      = "tf/plain"
  data_json = jsonencode({ value = "${plainValue}", replicas = 3 })
  custom_metadata {
    max_versions = 5
    data         = { owner = "platform" }
  }
}

resource "coffer_kv_secret_v2" "wo" {
  mount                = "secret"
  name                 = "tf/wo"
  data_json_wo         = jsonencode({ password = var.wo })
  data_json_wo_version = ${woVersion}
  delete_all_versions  = true
}

resource "coffer_kv_secret_v2" "existing" {
  mount     = "secret"
  name      = "tf/existing"
  data_json = jsonencode({ kept = "yes" })
}
`;
  const serverData = async (name: string) => (await api.get(`secret/data/${name}`)).body?.data;

  it('writes data_json and the write-only data_json_wo (never in state or plan), detects drift, imports, destroys', async () => {
    assert.equal((await api.post('secret/data/tf/existing', { data: { kept: 'yes' } })).status, 200);
    const dir = project('kv', config(1, PLAIN));
    const first = { TF_VAR_wo: WO_FIRST };
    const imported = await terraform(dir, ['import', '-input=false', 'coffer_kv_secret_v2.existing', 'secret/data/tf/existing'], first);
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);

    const plan = await terraform(dir, ['plan', '-out=tfplan', '-input=false'], first);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    assert.match(plan.stdout, /2 to add, 0 to change, 0 to destroy/, 'the imported secret matches its configuration');
    const planFiles = execFileSync('unzip', ['-p', path.join(dir, 'tfplan')]).toString('latin1');
    const apply = await terraform(dir, ['apply', '-input=false', 'tfplan'], first);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);

    assert.deepEqual((await serverData('tf/wo')).data, { password: WO_FIRST }, 'the write-only value reached the server');
    assert.deepEqual((await serverData('tf/plain')).data, { value: PLAIN, replicas: 3 });
    const meta = (await api.get('secret/metadata/tf/plain')).body.data;
    assert.equal(meta.max_versions, 5);
    assert.deepEqual(meta.custom_metadata, { owner: 'platform' });
    let state = readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8');
    for (const [name, text] of [['terraform.tfstate', state], ['saved plan', planFiles], ['terraform output', plan.stdout + apply.stdout]]) {
      assert.ok(!text.includes(WO_FIRST), `the write-only value is not in the ${name}`);
    }
    assert.ok(state.includes(PLAIN), 'data_json is kept in state, as documented');
    const woState = JSON.parse(state).resources.find((r: { name: string }) => r.name === 'wo').instances[0].attributes;
    assert.equal(woState.data_json_wo, null);
    assert.equal(woState.data, null);
    assert.equal(woState.metadata.version, '1');

    assert.equal((await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'], first)).code, 0, 'second plan shows no changes');

    // A new write-only value alone changes nothing: Terraform cannot see it. Raising its version writes it.
    const second = { TF_VAR_wo: WO_SECOND };
    assert.equal((await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'], second)).code, 0);
    writeFileSync(path.join(dir, 'main.tf'), `${HEADER}\n${config(2, PLAIN)}`);
    const bumped = await terraform(dir, ['apply', '-auto-approve', '-input=false'], second);
    assert.equal(bumped.code, 0, bumped.stderr + bumped.stdout);
    assert.match(bumped.stdout, /0 added, 1 changed, 0 destroyed/);
    assert.deepEqual((await serverData('tf/wo')).data, { password: WO_SECOND });
    assert.equal((await serverData('tf/wo')).metadata.version, 2);
    state = readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8');
    assert.ok(!state.includes(WO_SECOND) && !bumped.stdout.includes(WO_SECOND), 'the new write-only value is not in state or output');

    // Drift: a write outside Terraform shows in the next plan, and apply puts the configured data back.
    assert.equal((await api.post('secret/data/tf/plain', { data: { value: 'changed elsewhere' } })).status, 200);
    const drift = await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'], second);
    assert.equal(drift.code, 2, drift.stdout);
    assert.match(drift.stdout, /coffer_kv_secret_v2\.plain will be updated in-place/);
    assert.ok(!drift.stdout.includes('changed elsewhere'), 'the sensitive data is not shown');
    const restored = await terraform(dir, ['apply', '-auto-approve', '-input=false'], second);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    assert.deepEqual((await serverData('tf/plain')).data, { value: PLAIN, replicas: 3 });

    // A secret deleted outside Terraform is planned for creation again.
    assert.equal((await api.delete('secret/metadata/tf/existing')).status, 204);
    const gone = await terraform(dir, ['plan', '-input=false'], second);
    assert.match(gone.stdout, /coffer_kv_secret_v2\.existing will be created/);

    const destroyed = await terraform(dir, ['destroy', '-auto-approve', '-input=false'], second);
    assert.equal(destroyed.code, 0, destroyed.stderr + destroyed.stdout);
    assert.equal((await api.get('secret/data/tf/plain')).status, 404, 'the latest version was deleted');
    assert.equal((await api.get('secret/metadata/tf/plain')).status, 200, 'older versions are kept without delete_all_versions');
    assert.equal((await api.get('secret/metadata/tf/wo')).status, 404, 'delete_all_versions removed every version');
  });

  it('reports bad KV secret input as diagnostics without quoting the secret', async () => {
    const secretText = `sec-${randomBytes(6).toString('hex')}`;
    // Secret text arrives through a sensitive variable, as it would in real use: Terraform itself then masks it
    // in its source snippets, so anything that shows it came from the provider.
    const res = (body: string) =>
      `provider "coffer" {}\nvariable "secret" {\n  type      = string\n  sensitive = true\n}\nresource "coffer_kv_secret_v2" "s" {\n  mount = "secret"\n  name  = "tf/bad"\n${body}\n}\n`;
    const cases: { name: string; body: string; secret?: string; expect: RegExp; command?: string[] }[] = [
      { name: 'kv-not-json', body: '  data_json = var.secret', secret: `{${secretText}`, expect: /Invalid value for data_json[\s\S]*must be a JSON object/ },
      { name: 'kv-array', body: '  data_json = var.secret', secret: `["${secretText}"]`, expect: /must be a JSON object/ },
      { name: 'kv-both', body: '  data_json = "{}"\n  data_json_wo = jsonencode({ a = var.secret })\n  data_json_wo_version = 1', expect: /Conflicting data/ },
      { name: 'kv-none', body: '', expect: /Missing data/ },
      { name: 'kv-no-version', body: '  data_json_wo = jsonencode({ a = var.secret })', expect: /Missing data_json_wo_version/ },
      { name: 'kv-bad-argument', body: '  mount_typo = 1', expect: /Unsupported argument/ },
      { name: 'kv-no-mount', body: '  data_json = jsonencode({ a = var.secret })', expect: /error writing nomount\/data\/tf\/bad/, command: ['apply', '-auto-approve'] },
      {
        name: 'kv-cas',
        body: '  data_json = jsonencode({ a = var.secret })\n  cas = 7',
        expect: /error writing secret\/data\/tf\/bad: check-and-set parameter did not match/,
        command: ['apply', '-auto-approve'],
      },
    ];
    for (const c of cases) {
      const body = c.name === 'kv-no-mount' ? res(c.body).replace('"secret"\n  name', '"nomount"\n  name') : res(c.body);
      const run = await terraform(project(c.name, body), [...(c.command ?? ['plan']), '-input=false'], { TF_VAR_secret: c.secret ?? secretText });
      assert.notEqual(run.code, 0, `${c.name}: exit code`);
      assert.match(run.stderr, c.expect, `${c.name}: ${run.stderr}`);
      assertNoCrash(run);
      assert.ok(!run.stderr.includes(secretText) && !run.stdout.includes(secretText), `${c.name}: the secret value is not shown`);
    }
    const badImport = await terraform(project('kv-import', res('  data_json = "{}"')), ['import', '-input=false', 'coffer_kv_secret_v2.s', 'nomount/data/x'], { TF_VAR_secret: secretText });
    assert.notEqual(badImport.code, 0);
    assert.match(badImport.stderr, /cannot import "nomount\/data\/x"[\s\S]*MOUNT\/data\/NAME/);
    assertNoCrash(badImport);
  });
});

describe('terraform managing a database connection and role', { timeout: 600_000 }, () => {
  const ROOT_USER = `tf_root_${randomBytes(3).toString('hex')}`;
  const ROOT_PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;
  const SECOND_PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;
  const MOUNT = 'tfdb2';
  const config = (o: { version: number; roles: string; ttl: number }) => `
provider "coffer" {}

variable "pg_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

resource "coffer_mount" "db" {
  path = "${MOUNT}"
  type = "database"
}

resource "coffer_database_connection" "pg" {
  backend       = coffer_mount.db.path
  name          = "pg"
  allowed_roles = ${o.roles}
  postgresql {
    connection_url      = "postgresql://{{username}}:{{password}}@127.0.0.1:5432/${DB}?sslmode=disable"
    username            = "${ROOT_USER}"
    password_wo         = var.pg_password
    password_wo_version = ${o.version}
  }
}

resource "coffer_database_role" "app" {
  backend               = coffer_mount.db.path
  name                  = "app"
  db_name               = coffer_database_connection.pg.name
  creation_statements   = ["CREATE ROLE \\"{{name}}\\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
  revocation_statements = ["DROP ROLE IF EXISTS \\"{{name}}\\";"]
  default_ttl           = ${o.ttl}
  max_ttl               = 3600
}
`;
  /** The passwords sent in writes of the connection, from the raw audit log (null: a write without one). */
  const sentPasswords = () =>
    readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === 'request' && e.request?.path === `${MOUNT}/config/pg` && e.request?.operation !== 'read' && e.request?.operation !== 'delete')
      .map((e) => e.request.data?.password ?? null);

  before(async () => {
    await root.query(`CREATE ROLE ${ROOT_USER} WITH LOGIN CREATEROLE PASSWORD '${ROOT_PASSWORD}'`);
  });
  after(async () => {
    await root?.query(`DROP ROLE IF EXISTS ${ROOT_USER}`).catch(() => undefined);
  });

  it('configures PostgreSQL with a write-only password, issues credentials through the role, detects drift, imports, destroys', async () => {
    const dir = project('db', config({ version: 1, roles: '["app"]', ttl: 600 }));
    const first = { TF_VAR_pg_password: ROOT_PASSWORD };
    const plan = await terraform(dir, ['plan', '-out=tfplan', '-input=false'], first);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    const planFiles = execFileSync('unzip', ['-p', path.join(dir, 'tfplan')]).toString('latin1');
    const apply = await terraform(dir, ['apply', '-input=false', 'tfplan'], first);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);
    assert.deepEqual(sentPasswords(), [ROOT_PASSWORD], 'the write-only password reached the server once');
    const state = readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8');
    for (const [name, text] of [['terraform.tfstate', state], ['saved plan', planFiles], ['terraform output', plan.stdout + apply.stdout]]) {
      assert.ok(!text.includes(ROOT_PASSWORD), `the root password is not in the ${name}`);
    }

    const conn = (await api.get(`${MOUNT}/config/pg`)).body.data;
    assert.equal(conn.plugin_name, 'postgresql-database-plugin');
    assert.deepEqual(conn.allowed_roles, ['app']);
    assert.equal(conn.connection_details.username, ROOT_USER);
    const role = (await api.get(`${MOUNT}/roles/app`)).body.data;
    assert.equal(role.db_name, 'pg');
    assert.equal(role.default_ttl, 600);
    // The role really issues PostgreSQL users through the connection.
    const creds = await api.get(`${MOUNT}/creds/app`);
    assert.equal(creds.status, 200, creds.text);
    assert.equal((await root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [creds.body.data.username])).rowCount, 1);
    assert.equal((await api.put('sys/leases/revoke', { lease_id: creds.body.lease_id })).status, 204);
    assert.equal((await root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [creds.body.data.username])).rowCount, 0);

    assert.equal((await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'], first)).code, 0, 'second plan shows no changes');

    // Drift on both, made outside Terraform.
    assert.equal((await api.post(`${MOUNT}/roles/app`, { default_ttl: 60 })).status, 204);
    assert.equal((await api.post(`${MOUNT}/config/pg`, { allowed_roles: ['app', 'other'] })).status, 204);
    const drift = await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'], first);
    assert.equal(drift.code, 2, drift.stdout);
    assert.match(drift.stdout, /coffer_database_role\.app will be updated in-place/);
    assert.match(drift.stdout, /coffer_database_connection\.pg will be updated in-place/);

    // An update without a new password_wo_version keeps the server's password; a new version sends the new one.
    const kept = await terraform(dir, ['apply', '-auto-approve', '-input=false'], first);
    assert.equal(kept.code, 0, kept.stderr + kept.stdout);
    assert.equal((await api.get(`${MOUNT}/roles/app`)).body.data.default_ttl, 600);
    assert.deepEqual((await api.get(`${MOUNT}/config/pg`)).body.data.allowed_roles, ['app']);
    assert.deepEqual(sentPasswords().slice(1).filter((p) => p !== null), [], 'no password sent without a version change');
    writeFileSync(path.join(dir, 'main.tf'), `${HEADER}\n${config({ version: 2, roles: '["app"]', ttl: 600 })}`);
    const rotated = await terraform(dir, ['apply', '-auto-approve', '-input=false'], { TF_VAR_pg_password: SECOND_PASSWORD });
    assert.equal(rotated.code, 0, rotated.stderr + rotated.stdout);
    assert.match(rotated.stdout, /0 added, 1 changed, 0 destroyed/);
    assert.equal(sentPasswords().at(-1), SECOND_PASSWORD);
    assert.ok(!readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8').includes(SECOND_PASSWORD));

    // Import: both forgotten by Terraform and taken back.
    const second = { TF_VAR_pg_password: SECOND_PASSWORD };
    for (const [addr, id] of [['coffer_database_role.app', `${MOUNT}/roles/app`], ['coffer_database_connection.pg', `${MOUNT}/config/pg`]]) {
      assert.equal((await terraform(dir, ['state', 'rm', addr], second)).code, 0);
      const imported = await terraform(dir, ['import', '-input=false', addr, id], second);
      assert.equal(imported.code, 0, imported.stderr + imported.stdout);
    }
    const afterImport = await terraform(dir, ['plan', '-input=false'], second);
    assert.equal(afterImport.code, 0, afterImport.stderr);
    assert.match(afterImport.stdout, /coffer_database_connection\.pg will be updated in-place/, 'the imported connection gets its password version');
    assert.match(afterImport.stdout, /0 to add, 1 to change, 0 to destroy/, 'the imported role matches its configuration');

    const destroyed = await terraform(dir, ['destroy', '-auto-approve', '-input=false'], second);
    assert.equal(destroyed.code, 0, destroyed.stderr + destroyed.stdout);
    assert.equal((await api.get(`sys/mounts/${MOUNT}`)).status, 400);
  });

  it('reports bad connection and role input as diagnostics without the password', async () => {
    const conn = (body: string, url = `postgresql://{{username}}:{{password}}@127.0.0.1:5432/${DB}?sslmode=disable`) => `
provider "coffer" {}
variable "pw" {
  type      = string
  sensitive = true
}
resource "coffer_database_connection" "c" {
  backend = "database"
  name    = "tfbad"
  postgresql {
    connection_url = "${url}"
    username       = "nobody_here"
${body}
  }
}
`;
    const role = (body: string) => `provider "coffer" {}\nresource "coffer_database_role" "r" {\n  backend = "database"\n${body}\n}\n`;
    const cases: { name: string; text: string; expect: RegExp; command?: string[] }[] = [
      { name: 'db-both', text: conn('    password = var.pw\n    password_wo = var.pw\n    password_wo_version = 1'), expect: /Conflicting passwords/ },
      { name: 'db-no-version', text: conn('    password_wo = var.pw'), expect: /Missing password_wo_version/ },
      { name: 'db-no-block', text: 'provider "coffer" {}\nresource "coffer_database_connection" "c" {\n  backend = "database"\n  name = "x"\n}\n', expect: /Insufficient postgresql blocks/ },
      {
        name: 'db-unreachable',
        text: conn('    password = var.pw', `postgresql://{{username}}:{{password}}@127.0.0.1:9/${DB}?sslmode=disable`),
        expect: /error creating database\/config\/tfbad: error creating database object/,
        command: ['apply', '-auto-approve'],
      },
      { name: 'role-bad-name', text: role('  name = "a/b"\n  db_name = "tfdb"\n  creation_statements = ["x"]'), expect: /Invalid value for name[\s\S]*must not contain slashes/ },
      { name: 'role-no-statements', text: role('  name = "r"\n  db_name = "tfdb"\n  creation_statements = []'), expect: /Invalid value for creation_statements[\s\S]*at least one statement/ },
      { name: 'role-bad-ttl', text: role('  name = "r"\n  db_name = "tfdb"\n  creation_statements = ["x"]\n  default_ttl = -1'), expect: /Invalid value for default_ttl/ },
      { name: 'role-no-mount', text: role('  name = "r"\n  db_name = "tfdb"\n  creation_statements = ["x"]').replace('"database"', '"nomount"'), expect: /error creating nomount\/roles\/r: no handler for route/, command: ['apply', '-auto-approve'] },
    ];
    const secret = `pw-${randomBytes(6).toString('hex')}`;
    for (const c of cases) {
      const run = await terraform(project(c.name, c.text), [...(c.command ?? ['plan']), '-input=false'], { TF_VAR_pw: secret });
      assert.notEqual(run.code, 0, `${c.name}: exit code`);
      assert.match(run.stderr, c.expect, `${c.name}: ${run.stderr}`);
      assertNoCrash(run);
      assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret), `${c.name}: the password is not shown`);
    }
    assert.equal((await api.get('database/config/tfbad')).status, 404, 'a connection that failed to verify is not stored');
    const badImport = await terraform(project('db-import', role('  name = "r"\n  db_name = "tfdb"\n  creation_statements = ["x"]')), ['import', '-input=false', 'coffer_database_role.r', 'database/r']);
    assert.notEqual(badImport.code, 0);
    assert.match(badImport.stderr, /cannot import "database\/r"[\s\S]*BACKEND\/roles\/NAME/);
    assertNoCrash(badImport);
  });
});

describe('terraform managing auth methods, a kubernetes role and a token', { timeout: 600_000 }, () => {
  const config = (description: string) => `
provider "coffer" {}

resource "coffer_auth_backend" "k8s" {
  type        = "kubernetes"
  path        = "tfk8s"
  description = "${description}"
  tune {
    default_lease_ttl = "1h"
    max_lease_ttl     = "24h"
  }
}

resource "coffer_auth_backend" "approle" {
  type = "approle"
}

resource "coffer_kubernetes_auth_backend_role" "app" {
  backend                          = coffer_auth_backend.k8s.path
  role_name                        = "app"
  bound_service_account_names      = ["worker", "app"]
  bound_service_account_namespaces = ["prod"]
  token_policies                   = ["b-writer", "a-reader"]
  token_ttl                        = 600
  audience                         = "coffer"
}

resource "coffer_token" "ci" {
  policies     = ["a-reader"]
  ttl          = "1h"
  display_name = "ci"
  no_parent    = true
}

output "token" {
  value     = coffer_token.ci.client_token
  sensitive = true
}
`;

  it('applies, shows no changes on a second plan, detects drift, imports, destroys; the token outlives the run', async () => {
    const dir = project('auth', config('first'));
    const apply = await terraform(dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);
    assert.match(apply.stdout, /4 added, 0 changed, 0 destroyed/);

    const k8s = (await api.get('sys/auth/tfk8s')).body.data;
    assert.equal(k8s.type, 'kubernetes');
    assert.equal(k8s.description, 'first');
    assert.equal(k8s.config.default_lease_ttl, 3600);
    assert.equal(k8s.config.max_lease_ttl, 86400);
    assert.equal((await api.get('sys/auth/approle')).body.data.type, 'approle', 'the path defaults to the type');
    const role = (await api.get('auth/tfk8s/role/app')).body.data;
    assert.deepEqual([...role.bound_service_account_names].sort(), ['app', 'worker']);
    assert.deepEqual(role.token_policies, ['a-reader', 'b-writer']);
    assert.equal(role.token_ttl, 600);
    assert.equal(role.audience, 'coffer');

    // The token works after Terraform (and its child token) are gone, and is not printed.
    const token = (await terraform(dir, ['output', '-raw', 'token'])).stdout.trim();
    assert.match(token, /^\S{10,}$/);
    assert.ok(!apply.stdout.includes(token), 'the token is not shown by apply');
    const self = await client(server.addr, token).get('auth/token/lookup-self');
    assert.equal(self.status, 200, self.text);
    assert.deepEqual(self.body.data.policies, ['a-reader', 'default']);
    assert.equal(self.body.data.orphan, true);

    assert.equal((await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'])).code, 0, 'second plan shows no changes');

    // Drift made outside Terraform: description, role settings, and the token revoked.
    assert.equal((await api.post('sys/auth/tfk8s/tune', { description: 'elsewhere' })).status, 204);
    assert.equal((await api.post('auth/tfk8s/role/app', { token_ttl: 60 })).status, 204);
    assert.equal((await client(server.addr, token).post('auth/token/revoke-self', {})).status, 204);
    const drift = await terraform(dir, ['plan', '-input=false', '-detailed-exitcode']);
    assert.equal(drift.code, 2, drift.stdout);
    assert.match(drift.stdout, /coffer_auth_backend\.k8s will be updated in-place/);
    assert.match(drift.stdout, /coffer_kubernetes_auth_backend_role\.app will be updated in-place/);
    assert.match(drift.stdout, /coffer_token\.ci will be created/);
    const fixed = await terraform(dir, ['apply', '-auto-approve', '-input=false']);
    assert.equal(fixed.code, 0, fixed.stderr + fixed.stdout);
    assert.match(fixed.stdout, /1 added, 2 changed, 0 destroyed/);
    assert.equal((await api.get('sys/auth/tfk8s')).body.data.description, 'first');
    assert.equal((await api.get('auth/tfk8s/role/app')).body.data.token_ttl, 600);

    // Import: forgotten by Terraform and taken back with no change (the token by its accessor).
    const accessor = JSON.parse(readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8')).resources.find((r: { type: string }) => r.type === 'coffer_token').instances[0].attributes.accessor;
    for (const [addr, id] of [['coffer_auth_backend.k8s', 'tfk8s'], ['coffer_auth_backend.approle', 'approle'], ['coffer_kubernetes_auth_backend_role.app', 'auth/tfk8s/role/app'], ['coffer_token.ci', accessor]]) {
      assert.equal((await terraform(dir, ['state', 'rm', addr])).code, 0);
      const imported = await terraform(dir, ['import', '-input=false', addr, id]);
      assert.equal(imported.code, 0, `${addr}: ${imported.stderr}${imported.stdout}`);
    }
    const afterImport = await terraform(dir, ['plan', '-input=false', '-detailed-exitcode']);
    assert.equal(afterImport.code, 0, `no changes after import:\n${afterImport.stdout}`);

    const destroyed = await terraform(dir, ['destroy', '-auto-approve', '-input=false']);
    assert.equal(destroyed.code, 0, destroyed.stderr + destroyed.stdout);
    assert.equal((await api.get('sys/auth/tfk8s')).status, 400);
    assert.equal((await api.get('sys/auth/approle')).status, 400);
    assert.equal((await api.post('auth/token/lookup-accessor', { accessor })).status, 400, 'the token was revoked');
  });

  it('reports bad auth, role and token input as diagnostics', async () => {
    const role = (body: string) => `provider "coffer" {}\nresource "coffer_kubernetes_auth_backend_role" "r" {\n  role_name = "r"\n${body}\n}\n`;
    const cases: { name: string; text: string; expect: RegExp; command?: string[] }[] = [
      { name: 'auth-token', text: 'provider "coffer" {}\nresource "coffer_auth_backend" "t" {\n  type = "token"\n}\n', expect: /Invalid value for type[\s\S]*cannot be enabled/ },
      { name: 'auth-bad-ttl', text: 'provider "coffer" {}\nresource "coffer_auth_backend" "t" {\n  type = "approle"\n  path = "tfbadttl"\n  tune {\n    max_lease_ttl = "soon"\n  }\n}\n', expect: /Invalid value for tune\.0\.max_lease_ttl/ },
      { name: 'auth-unknown-type', text: 'provider "coffer" {}\nresource "coffer_auth_backend" "t" {\n  type = "nosuchmethod"\n}\n', expect: /error creating sys\/auth\/nosuchmethod/, command: ['apply', '-auto-approve'] },
      { name: 'role-empty-names', text: role('  bound_service_account_names = []\n  bound_service_account_namespaces = ["a"]'), expect: /Invalid value for bound_service_account_names[\s\S]*at least one/ },
      { name: 'role-no-backend', text: role('  backend = "nomount"\n  bound_service_account_names = ["a"]\n  bound_service_account_namespaces = ["a"]'), expect: /error creating auth\/nomount\/role\/r/, command: ['apply', '-auto-approve'] },
      { name: 'token-child', text: 'provider "coffer" {}\nresource "coffer_token" "t" {\n  policies = ["a"]\n}\n', expect: /the token would be revoked at the end of this run[\s\S]*no_parent = true/, command: ['apply', '-auto-approve'] },
      { name: 'token-bad-ttl', text: 'provider "coffer" {}\nresource "coffer_token" "t" {\n  ttl = "tomorrow"\n  no_parent = true\n}\n', expect: /Invalid value for ttl/ },
    ];
    for (const c of cases) {
      const run = await terraform(project(c.name, c.text), [...(c.command ?? ['plan']), '-input=false']);
      assert.notEqual(run.code, 0, `${c.name}: exit code`);
      assert.match(run.stderr, c.expect, `${c.name}: ${run.stderr}`);
      assertNoCrash(run);
      assert.ok(!run.stderr.includes(TOKEN) && !run.stdout.includes(TOKEN), `${c.name}: the token is not shown`);
    }
    const badImport = await terraform(project('role-import', role('  bound_service_account_names = ["a"]\n  bound_service_account_namespaces = ["a"]')), ['import', '-input=false', 'coffer_kubernetes_auth_backend_role.r', 'auth/tfk8s/r']);
    assert.notEqual(badImport.code, 0);
    assert.match(badImport.stderr, /cannot import "auth\/tfk8s\/r"[\s\S]*auth\/BACKEND\/role\/NAME/);
    const goneToken = await terraform(project('token-import', 'provider "coffer" {}\nresource "coffer_token" "t" {\n  no_parent = true\n}\n'), ['import', '-input=false', 'coffer_token.t', 'no-such-accessor']);
    assert.notEqual(goneToken.code, 0);
    assert.match(goneToken.stderr, /Cannot import non-existent remote object/);
    assertNoCrash(goneToken);
  });
});

describe('the examples/terraform configuration', { timeout: 600_000 }, () => {
  const ADMIN = `tf_ex_${randomBytes(3).toString('hex')}`;
  const ADMIN_PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;
  before(async () => {
    await root.query(`CREATE ROLE ${ADMIN} WITH LOGIN CREATEROLE PASSWORD '${ADMIN_PASSWORD}'`);
  });
  after(async () => {
    await root?.query(`DROP ROLE IF EXISTS ${ADMIN}`).catch(() => undefined);
  });

  it('installs from the mirror with terraform init (offline), applies, shows no changes on a second plan, imports an existing policy, destroys; no secret in state or plan', async () => {
    const dir = path.join(work, 'example');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'main.tf'), readFileSync(path.join(REPO_ROOT, 'examples/terraform/main.tf')));
    // As a user would: `npm run provider:install` into ~/.terraform.d/plugins, a CLI config without any
    // provider_installation block (so Terraform searches that implicit mirror), and a plain `terraform init`.
    await installProvider(work);
    const cliConfig = path.join(work, 'plain.tfrc');
    writeFileSync(cliConfig, '# no provider_installation: the implicit local mirrors apply\n');
    const env = {
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_VAR_pg_database: DB,
      TF_VAR_pg_admin: ADMIN,
      TF_VAR_pg_admin_password: ADMIN_PASSWORD,
      TF_VAR_prefix: 'ex',
    };
    assertInstalledFromMirror(await terraform(dir, ['init', '-input=false'], env), dir);
    // Installing again writes the same launcher, so the hash recorded in the lock file still holds.
    await installProvider(work);
    const reinit = await terraform(dir, ['init', '-input=false'], env);
    assert.equal(reinit.code, 0, reinit.stderr + reinit.stdout);

    // The policy exists already and is brought under management.
    assert.equal((await api.put('sys/policies/acl/ex-app', { policy: 'path "old" { capabilities = ["read"] }' })).status, 204);
    const imported = await terraform(dir, ['import', '-input=false', 'coffer_policy.app', 'ex-app'], env);
    assert.equal(imported.code, 0, imported.stderr + imported.stdout);

    const plan = await terraform(dir, ['plan', '-out=tfplan', '-input=false'], env);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    assert.doesNotMatch(plan.stdout + plan.stderr, /development overrides/, 'the provider came from the mirror');
    const planFiles = execFileSync('unzip', ['-p', path.join(dir, 'tfplan')]).toString('latin1');
    const apply = await terraform(dir, ['apply', '-input=false', 'tfplan'], env);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);
    assert.match(apply.stdout, /ephemeral\.coffer_database_credentials\.migrate: Closing\.\.\./);

    assert.match((await api.get('sys/policies/acl/ex-app')).body.data.policy, /path "ex-db\/creds\/app"/);
    assert.equal((await terraform(dir, ['output', '-raw', 'replicas'], env)).stdout.trim(), '3', 'the data source read the secret');
    // The write-only argument received the apply-time credentials, which were revoked when the apply ended.
    const login = (await api.get('ex-kv/data/app/last-migration-login')).body.data.data;
    assert.match(login.username, /^v-/);
    assert.equal((await root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [login.username])).rowCount, 0, 'the ephemeral user was dropped at close');
    const state = readFileSync(path.join(dir, 'terraform.tfstate'), 'utf8');
    for (const secret of [ADMIN_PASSWORD, login.password]) {
      for (const [name, text] of [['terraform.tfstate', state], ['saved plan', planFiles], ['terraform output', plan.stdout + apply.stdout]]) {
        assert.ok(!text.includes(secret), `a password is in the ${name}`);
      }
    }

    assert.equal((await terraform(dir, ['plan', '-input=false', '-detailed-exitcode'], env)).code, 0, 'second plan shows no changes');
    const destroyed = await terraform(dir, ['destroy', '-auto-approve', '-input=false'], env);
    assert.equal(destroyed.code, 0, destroyed.stderr + destroyed.stdout);
    assert.equal((await api.get('sys/mounts/ex-db')).status, 400);
    assert.equal((await api.get('sys/mounts/ex-kv')).status, 400);
    assert.equal((await api.get('sys/policies/acl/ex-app')).status, 404);
    const left = await root.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%app%'`);
    assert.deepEqual(left.rows, [], 'no issued user left in PostgreSQL');
  });
});
