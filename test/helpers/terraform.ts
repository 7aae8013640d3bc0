/** Running real `terraform` (on PATH) against the provider, shared by the provider's end-to-end tests. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, runNode } from './process.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs terraform in `dir` with this process's environment plus `env` (an undefined value removes a variable).
 * Variables that would point terraform or the provider elsewhere than the test says are always removed.
 */
export function runTerraform(dir: string, args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const full: NodeJS.ProcessEnv = { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' };
  for (const k of ['VAULT_ADDR', 'VAULT_TOKEN', 'TF_LOG', 'TF_PLUGIN_CACHE_DIR']) delete full[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn('terraform', [...args, '-no-color'], { cwd: dir, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** No Node.js or Go stack trace, no crash banner. */
export function assertNoCrash(run: Run): void {
  const all = run.stdout + run.stderr;
  assert.doesNotMatch(all, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  assert.doesNotMatch(all, /panic:|plugin crashed|Plugin did not respond|unexpected EOF/i);
}

/** `npm run provider:install` without the build: writes the launcher into HOME's implicit mirror. */
export async function installProvider(home: string): Promise<void> {
  const run = await runNode([path.join(REPO_ROOT, 'dist/provider/install.js')], { env: { ...process.env, HOME: home } });
  assert.equal(run.code, 0, run.stderr);
}

/** Checks a `terraform init` run installed the provider from a filesystem mirror and locked it. */
export function assertInstalledFromMirror(init: Run, dir: string): void {
  assert.equal(init.code, 0, init.stderr + init.stdout);
  assert.match(init.stdout, /Installed terraform\.local\/coffer\/coffer v\d+\.\d+\.\d+/);
  assert.match(readFileSync(path.join(dir, '.terraform.lock.hcl'), 'utf8'), /provider "terraform\.local\/coffer\/coffer" \{[^}]*h1:/);
}

/** Every database credential the server handed out for `credsPath`, from a raw (log_raw) file audit device. */
export function issuedCredentials(auditFile: string, credsPath: string): { username: string; password: string }[] {
  return readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === 'response' && e.request?.path === credsPath && e.response?.data?.password)
    .map((e) => ({ username: e.response.data.username, password: e.response.data.password }));
}
