/**
 * Bad input and failures, through the real launcher as a child process: each exits 1 with a message on stderr
 * that names the file, the document and the placeholder, prints nothing on stdout (not even the documents that
 * rendered), and never shows a secret value.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import { runPlugin, type PluginRun } from '../helpers/argocd.js';

const SECRET = 's3cr3t-not-json-value';

function widget(name: string, data: string): string {
  return `apiVersion: v1\nkind: Widget\nmetadata:\n  name: ${name}\ndata:\n  ${data}\n`;
}

function assertFailed(r: PluginRun, ...patterns: RegExp[]): void {
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  for (const p of patterns) assert.match(r.stderr, p);
  assert.ok(!r.stderr.includes(SECRET), 'no secret value in the message');
  assert.ok(!/\n\s+at .+:\d+:\d+/.test(r.stderr), 'no stack trace');
}

describe('bad input and failures', () => {
  let srv: TestServer;
  let dir: string;
  let env: Record<string, string>;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };

  before(async () => {
    srv = await startDevServer();
    const root = client(srv.addr, srv.token);
    await root.post('sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    await root.post('kv/data/app', { data: { user: 'admin', blob: SECRET } });
    await root.post('kv/data/private', { data: { key: SECRET } });
    await root.post('kv/data/alias', { data: { yaml: `*${SECRET}` } });
    await root.post('kv/data/regex', { data: { json: JSON.stringify({ items: [{ s: 'x', p: `${SECRET}(?=x)` }] }) } });
    dir = mkdtempSync(path.join(tmpdir(), 'coffer-argocd-errors-'));
    env = { VAULT_ADDR: srv.addr, VAULT_TOKEN: srv.token, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'token', HOME: dir };
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unreadable file', async () => {
    mkdirSync(path.join(dir, 'unreadable'));
    symlinkSync(path.join(dir, 'does-not-exist'), path.join(dir, 'unreadable/broken.yaml'));
    const r = await runPlugin(['generate', path.join(dir, 'unreadable')], { env });
    assertFailed(r, /cannot read .*unreadable\/broken\.yaml: ENOENT/);
  });

  it('a YAML syntax error names the file and line', async () => {
    const f = file('syntax/bad.yaml', 'apiVersion: v1\nkind: Widget\nmetadata:\n  name: [unclosed\n');
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /syntax\/bad\.yaml: YAML syntax error at line \d+/);
  });

  it('a document without kind names the file and document', async () => {
    const f = file('nokind.yaml', `${widget('a', 'k: v')}---\napiVersion: v1\nmetadata:\n  name: b\n`);
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /nokind\.yaml, document 2: Object 'Kind' is missing/);
  });

  it('an unknown modifier', async () => {
    const f = file('modifier.yaml', widget('m', 'k: <path:kv/data/app#user | base64encode | frobnicate>'));
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /modifier\.yaml, document 1 \(Widget\/m\): placeholder <path:kv\/data\/app#user \| base64encode \| frobnicate> in key "k": invalid modifier: frobnicate/);
  });

  it('a missing secret', async () => {
    const f = file('missing.yaml', widget('m', 'k: <path:kv/data/nothing-here#user>'));
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /missing\.yaml, document 1 \(Widget\/m\): placeholder <path:kv\/data\/nothing-here#user> in key "k": could not find secrets at path kv\/data\/nothing-here/);
  });

  it('all missing keys of a run are reported together, and the documents that rendered are not printed', async () => {
    const f = file('many.yaml', `${widget('ok', 'k: <path:kv/data/app#user>')}---\n${widget('one', 'k: <path:kv/data/app#nope1>')}---\n${widget('two', 'k: <path:kv/data/app#nope2>')}`);
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /2 problems, nothing was written/, /document 2 \(Widget\/one\).*missing value for key nope1/, /document 3 \(Widget\/two\).*missing value for key nope2/);
    assert.ok(!r.stderr.includes('admin'));
  });

  it('permission denied', async () => {
    const root = client(srv.addr, srv.token);
    await root.put('sys/policies/acl/app-only', { policy: 'path "kv/data/app" { capabilities = ["read"] }' });
    const token = (await root.post('auth/token/create', { policies: ['app-only'] })).body.auth.client_token as string;
    const f = file('denied.yaml', `${widget('a', 'k: <path:kv/data/app#user>')}---\n${widget('b', 'k: <path:kv/data/private#key>')}`);
    const r = await runPlugin(['generate', f], { env: { ...env, VAULT_TOKEN: token } });
    assertFailed(r, /denied\.yaml, document 2 \(Widget\/b\): placeholder <path:kv\/data\/private#key> in key "k": permission denied reading kv\/data\/private/);
  });

  it('a modifier failing on a secret value does not show the value', async () => {
    const f = file('parse.yaml', widget('p', 'k: <path:kv/data/app#blob | jsonParse>'));
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /parse\.yaml, document 1 \(Widget\/p\): placeholder <path:kv\/data\/app#blob \| jsonParse> in key "k": jsonParse: the value is not valid JSON/);
  });

  it('yamlParse of an alias to no anchor fails at the modifier with the parser\'s reason, without the alias name', async () => {
    const f = file('alias.yaml', widget('a', 'k: <path:kv/data/alias#yaml | yamlParse>'));
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /alias\.yaml, document 1 \(Widget\/a\): placeholder <path:kv\/data\/alias#yaml \| yamlParse> in key "k": yamlParse: the value is not valid YAML: unresolved alias \(the anchor must be set before the alias\)/);
  });

  it('an alias to no anchor in a manifest is a YAML error naming file and alias', async () => {
    const f = file('manifest-alias.yaml', widget('m', 'k: *nowhere'));
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /manifest-alias\.yaml.*unresolved alias \(the anchor must be set before the alias\): nowhere/);
  });

  it('an invalid =~ pattern from a secret is named by its error, not shown', async () => {
    const f = file('regex.yaml', widget('r', 'k: <path:kv/data/regex#json | jsonPath {.items[?(@.s =~ @.p)].s}>'));
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /regex\.yaml, document 1 \(Widget\/r\): placeholder <path:kv\/data\/regex#json \| jsonPath \{\.items\[\?\(@\.s =~ @\.p\)\]\.s\}> in key "k": jsonPath: invalid regular expression in a =~ filter: invalid or unsupported Perl syntax/);
    assert.ok(!r.stderr.includes('(?=x)'), 'no part of the pattern');
  });

  it('the server is down', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const f = file('down.yaml', widget('d', 'k: <path:kv/data/app#user>'));
    const r = await runPlugin(['generate', f], { env: { ...env, VAULT_ADDR: `http://127.0.0.1:${port}` } });
    assertFailed(r, new RegExp(`cannot reach the server at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });

  it('remove-missing on a kind other than Secret or ConfigMap', async () => {
    const f = file('remove.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations:\n    avp.kubernetes.io/path: kv/data/app\n    avp.kubernetes.io/remove-missing: "true"\nspec:\n  replicas: 1\n');
    const r = await runPlugin(['generate', f], { env });
    assertFailed(r, /remove\.yaml, document 1 \(Deployment\/d\): the remove-missing annotation can only be used on Secret or ConfigMap resources/);
  });

  it('a path that holds no manifest files, and one that does not exist', async () => {
    mkdirSync(path.join(dir, 'nofiles'));
    writeFileSync(path.join(dir, 'nofiles/readme.txt'), 'x');
    assertFailed(await runPlugin(['generate', path.join(dir, 'nofiles')], { env }), /no YAML or JSON files were found in .*nofiles/);
    assertFailed(await runPlugin(['generate', path.join(dir, 'absent')], { env }), /cannot read .*absent: ENOENT/);
  });

  it('missing settings: no token, an unknown auth type, an unknown backend type', async () => {
    const f = file('settings.yaml', widget('s', 'k: <path:kv/data/app#user>'));
    assertFailed(await runPlugin(['generate', f], { env: { ...env, VAULT_TOKEN: undefined as unknown as string } }), /VAULT_TOKEN \(or COFFER_TOKEN\) for token authentication cannot be empty/);
    assertFailed(await runPlugin(['generate', f], { env: { ...env, AVP_AUTH_TYPE: 'github' } }), /supported Authentication Type, received github/);
    assertFailed(await runPlugin(['generate', f], { env: { ...env, AVP_TYPE: 'awssecretsmanager' } }), /supported Vault Type, received awssecretsmanager/);
    assertFailed(await runPlugin(['generate', f], { env: { ...env, AVP_AUTH_TYPE: 'approle' } }), /AVP_ROLE_ID and AVP_SECRET_ID for approle authentication cannot be empty/);
    assertFailed(await runPlugin(['generate', f], { env: { ...env, AVP_AUTH_TYPE: 'k8s' } }), /AVP_K8S_ROLE cannot be empty/);
  });

  it('a missing Kubernetes service account token file', async () => {
    const f = file('k8s.yaml', widget('s', 'k: <path:kv/data/app#user>'));
    const r = await runPlugin(['generate', f], { env: { ...env, AVP_AUTH_TYPE: 'k8s', AVP_K8S_ROLE: 'argocd', AVP_K8S_TOKEN_PATH: path.join(dir, 'no-token') } });
    assertFailed(r, /cannot read the Kubernetes service account token at .*no-token: ENOENT/);
  });

  it('usage errors print the help', async () => {
    const r = await runPlugin(['generate'], { env });
    assertFailed(r, /<path> argument required/, /Usage: coffer-argocd-plugin generate/);
  });
});
