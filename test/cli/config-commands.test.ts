/**
 * `coffer secrets|auth|policy|audit ...` run as real child processes against an in-process dev server, with
 * stdout, stderr and exit codes checked exactly against what the vault CLI prints for the same commands.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cliDevServer } from '../helpers/cli.js';
import { client } from '../helpers/server.js';

const cli = cliDevServer('coffer-config-cli-');
const { coffer, ok } = cli;

/** Runs and expects a usage error: exit 1, the message, then the command's help, nothing on stdout. */
async function usage(args: string[], message: string, helpStart: string) {
  const r = await coffer(args);
  assert.equal(r.code, 1, `coffer ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.startsWith(`${message}\n\n${helpStart}`), r.stderr);
}

/** The CLI's rendering of a server error: exit 2, one "Error:" block naming the call and the server's message. */
async function apiError(args: string[], method: string, apiPath: string, code: number, message: string) {
  const r = await coffer(args);
  assert.deepEqual(
    { code: r.code, stdout: r.stdout, stderr: r.stderr },
    {
      code: 2,
      stdout: '',
      stderr: `Error: Error making API request.\n\nURL: ${method} ${cli.srv.addr}/v1/${apiPath}\nCode: ${code}. Errors:\n\n* ${message}\n`,
    },
  );
}

const lines = (...l: string[]) => l.join('\n') + '\n';

async function mounts(table: 'mounts' | 'auth'): Promise<Record<string, any>> {
  const res = await cli.root.get(`sys/${table}`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

/** Cells of the table row starting with `first` (columns are separated by at least four spaces). */
function row(table: string, first: string): string[] {
  const line = table.split('\n').find((l) => l.startsWith(`${first} `));
  assert.ok(line, `no row for ${first} in:\n${table}`);
  return line.split(/ {4,}/);
}

describe('coffer secrets', () => {
  test('enable with -path, -version and -description, then list shows it', async () => {
    assert.equal(
      await ok(['secrets', 'enable', '-path=kv', '-version=2', '-description=team kv', 'kv']),
      'Success! Enabled the kv secrets engine at: kv/\n',
    );
    const m = await mounts('mounts');
    assert.deepEqual(m['kv/'].options, { version: '2' });
    // The built-in cubbyhole/ mount is listed too, as in Vault (its accessor has the widest cell).
    const cubbyhole = m['cubbyhole/'].accessor;
    const pad = (accessor: string) => accessor.padEnd(cubbyhole.length + 4);
    assert.equal(
      await ok(['secrets', 'list']),
      lines(
        `Path          Type         ${pad('Accessor')}Description`,
        `----          ----         ${pad('--------')}-----------`,
        `cubbyhole/    cubbyhole    ${pad(cubbyhole)}per-token private secret storage`,
        `kv/           kv           ${pad(m['kv/'].accessor)}team kv`,
        `secret/       kv           ${pad(m['secret/'].accessor)}key/value secret storage`,
        `sys/          system       ${pad(m['sys/'].accessor)}system endpoints used for control, policy and debugging`,
      ),
    );
  });

  test('enable defaults the path to the type; flags may come after it, with one dash or two', async () => {
    assert.equal(
      await ok(['secrets', 'enable', 'kv-v2', '--description', 'v2 store', '-max-lease-ttl', '48h']),
      'Success! Enabled the kv-v2 secrets engine at: kv-v2/\n',
    );
    const m = (await mounts('mounts'))['kv-v2/'];
    assert.deepEqual([m.type, m.options, m.description, m.config.max_lease_ttl], ['kv', { version: '2' }, 'v2 store', 172800]);
    assert.equal(await ok(['secrets', 'disable', 'kv-v2']), 'Success! Disabled the secrets engine (if it existed) at: kv-v2/\n');
  });

  test('-format=json prints the mounts as the vault CLI does, and -format=yaml the same data', async () => {
    assert.equal(await ok(['secrets', 'enable', '-path=ttl-kv', '-default-lease-ttl=1h', '-max-lease-ttl=24h', '-options=version=1', 'kv']), 'Success! Enabled the kv secrets engine at: ttl-kv/\n');
    const m = await mounts('mounts');
    const [jsonText, yamlText] = await Promise.all([ok(['secrets', 'list', '-format=json']), ok(['secrets', 'list', '-format=yaml'])]);
    const printed = JSON.parse(jsonText);
    assert.deepEqual(Object.keys(printed), ['cubbyhole/', 'kv/', 'secret/', 'sys/', 'ttl-kv/']);
    assert.deepEqual(printed['ttl-kv/'], {
      uuid: m['ttl-kv/'].uuid,
      type: 'kv',
      description: '',
      accessor: m['ttl-kv/'].accessor,
      config: { default_lease_ttl: 3600, max_lease_ttl: 86400, force_no_cache: false },
      options: { version: '1' },
      local: false,
      seal_wrap: false,
      external_entropy_access: false,
      plugin_version: '',
      running_plugin_version: '',
      running_sha256: '',
      deprecation_status: '',
    });
    assert.equal(printed['sys/'].options, null);
    // The JSON is indented by two spaces, like vault's.
    assert.ok(jsonText.startsWith('{\n  "cubbyhole/": {\n    "uuid": '));
    assert.deepEqual(parseYaml(yamlText), printed);
    assert.ok(yamlText.startsWith('cubbyhole/:\n  accessor: '), 'yaml keys are sorted, as vault prints them');
  });

  test('tune changes TTLs and description, and list -detailed shows them', async () => {
    assert.equal(
      await ok(['secrets', 'tune', '-default-lease-ttl=30m', '-max-lease-ttl=12h', '-description=tuned store', 'ttl-kv']),
      'Success! Tuned the secrets engine at: ttl-kv/\n',
    );
    const m = await mounts('mounts');
    const detailed = await ok(['secrets', 'list', '-detailed']);
    const [header, dashes] = detailed.split('\n');
    assert.equal(
      header.split(/ {4,}/).join('|'),
      'Path|Plugin|Accessor|Default TTL|Max TTL|Force No Cache|Replication|Seal Wrap|External Entropy Access|Options|Description|UUID|Version|Running Version|Running SHA256|Deprecation Status',
    );
    assert.match(dashes, /^----\s{4,}------\s{4,}--------\s{4,}-----------\s/);
    assert.deepEqual(row(detailed, 'ttl-kv/'), [
      'ttl-kv/', 'kv', m['ttl-kv/'].accessor, '1800', '43200', 'false', 'replicated', 'false', 'false', 'map[version:1]',
      'tuned store', m['ttl-kv/'].uuid, 'n/a', 'n/a', 'n/a', 'n/a',
    ]);
    // Untuned mounts use the system TTLs; sys/ has none; an empty description is "n/a".
    assert.deepEqual(row(detailed, 'kv/').slice(3, 5), ['system', 'system']);
    assert.deepEqual(row(detailed, 'kv/')[9], 'map[version:2]');
    assert.deepEqual(row(detailed, 'sys/').slice(3, 5), ['n/a', 'n/a']);
    assert.equal(row(detailed, 'sys/')[9], 'map[]');
    // The vault CLI's own tune (its Go API client) sends "" for each TTL it leaves alone: accepted, unchanged.
    const vaultStyle = await cli.root.post('sys/mounts/ttl-kv/tune', { default_lease_ttl: '', max_lease_ttl: '', options: null, force_no_cache: false });
    assert.equal(vaultStyle.status, 204, vaultStyle.text);
    assert.deepEqual((await mounts('mounts'))['ttl-kv/'].config, { default_lease_ttl: 1800, max_lease_ttl: 43200, force_no_cache: false });
    // Every line is padded the same way: the UUID column starts at the same offset on each row.
    const offsets = detailed.trimEnd().split('\n').slice(2).map((l) => l.indexOf(l.split(/ {4,}/)[11]));
    assert.equal(new Set(offsets).size, 1);
  });

  test('move keeps the data and frees the old path', async () => {
    assert.equal(await ok(['secrets', 'enable', '-path=app-kv', 'kv']), 'Success! Enabled the kv secrets engine at: app-kv/\n');
    assert.equal(await ok(['write', 'app-kv/db', 'password=s3 cr3t "quoted"']), 'Success! Data written to: app-kv/db\n');
    assert.equal(await ok(['secrets', 'move', 'app-kv', '/moved-kv/']), 'Success! Moved secrets engine app-kv/ to: moved-kv/\n');
    assert.equal(await ok(['read', '-field=password', 'moved-kv/db']), 's3 cr3t "quoted"');
    const gone = await coffer(['read', 'app-kv/db']);
    assert.equal(gone.code, 2);
    const m = await mounts('mounts');
    assert.ok(!('app-kv/' in m) && 'moved-kv/' in m);
  });

  test('disable removes the mount (and succeeds when there is none)', async () => {
    assert.equal(await ok(['secrets', 'disable', 'moved-kv/']), 'Success! Disabled the secrets engine (if it existed) at: moved-kv/\n');
    assert.ok(!((await ok(['secrets', 'list'])).includes('moved-kv/')));
    assert.equal(await ok(['secrets', 'disable', '/never-there']), 'Success! Disabled the secrets engine (if it existed) at: never-there/\n');
  });

  test('server errors are printed with the server message and exit 2', async () => {
    await Promise.all([
      apiError(['secrets', 'enable', '-path=kv', 'kv'], 'POST', 'sys/mounts/kv/', 400, 'path is already in use at kv/'),
      apiError(['secrets', 'enable', 'nosuchengine'], 'POST', 'sys/mounts/nosuchengine/', 400, 'plugin not found in the catalog: nosuchengine'),
      apiError(['secrets', 'tune', '-max-lease-ttl=1h', 'nowhere'], 'POST', 'sys/mounts/nowhere/tune', 400, 'cannot tune "nowhere": no mount at that path'),
      apiError(['secrets', 'disable', 'sys'], 'DELETE', 'sys/mounts/sys/', 400, 'cannot unmount "sys/"'),
    ]);
  });

  test('bad input is a usage error: help and exit 1, naming the problem', async () => {
    const help = 'Usage: coffer secrets <subcommand>';
    await Promise.all([
      usage(['secrets', 'bogus'], 'unknown subcommand "bogus" for coffer secrets', help),
      usage(['secrets'], 'missing subcommand: coffer secrets <enable|disable|list|tune|move>', help),
      usage(['secrets', 'enable'], 'Not enough arguments (expected 1, got 0)', help),
      usage(['secrets', 'enable', 'kv', 'extra'], 'Too many arguments (expected 1, got 2)', help),
      usage(['secrets', 'move', 'kv/'], 'Not enough arguments (expected 2, got 1)', help),
      usage(['secrets', 'list', 'kv/'], 'Too many arguments (expected 0, got 1)', help),
      usage(['secrets', 'disable'], 'Not enough arguments (expected 1, got 0)', help),
      usage(['secrets', 'enable', '-bogus', 'kv'], 'flag provided but not defined: -bogus', help),
      usage(['secrets', 'enable', '-default-lease-ttl=soon', 'kv'], 'invalid value "soon" for flag -default-lease-ttl: time: invalid duration "soon"', help),
      usage(['secrets', 'enable', '-options=novalue', 'kv'], 'invalid value "novalue" for flag -options: missing = in KV pair: "novalue"', help),
    ]);
  });

  test('-help documents every subcommand with an example', async () => {
    const text = await ok(['secrets', 'enable', '-help']);
    for (const sub of ['enable', 'disable', 'list', 'tune', 'move']) assert.match(text, new RegExp(`\\$ coffer secrets ${sub} `));
  });
});

describe('coffer auth', () => {
  test('list shows the token method', async () => {
    const a = await mounts('auth');
    assert.equal(
      await ok(['auth', 'list']),
      lines(
        'Path      Type     Accessor          Description                Version',
        '----      ----     --------          -----------                -------',
        `token/    token    ${a['token/'].accessor}    token based credentials    n/a`,
      ),
    );
  });

  test('enable of a method the server does not have shows its 400 cleanly and exits 2', async () => {
    await Promise.all([
      apiError(['auth', 'enable', 'userpass'], 'POST', 'sys/auth/userpass/', 400, 'plugin not found in the catalog: userpass'),
      apiError(['auth', 'enable', '-path=people', '-description=staff', 'userpass'], 'POST', 'sys/auth/people/', 400, 'plugin not found in the catalog: userpass'),
      apiError(['auth', 'enable', 'token'], 'POST', 'sys/auth/token/', 400, 'token credential backend cannot be instantiated'),
    ]);
  });

  test('tune shows in list -detailed and -format=json', async () => {
    assert.equal(await ok(['auth', 'tune', '-default-lease-ttl=1h', '-max-lease-ttl=2h', 'token/']), 'Success! Tuned the auth method at: token/\n');
    const a = await mounts('auth');
    const [detailed, jsonText] = await Promise.all([ok(['auth', 'list', '-detailed']), ok(['auth', 'list', '-format=json'])]);
    assert.equal(
      detailed.split('\n')[0].split(/ {4,}/).join('|'),
      'Path|Plugin|Accessor|Default TTL|Max TTL|Token Type|Replication|Seal Wrap|External Entropy Access|Options|Description|UUID|Version|Running Version|Running SHA256|Deprecation Status',
    );
    assert.deepEqual(row(detailed, 'token/'), [
      'token/', 'token', a['token/'].accessor, '3600', '7200', 'default-service', 'replicated', 'false', 'false', 'map[]',
      'token based credentials', a['token/'].uuid, 'n/a', 'n/a', 'n/a', 'n/a',
    ]);
    assert.equal(
      jsonText,
      JSON.stringify(
        {
          'token/': {
            uuid: a['token/'].uuid,
            type: 'token',
            description: 'token based credentials',
            accessor: a['token/'].accessor,
            config: { default_lease_ttl: 3600, max_lease_ttl: 7200 },
            local: false,
            seal_wrap: false,
            external_entropy_access: false,
            options: null,
            plugin_version: '',
            running_plugin_version: '',
            running_sha256: '',
            deprecation_status: '',
          },
        },
        null,
        2,
      ) + '\n',
    );
    // Back to the system defaults, as vault's "system" value does.
    const reset = await cli.root.post('sys/auth/token/tune', { default_lease_ttl: 'system', max_lease_ttl: 'system' });
    assert.equal(reset.status, 204, reset.text);
  });

  test('disable: the token method cannot be disabled; a missing path is a success', async () => {
    await apiError(['auth', 'disable', 'token'], 'DELETE', 'sys/auth/token/', 400, 'cannot unmount "auth/token/"');
    assert.equal(await ok(['auth', 'disable', 'people']), 'Success! Disabled the auth method (if it existed) at: people/\n');
  });

  test('bad input is a usage error', async () => {
    const help = 'Usage: coffer auth <subcommand>';
    await Promise.all([
      usage(['auth', 'login'], 'unknown subcommand "login" for coffer auth', help),
      usage(['auth', 'enable'], 'Not enough arguments (expected 1, got 0)', help),
      usage(['auth', 'tune', 'token/', 'x'], 'Too many arguments (expected 1, got 2)', help),
    ]);
    const text = await ok(['auth', '-help']);
    for (const sub of ['enable', 'disable', 'list', 'tune']) assert.match(text, new RegExp(`\\$ coffer auth ${sub} `));
  });
});

const APP_POLICY = `# Read the app's secrets
path "secret/data/my-app/*" {
  capabilities = ["read", "list"]
}

path "secret/metadata/my-app/*" {
  capabilities = ["list"]
}
`;

describe('coffer policy', () => {
  test('write from a heredoc on stdin, read it back, list it', async () => {
    // As in: coffer policy write My-App - <<EOF ... EOF (names are lowercased, with a warning, like vault).
    const r = await coffer(['policy', 'write', 'My-App', '-'], { input: APP_POLICY });
    assert.deepEqual(r, { code: 0, stdout: 'Success! Uploaded policy: my-app\n', stderr: 'Policy name was converted from "My-App" to "my-app"\n' });
    const [read, readJson, readYaml, list, listJson, listYaml] = await Promise.all([
      ok(['policy', 'read', 'my-app']),
      ok(['policy', 'read', '-format=json', 'MY-APP']),
      ok(['policy', 'read', '-format=yaml', 'my-app']),
      ok(['policy', 'list']),
      ok(['policy', 'list', '-format=json']),
      ok(['policy', 'list', '-format=yaml']),
    ]);
    assert.equal(read, APP_POLICY);
    assert.equal(readJson, `{\n  "policy": ${JSON.stringify(APP_POLICY)}\n}\n`);
    assert.deepEqual(parseYaml(readYaml), { policy: APP_POLICY });
    assert.equal(list, 'default\nmy-app\nroot\n');
    assert.equal(listJson, '[\n  "default",\n  "my-app",\n  "root"\n]\n');
    assert.equal(listYaml, '- default\n- my-app\n- root\n');
  });

  test('write from a file; the policy is enforced for a token holding it', async () => {
    const file = path.join(cli.dir, 'ops.hcl');
    writeFileSync(file, 'path "kv/data/ops/*" { capabilities = ["create", "update", "read"] }\n');
    assert.equal(await ok(['policy', 'write', 'ops', file]), 'Success! Uploaded policy: ops\n');
    const created = await cli.root.post('auth/token/create', { policies: ['ops'] });
    assert.equal(created.status, 200, created.text);
    const caps = await client(cli.srv.addr, created.body.auth.client_token).post('sys/capabilities-self', { paths: ['kv/data/ops/x'] });
    assert.deepEqual(caps.body.data['kv/data/ops/x'], ['create', 'read', 'update']);
  });

  test('read of a missing policy, bad policies and unreadable files exit 2', async () => {
    assert.deepEqual(await coffer(['policy', 'read', 'nope']), { code: 2, stdout: '', stderr: 'No policy named: nope\n' });
    const bad = await coffer(['policy', 'write', 'bad', '-'], { input: 'path "x" {\n  capabilities = ["read", "bogus"]\n}\n' });
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^Error: Error making API request\.\n\nURL: POST .*\/v1\/sys\/policies\/acl\/bad\nCode: 400\. Errors:\n\n\* failed to parse policy: .*invalid capability "bogus"\n$/);
    const missing = path.join(cli.dir, 'absent.hcl');
    assert.deepEqual(await coffer(['policy', 'write', 'x', missing]), {
      code: 2,
      stdout: '',
      stderr: `Error: cannot open policy file "${missing}": no such file or directory\n`,
    });
    await apiError(['policy', 'delete', 'default'], 'DELETE', 'sys/policies/acl/default', 400, 'cannot delete "default" policy');
  });

  test('delete removes it', async () => {
    assert.equal(await ok(['policy', 'delete', 'my-app']), 'Success! Deleted policy: my-app\n');
    assert.equal(await ok(['policy', 'list']), 'default\nops\nroot\n');
    assert.equal((await coffer(['policy', 'read', 'my-app'])).code, 2);
  });

  test('fmt rewrites a messy file canonically, keeping block order and comments, and is idempotent', async () => {
    const file = path.join(cli.dir, 'messy.hcl');
    writeFileSync(
      file,
      [
        '# Policy for my-app',
        '',
        'path   "secret/data/my-app/*"',
        '{',
        'capabilities=["read","list"]   # read only',
        '}',
        '// admin',
        'path "secret/metadata/my-app/*" {',
        '    policy = "write"',
        '  allowed_parameters = {',
        '  "*"=[]',
        '      "ttl" = ["1h","2h"]',
        '  }',
        '  required_parameters = ["ttl"]',
        '  max_wrapping_ttl= 3600',
        '}',
        'path "auth/token/lookup-self" { capabilities = ["read"] }',
        '',
        '',
        '',
      ].join('\n'),
    );
    const expected = lines(
      '# Policy for my-app',
      '',
      'path "secret/data/my-app/*" {',
      '  capabilities = ["read", "list"] # read only',
      '}',
      '',
      '// admin',
      'path "secret/metadata/my-app/*" {',
      '  policy = "write"',
      '',
      '  allowed_parameters = {',
      '    "*"   = []',
      '    "ttl" = ["1h", "2h"]',
      '  }',
      '',
      '  required_parameters = ["ttl"]',
      '  max_wrapping_ttl    = 3600',
      '}',
      '',
      'path "auth/token/lookup-self" {',
      '  capabilities = ["read"]',
      '}',
    );
    assert.equal(await ok(['policy', 'fmt', file]), `Success! Formatted policy: ${file}\n`);
    assert.equal(readFileSync(file, 'utf8'), expected);
    assert.equal(await ok(['policy', 'fmt', file]), `Success! Formatted policy: ${file}\n`);
    assert.equal(readFileSync(file, 'utf8'), expected);
    // The server takes the formatted file.
    assert.equal(await ok(['policy', 'write', 'formatted', file]), 'Success! Uploaded policy: formatted\n');
  });

  test('fmt turns a JSON policy into HCL', async () => {
    const file = path.join(cli.dir, 'p.json');
    writeFileSync(file, JSON.stringify({ path: { 'secret/*': { capabilities: ['read'] }, 'sys/*': { policy: 'deny' } } }));
    assert.equal(await ok(['policy', 'fmt', file]), `Success! Formatted policy: ${file}\n`);
    assert.equal(readFileSync(file, 'utf8'), lines('path "secret/*" {', '  capabilities = ["read"]', '}', '', 'path "sys/*" {', '  policy = "deny"', '}'));
  });

  test('fmt errors name the file, exit 2 and leave it unchanged', async () => {
    const cases: Array<[string, string, string]> = [
      ['bad-cap.hcl', 'path "x" {\n  capabilities = ["read", "bogus"]\n}\n', 'path "x": invalid capability "bogus"'],
      ['no-caps.hcl', 'path "x" {\n  comment = "nothing granted"\n}\n', 'path "x": a path block needs "capabilities" or "policy"'],
      ['unknown-key.hcl', 'path "x" {\n  capabilities = ["read"]\n  mfa_methods = ["m"]\n}\n', 'path "x": unknown key "mfa_methods"'],
      ['top-level.hcl', 'paths "x" {\n  capabilities = ["read"]\n}\n', 'unknown key "paths" (a policy has only "path" blocks)'],
    ];
    await Promise.all(
      cases.map(async ([name, text, message]) => {
        const file = path.join(cli.dir, name);
        writeFileSync(file, text);
        assert.deepEqual(await coffer(['policy', 'fmt', file]), { code: 2, stdout: '', stderr: `Error: failed to parse policy file "${file}": ${message}\n` });
        assert.equal(readFileSync(file, 'utf8'), text);
      }),
    );
    const unclosed = path.join(cli.dir, 'unclosed.hcl');
    writeFileSync(unclosed, 'path "x" {\n  capabilities = ["read"]\n');
    const r = await coffer(['policy', 'fmt', unclosed]);
    assert.equal(r.code, 2);
    assert.ok(r.stderr.startsWith(`Error: failed to parse policy file "${unclosed}": `), r.stderr);
    const missing = path.join(cli.dir, 'missing.hcl');
    assert.deepEqual(await coffer(['policy', 'fmt', missing]), { code: 2, stdout: '', stderr: `Error: cannot read policy file "${missing}": no such file or directory\n` });
  });

  test('bad input is a usage error', async () => {
    const help = 'Usage: coffer policy <subcommand>';
    await Promise.all([
      usage(['policy', 'show', 'x'], 'unknown subcommand "show" for coffer policy', help),
      usage(['policy', 'write', 'only-name'], 'Not enough arguments (expected 2, got 1)', help),
      usage(['policy', 'read'], 'Not enough arguments (expected 1, got 0)', help),
      usage(['policy', 'list', 'extra'], 'Too many arguments (expected 0, got 1)', help),
      usage(['policy', 'fmt'], 'Not enough arguments (expected 1, got 0)', help),
    ]);
    const text = await ok(['policy', '-help']);
    for (const sub of ['write', 'read', 'list', 'delete', 'fmt']) assert.match(text, new RegExp(`\\$ coffer policy ${sub} `));
  });
});

describe('coffer audit', () => {
  test('list with no device says so and exits 2 (json prints an empty object)', async () => {
    const [table, jsonText] = await Promise.all([coffer(['audit', 'list']), ok(['audit', 'list', '-format=json'])]);
    assert.deepEqual(table, { code: 2, stdout: 'No audit devices are enabled.\n', stderr: '' });
    assert.equal(jsonText, '{}\n');
  });

  test('enable file devices, list them, disable them', async () => {
    const logFile = path.join(cli.dir, 'audit.log');
    const second = path.join(cli.dir, 'second.log');
    const enabled = await Promise.all([
      ok(['audit', 'enable', 'file', `file_path=${logFile}`]),
      ok(['audit', 'enable', '-path=ops/second', '-description=ops copy', 'file', `file_path=${second}`, 'mode=0640']),
    ]);
    assert.deepEqual(enabled, ['Success! Enabled the file audit device at: file/\n', 'Success! Enabled the file audit device at: ops/second/\n']);
    const [table, detailed, jsonText] = await Promise.all([
      ok(['audit', 'list']),
      ok(['audit', 'list', '-detailed']),
      ok(['audit', 'list', '-format=json']),
    ]);
    assert.equal(
      table,
      lines(
        'Path           Type    Description',
        '----           ----    -----------',
        'file/          file    n/a',
        'ops/second/    file    ops copy',
      ),
    );
    assert.equal(
      detailed,
      lines(
        'Path           Type    Description    Replication    Options',
        '----           ----    -----------    -----------    -------',
        `file/          file    n/a            replicated     file_path=${logFile}`,
        `ops/second/    file    ops copy       replicated     file_path=${second} mode=0640`,
      ),
    );
    assert.deepEqual(JSON.parse(jsonText), {
      'file/': { type: 'file', description: '', options: { file_path: logFile }, local: false, path: 'file/' },
      'ops/second/': { type: 'file', description: 'ops copy', options: { file_path: second, mode: '0640' }, local: false, path: 'ops/second/' },
    });
    // The devices really record: the list calls above are in the file.
    assert.match(readFileSync(logFile, 'utf8'), /"type":"request".*"path":"sys\/audit"/);
    assert.deepEqual(await Promise.all([ok(['audit', 'disable', 'ops/second']), ok(['audit', 'disable', 'file/'])]), [
      'Success! Disabled audit device (if it was enabled) at: ops/second/\n',
      'Success! Disabled audit device (if it was enabled) at: file/\n',
    ]);
    assert.equal((await coffer(['audit', 'list'])).stdout, 'No audit devices are enabled.\n');
  });

  test('server errors exit 2; a missing type is a usage error', async () => {
    await Promise.all([
      apiError(['audit', 'enable', 'syslog'], 'POST', 'sys/audit/syslog/', 400, 'unknown audit device type: "syslog"'),
      apiError(['audit', 'enable', 'file'], 'POST', 'sys/audit/file/', 400, 'file_path is required'),
    ]);
    const help = 'Usage: coffer audit <subcommand>';
    await Promise.all([
      usage(['audit', 'enable'], 'audit type missing (expected TYPE [K=V ...]; coffer has the "file" device)', help),
      usage(['audit', 'enable', 'file', 'file_path'], 'invalid key/value pair "file_path": format must be key=value', help),
      usage(['audit', 'disable'], 'Not enough arguments (expected 1, got 0)', help),
      usage(['audit', 'rotate'], 'unknown subcommand "rotate" for coffer audit', help),
    ]);
    const text = await ok(['audit', '-help']);
    for (const sub of ['enable', 'disable', 'list']) assert.match(text, new RegExp(`\\$ coffer audit ${sub} `));
  });
});
