/**
 * The import boundaries (.dependency-cruiser.cjs): the real tree passes the check `npm test` runs first, and small
 * trees written to a temporary directory, each with one violation, fail it naming the rule.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, runNode } from '../helpers/process.js';

const DEPCRUISE = path.join(REPO_ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');

const scratch = await mkdtemp(path.join(tmpdir(), 'coffer-boundaries-'));
after(() => rm(scratch, { recursive: true, force: true }));

/** Runs the checker with the project's rules over `files` (path → source), laid out as a tree of their own. */
async function check(name: string, files: Record<string, string>) {
  const root = path.join(scratch, name);
  for (const [file, source] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), source);
  }
  const parts = [...new Set(Object.keys(files).map((file) => (file.startsWith('src/') ? 'src' : file.split('/')[0]!)))];
  return runNode([DEPCRUISE, '--config', CONFIG, ...parts], { cwd: root });
}

/** A violation line as dependency-cruiser's default reporter prints it. */
/** The relative import a module in folder `fromDir` writes for the repository file `target`. */
const importPath = (fromDir: string, target: string) => path.posix.relative(fromDir, target);

const violation = (rule: string, from: string, to: string) => `error ${rule}: ${from} → ${to}`;

const core = {
  'src/sdk/backend.ts': 'export interface Backend { paths: string[] }\n',
  'src/core/backend.ts': 'export interface Mounts { paths: string[] }\n',
  'src/core/barrier.ts': 'export class Barrier {}\n',
  'src/core/core.ts': "import { Barrier } from './barrier.js';\nexport class Core { barrier = new Barrier(); }\n",
};

describe('import boundaries', () => {
  it('the real tree passes the check npm test runs', async () => {
    const scripts = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    assert.match(scripts.test!, /^npm run lint:boundaries && /, 'npm test runs the boundary check first');
    const [program, ...args] = scripts['lint:boundaries']!.split(' ');
    assert.equal(program, 'depcruise');
    const run = await runNode([DEPCRUISE, ...args], { cwd: REPO_ROOT });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /no dependency violations found/);
  });

  it('an engine may import the engine toolkit, src/shared and the storage interface', async () => {
    const run = await check('engine-allowed', {
      ...core,
      'src/shared/slices.ts': 'export const first = <T>(list: T[]) => list[0];\n',
      'src/storage/view.ts': 'export interface StorageView { get(key: string): Promise<unknown> }\n',
      'src/engines/demo/index.ts':
        `import type { Backend } from '../../sdk/backend.js';\nimport type { StorageView } from '../../storage/view.js';\nimport { first } from '${importPath('src/engines/demo', 'src/shared/slices.js')}';\n` +
        'export const demo: Backend = { paths: [] };\nexport const pick = (views: StorageView[]) => first(views);\n',
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });
});

/** Trees with one violation each, and the lines the checker must print for it. */
const violations: { title: string; files: Record<string, string>; expected: string[] }[] = [
  {
    title: 'an engine importing a core internal, even for a type only',
    files: {
      ...core,
      'src/engines/demo/index.ts': "import type { Barrier } from '../../core/barrier.js';\nexport let held: Barrier | undefined;\n",
    },
    expected: [violation('engines-auth-only-sdk', 'src/engines/demo/index.ts', 'src/core/barrier.ts')],
  },
  {
    title: 'an engine importing any core module (the toolkit is src/sdk)',
    files: { ...core, 'src/engines/demo/index.ts': "import type { Mounts } from '../../core/backend.js';\nexport let held: Mounts | undefined;\n" },
    expected: [violation('engines-auth-only-sdk', 'src/engines/demo/index.ts', 'src/core/backend.ts')],
  },
  {
    title: 'an auth method importing a core internal',
    files: { ...core, 'src/auth/demo/index.ts': "import { Core } from '../../core/core.js';\nexport const make = () => new Core();\n" },
    expected: [violation('engines-auth-only-sdk', 'src/auth/demo/index.ts', 'src/core/core.ts')],
  },
  {
    title: 'an engine importing an auth method',
    files: { ...core, 'src/auth/demo/index.ts': 'export const method = 1;\n', 'src/engines/demo/index.ts': "export { method } from '../../auth/demo/index.js';\n" },
    expected: [violation('engines-auth-only-sdk', 'src/engines/demo/index.ts', 'src/auth/demo/index.ts')],
  },
  {
    title: 'an engine importing a physical storage backend',
    files: { 'src/storage/sqlite.ts': 'export const open = () => 1;\n', 'src/engines/demo/index.ts': "export { open } from '../../storage/sqlite.js';\n" },
    expected: [violation('engines-auth-only-sdk', 'src/engines/demo/index.ts', 'src/storage/sqlite.ts')],
  },
  {
    title: 'the engine toolkit importing the core',
    files: { ...core, 'src/sdk/mounts.ts': "export type { Mounts } from '../core/backend.js';\n" },
    expected: [violation('sdk-only-shared-and-storage-interface', 'src/sdk/mounts.ts', 'src/core/backend.ts')],
  },
  {
    title: 'argocd-plugin/ importing src/core',
    files: { ...core, 'argocd-plugin/generate.ts': "import { Core } from '../src/core/core.js';\nexport const core = new Core();\n" },
    expected: [violation('clients-only-client-and-shared', 'argocd-plugin/generate.ts', 'src/core/core.ts')],
  },
  {
    title: 'the CLI importing src/server outside its launcher',
    files: {
      'src/server/http.ts': 'export const port = 8200;\n',
      'src/cli/commands/status.ts': "import { port } from '../../server/http.js';\nexport const shown = port;\n",
    },
    expected: [violation('cli-only-client-and-shared', 'src/cli/commands/status.ts', 'src/server/http.ts')],
  },
  {
    title: 'external-secrets/ reaching past the extension contract (the contract itself is allowed)',
    files: {
      'src/storage/view.ts': 'export class StorageView {}\n',
      'src/server/extension.ts': 'export interface ExtensionHost { logError(message: string): void }\n',
      'external-secrets/gateway.ts':
        "import type { ExtensionHost } from '../src/server/extension.js';\nimport { StorageView } from '../src/storage/view.js';\n" +
        'export const use = (host: ExtensionHost) => [host, new StorageView()];\n',
    },
    expected: [violation('eso-only-extension-contract', 'external-secrets/gateway.ts', 'src/storage/view.ts'), 'x 1 dependency violations'],
  },
  {
    title: 'a new cycle between folders, and one through the core (whose engine cycle is gone)',
    files: {
      ...core,
      'src/storage/view.ts': "import { notify } from '../server/events.js';\nexport const view = () => notify();\n",
      'src/server/events.ts': "import { view } from '../storage/view.js';\nexport const notify = () => 1;\nexport const again = () => view();\n",
      'src/core/registry.ts': "import { metrics } from '../storage/metrics.js';\nexport const registry = metrics;\n",
      'src/storage/metrics.ts': "import { registry } from '../core/registry.js';\nexport const metrics = 1;\nexport const back = () => registry;\n",
    },
    expected: ['error no-folder-cycles: src/storage → ', 'error no-folder-cycles: src/core → '],
  },
  {
    title: 'the core importing an engine or an auth method (the server passes their lists in)',
    files: {
      ...core,
      'src/engines/index.ts': "export const secretEngines: string[] = [];\n",
      'src/auth/index.ts': "export const authMethods: string[] = [];\n",
      'src/core/mounts.ts': "import { secretEngines } from '../engines/index.js';\nimport { authMethods } from '../auth/index.js';\nexport const all = [...secretEngines, ...authMethods];\n",
    },
    expected: [
      violation('core-no-engines-or-auth', 'src/core/mounts.ts', 'src/engines/index.ts'),
      violation('core-no-engines-or-auth', 'src/core/mounts.ts', 'src/auth/index.ts'),
    ],
  },
  {
    title: 'an import the checker cannot resolve (it would escape every rule)',
    files: { 'src/engines/demo/index.ts': "export { Barrier } from '../../core/barier.js';\n" },
    expected: ['error not-to-unresolvable: src/engines/demo/index.ts → ../../core/barier.js'],
  },
];

describe('import boundaries: violations fail, naming the rule', () => {
  violations.forEach(({ title, files, expected }, index) => {
    it(title, async () => {
      const run = await check(`violation-${index}`, files);
      assert.notEqual(run.code, 0, 'the check fails');
      for (const line of expected) assert.ok(run.stdout.includes(line), `expected ${JSON.stringify(line)} in:\n${run.stdout}`);
    });
  });
});
