/**
 * Issue 3, acceptance: a runbook written for the vault CLI runs with `vault` replaced by `coffer`.
 *
 * The runbook below is a bash script, run as `bash -euo pipefail runbook.sh` with a `coffer` wrapper on PATH,
 * VAULT_ADDR/VAULT_TOKEN pointing at an in-process dev server and HOME in a temporary directory, the way an
 * operator runs one. Each command sits under a `step NN title` marker that the script prints to stdout and to
 * stderr; the test cuts both streams at the markers and checks every step's stdout and stderr exactly (values
 * that only exist at run time, like token accessors and timestamps, are taken from the output, checked for
 * shape and cross-checked against the server or against other steps, then put into the exact expected text).
 *
 * Then the bad-input cases as separate tests: unknown command or flag, missing server, missing -field; and
 * token revocation through `lease revoke -prefix auth/token/create`.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliDevServer } from '../helpers/cli.js';
import { COFFER_BIN, runCoffer } from '../helpers/process.js';

// A dev server; the runbook's directory, its HOME and the bad-input cases' HOME go into the temporary directory.
const cli = cliDevServer('coffer-runbook-');

// ---------------------------------------------------------------------------------------------------------------
// The runbook. Plain bash as an operator writes it for vault; only the word `vault` is replaced. No backticks
// and no dollar-brace in it (it sits in a template literal).
// ---------------------------------------------------------------------------------------------------------------

const DB_PASSWORD = 'p@ss "quoted" {{not-a-template}}';
const DB_PASSWORD_2 = 'r0tated "pass" {{ .Secret }}';
const API_KEY = 'sk_live_{{ .Token }} "from stdin"';
const MOTD = 'Welcome to "billing" {{.Name}}';
const CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBszCCAVmgAwIBAgIUQ2ZmYmlsbGluZy1zdmMtY2VydDAKBggqhkjOPQQDAjAY',
  'MRYwFAYDVQQDDA1iaWxsaW5nLmxvY2FsMB4XDTI2MDEwMTAwMDAwMFoXDTI3MDEw',
  'MTAwMDAwMFowGDEWMBQGA1UEAwwNYmlsbGluZy5sb2NhbDBZMBMGByqGSM49AgEG',
  '-----END CERTIFICATE-----',
  '',
].join('\n');
const POLICY = `# Billing service: read its own secrets, nothing else
path "apps/data/billing/*" {
  capabilities = ["read", "list"]
}

path "apps/metadata/billing/*" {
  capabilities = ["read", "list"]
}
`;

const RUNBOOK = String.raw`#!/usr/bin/env bash
# Runbook: onboard the billing service.
# Needs VAULT_ADDR and an admin VAULT_TOKEN in the environment. Run from the working directory.
set -euo pipefail

DIR="$(pwd)"
ADMIN_TOKEN="$VAULT_TOKEN"
step() { echo "### $*"; echo "### $*" >&2; }

step 01 the server is up and unsealed
coffer status

step 02 mount a KV v2 engine for applications
coffer secrets enable -path=apps -version=2 kv

step 03 mount a KV v1 engine for the legacy config
coffer secrets enable -path=legacy kv

step 04 list the engines
coffer secrets list

step 05 store the database credentials
coffer kv put apps/billing/db username="billing svc" password='p@ss "quoted" {{not-a-template}}'

step 06 store the TLS certificate from a file
cat > tls.pem <<'PEM'
-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ2ZmYmlsbGluZy1zdmMtY2VydDAKBggqhkjOPQQDAjAY
MRYwFAYDVQQDDA1iaWxsaW5nLmxvY2FsMB4XDTI2MDEwMTAwMDAwMFoXDTI3MDEw
MTAwMDAwMFowGDEWMBQGA1UEAwwNYmlsbGluZy5sb2NhbDBZMBMGByqGSM49AgEG
-----END CERTIFICATE-----
PEM
coffer kv put -mount=apps billing/tls certificate=@tls.pem issuer="Billing CA \"G2\""

step 07 the certificate reads back byte for byte
coffer kv get -mount=apps -field=certificate billing/tls > cert.out
cmp tls.pem cert.out && echo "certificate round-trips"

step 08 store the API key from stdin
printf '%s' 'sk_live_{{ .Token }} "from stdin"' | coffer kv put apps/billing/api key=-

step 09 read the API key
coffer kv get -field=key apps/billing/api
echo

step 10 write the read-only policy
coffer policy write billing-read - <<'EOF'
# Billing service: read its own secrets, nothing else
path "apps/data/billing/*" {
  capabilities = ["read", "list"]
}

path "apps/metadata/billing/*" {
  capabilities = ["read", "list"]
}
EOF

step 11 check the policy
coffer policy read billing-read

step 12 list the policies
coffer policy list

step 13 hand the password to the deploy job
coffer kv get -field=password apps/billing/db > pw.txt
printf 'pw.txt holds %d bytes\n' "$(wc -c < pw.txt)"

step 14 show the secret
coffer kv get apps/billing/db

step 15 pick a field out of the JSON
coffer kv get -format=json apps/billing/db | node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")).data; console.log("username=" + d.data.username + " version=" + d.metadata.version)'

step 16 rotate the password
coffer kv patch apps/billing/db password='r0tated "pass" {{ .Secret }}'

step 17 the new version
coffer kv get apps/billing/db

step 18 the old version is still there
coffer kv get -version=1 apps/billing/db

step 19 delete the current version by mistake
coffer kv delete apps/billing/db

step 20 it shows as deleted
coffer kv get apps/billing/db

step 21 undelete it
coffer kv undelete -versions=2 apps/billing/db

step 22 the password is back
coffer kv get -field=password apps/billing/db
echo

step 23 keep five versions and tag the owner
coffer kv metadata put -max-versions=5 -custom-metadata=owner=billing apps/billing/db

step 24 check the metadata
coffer kv metadata get apps/billing/db

step 25 list the billing secrets
coffer kv list apps/billing

step 26 legacy config on the v1 engine
coffer write legacy/config key=value motd="Welcome to \"billing\" {{.Name}}"

step 27 read it
coffer read legacy/config

step 28 list it
coffer list legacy

step 29 remove it
coffer delete legacy/config

step 30 it is gone
rc=0
coffer read legacy/config || rc=$?
echo "exit code $rc"

step 31 a token for the billing service
coffer token create -policy=billing-read -ttl=1h -field=token > token.txt
echo "token saved"

step 32 log in as the billing service
unset VAULT_TOKEN COFFER_TOKEN
coffer login $(cat token.txt)

step 33 it can read its secrets
coffer kv get -field=username apps/billing/db
echo

step 34 and list them
coffer kv list apps/billing

step 35 it cannot write them
rc=0
coffer kv put apps/billing/db username=mallory || rc=$?
echo "exit code $rc"

step 36 nor write elsewhere
rc=0
coffer write legacy/config key=evil || rc=$?
echo "exit code $rc"

step 37 what the token is
coffer token lookup

step 38 what it may do on its secrets
coffer token capabilities apps/data/billing/db

step 39 and elsewhere
coffer token capabilities apps/data/payroll/db

step 40 back as admin: revoke the token
export VAULT_TOKEN="$ADMIN_TOKEN"
coffer token revoke "$(cat token.txt)"

step 41 the stored token no longer works
rc=0
env -u VAULT_TOKEN coffer token lookup || rc=$?
echo "exit code $rc"

step 42 revoke anything else issued through auth/token/create
coffer lease revoke -prefix auth/token/create

step 43 enable the audit log
coffer audit enable file file_path="$DIR/audit.log"

step 44 list the audit devices
coffer audit list

step 45 a read is audited without the secret
coffer kv get -field=password apps/billing/db > /dev/null
test -s "$DIR/audit.log" && echo "audit log written"
if grep -qF -e 'p@ss' -e 'r0tated' "$DIR/audit.log"; then echo "PASSWORD IN THE AUDIT LOG" >&2; exit 1; fi
grep -qF '"path":"apps/data/billing/db"' "$DIR/audit.log" && echo "the read of apps/data/billing/db is in it, without the password"

step 46 cap the lease TTL on apps
coffer secrets tune -max-lease-ttl=2h apps

step 47 check the tuning
coffer read -field=max_lease_ttl sys/mounts/apps/tune
echo

step 48 retire the legacy engine: move it
coffer secrets move legacy old-legacy

step 49 see it moved
coffer secrets list

step 50 disable it
coffer secrets disable old-legacy

step 51 what is left
coffer secrets list -format=json | node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(0, "utf8"))).join(" "))'
`;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const lines = (...l: string[]) => l.join('\n') + '\n';

/** Columns as the vault CLI prints them (Go tabwriter, four spaces of padding, last column unpadded). */
function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 4))).join('')).join('\n') + '\n';
}

const kvTable = (rows: [string, string][]) => columns([['Key', 'Value'], ['---', '-----'], ...rows]);

/** The Metadata block of `kv get` / `kv put` on a v2 mount. */
function metadataBlock(created: string, deleted: string, version: number, custom = '<nil>'): string {
  return (
    lines('======= Metadata =======') +
    kvTable([
      ['created_time', created],
      ['custom_metadata', custom],
      ['deletion_time', deleted || 'n/a'],
      ['destroyed', 'false'],
      ['version', String(version)],
    ])
  );
}

/** Go's RFC 3339 timestamps (time.Time in JSON) and JavaScript's toISOString both match. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/** The value of `key` in a Key/Value table. */
function cell(table: string, key: string): string {
  const m = new RegExp(`^${key} +(.*)$`, 'm').exec(table);
  assert.ok(m, `no row ${key} in:\n${table}`);
  return m[1];
}

/** Splits a stream at the `### NN title` markers; text before the first marker must be empty. */
function sections(stream: string, name: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^### (\d\d) .*\n/gm;
  let prev: { id: string; end: number } | null = null;
  let m: RegExpExecArray | null;
  while ((m = re.exec(stream))) {
    if (prev) out.set(prev.id, stream.slice(prev.end, m.index));
    else assert.equal(stream.slice(0, m.index), '', `${name} before the first step`);
    prev = { id: m[1], end: m.index + m[0].length };
  }
  if (prev) out.set(prev.id, stream.slice(prev.end));
  return out;
}

function runScript(dir: string, env: Record<string, string>, timeoutMs = 50_000) {
  return new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', path.join(dir, 'runbook.sh')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => { // 'close': stdout/stderr fully read
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The runbook test
// ---------------------------------------------------------------------------------------------------------------

describe('a vault runbook with `coffer` in place of `vault`', () => {
  test('runs end to end and every command prints what vault prints', async () => {
    const dir = path.join(cli.dir, 'runbook');
    const home = path.join(cli.dir, 'home');
    const bin = path.join(cli.dir, 'bin');
    for (const d of [dir, home, bin]) mkdirSync(d);
    const callLog = path.join(cli.dir, 'coffer-calls.log');
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // The `coffer` on PATH: logs its subcommand (to count the runbook's commands) and execs the CLI.
    writeFileSync(path.join(bin, 'coffer'), `#!/bin/sh\necho "$1 $2" >> ${q(callLog)}\nexec ${q(process.execPath)} ${q(COFFER_BIN)} "$@"\n`);
    chmodSync(path.join(bin, 'coffer'), 0o755);
    writeFileSync(path.join(dir, 'runbook.sh'), RUNBOOK);

    // A clean environment, as a vault runbook sees it: the VAULT_ names only, no COFFER_ ones, no format.
    const env: Record<string, string> = {
      PATH: [bin, path.dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
      HOME: home,
      LANG: 'C.UTF-8',
      VAULT_ADDR: cli.srv.addr,
      VAULT_TOKEN: cli.srv.token,
    };
    const started = Date.now();
    const res = await runScript(dir, env);
    const out = sections(res.stdout, 'stdout');
    const err = sections(res.stderr, 'stderr');
    const lastStep = [...out.keys()].pop();
    assert.equal(res.code, 0, `runbook failed (exit ${res.code}) in step ${lastStep}\n--- stdout:\n${res.stdout.slice(-3000)}\n--- stderr:\n${res.stderr.slice(-3000)}`);

    const steps = [...RUNBOOK.matchAll(/^step (\d\d) /gm)].map((m) => m[1]);
    assert.equal(steps.length, 51);
    assert.deepEqual([...out.keys()], steps, 'every step printed its marker on stdout, in order');
    assert.deepEqual([...err.keys()], steps, 'every step printed its marker on stderr, in order');

    const calls = readFileSync(callLog, 'utf8').trim().split('\n');
    assert.ok(calls.length >= 35, `${calls.length} coffer commands`);
    assert.equal(calls.length, 51, 'one coffer command per step');

    // ---- what the server knows now, to fill in run-time values ------------------------------------------------
    const seal = (await cli.root.get('sys/seal-status')).body;
    const mounts = (await cli.root.get('sys/mounts')).body.data;
    const dbMeta = (await cli.root.get('apps/metadata/billing/db')).body.data;
    const tlsMeta = (await cli.root.get('apps/metadata/billing/tls')).body.data;
    const apiMeta = (await cli.root.get('apps/metadata/billing/api')).body.data;
    const [v1, v2] = [dbMeta.versions['1'], dbMeta.versions['2']];

    const expectStep = (id: string, stdout: string, stderr = '') => {
      assert.equal(out.get(id), stdout, `step ${id}: stdout`);
      assert.equal(err.get(id), stderr, `step ${id}: stderr`);
    };
    const secretPath = (p: string, header: string) => lines(header, p, '');
    const permissionDenied = (prefix: string, method: string, p: string) =>
      `${prefix}: Error making API request.\n\nURL: ${method} ${cli.srv.addr}/v1/${p}\nCode: 403. Errors:\n\n* permission denied\n`;

    // 01 status
    expectStep(
      '01',
      kvTable([
        ['Seal Type', 'shamir'],
        ['Initialized', 'true'],
        ['Sealed', 'false'],
        ['Total Shares', '1'],
        ['Threshold', '1'],
        ['Version', seal.version],
        ['Build Date', seal.build_date],
        ['Storage Type', seal.storage_type],
        ['Cluster Name', seal.cluster_name],
        ['Cluster ID', seal.cluster_id],
        ['HA Enabled', 'false'],
      ]),
    );
    // 02-03 secrets enable
    expectStep('02', 'Success! Enabled the kv secrets engine at: apps/\n');
    expectStep('03', 'Success! Enabled the kv secrets engine at: legacy/\n');
    // 04 secrets list: legacy/ is gone by now; its accessor is checked for shape here and against step 49.
    const legacyAccessor = /^legacy\/ +kv +(\S+) /m.exec(out.get('04') ?? '')?.[1] ?? '';
    assert.match(legacyAccessor, /^kv_[0-9a-f]{8}$/);
    const mountList = (extra: [string, string][]) =>
      columns([
        ['Path', 'Type', 'Accessor', 'Description'],
        ['----', '----', '--------', '-----------'],
        ['apps/', 'kv', mounts['apps/'].accessor, 'n/a'],
        ['cubbyhole/', 'cubbyhole', mounts['cubbyhole/'].accessor, 'per-token private secret storage'],
        ...extra.map(([p, a]) => [p, 'kv', a, 'n/a']),
        ['secret/', 'kv', mounts['secret/'].accessor, 'key/value secret storage'],
        ['sys/', 'system', mounts['sys/'].accessor, 'system endpoints used for control, policy and debugging'],
      ]);
    expectStep('04', mountList([['legacy/', legacyAccessor]]));

    // 05-09 kv put: quoting, @file, stdin; the file and the stdin value read back byte for byte
    const dbPath = secretPath('apps/data/billing/db', '==== Secret Path ====');
    expectStep('05', dbPath + metadataBlock(v1.created_time, '', 1));
    expectStep('06', secretPath('apps/data/billing/tls', '==== Secret Path ====') + metadataBlock(tlsMeta.versions['1'].created_time, '', 1));
    expectStep('07', 'certificate round-trips\n');
    assert.equal(readFileSync(path.join(dir, 'cert.out'), 'utf8'), CERT);
    expectStep('08', secretPath('apps/data/billing/api', '==== Secret Path ====') + metadataBlock(apiMeta.versions['1'].created_time, '', 1));
    expectStep('09', `${API_KEY}\n`);
    assert.deepEqual((await cli.root.get('apps/data/billing/tls')).body.data.data, { certificate: CERT, issuer: 'Billing CA "G2"' });
    assert.deepEqual((await cli.root.get('apps/data/billing/api')).body.data.data, { key: API_KEY });

    // 10-12 policy from a heredoc, read back exactly, listed
    expectStep('10', 'Success! Uploaded policy: billing-read\n');
    expectStep('11', POLICY);
    expectStep('12', 'billing-read\ndefault\nroot\n');

    // 13 -field redirected to a file: the exact bytes, no newline added
    expectStep('13', `pw.txt holds ${Buffer.byteLength(DB_PASSWORD)} bytes\n`);
    assert.equal(readFileSync(path.join(dir, 'pw.txt'), 'utf8'), DB_PASSWORD);

    // 14 kv get: path, metadata and data tables
    const dataBlock = (password: string) => lines('', '====== Data ======') + kvTable([['password', password], ['username', 'billing svc']]);
    expectStep('14', dbPath + metadataBlock(v1.created_time, '', 1) + dataBlock(DB_PASSWORD));
    // 15 -format=json piped into a script
    expectStep('15', 'username=billing svc version=1\n');
    // 16-18 patch makes version 2; version 1 is kept
    expectStep('16', dbPath + metadataBlock(v2.created_time, '', 2));
    expectStep('17', dbPath + metadataBlock(v2.created_time, '', 2) + dataBlock(DB_PASSWORD_2));
    expectStep('18', dbPath + metadataBlock(v1.created_time, '', 1) + dataBlock(DB_PASSWORD));

    // 19-22 delete, get shows the deletion (metadata only), undelete, the data is back
    expectStep('19', 'Success! Data deleted (if it existed) at: apps/data/billing/db\n');
    const deletion = cell(out.get('20') ?? '', 'deletion_time');
    assert.match(deletion, TIMESTAMP);
    assert.ok(Date.parse(deletion) >= Date.parse(v2.created_time) && Date.parse(deletion) <= Date.now(), deletion);
    expectStep('20', dbPath + metadataBlock(v2.created_time, deletion, 2) + '\n');
    assert.equal(v2.deletion_time, '', 'undeleted');
    expectStep('21', 'Success! Data written to: apps/undelete/billing/db\n');
    expectStep('22', `${DB_PASSWORD_2}\n`);

    // 23-25 metadata put/get, list
    expectStep('23', 'Success! Data written to: apps/metadata/billing/db\n');
    assert.deepEqual([dbMeta.max_versions, dbMeta.custom_metadata], [5, { owner: 'billing' }]);
    const versionBlock = (n: number, created: string) =>
      lines('', `====== Version ${n} ======`) + kvTable([['created_time', created], ['deletion_time', 'n/a'], ['destroyed', 'false']]);
    expectStep(
      '24',
      lines('===== Metadata Path =====', 'apps/metadata/billing/db', '', '========== Metadata ==========') +
        kvTable([
          ['cas_required', 'false'],
          ['created_time', dbMeta.created_time],
          ['current_version', '2'],
          ['custom_metadata', 'map[owner:billing]'],
          ['delete_version_after', '0s'],
          ['max_versions', '5'],
          ['oldest_version', '0'],
          ['updated_time', dbMeta.updated_time],
        ]) +
        versionBlock(1, v1.created_time) +
        versionBlock(2, v2.created_time),
    );
    const keys = lines('Keys', '----', 'api', 'db', 'tls');
    expectStep('25', keys);

    // 26-30 the generic commands on the v1 engine
    expectStep('26', 'Success! Data written to: legacy/config\n');
    expectStep('27', kvTable([['key', 'value'], ['motd', MOTD]]));
    expectStep('28', lines('Keys', '----', 'config'));
    expectStep('29', 'Success! Data deleted (if it existed) at: legacy/config\n');
    expectStep('30', 'exit code 2\n', 'No value found at legacy/config\n');

    // 31-32 token create -field=token into a file, login with it (stored by the token helper, mode 0600)
    expectStep('31', 'token saved\n');
    const token = readFileSync(path.join(dir, 'token.txt'), 'utf8');
    assert.match(token, /^cfs\.[A-Za-z0-9_-]+$/, 'the raw token, no newline');
    const login = out.get('32') ?? '';
    const accessor = cell(login, 'token_accessor');
    const loginDuration = cell(login, 'token_duration');
    assert.match(accessor, /^[A-Za-z0-9]{24}$/);
    assert.match(loginDuration, /^(1h|59m[0-5]\ds)$/);
    expectStep(
      '32',
      'Success! You are now authenticated. The token information displayed below\n' +
        'is already stored in the token helper. You do NOT need to run "coffer login"\n' +
        'again. Future coffer requests will automatically use this token.\n\n' +
        kvTable([
          ['token', token],
          ['token_accessor', accessor],
          ['token_duration', loginDuration],
          ['token_renewable', 'true'],
          ['token_policies', '["billing-read" "default"]'],
          ['identity_policies', '[]'],
          ['policies', '["billing-read" "default"]'],
        ]),
    );
    const helperFile = path.join(home, '.coffer-token');
    assert.equal(readFileSync(helperFile, 'utf8'), token);
    assert.equal(statSync(helperFile).mode & 0o777, 0o600);

    // 33-36 as the billing token: reads allowed, writes denied (exit 2, the server's 403 on stderr)
    expectStep('33', 'billing svc\n');
    expectStep('34', keys);
    expectStep('35', 'exit code 2\n', permissionDenied('Error writing data to apps/data/billing/db', 'POST', 'apps/data/billing/db'));
    assert.equal(out.get('36'), 'exit code 2\n');
    // vault says "Error writing data to legacy/config: ..."; coffer's generic commands say "Error: ..." (reported).
    assert.match(
      err.get('36') ?? '',
      new RegExp(`^(Error|Error writing data to legacy/config): Error making API request\\.\\n\\nURL: POST ${cli.srv.addr}/v1/legacy/config\\nCode: 403\\. Errors:\\n\\n\\* permission denied\\n$`),
    );

    // 37 token lookup of the stored token
    const lookup = out.get('37') ?? '';
    const creation = Number(cell(lookup, 'creation_time'));
    const [expire, issue, ttl] = ['expire_time', 'issue_time', 'ttl'].map((k) => cell(lookup, k));
    assert.ok(Number.isInteger(creation) && creation * 1000 >= started - 1000 && creation * 1000 <= Date.now(), String(creation));
    assert.match(expire, TIMESTAMP);
    assert.match(issue, TIMESTAMP);
    assert.equal(Math.floor(Date.parse(issue) / 1000), creation, 'issue_time is the creation time');
    assert.ok(Math.abs(Date.parse(expire) - Date.parse(issue) - 3_600_000) < 2000, `${issue} + 1h ≈ ${expire}`);
    assert.match(ttl, /^(1h|59m[0-5]\ds)$/);
    expectStep(
      '37',
      kvTable([
        ['accessor', accessor],
        ['creation_time', String(creation)],
        ['creation_ttl', '1h'],
        ['display_name', 'token'],
        ['entity_id', 'n/a'],
        ['expire_time', expire],
        ['explicit_max_ttl', '0s'],
        ['id', token],
        ['issue_time', issue],
        ['meta', '<nil>'],
        ['num_uses', '0'],
        ['orphan', 'false'],
        ['path', 'auth/token/create'],
        ['policies', '[billing-read default]'],
        ['renewable', 'true'],
        ['ttl', ttl],
        ['type', 'service'],
      ]),
    );
    // 38-39 capabilities
    expectStep('38', 'list, read\n');
    expectStep('39', 'deny\n');

    // 40-41 revoke as admin; the revoked token (still in the token helper) is refused
    expectStep('40', 'Success! Revoked token (if it existed)\n');
    expectStep('41', 'exit code 2\n', permissionDenied('Error looking up token', 'GET', 'auth/token/lookup-self'));
    assert.equal((await cli.root.post('auth/token/lookup', { token })).status, 400, 'the token is revoked');
    // 42 lease revoke -prefix (vault's asynchronous form and message)
    expectStep('42', 'All revocation operations queued successfully!\n');

    // 43-45 audit: enabled, listed, written, no secret in it
    const auditLog = path.join(dir, 'audit.log');
    expectStep('43', 'Success! Enabled the file audit device at: file/\n');
    expectStep('44', columns([['Path', 'Type', 'Description'], ['----', '----', '-----------'], ['file/', 'file', 'n/a']]));
    expectStep('45', 'audit log written\nthe read of apps/data/billing/db is in it, without the password\n');
    const audit = readFileSync(auditLog, 'utf8');
    for (const secret of [DB_PASSWORD, DB_PASSWORD_2, 'p@ss', 'r0tated', token]) assert.ok(!audit.includes(secret), `audit log holds ${secret}`);
    const entries = audit.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(entries.some((e) => e.type === 'response' && e.request?.path === 'apps/data/billing/db'), 'the response to the read is audited');

    // 46-47 tune
    expectStep('46', 'Success! Tuned the secrets engine at: apps/\n');
    expectStep('47', '7200\n');
    assert.equal(mounts['apps/'].config.max_lease_ttl, 7200);

    // 48-51 move (the accessor moves with it), disable
    expectStep('48', 'Success! Moved secrets engine legacy/ to: old-legacy/\n');
    const moved = columns([
      ['Path', 'Type', 'Accessor', 'Description'],
      ['----', '----', '--------', '-----------'],
      ['apps/', 'kv', mounts['apps/'].accessor, 'n/a'],
      ['cubbyhole/', 'cubbyhole', mounts['cubbyhole/'].accessor, 'per-token private secret storage'],
      ['old-legacy/', 'kv', legacyAccessor, 'n/a'],
      ['secret/', 'kv', mounts['secret/'].accessor, 'key/value secret storage'],
      ['sys/', 'system', mounts['sys/'].accessor, 'system endpoints used for control, policy and debugging'],
    ]);
    expectStep('49', moved);
    expectStep('50', 'Success! Disabled the secrets engine (if it existed) at: old-legacy/\n');
    expectStep('51', 'apps/ cubbyhole/ secret/ sys/\n');
    assert.deepEqual(Object.keys(mounts).sort(), ['apps/', 'cubbyhole/', 'secret/', 'sys/']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Bad input and what the server does not serve yet
// ---------------------------------------------------------------------------------------------------------------

describe('bad input in a runbook', () => {
  let home: string;
  const env = (extra: Record<string, string> = {}) => ({
    COFFER_ADDR: cli.srv.addr,
    COFFER_TOKEN: cli.srv.token,
    VAULT_ADDR: '',
    VAULT_TOKEN: '',
    COFFER_FORMAT: '',
    VAULT_FORMAT: '',
    HOME: home,
    ...extra,
  });
  const coffer = (args: string[], extra: Record<string, string> = {}) => runCoffer(args, { env: env(extra) });

  before(async () => {
    home = path.join(cli.dir, 'home-bad-input');
    mkdirSync(home);
    const put = await cli.root.post('secret/data/ci/deploy', { data: { password: DB_PASSWORD } });
    assert.equal(put.status, 200, put.text);
  });

  test('an unknown command: the help on stderr, exit 1, naming the bad word', async () => {
    const res = await coffer(['frobnicate', 'secret/ci/deploy']);
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stdout, '');
    assert.ok(res.stderr.startsWith('Unknown command "frobnicate"\n\nUsage: coffer <command> [args]\n'), res.stderr);
    for (const cmd of ['read', 'write', 'kv', 'secrets', 'policy', 'token', 'login', 'lease', 'audit', 'status']) {
      assert.match(res.stderr, new RegExp(`^ {4}${cmd} +\\S`, 'm'), `the help lists ${cmd}`);
    }
    // A mistyped subcommand, likewise: the command's help, exit 1, the word named.
    const cases: [string[], string][] = [
      [['kv', 'gte', 'secret/ci/deploy'], 'Usage: coffer kv '],
      [['secrets', 'enabel', 'kv'], 'Usage: coffer secrets '],
      [['token', 'creat'], 'Usage: coffer token '],
    ];
    const results = await Promise.all(cases.map(([args]) => coffer(args)));
    results.forEach((r, i) => {
      const [args, help] = cases[i];
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const [first, blank] = r.stderr.split('\n');
      assert.ok(first.includes(`"${args[1]}"`) || first.includes(`"${args[0]} ${args[1]}"`), `${args.join(' ')}: ${first}`);
      assert.equal(blank, '');
      assert.ok(r.stderr.includes(`\n\n${help}`), `${args.join(' ')}: the help follows`);
    });
  });

  test('an unknown flag (one dash or two): the message naming it, then the help, exit 1', async () => {
    const cases: [string[], string, string][] = [
      [['read', '-feild=password', 'secret/data/ci/deploy'], '-feild', 'Usage: coffer read '],
      [['kv', 'get', '--feild=password', 'secret/ci/deploy'], '-feild', 'Usage: coffer kv '],
      [['secrets', 'enable', '-paht=apps', 'kv'], '-paht', 'Usage: coffer secrets '],
      [['token', 'create', '-polcy=default'], '-polcy', 'Usage: coffer token '],
    ];
    const results = await Promise.all(cases.map(([args]) => coffer(args)));
    results.forEach((r, i) => {
      const [args, flag, help] = cases[i];
      assert.deepEqual({ code: r.code, stdout: r.stdout }, { code: 1, stdout: '' }, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`flag provided but not defined: ${flag}\n\n${help}`), `${args.join(' ')}: ${r.stderr.slice(0, 300)}`);
    });
  });

  test('a missing server: one line naming the address, exit 2', async () => {
    const dead = 'http://127.0.0.1:1';
    const cases = [
      ['read', 'secret/data/ci/deploy'],
      ['kv', 'get', 'secret/ci/deploy'],
      ['write', 'secret/data/ci/deploy', 'a=b'],
      ['secrets', 'list'],
    ];
    const results = await Promise.all(cases.map((args) => coffer(args, { COFFER_ADDR: dead })));
    results.forEach((r, i) => {
      const args = cases[i].join(' ');
      assert.equal(r.code, 2, `${args}: ${r.stderr}`);
      assert.equal(r.stdout, '', args);
      assert.match(r.stderr, /^Error[^\n]*http:\/\/127\.0\.0\.1:1\b[^\n]*\n$/, `${args}: ${JSON.stringify(r.stderr)}`);
    });
  });

  test('-field naming a missing field: an error, exit 1', async () => {
    const expected = { code: 1, stdout: '', stderr: 'Field "pasword" not present in secret\n' };
    assert.deepEqual(await coffer(['kv', 'get', '-field=pasword', 'secret/ci/deploy']), expected);
    assert.deepEqual(await coffer(['read', '-field=pasword', 'secret/data/ci/deploy']), expected);
    // The field that is there: raw, no newline.
    assert.deepEqual(await coffer(['kv', 'get', '-field=password', 'secret/ci/deploy']), { code: 0, stdout: DB_PASSWORD, stderr: '' });
  });

  // Vault keeps every service token as a lease under the path that created it, so `lease revoke -prefix
  // auth/token/create` revokes the tokens made there; coffer does the same.
  test('lease revoke -prefix auth/token/create revokes the tokens created there, as in vault', async () => {
    const created = await cli.root.post('auth/token/create', { policies: ['default'], ttl: '30m' });
    assert.equal(created.status, 200, created.text);
    const token = created.body.auth.client_token as string;
    assert.deepEqual(await coffer(['lease', 'revoke', '-sync', '-prefix', 'auth/token/create']), {
      code: 0,
      stdout: 'Success! Revoked any leases with prefix: auth/token/create\n',
      stderr: '',
    });
    assert.equal((await cli.root.post('auth/token/lookup', { token })).status, 400, 'the token was revoked with its lease');
  });
});
