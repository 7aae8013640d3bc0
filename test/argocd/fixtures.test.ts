/**
 * Conformance fixtures: manifests rendered byte-for-byte through the real launcher as a child process, against a
 * live dev server loaded with the set's seed.json. Two sets run through the same checks:
 * - the repository's own (test/fixtures/argocd), always;
 * - argocd-vault-plugin 1.18's own fixtures (conformance/avp in the team's shared directory), in addition, when
 *   that directory is beside the repository; otherwise that suite is reported as skipped with the reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { COFFER_BIN } from '../helpers/process.js';
import { startDevServer, type TestServer } from '../helpers/server.js';
import { FIXTURES_DIR, loadSeed, runPlugin } from '../helpers/argocd.js';
import { sharedSource } from '../helpers/shared.js';
import { parseManifests } from '../../argocd-plugin/input.js';
import { printDocument } from '../../argocd-plugin/output.js';

/** Where one fixture set keeps each case (paths relative to its directory, which is the launcher's cwd). */
interface FixtureSet {
  title: string;
  dir: string;
  skip: false | string;
  /** A directory rendered whole (recursive, lexical order, .yaml/.yml/.json only), and its expected output. */
  tree: { input: string; output: string };
  /** A manifest annotated avp.kubernetes.io/ignore, rendered untouched. */
  ignored: { input: string; output: string };
  /** A file fed on standard input with "-". */
  stdin: { input: string; output: string };
  /** A YAML syntax error, and the line the message must name. */
  invalid: { input: string; line: number };
  /** A directory whose YAML files hold no documents. */
  empty: string;
  /** Files in printed form: parsing then printing each must give it back byte for byte. */
  printed: (dir: string) => string[];
}

const OWN: FixtureSet = {
  title: 'coffer fixtures (test/fixtures/argocd)',
  dir: FIXTURES_DIR,
  skip: false,
  tree: { input: 'input/tree', output: 'expected/tree.yaml' },
  ignored: { input: 'input/tree/c-ignored.yaml', output: 'expected/ignored.yaml' },
  stdin: { input: 'input/tree/m-nested/deployment.yaml', output: 'expected/stdin-deployment.yaml' },
  invalid: { input: 'input/invalid.yaml', line: 9 },
  empty: 'input/empty',
  printed: (dir) => readdirSync(path.join(dir, 'printed')).map((f) => `printed/${f}`),
};

const avp = sharedSource('conformance/avp');
const AVP: FixtureSet = {
  title: `AVP fixtures (${avp.label})`,
  dir: avp.dir,
  skip: avp.skip,
  tree: { input: 'input/nonempty', output: 'output/all.yaml' },
  ignored: { input: 'input/nonempty/ignored-secret.yaml', output: 'output/ignored-secret.yaml' },
  stdin: { input: 'input/nonempty/full.yaml', output: 'output/stdin-full.yaml' },
  invalid: { input: 'input/invalid.yaml', line: 18 },
  empty: 'input/empty',
  // AVP's printed results from its Go tests (ConfigMap/Secret shapes, lists, literal blocks and single quotes).
  printed: (dir) =>
    readdirSync(path.join(dir, 'output'))
      .filter((f) => f.startsWith('small-') || f === 'secret-remove-missing.yaml')
      .map((f) => `output/${f}`),
};

for (const set of [OWN, AVP]) {
  // Skips go on each test, not the suite, so that the runner's summary counts them as skipped.
  const opts = { skip: set.skip };
  describe(set.title, () => {
    let srv: TestServer;
    let env: Record<string, string>;
    before(async () => {
      if (set.skip) return;
      srv = await startDevServer();
      await loadSeed(srv, set.dir);
      env = { VAULT_ADDR: srv.addr, VAULT_TOKEN: srv.token, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'token', HOME: '/nonexistent' };
    });
    after(() => srv?.close());

    const read = (file: string) => readFileSync(path.join(set.dir, file), 'utf8');
    const run = (args: string[], opts: { input?: string; bin?: string[] } = {}) => runPlugin(args, { env, cwd: set.dir, ...opts });

    it(`renders the whole directory ${set.tree.input} (recursive, lexical order, .yaml/.yml/.json only) as ${set.tree.output}`, opts, async () => {
      const r = await run(['generate', set.tree.input]);
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      assert.equal(r.stdout, read(set.tree.output));
    });

    it(`leaves a manifest annotated avp.kubernetes.io/ignore untouched (${set.ignored.output})`, opts, async () => {
      const r = await run(['generate', set.ignored.input]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, read(set.ignored.output));
    });

    it(`reads standard input with "-" (${set.stdin.output})`, opts, async () => {
      const r = await run(['generate', '-'], { input: read(set.stdin.input) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, read(set.stdin.output));
    });

    it('is also `coffer argocd generate`', opts, async () => {
      const r = await run(['argocd', 'generate', set.tree.input], { bin: [COFFER_BIN] });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, read(set.tree.output));
    });

    it(`fails on ${set.invalid.input} naming line ${set.invalid.line}, with nothing on stdout`, opts, async () => {
      const r = await run(['generate', '-'], { input: read(set.invalid.input) });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`line ${set.invalid.line}\\b`));
      assert.match(r.stderr, /stdin: YAML syntax error/);
    });

    it('fails on a directory without documents', opts, async () => {
      const r = await run(['generate', set.empty]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`no manifests were found in ${set.empty}`));
    });

    // The files are listed only when the set is present; when it is not, one skipped test stands for them.
    if (set.skip) it('prints its printed files exactly as AVP does', opts, () => {});
    for (const file of set.skip ? [] : set.printed(set.dir)) {
      it(`prints ${file} exactly as AVP does`, () => {
        const text = read(file);
        const [m] = parseManifests(text, file);
        assert.equal(printDocument(m.value), text.endsWith('\n') ? text : `${text}\n`);
      });
    }
  });
}
