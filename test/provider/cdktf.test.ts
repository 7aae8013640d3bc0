/**
 * The examples/cdktf app end to end: synthesized by plain node (no cdktf CLI), then real terraform in the
 * synthesized stack (init from the filesystem mirror `npm run provider:install` writes, plan, apply, destroy)
 * against a live `coffer server -dev` and the machine's PostgreSQL. Credentials are read back from a raw audit
 * log, so the checks cover every user the ephemeral resource was issued.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, runNode } from '../helpers/process.js';
import {
  assertInstalledFromMirror,
  assertNoCrash,
  installProvider,
  issuedCredentials,
  providerFixture,
  runTerraform,
  type ProviderFixture,
  type Run,
} from '../helpers/terraform.js';

/** Unlike terraform.test.ts's `app`, so the two files' clean-ups (by user name) never meet. */
const ROLE = 'cdkmig';
const KV_VALUE = `kv-${randomBytes(9).toString('base64url')}`;
let fx: ProviderFixture;

before(async () => {
  fx = await providerFixture('cdktf', ROLE, { api_key: KV_VALUE, replicas: 3 });
  await installProvider(fx.work);
  writeFileSync(path.join(fx.work, 'plain.tfrc'), '# no provider_installation: the implicit local mirrors apply\n');
});
after(() => fx?.close());

/** terraform as a user of the example runs it: mirror in ~/.terraform.d/plugins, settings as TF_VAR_*. */
function terraform(dir: string, args: string[]): Promise<Run> {
  return runTerraform(dir, args, {
    HOME: fx.work,
    TF_CLI_CONFIG_FILE: path.join(fx.work, 'plain.tfrc'),
    COFFER_ADDR: fx.server.addr,
    COFFER_TOKEN: fx.token,
    TF_VAR_kv_mount: 'secret',
    TF_VAR_kv_name: 'app',
    TF_VAR_db_mount: 'database',
    TF_VAR_db_role: ROLE,
    TF_VAR_pg_host: '127.0.0.1',
    TF_VAR_pg_database: fx.database,
  });
}

describe('the examples/cdktf app', { timeout: 600_000 }, () => {
  it('synthesizes with node; terraform init (offline, from the mirror), plan and apply open and close the ephemeral credentials; no password anywhere; destroy', async () => {
    const app = path.join(fx.work, 'app');
    mkdirSync(app);
    const synth = await runNode([path.join(REPO_ROOT, 'dist/examples/cdktf/main.js')], { cwd: app });
    assert.equal(synth.code, 0, synth.stderr);
    const stack = path.join(app, 'cdktf.out/stacks/coffer-example');
    const json = JSON.parse(readFileSync(path.join(stack, 'cdk.tf.json'), 'utf8'));
    assert.deepEqual(json.terraform.required_providers.coffer, { source: 'terraform.local/coffer/coffer' });
    assert.deepEqual(json.provider.coffer, [{ max_lease_ttl_seconds: 1200 }]);
    const { '//': _meta, ...ephemeral } = json.ephemeral.coffer_database_credentials.db;
    assert.deepEqual(ephemeral, { mount: '${var.db_mount}', role: '${var.db_role}' });
    const { '//': _dataMeta, ...data } = json.data.coffer_kv_secret_v2.config;
    assert.deepEqual(data, { mount: '${var.kv_mount}', name: '${var.kv_name}' });
    const migration = json.resource.terraform_data.migration;
    assert.equal(migration.input, '${data.coffer_kv_secret_v2.config.data}');
    assert.equal(migration.provisioner[0]['local-exec'].environment.PGPASSWORD, '${ephemeral.coffer_database_credentials.db.password}');

    assertInstalledFromMirror(await terraform(stack, ['init', '-input=false']), stack);
    const plan = await terraform(stack, ['plan', '-out=tfplan', '-input=false']);
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    assertNoCrash(plan);
    assert.match(plan.stdout, /# terraform_data\.migration will be created/);
    assert.match(plan.stdout, /Plan: 1 to add, 0 to change, 0 to destroy\./);
    assert.match(plan.stdout, /ephemeral\.coffer_database_credentials\.db: Opening\.\.\./);
    assert.match(plan.stdout, /ephemeral\.coffer_database_credentials\.db: Closing\.\.\./);
    const atPlan = issuedCredentials(fx.auditFile, `database/creds/${ROLE}`);
    assert.equal(atPlan.length, 1, 'the plan opened the ephemeral resource once');

    // The provisioner's psql logs in with the apply-time credentials and fails the apply if it cannot.
    const apply = await terraform(stack, ['apply', '-input=false', 'tfplan']);
    assert.equal(apply.code, 0, apply.stderr + apply.stdout);
    assertNoCrash(apply);
    assert.match(apply.stdout, /terraform_data\.migration: Provisioning with 'local-exec'\.\.\./);
    assert.match(apply.stdout, /\(local-exec\): \(output suppressed due to ephemeral value in config\)/);
    assert.match(apply.stdout, /ephemeral\.coffer_database_credentials\.db: Closing\.\.\./);

    const creds = issuedCredentials(fx.auditFile, `database/creds/${ROLE}`);
    assert.equal(creds.length, 2, 'credentials issued at plan and again at apply');
    const state = readFileSync(path.join(app, 'terraform.coffer-example.tfstate'), 'utf8');
    const planFiles = execFileSync('unzip', ['-p', path.join(stack, 'tfplan')]).toString('latin1');
    for (const { username, password } of creds) {
      for (const [name, text] of [['terraform output', plan.stdout + plan.stderr + apply.stdout + apply.stderr], ['saved plan', planFiles], ['state', state]]) {
        assert.ok(!text.includes(password), `a database password is in the ${name}`);
      }
      const role = await fx.root.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
      assert.equal(role.rowCount, 0, `${username} was dropped when the ephemeral resource closed`);
    }

    const destroyed = await terraform(stack, ['destroy', '-auto-approve', '-input=false']);
    assert.equal(destroyed.code, 0, destroyed.stderr + destroyed.stdout);
    assert.match(destroyed.stdout, /Destroy complete! Resources: 1 destroyed\./);
  });
});
