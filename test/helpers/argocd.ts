/**
 * Shared setup of the Argo CD plugin tests: a live dev server loaded with a fixture set's seed, runs of the real
 * `coffer-argocd-plugin` launcher as a child process, and runs of the same command in this process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../argocd-plugin/generate.js';
import { REPO_ROOT, runNode } from './process.js';
import { client, type TestServer } from './server.js';

export const PLUGIN_BIN = path.join(REPO_ROOT, 'argocd-plugin/bin/coffer-argocd-plugin');
/** The repository's own fixture set (seed.json, input/, expected/, printed/); the launcher's default cwd. */
export const FIXTURES_DIR = path.join(REPO_ROOT, 'test/fixtures/argocd');

interface Seed {
  mounts: Record<string, { type: string; options?: Record<string, string> }>;
  writes: { path: string; data: Record<string, unknown> }[];
}

/**
 * Enables the mounts of `dir`/seed.json and writes its secrets, in order (so KV v2 versions come out as the
 * fixtures expect).
 */
export async function loadSeed(srv: TestServer, dir: string): Promise<void> {
  const seed = JSON.parse(readFileSync(path.join(dir, 'seed.json'), 'utf8')) as Seed;
  const root = client(srv.addr, srv.token);
  for (const [mount, spec] of Object.entries(seed.mounts)) {
    await root.delete(`sys/mounts/${mount}`);
    const r = await root.post(`sys/mounts/${mount}`, spec);
    if (r.status !== 204) throw new Error(`mount ${mount}: ${r.status} ${r.text}`);
  }
  for (const w of seed.writes) {
    const r = await root.post(w.path, w.data);
    if (r.status >= 300) throw new Error(`write ${w.path}: ${r.status} ${r.text}`);
  }
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `coffer-argocd-plugin ARGS` (or another launcher given as `bin`) to completion, by default in FIXTURES_DIR. */
export function runPlugin(args: string[], opts: { env?: Record<string, string | undefined>; input?: string; cwd?: string; bin?: string[] } = {}): Promise<PluginRun> {
  // Only the settings the test gives: none inherited from the machine running the tests.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(AVP_|ARGOCD_ENV_|VAULT_|COFFER_)/.test(k)) delete env[k];
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return runNode([...(opts.bin ?? [PLUGIN_BIN]), ...args], { input: opts.input, env, cwd: opts.cwd ?? FIXTURES_DIR });
}

/** Runs the plugin's command line in this process (the same function the launcher calls), capturing its output. */
export async function generateInProcess(args: string[], env: Record<string, string>, input = ''): Promise<PluginRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    env,
    stdin: Readable.from([Buffer.from(input)]),
    stdout: async (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}
