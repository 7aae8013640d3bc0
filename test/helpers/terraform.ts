/** Running real `terraform` (on PATH) against the provider, shared by the provider's end-to-end tests. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './pg-cluster.js';
import { finished, REPO_ROOT, runNode, spawnServer, type Finished, type ServerProcess } from './process.js';
import { client } from './server.js';

export type Run = Finished;

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
  return finished(spawn('terraform', [...args, '-no-color'], { cwd: dir, env: full, stdio: ['ignore', 'pipe', 'pipe'] }));
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

/** A dev server and PostgreSQL set up for the provider's end-to-end tests; `close` undoes all of it. */
export interface ProviderFixture {
  work: string;
  server: ServerProcess;
  token: string;
  api: ReturnType<typeof client>;
  root: pg.Client;
  /** The scratch PostgreSQL database the role's users are created in. */
  database: string;
  /** A raw (log_raw) file audit device: issued credentials can be read back from it. */
  auditFile: string;
  close(): Promise<void>;
}

/**
 * Starts `coffer server -dev` in a temp work dir with: a raw file audit device, a database mount `database`
 * whose connection `tfdb` reaches a new scratch database, a role `role` issuing users there (their names contain
 * the role name, which keeps test files running side by side from cleaning up each other's users) and the KV
 * secret `secret/app` holding `kv`.
 */
export async function providerFixture(name: string, role: string, kv: Record<string, unknown>): Promise<ProviderFixture> {
  const work = mkdtempSync(path.join(tmpdir(), `coffer-${name}-`));
  const token = `cfs.${name}-${randomBytes(8).toString('hex')}`;
  const database = `coffer_${name}_${randomBytes(3).toString('hex')}`;
  const auditFile = path.join(work, 'audit.log');
  const server = await spawnServer(['-dev', `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${await freePort()}`]);
  const api = client(server.addr, token);
  const root = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  const close = async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    const left = await root.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%${role}%'`).catch(() => ({ rows: [] as { rolname: string }[] }));
    for (const r of left.rows) await root.query(`DROP ROLE IF EXISTS "${r.rolname}"`).catch(() => undefined);
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await root.end().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    const ok = (res: { status: number; text: string }, what: string) => assert.ok(res.status < 300, `${what}: ${res.status} ${res.text}`);
    ok(await api.put('sys/audit/raw', { type: 'file', options: { file_path: auditFile, log_raw: 'true' } }), 'audit');
    ok(await api.post('sys/mounts/database', { type: 'database' }), 'mount');
    ok(
      await api.post('database/config/tfdb', {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}@127.0.0.1:5432/${database}?sslmode=disable`,
        username: 'postgres',
        allowed_roles: role,
      }),
      'config',
    );
    ok(
      await api.post(`database/roles/${role}`, {
        db_name: 'tfdb',
        creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE ${database} TO "{{name}}";`,
        revocation_statements: `REVOKE ALL ON DATABASE ${database} FROM "{{name}}"; DROP ROLE IF EXISTS "{{name}}";`,
        default_ttl: '1h',
      }),
      'role',
    );
    ok(await api.post('secret/data/app', { data: kv }), 'kv');
  } catch (err) {
    await close();
    throw err;
  }
  return { work, server, token, api, root, database, auditFile, close };
}
