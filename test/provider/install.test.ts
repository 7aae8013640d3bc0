/** `npm run provider:install` (provider/install.ts): the launcher it writes into a filesystem mirror. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { terraformPlatform } from '../../provider/install.js';
import { REPO_ROOT, runNode } from '../helpers/process.js';

const INSTALL = path.join(REPO_ROOT, 'dist/provider/install.js');
const VERSION = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
let work: string;

before(() => {
  work = mkdtempSync(path.join(tmpdir(), 'coffer-install-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function install(args: string[], home = work) {
  return runNode([INSTALL, ...args], { env: { ...process.env, HOME: home } });
}

describe('npm run provider:install', () => {
  it('writes an executable launcher for the package’s dist into HOST/NAMESPACE/TYPE/VERSION/OS_ARCH, the same bytes every time', async () => {
    const mirror = path.join(work, 'mirror');
    const run = await install(['--mirror', mirror]);
    assert.equal(run.code, 0, run.stderr);
    const file = path.join(mirror, 'terraform.local/coffer/coffer', VERSION, terraformPlatform(), `terraform-provider-coffer_v${VERSION}`);
    assert.ok(run.stdout.includes(`wrote ${file}`), run.stdout);
    assert.match(run.stdout, /source = "terraform\.local\/coffer\/coffer", version = "\d+\.\d+\.\d+"/);
    assert.match(run.stdout, /filesystem_mirror \{\s+path\s+= "[^"]+mirror"/, 'a folder Terraform does not search by itself is named in the hint');
    assert.equal(statSync(file).mode & 0o777, 0o755);
    const script = readFileSync(file, 'utf8');
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.ok(script.includes(`exec node '${path.join(REPO_ROOT, 'dist/provider/main.js')}' "$@"`), script);

    const again = await install([`--mirror=${mirror}`]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(file, 'utf8'), script, 'a reinstall keeps the lock file hash valid');
  });

  it('defaults to ~/.terraform.d/plugins, the mirror terraform init searches without configuration', async () => {
    const home = mkdtempSync(path.join(work, 'home-'));
    const run = await install([], home);
    assert.equal(run.code, 0, run.stderr);
    const file = path.join(home, '.terraform.d/plugins/terraform.local/coffer/coffer', VERSION, terraformPlatform(), `terraform-provider-coffer_v${VERSION}`);
    assert.equal(statSync(file).mode & 0o777, 0o755);
    assert.doesNotMatch(run.stdout, /filesystem_mirror/);
  });

  it('the launcher starts the provider (which refuses to run outside Terraform with its own explanation)', async () => {
    const mirror = path.join(work, 'run');
    assert.equal((await install(['--mirror', mirror])).code, 0);
    const file = path.join(mirror, 'terraform.local/coffer/coffer', VERSION, terraformPlatform(), `terraform-provider-coffer_v${VERSION}`);
    const env = { ...process.env };
    delete env.TF_PLUGIN_MAGIC_COOKIE;
    const run = spawnSync(file, [], { env, encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^This program is a Terraform provider plugin: Terraform starts it\./);
  });

  it('rejects a mirror that is a file, and unknown arguments, with a message and exit 1 (no stack trace)', async () => {
    const file = path.join(work, 'not-a-dir');
    writeFileSync(file, 'x');
    for (const [args, message] of [
      [['--mirror', file], `Error: mirror ${file} is not a directory\n`],
      [['--mirror', path.join(file, 'below')], `Error: cannot write the provider into ${path.join(file, 'below')}: a file is in the way\n`],
      [['--mirror'], 'Error: --mirror needs a directory\n'],
      [['--bogus'], 'Error: unknown argument --bogus; usage: npm run provider:install [-- --mirror DIR]\n'],
    ] as const) {
      const run = await install([...args]);
      assert.equal(run.code, 1, args.join(' '));
      assert.equal(run.stderr, message);
      assert.equal(run.stdout, '');
    }
  });

  it('maps Node platform names to Terraform’s', () => {
    assert.equal(terraformPlatform('linux', 'x64'), 'linux_amd64');
    assert.equal(terraformPlatform('linux', 'arm64'), 'linux_arm64');
    assert.equal(terraformPlatform('darwin', 'arm64'), 'darwin_arm64');
    assert.equal(terraformPlatform('darwin', 'x64'), 'darwin_amd64');
    assert.throws(() => terraformPlatform('win32', 'x64'), /shell script; win32 is not supported/);
  });
});
