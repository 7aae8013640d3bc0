/**
 * The AVP compatibility suite (../shared/conformance/avp): argocd-vault-plugin 1.18's own fixtures render
 * byte-for-byte, through the real launcher as a child process, against a live dev server loaded with seed.json.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { COFFER_BIN } from '../helpers/process.js';
import { startDevServer, type TestServer } from '../helpers/server.js';
import { AVP_DIR, loadSeed, runPlugin } from '../helpers/argocd.js';
import { parseManifests } from '../../argocd-plugin/input.js';
import { printDocument } from '../../argocd-plugin/output.js';

describe('AVP fixtures', () => {
  let srv: TestServer;
  let env: Record<string, string>;
  before(async () => {
    srv = await startDevServer();
    await loadSeed(srv);
    env = { VAULT_ADDR: srv.addr, VAULT_TOKEN: srv.token, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'token', HOME: '/nonexistent' };
  });
  after(() => srv.close());

  const expected = (file: string) => readFileSync(path.join(AVP_DIR, 'output', file), 'utf8');

  it('renders the whole input directory (recursive, lexical order, .yaml/.yml/.json only) as output/all.yaml', async () => {
    const r = await runPlugin(['generate', 'input/nonempty'], { env });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, expected('all.yaml'));
  });

  it('leaves a manifest annotated avp.kubernetes.io/ignore untouched (output/ignored-secret.yaml)', async () => {
    const r = await runPlugin(['generate', 'input/nonempty/ignored-secret.yaml'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected('ignored-secret.yaml'));
  });

  it('reads standard input with "-" (output/stdin-full.yaml)', async () => {
    const r = await runPlugin(['generate', '-'], { env, input: readFileSync(path.join(AVP_DIR, 'input/nonempty/full.yaml'), 'utf8') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected('stdin-full.yaml'));
  });

  it('is also `coffer argocd generate`', async () => {
    const r = await runPlugin(['argocd', 'generate', 'input/nonempty'], { env, bin: [COFFER_BIN] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected('all.yaml'));
  });

  it('fails on invalid.yaml naming line 18, with nothing on stdout', async () => {
    const r = await runPlugin(['generate', '-'], { env, input: readFileSync(path.join(AVP_DIR, 'input/invalid.yaml'), 'utf8') });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /line 18/);
    assert.match(r.stderr, /stdin: YAML syntax error/);
  });

  it('fails on a directory without documents', async () => {
    const r = await runPlugin(['generate', 'input/empty'], { env });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no manifests were found in input\/empty/);
  });

  // The small-*.yaml outputs are AVP's printed results from its Go tests; printing what they parse to must give
  // them back byte for byte (they exercise ConfigMap/Secret shapes, lists, literal blocks and single quotes).
  for (const file of readdirSync(path.join(AVP_DIR, 'output')).filter((f) => f.startsWith('small-') || f === 'secret-remove-missing.yaml')) {
    it(`prints ${file} exactly as AVP did`, () => {
      const text = readFileSync(path.join(AVP_DIR, 'output', file), 'utf8');
      const [m] = parseManifests(text, file);
      assert.equal(printDocument(m.value), text.endsWith('\n') ? text : `${text}\n`);
    });
  }
});
