/**
 * `coffer kv ...` run as a real child process against an in-process dev server, with outputs checked byte
 * for byte against what the vault CLI prints (headers, Key/Value tables, "n/a" for empty cells, messages,
 * exit codes).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cliDevServer } from '../helpers/cli.js';

const cli = cliDevServer('coffer-kv-test-', async ({ root }) => {
  const mounted = await root.post('sys/mounts/kv1', { type: 'kv' });
  assert.equal(mounted.status, 204, mounted.text);
});
const { coffer, ok } = cli;

async function keyMetadata(mountAndKey: string): Promise<any> {
  const [mount, ...rest] = mountAndKey.split('/');
  const res = await cli.root.get(`${mount}/metadata/${rest.join('/')}`);
  assert.equal(res.status, 200, res.text);
  return res.body.data;
}

const lines = (...l: string[]) => l.join('\n') + '\n';

/** The Metadata block of `kv get` / `kv put` on a v2 mount (key column as wide as "custom_metadata"). */
function metadataBlock(vm: { created_time: string; deletion_time: string; destroyed: boolean }, version: number, custom = '<nil>'): string {
  return lines(
    '======= Metadata =======',
    'Key                Value',
    '---                -----',
    `created_time       ${vm.created_time}`,
    `custom_metadata    ${custom}`,
    `deletion_time      ${vm.deletion_time || 'n/a'}`,
    `destroyed          ${vm.destroyed}`,
    `version            ${version}`,
  );
}

const PASSWORD = 'p@ss "quoted" w0rd';
const TEMPLATE = '{{ with secret "secret/data/app" }}{{ .Data.data.user }}{{ end }}';

// The tests use distinct keys, so they run concurrently (each one's steps stay in order).
describe('coffer kv', { concurrency: true }, () => {
  test('kv put and kv get on the v2 secret/ mount: path header, metadata and data tables, -mount form', async () => {
    const put = await ok(['kv', 'put', 'secret/my-api/config', 'user=admin', `password=${PASSWORD}`, `template=${TEMPLATE}`]);
    const meta = await keyMetadata('secret/my-api/config');
    const v1 = meta.versions['1'];
    assert.equal(
      put,
      lines('====== Secret Path ======', 'secret/data/my-api/config', '') + metadataBlock(v1, 1),
    );

    const expected =
      lines('====== Secret Path ======', 'secret/data/my-api/config', '') +
      metadataBlock(v1, 1) +
      lines(
        '',
        '====== Data ======',
        'Key         Value',
        '---         -----',
        `password    ${PASSWORD}`,
        `template    ${TEMPLATE}`,
        'user        admin',
      );
    const [inferred, withMount, leadingSlash] = await Promise.all([
      ok(['kv', 'get', 'secret/my-api/config']),
      ok(['kv', 'get', '-mount=secret', 'my-api/config']),
      ok(['kv', 'get', '-mount', 'secret/', '/my-api/config']),
    ]);
    assert.equal(inferred, expected);
    assert.equal(withMount, expected);
    assert.equal(leadingSlash, expected);

    // -field prints the raw value with no newline added, from the data (not the metadata).
    assert.equal(await ok(['kv', 'get', '-field=password', 'secret/my-api/config']), PASSWORD);

    // -format=json is the server's envelope.
    const api = await cli.root.get('secret/data/my-api/config');
    const json = JSON.parse(await ok(['kv', 'get', '-format=json', 'secret/my-api/config']));
    delete json.request_id;
    delete api.body.request_id;
    assert.deepEqual(json, api.body);
    assert.deepEqual(json.data.data, { user: 'admin', password: PASSWORD, template: TEMPLATE });

    // put -format=json: the envelope with the new version's metadata; -field reads that metadata.
    const putJson = JSON.parse(await ok(['kv', 'put', '-format=json', 'secret/my-api/config', 'user=admin', `password=${PASSWORD}`]));
    assert.equal(putJson.data.version, 2);
    assert.equal(putJson.data.destroyed, false);
    const putYaml = parseYaml(await ok(['kv', 'put', '-format=yaml', 'secret/my-api/config', `template=${TEMPLATE}`]));
    assert.equal(putYaml.data.version, 3);
    assert.equal(await ok(['kv', 'get', '-field', 'template', '-mount=secret', 'my-api/config']), TEMPLATE);
  });

  test('versions: -version, check-and-set conflicts, patch (PATCH, -method=rw, -remove-data)', async () => {
    await ok(['kv', 'put', 'secret/versioned', 'a=1', 'b=one']);
    await ok(['kv', 'put', '-cas=1', 'secret/versioned', 'a=2', 'b=two']);

    // A CAS mismatch: exit 2, Vault's message with the server's error on stderr, nothing on stdout.
    const conflict = await coffer(['kv', 'put', '-cas=1', 'secret/versioned', 'a=3']);
    assert.equal(conflict.code, 2);
    assert.equal(conflict.stdout, '');
    assert.match(conflict.stderr, /^Error writing data to secret\/data\/versioned: Error making API request\.\n\nURL: \S+ \S+\/v1\/secret\/data\/versioned\nCode: 400\. Errors:\n\n\* check-and-set parameter did not match the current version\n$/);
    const mustNotExist = await coffer(['kv', 'put', '-mount=secret', '-cas=0', 'versioned', 'a=3']);
    assert.equal(mustNotExist.code, 2);
    assert.match(mustNotExist.stderr, /check-and-set parameter did not match the current version/);

    const meta = await keyMetadata('secret/versioned');
    assert.equal(meta.current_version, 2);
    const v1 = await ok(['kv', 'get', '-version=1', 'secret/versioned']);
    assert.equal(
      v1,
      lines('==== Secret Path ====', 'secret/data/versioned', '') +
        metadataBlock(meta.versions['1'], 1) +
        lines('', '== Data ==', 'Key    Value', '---    -----', 'a      1', 'b      one'),
    );
    assert.equal(await ok(['kv', 'get', '-version', '2', '-field=b', 'secret/versioned']), 'two');

    // Patch (HTTP PATCH): only the given key changes; the output is the new version's metadata.
    const patched = await ok(['kv', 'patch', 'secret/versioned', 'a=patched']);
    const m3 = (await keyMetadata('secret/versioned')).versions['3'];
    assert.equal(patched, lines('==== Secret Path ====', 'secret/data/versioned', '') + metadataBlock(m3, 3));
    assert.deepEqual((await cli.root.get('secret/data/versioned')).body.data.data, { a: 'patched', b: 'two' });

    // -cas on patch: a stale version is refused by the server.
    const stale = await coffer(['kv', 'patch', '-cas=1', 'secret/versioned', 'a=x']);
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /^Error writing data to secret\/data\/versioned: [\s\S]*check-and-set parameter did not match the current version/);

    // -method=rw reads, merges and writes back; -remove-data drops a key.
    await ok(['kv', 'patch', '-method=rw', '-mount=secret', 'versioned', 'c=three']);
    assert.deepEqual((await cli.root.get('secret/data/versioned')).body.data.data, { a: 'patched', b: 'two', c: 'three' });
    await ok(['kv', 'patch', '-remove-data=a', 'secret/versioned', 'b=2']);
    const latest = (await cli.root.get('secret/data/versioned')).body.data;
    assert.deepEqual(latest.data, { b: '2', c: 'three' });
    assert.equal(latest.metadata.version, 5);

    const badMethod = await coffer(['kv', 'patch', '-method=merge', 'secret/versioned', 'a=1']);
    assert.equal(badMethod.code, 2);
    assert.equal(badMethod.stderr, 'Unsupported method provided to -method flag: merge\n');
    const missing = await coffer(['kv', 'patch', 'secret/never-written', 'a=1']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^Error writing data to secret\/data\/never-written: Error making API request\.[\s\S]*Code: 404/);
  });

  test('kv patch falls back to read-then-write when the policy lacks "patch"', async () => {
    const policy = await cli.root.put('sys/policies/acl/kv-no-patch', {
      policy: 'path "secret/data/limited/*" { capabilities = ["create", "read", "update"] }',
    });
    assert.equal(policy.status, 204, policy.text);
    const created = await cli.root.post('auth/token/create', { policies: ['kv-no-patch'] });
    assert.equal(created.status, 200, created.text);
    const token = created.body.auth.client_token as string;
    assert.equal((await cli.root.post('secret/data/limited/x', { data: { a: '1', b: '1' } })).status, 200);

    const r = await coffer(['kv', 'patch', 'secret/limited/x', 'a=2'], { env: { VAULT_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      'Data was written to secret/data/limited/x but we recommend that you add the "patch" capability to your ACL policy in order to use HTTP PATCH in the future.\n',
    );
    const m2 = (await keyMetadata('secret/limited/x')).versions['2'];
    assert.equal(r.stdout, lines('==== Secret Path ====', 'secret/data/limited/x', '') + metadataBlock(m2, 2));
    assert.deepEqual((await cli.root.get('secret/data/limited/x')).body.data.data, { a: '2', b: '1' });

    // -method=patch means PATCH only: the 403 is the answer.
    const strict = await coffer(['kv', 'patch', '-method=patch', 'secret/limited/x', 'a=3'], { env: { VAULT_TOKEN: token } });
    assert.equal(strict.code, 2);
    assert.match(strict.stderr, /^Error writing data to secret\/data\/limited\/x: Error making API request\.[\s\S]*Code: 403/);
  });

  test('kv delete, undelete, destroy and metadata get with per-version tables', async () => {
    await ok(['kv', 'put', 'secret/lifecycle', 'v=1']);
    await ok(['kv', 'put', 'secret/lifecycle', 'v=2']);

    assert.equal(await ok(['kv', 'delete', 'secret/lifecycle']), 'Success! Data deleted (if it existed) at: secret/data/lifecycle\n');
    // A deleted version: like vault, the metadata (with its deletion_time) and no data, exit 0.
    let meta = await keyMetadata('secret/lifecycle');
    assert.notEqual(meta.versions['2'].deletion_time, '');
    assert.equal(
      await ok(['kv', 'get', 'secret/lifecycle']),
      lines('==== Secret Path ====', 'secret/data/lifecycle', '') + metadataBlock(meta.versions['2'], 2) + '\n',
    );
    const noData = await coffer(['kv', 'get', '-field=v', 'secret/lifecycle']);
    assert.equal(noData.code, 2);
    assert.equal(noData.stderr, 'No data found at secret/data/lifecycle\n');

    assert.equal(await ok(['kv', 'undelete', '-versions=2', 'secret/lifecycle']), 'Success! Data written to: secret/undelete/lifecycle\n');
    assert.equal(await ok(['kv', 'get', '-field=v', 'secret/lifecycle']), '2');

    assert.equal(
      await ok(['kv', 'destroy', '-mount=secret', '-versions=1', 'lifecycle']),
      'Success! Data written to: secret/destroy/lifecycle\n',
    );
    // -versions on delete: soft-deletes exactly those versions (the message names the data path, like vault).
    assert.equal(
      await ok(['kv', 'delete', '-versions', '2', 'secret/lifecycle']),
      'Success! Data deleted (if it existed) at: secret/data/lifecycle\n',
    );
    meta = await keyMetadata('secret/lifecycle');
    assert.equal(meta.versions['1'].destroyed, true);
    assert.notEqual(meta.versions['2'].deletion_time, '');
    await ok(['kv', 'undelete', '-versions=1,2', 'secret/lifecycle']);
    meta = await keyMetadata('secret/lifecycle');
    assert.equal(meta.versions['2'].deletion_time, '');

    assert.equal(
      await ok(['kv', 'metadata', 'get', 'secret/lifecycle']),
      lines(
        '===== Metadata Path =====',
        'secret/metadata/lifecycle',
        '',
        '========== Metadata ==========',
        'Key                     Value',
        '---                     -----',
        'cas_required            false',
        `created_time            ${meta.created_time}`,
        'current_version         2',
        'custom_metadata         <nil>',
        'delete_version_after    0s',
        'max_versions            0',
        'oldest_version          0',
        `updated_time            ${meta.updated_time}`,
        '',
        '====== Version 1 ======',
        'Key              Value',
        '---              -----',
        `created_time     ${meta.versions['1'].created_time}`,
        'deletion_time    n/a',
        'destroyed        true',
        '',
        '====== Version 2 ======',
        'Key              Value',
        '---              -----',
        `created_time     ${meta.versions['2'].created_time}`,
        'deletion_time    n/a',
        'destroyed        false',
      ),
    );
    const metaJson = JSON.parse(await ok(['kv', 'metadata', 'get', '-format=json', '-mount=secret', 'lifecycle']));
    assert.deepEqual(metaJson.data, meta);
  });

  test('kv metadata put and delete: settings, custom metadata, cas_required enforced', async () => {
    await ok(['kv', 'put', 'secret/meta/key', 'a=1']);
    assert.equal(
      await ok([
        'kv', 'metadata', 'put', '-max-versions=2', '-cas-required', '-delete-version-after=1h',
        '-custom-metadata=owner=ops', '-custom-metadata', 'team=platform a', 'secret/meta/key',
      ]),
      'Success! Data written to: secret/metadata/meta/key\n',
    );
    const meta = await keyMetadata('secret/meta/key');
    assert.equal(meta.max_versions, 2);
    assert.equal(meta.cas_required, true);
    assert.equal(meta.delete_version_after, '1h0m0s');
    assert.deepEqual(meta.custom_metadata, { owner: 'ops', team: 'platform a' });
    const table = await ok(['kv', 'metadata', 'get', 'secret/meta/key']);
    assert.ok(table.startsWith(lines('===== Metadata Path =====', 'secret/metadata/meta/key', '', '========== Metadata ==========')), table);
    assert.ok(table.includes('\ncas_required            true\n'), table);
    assert.ok(table.includes('\ncustom_metadata         map[owner:ops team:platform a]\n'), table);
    assert.ok(table.includes('\ndelete_version_after    1h0m0s\n'), table);
    assert.ok(table.includes('\nmax_versions            2\n'), table);

    // The key now requires check-and-set.
    const noCas = await coffer(['kv', 'put', 'secret/meta/key', 'a=2']);
    assert.equal(noCas.code, 2);
    assert.match(noCas.stderr, /check-and-set parameter required for this call/);
    const withCas = await ok(['kv', 'put', '-cas=1', 'secret/meta/key', 'a=2']);
    assert.ok(withCas.includes('\ncustom_metadata    map[owner:ops team:platform a]\n'), withCas);
    await ok(['kv', 'metadata', 'put', '-cas-required=false', '-mount=secret', 'meta/key']);
    assert.equal((await keyMetadata('secret/meta/key')).cas_required, false);

    assert.equal(
      await ok(['kv', 'metadata', 'delete', 'secret/meta/key']),
      'Success! Data deleted (if it existed) at: secret/metadata/meta/key\n',
    );
    const gone = await coffer(['kv', 'get', 'secret/meta/key']);
    assert.equal(gone.code, 2);
    assert.equal(gone.stdout, '');
    assert.equal(gone.stderr, 'No value found at secret/data/meta/key\n');
    const goneMeta = await coffer(['kv', 'metadata', 'get', 'secret/meta/key']);
    assert.equal(goneMeta.code, 2);
    assert.equal(goneMeta.stderr, 'No value found at secret/metadata/meta/key\n');

    const badDuration = await coffer(['kv', 'metadata', 'put', '-delete-version-after=soon', 'secret/meta/key']);
    assert.equal(badDuration.code, 1);
    assert.match(badDuration.stderr, /-delete-version-after/);
  });

  test('kv list: keys and folders, -mount form, json, missing path', async () => {
    await Promise.all([
      cli.root.post('secret/data/listing/app/one', { data: { a: '1' } }),
      cli.root.post('secret/data/listing/app/two', { data: { a: '1' } }),
      cli.root.post('secret/data/listing/app/sub/three', { data: { a: '1' } }),
    ]);
    const expected = lines('Keys', '----', 'one', 'sub/', 'two');
    const [a, b, c] = await Promise.all([
      ok(['kv', 'list', 'secret/listing/app']),
      ok(['kv', 'list', 'secret/listing/app/']),
      ok(['kv', 'list', '-mount=secret', 'listing/app']),
    ]);
    assert.equal(a, expected);
    assert.equal(b, expected);
    assert.equal(c, expected);
    assert.deepEqual(JSON.parse(await ok(['kv', 'list', '-format=json', 'secret/listing/app'])), ['one', 'sub/', 'two']);
    assert.ok((await ok(['kv', 'list', '-mount=secret'])).includes('\nlisting/\n'));

    const missing = await coffer(['kv', 'list', 'secret/listing/nothing-here']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'No value found at secret/metadata/listing/nothing-here\n');
    const missingJson = await coffer(['kv', 'list', '-format=json', 'secret/listing/nothing-here']);
    assert.equal(missingJson.code, 2);
    assert.deepEqual(JSON.parse(missingJson.stdout), {});
  });

  test('values from files and stdin: key=@file, key=-, and a lone - with a JSON object', async () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB "quoted" {{not a template}}\n-----END CERTIFICATE-----\n';
    const file = path.join(cli.dir, 'cert.pem');
    writeFileSync(file, pem);
    await ok(['kv', 'put', 'secret/files/tls', `cert=@${file}`, 'name=web server']);
    // Raw field output: byte for byte the file, its own trailing newline and nothing more.
    assert.equal(await ok(['kv', 'get', '-field=cert', 'secret/files/tls']), pem);
    assert.equal(await ok(['kv', 'get', '-field=name', 'secret/files/tls']), 'web server');

    await ok(['kv', 'put', 'secret/files/stdin', 'token=-', 'kind=api'], { input: 's3cr3t from "stdin"' });
    assert.deepEqual((await cli.root.get('secret/data/files/stdin')).body.data.data, {
      token: 's3cr3t from "stdin"',
      kind: 'api',
    });

    const body = { user: 'svc', nested: { list: [1, 2], flag: true }, tmpl: '{{ .Env.HOME }}' };
    await ok(['kv', 'put', 'secret/files/json', '-'], { input: JSON.stringify(body) });
    assert.deepEqual((await cli.root.get('secret/data/files/json')).body.data.data, body);
    // Non-string values: table cells in Go's %v form; -field as JSON.
    const table = await ok(['kv', 'get', 'secret/files/json']);
    assert.ok(table.endsWith(lines('Key       Value', '---       -----', 'nested    map[flag:true list:[1 2]]', 'tmpl      {{ .Env.HOME }}', 'user      svc')), table);
    assert.equal(await ok(['kv', 'get', '-field=nested', 'secret/files/json']), '{"list":[1,2],"flag":true}');

    // key=@file for a file that does not exist: a usage error.
    const noFile = await coffer(['kv', 'put', 'secret/files/x', `a=@${path.join(cli.dir, 'missing.txt')}`]);
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /missing\.txt/);
  });

  test('a KV version 1 mount: plain paths, one data table, v2-only commands refused', async () => {
    assert.equal(await ok(['kv', 'put', 'kv1/app/db', 'user=admin', 'pass=a b "c"']), 'Success! Data written to: kv1/app/db\n');
    const expected = lines('==== Data ====', 'Key     Value', '---     -----', 'pass    a b "c"', 'user    admin');
    assert.equal(await ok(['kv', 'get', 'kv1/app/db']), expected);
    assert.equal(await ok(['kv', 'get', '-mount=kv1', 'app/db']), expected);
    assert.equal(await ok(['kv', 'get', '-field=pass', 'kv1/app/db']), 'a b "c"');
    assert.equal(await ok(['kv', 'put', '-mount=kv1', 'app/cache', 'ttl=1h']), 'Success! Data written to: kv1/app/cache\n');
    assert.equal(await ok(['kv', 'list', 'kv1/app']), lines('Keys', '----', 'cache', 'db'));

    const refused: [string[], number, string][] = [
      [['kv', 'undelete', '-versions=1', 'kv1/app/db'], 1, 'Undelete not supported on KV Version 1\n'],
      [['kv', 'destroy', '-versions=1', 'kv1/app/db'], 1, 'Destroy not supported on KV Version 1\n'],
      [['kv', 'metadata', 'get', 'kv1/app/db'], 1, 'Metadata not supported on KV Version 1\n'],
      [['kv', 'patch', 'kv1/app/db', 'user=root'], 2, 'KV engine mount must be version 2 for patch support\n'],
    ];
    const results = await Promise.all(refused.map(([args]) => coffer(args)));
    results.forEach((r, i) => {
      assert.equal(r.code, refused[i][1], refused[i][0].join(' '));
      assert.equal(r.stderr, refused[i][2]);
      assert.equal(r.stdout, '');
    });

    assert.equal(await ok(['kv', 'delete', 'kv1/app/db']), 'Success! Data deleted (if it existed) at: kv1/app/db\n');
    const gone = await coffer(['kv', 'get', 'kv1/app/db']);
    assert.equal(gone.code, 2);
    assert.equal(gone.stderr, 'No value found at kv1/app/db\n');
  });

  test('usage errors exit 1 with the help; a missing field exits 1; -help prints the help', async () => {
    const cases: [string[], RegExp][] = [
      [['kv', 'get'], /^Not enough arguments \(expected 1, got 0\)\n\nUsage: coffer kv /],
      [['kv', 'get', 'secret/a', 'secret/b'], /^Too many arguments \(expected 1, got 2\)\n\nUsage: coffer kv /],
      [['kv', 'get', '-version=abc', 'secret/a'], /^invalid value "abc" for flag -version: parse error\n\nUsage: coffer kv /],
      [['kv', 'put', 'secret/a'], /^Must supply data\n\nUsage: coffer kv /],
      [['kv', 'put', 'secret/a', 'novalue'], /^invalid key\/value pair "novalue"/],
      [['kv', 'get', '-bogus', 'secret/a'], /^flag provided but not defined: -bogus\n\nUsage: coffer kv /],
      [['kv', 'undelete', 'secret/a'], /^No versions provided, use the "-versions" flag to specify the version to undelete\.\n/],
      [['kv', 'frobnicate', 'secret/a'], /^unknown subcommand "frobnicate" for "coffer kv"\n\nUsage: coffer kv /],
      [['kv', 'get', '-format=xml', 'secret/a'], /-format/],
    ];
    const results = await Promise.all(cases.map(([args]) => coffer(args)));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, `${cases[i][0].join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, cases[i][1]);
      assert.ok(r.stderr.includes('kv metadata put'), 'the help follows the message');
      assert.equal(r.stdout, '');
    });

    await ok(['kv', 'put', 'secret/usage/field', 'present=yes']);
    const missingField = await coffer(['kv', 'get', '-field=absent', 'secret/usage/field']);
    assert.equal(missingField.code, 1);
    assert.equal(missingField.stderr, 'Field "absent" not present in secret\n');
    assert.equal(missingField.stdout, '');

    const bare = await coffer(['kv']);
    assert.equal(bare.code, 1);
    assert.ok(bare.stderr.startsWith('Usage: coffer kv <subcommand>'));

    const help = await coffer(['kv', 'get', '-help']);
    assert.equal(help.code, 0);
    for (const sub of ['get', 'put', 'patch', 'delete', 'undelete', 'destroy', 'list', 'metadata get', 'metadata put', 'metadata delete']) {
      assert.ok(help.stdout.includes(`\n      $ coffer kv ${sub} `), `help has an example of kv ${sub}`);
    }
    for (const flag of ['-mount=', '-version=', '-versions=', '-cas=', '-method=', '-field=', '-format=', '-max-versions=', '-cas-required', '-delete-version-after=', '-custom-metadata=']) {
      assert.ok(help.stdout.includes(flag), `help documents ${flag}`);
    }
  });

  test('environment: COFFER_ADDR/COFFER_TOKEN win over VAULT_ADDR/VAULT_TOKEN; server errors exit 2', async () => {
    await ok(['kv', 'put', 'secret/env/check', 'who=coffer']);
    const out = await ok(['kv', 'get', '-field=who', 'secret/env/check'], {
      env: { COFFER_ADDR: cli.srv.addr, COFFER_TOKEN: cli.srv.token, VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'not-a-token' },
    });
    assert.equal(out, 'coffer');

    // A bad token: the preflight's 403 is printed as is, exit 2.
    const denied = await coffer(['kv', 'get', 'secret/env/check'], { env: { VAULT_TOKEN: 'not-a-token' } });
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /^Error making API request\.\n\nURL: GET \S+\/v1\/sys\/internal\/ui\/mounts\/secret\/env\/check\nCode: 403\. Errors:/);
    // An unknown mount: Vault's preflight message.
    const unknown = await coffer(['kv', 'get', 'no-such-mount/x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /preflight capability check returned 403, please ensure client's policies grant access to path "no-such-mount\/x\/"/);
    // No server: one line naming the address, exit 2.
    const down = await coffer(['kv', 'get', 'secret/env/check'], { env: { VAULT_ADDR: 'http://127.0.0.1:1', VAULT_MAX_RETRIES: '0' } });
    assert.equal(down.code, 2);
    assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
    assert.match(down.stderr, /127\.0\.0\.1:1/);
  });
});
