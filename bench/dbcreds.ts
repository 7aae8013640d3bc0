/**
 * bench/dbcreds: PostgreSQL dynamic credentials per second through coffer's API, against the same SQL run
 * directly through the pg driver at the same concurrency, in the same run (README, "Performance";
 * issue 4, "Benchmark"). Target: coffer ≥ 80 % of the direct rate.
 *
 * Setup: a scratch database `coffer_bench_<run>` on the local PostgreSQL (127.0.0.1:5432, user postgres, trust)
 * with a few tables, so that the role's GRANT/REVOKE touch real catalog rows. A coffer dev server runs as a
 * child process with a `database` mount: connection `bench` (max_open_connections = the concurrency) and role
 * `bench` (TTL 1 min, max 5 min) whose statements are
 *
 *   creation    CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
 *               GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";
 *   revocation  REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{{name}}"; DROP ROLE IF EXISTS "{{name}}";
 *
 * One measured operation = issue + revoke, so that users never pile up:
 *   coffer  GET /v1/database/creds/bench, then PUT /v1/sys/leases/revoke {lease_id, sync: true} (keep-alive HTTP)
 *   direct  the creation statements in one transaction, then the revocation statements in one transaction, on a
 *           pg.Pool of the same size, with the same username shape, a password from the engine's generator and
 *           the same VALID UNTIL. Like the engine, each transaction is one round trip: the advisory lock and the
 *           statements in one multi-statement simple query (an implicit transaction).
 * Concurrent GRANT/REVOKE on the same tables make PostgreSQL fail one of them with "tuple concurrently updated";
 * the engine runs each statement list behind a transaction-scoped advisory lock and still retries conflicts with
 * sessions outside it (up to 10 attempts, a random pause). The direct baseline uses exactly the same lock and
 * retry policy, and
 * counts its retries. Rolled-back transactions of both sides are also read from pg_stat_database.
 *
 * Each side gets one discarded warm-up run, then BENCH_ROUNDS measured runs alternating direct, coffer, ...; the
 * medians are reported. An operation that fails because the conflict retries ran out (coffer answers 400 "tuple
 * concurrently updated"; the baseline's last attempt fails alike) is counted and reported, not in the rate; what
 * it left behind is revoked or dropped after its run. Any other failure fails the benchmark. After every run no
 * benchmark user may remain in pg_roles. Results go to bench/results/dbcreds.json.
 *
 * Diagnosis (BENCH_DBCREDS_DIAGNOSE=0 skips it), three more variants measured in the same rounds, interleaved:
 *   plugin in-process       the engine's PostgreSQL plugin (newUser + deleteUser) called in this process: coffer's
 *                           SQL path, retry policy included, without HTTP, the core and the lease store;
 *   direct + engine checks  the baseline plus the session termination the engine runs before revoking;
 *   direct, unbatched       the baseline with BEGIN, the lock, each statement and COMMIT as separate round trips
 *                           (coffer's earlier policy): the lock is held across client round trips.
 *
 * Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 8 here), BENCH_ROUNDS (3), BENCH_DBCREDS_CONCURRENCY (8),
 * BENCH_PG_URL (postgresql://postgres@127.0.0.1:5432/postgres), BENCH_DBCREDS_DIAGNOSE (1),
 * BENCH_CPU_PROF=1 (coffer under --cpu-prof; profile in bench/results/profiles/).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generatePassword } from '../src/engines/database/password.js';
import type { Database } from '../src/engines/database/plugins/plugin.js';
import { postgresqlPlugin, terminateSessions } from '../src/engines/database/plugins/postgresql/postgresql.js';
import { formatExpiration } from '../src/engines/database/statements.js';
import {
  envInt,
  spawnDevServer,
  BenchFailure,
  RESULTS_DIR,
  closedLoop,
  fmtInt,
  fmtMs,
  fmtPct,
  httpJson,
  loadSettings,
  median,
  processCpuMs,
  table,
  type BenchModuleResult,
  type ChildServer,
  type ClosedLoopFigures,
  machineInfo,
  writeResults,
} from './harness.js';

export const name = 'dbcreds';

const TARGET = 0.8;
const DEFAULT_WARMUP_S = 8;
const ROLE = 'bench';
const TTL_S = 60;
const EXPIRATION_SLACK_S = 5; // the engine's slack on VALID UNTIL
const CREATION = [
  `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`,
  'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}"',
];
const REVOCATION = ['REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{{name}}"', 'DROP ROLE IF EXISTS "{{name}}"'];
const TABLES = 4;

// The engine's conflict policy (src/engines/database/plugins/postgresql/postgresql.ts), repeated for the baseline.
const MAX_ATTEMPTS = 10;
const CONFLICT_LOCK_KEY = '109330110506354';
const isRetryable = (err: unknown) => {
  const e = err as { code?: string; message?: string };
  return e?.code === '40001' || e?.code === '40P01' || (e?.code === 'XX000' && /tuple concurrently (updated|deleted)/.test(e.message ?? ''));
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** CPU ms (user+system) by pid of every process whose command is `postgres` (the server and its backends). */
function postgresCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU used since `before` by the postgres processes alive now (a backend that exited meanwhile is lost). */
function postgresCpuSince(before: Map<string, number>): number {
  let ms = 0;
  for (const [pid, now] of postgresCpu()) ms += now - (before.get(pid) ?? 0);
  return ms;
}

interface RunFigures {
  rate: number;
  ops: number;
  /** Operations that failed (an error answer after the conflict retries ran out); not in the rate. */
  failures: number;
  wallMs: number;
  p50: number;
  p99: number;
  max: number;
  issueP50: number;
  issueP99: number;
  revokeP50: number;
  revokeP99: number;
  /** Baselines only: transactions retried after a conflict. */
  retries: number;
  /** Rolled-back / committed transactions in the scratch database during the run (pg_stat_database). */
  rollbacks: number;
  commits: number;
  serverCpuMsPerOp: number;
  postgresCpuMsPerOp: number;
  loaderCpuMsPerOp: number;
}

type Op = (worker: number, step: (name: string, ms: number) => void) => Promise<boolean>;

interface Variant {
  name: string;
  what: string;
  op: Op;
  /** Pid whose CPU is the "server" CPU (coffer). */
  pid?: number;
  /** Counts its retried transactions (baselines that run their own retry loop). */
  countsRetries?: boolean;
  runs: RunFigures[];
}

const med = (runs: RunFigures[], k: keyof RunFigures) => median(runs.map((r) => r[k]));
const isConflictAnswer = (text: string) => /tuple concurrently (updated|deleted)|could not serialize|deadlock detected/.test(text);

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  // At ~150 credentials/s a 2 s warm-up is a few hundred operations: too few for V8 to optimise coffer's request
  // path (its CPU per credential still fell from 1.8 to 1.2 ms over three rounds after one), so the rounds
  // measured the JIT rather than the steady state. Every variant gets the same longer warm-up unless BENCH_WARMUP
  // says otherwise.
  const s = { ...loadSettings(), ...(process.env.BENCH_WARMUP === undefined ? { warmup: DEFAULT_WARMUP_S } : {}) };
  const concurrency = envInt('BENCH_DBCREDS_CONCURRENCY', 8, 1);
  const diagnose = process.env.BENCH_DBCREDS_DIAGNOSE !== '0';
  const adminUrl = process.env.BENCH_PG_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  const runId = randomBytes(3).toString('hex');
  const dbName = `coffer_bench_${runId}`;
  const userPrefix = `bench-${runId}-`;
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  const nodeFlags = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  if (nodeFlags.length) await mkdir(profileDir, { recursive: true });

  log(
    `dbcreds: concurrency ${concurrency}, ${s.duration} s per run, ${s.rounds} rounds, ${s.warmup} s warm-up; ` +
      `${os.cpus().length} CPUs, Node ${process.version}; scratch database ${dbName}`,
  );

  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'coffer-bench-admin' });
  admin.on('error', () => undefined);
  let scratch: pg.Client | null = null;
  const pools: pg.Pool[] = [];
  let plugin: Database | null = null;
  let coffer: ChildServer | null = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let dbCreated = false;
  /** Work a failed operation left behind, finished after its run (outside the measurement). */
  const unrevokedLeases: string[] = [];
  const undroppedUsers: string[] = [];
  const failureSamples: string[] = [];
  const noteFailure = (msg: string) => {
    if (failureSamples.length < 5) failureSamples.push(msg.slice(0, 300));
  };

  const leftoverUsers = async (): Promise<string[]> =>
    (await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)', [userPrefix])).rows.map((r) => r.rolname);

  const dbStats = async (): Promise<{ commits: number; rollbacks: number }> => {
    // Backends publish their counters within ~1 s of going idle (PostgreSQL 15 shared-memory stats).
    await sleep(1200);
    const r = await admin.query<{ c: string; r: string }>('SELECT xact_commit AS c, xact_rollback AS r FROM pg_stat_database WHERE datname = $1', [dbName]);
    return { commits: Number(r.rows[0]?.c ?? NaN), rollbacks: Number(r.rows[0]?.r ?? NaN) };
  };

  try {
    try {
      await admin.connect();
    } catch (err) {
      throw new BenchFailure(`setup: cannot connect to PostgreSQL at ${adminUrl}: ${(err as Error).message}`);
    }
    const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    await admin.query(`CREATE DATABASE "${dbName}"`);
    dbCreated = true;
    const dbUrl = adminUrl.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
    const engineUrl = dbUrl.includes('?') ? `${dbUrl}&sslmode=disable` : `${dbUrl}?sslmode=disable`;
    scratch = new pg.Client({ connectionString: dbUrl });
    scratch.on('error', () => undefined);
    await scratch.connect();
    for (let i = 1; i <= TABLES; i++) await scratch.query(`CREATE TABLE bench_t${i} (id int PRIMARY KEY, v text)`);
    log(`  PostgreSQL ${version}; ${TABLES} tables in ${dbName}`);

    // ---- coffer --------------------------------------------------------------------------------------------
    coffer = await spawnDevServer(token, nodeFlags);
    const addr = coffer.addr;
    log(`  coffer dev server: ${addr} (pid ${coffer.child.pid})`);
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await httpJson(agent, addr, method, `/v1/${p}`, { token, body });
      if (res.status < 200 || res.status > 299) throw new BenchFailure(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res;
    };
    await api('POST', 'sys/mounts/database', { type: 'database' });
    await api('POST', 'database/config/bench', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: engineUrl,
      allowed_roles: ROLE,
      max_open_connections: concurrency,
      verify_connection: true,
    });
    await api('POST', `database/roles/${ROLE}`, {
      db_name: 'bench',
      creation_statements: CREATION,
      revocation_statements: REVOCATION,
      default_ttl: `${TTL_S}s`,
      max_ttl: `${5 * TTL_S}s`,
      username_template: `${userPrefix}c-{{random 20}}`,
    });

    // Probe: one issue, check the user exists, revoke, check it is gone.
    const probe = (await api('GET', `database/creds/${ROLE}`)).json as { lease_id: string; lease_duration: number; data: { username: string; password: string } };
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolcanlogin AND rolvaliduntil IS NOT NULL', [probe.data.username]);
    if (!probe.data.username.startsWith(userPrefix) || exists.rowCount !== 1 || probe.lease_duration !== TTL_S) {
      throw new BenchFailure(`setup: unexpected creds ${JSON.stringify({ ...probe.data, password: '…' })}, lease_duration ${probe.lease_duration}`);
    }
    await api('PUT', 'sys/leases/revoke', { lease_id: probe.lease_id, sync: true });
    if ((await leftoverUsers()).length) throw new BenchFailure('setup: the probe user was not dropped on revocation');

    const cofferOp: Op = async (_w, step) => {
      const t0 = performance.now();
      const issued = await httpJson(agent, addr, 'GET', `/v1/database/creds/${ROLE}`, { token });
      const t1 = performance.now();
      const leaseId = (issued.json as { lease_id?: string } | null)?.lease_id;
      if (issued.status !== 200 || !leaseId) {
        // The engine gave up on a conflict (and dropped the half-created user): an error a client would see.
        if (issued.status === 400 && isConflictAnswer(issued.text)) {
          noteFailure(`coffer issue: ${issued.status} ${issued.text}`);
          return false;
        }
        throw new BenchFailure(`coffer issue answered ${issued.status}: ${issued.text.slice(0, 300)}`);
      }
      const revoked = await httpJson(agent, addr, 'PUT', '/v1/sys/leases/revoke', { token, body: { lease_id: leaseId, sync: true } });
      const t2 = performance.now();
      if (revoked.status !== 204 && revoked.status !== 200) {
        if (revoked.status >= 400 && revoked.status < 500 && isConflictAnswer(revoked.text)) {
          noteFailure(`coffer revoke: ${revoked.status} ${revoked.text}`);
          unrevokedLeases.push(leaseId);
          return false;
        }
        throw new BenchFailure(`coffer revoke answered ${revoked.status}: ${revoked.text.slice(0, 300)}`);
      }
      step('issue', t1 - t0);
      step('revoke', t2 - t1);
      return true;
    };

    // ---- direct ----------------------------------------------------------------------------------------------
    const newPool = (appName: string) => {
      // No idle timeout: backends stay for the whole benchmark, so that their CPU time can be accounted.
      const p = new pg.Pool({ connectionString: dbUrl, max: concurrency, application_name: appName, idleTimeoutMillis: 0 });
      p.on('error', () => undefined);
      pools.push(p);
      return p;
    };
    let retries = 0;
    const lockStatement = `SELECT pg_catalog.pg_advisory_xact_lock(${CONFLICT_LOCK_KEY})`;
    /**
     * The engine's retry policy around one statement list. `batched` (the engine's way): the lock and the
     * statements in one multi-statement simple query, which PostgreSQL runs as one implicit transaction;
     * otherwise BEGIN, the lock, each statement and COMMIT as separate round trips (the engine's earlier way).
     */
    const transaction = async (pool: pg.Pool, queries: string[], batched: boolean, unlocked: string[] = []) => {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        let broken = false;
        try {
          if (batched) {
            await client.query([...unlocked, lockStatement, ...queries].join('\n;\n'));
          } else {
            await client.query('BEGIN');
            for (const q of unlocked) await client.query(q);
            await client.query(lockStatement);
            for (const q of queries) await client.query(q);
            await client.query('COMMIT');
          }
          return;
        } catch (err) {
          if (!batched) await client.query('ROLLBACK').catch(() => (broken = true));
          if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) throw err;
          retries++;
        } finally {
          client.release(broken);
        }
        await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
      }
    };
    const render = (stmts: string[], vars: Record<string, string>) =>
      stmts.map((q) => q.replace(/\{\{(\w+)\}\}/g, (_, k: string) => vars[k]));
    const directOp = (pool: pg.Pool, opts: { engineChecks: boolean; batched: boolean; tag: string }): Op => async (_w, step) => {
      const t0 = performance.now();
      const username = `${userPrefix}${opts.tag}-${randomBytes(15).toString('base64url').slice(0, 20)}`;
      const password = generatePassword();
      const expiration = formatExpiration(new Date(Date.now() + (TTL_S + EXPIRATION_SLACK_S) * 1000));
      try {
        await transaction(pool, render(CREATION, { name: username, password, expiration }), opts.batched);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        noteFailure(`direct (${opts.tag}) creation: ${(err as Error).message}`);
        return false; // rolled back: no user
      }
      const t1 = performance.now();
      try {
        // What the engine's revocation runs before taking the lock: end the user's sessions.
        const unlocked = opts.engineChecks
          ? [terminateSessions(username)]
          : [];
        await transaction(pool, render(REVOCATION, { name: username }), opts.batched, unlocked);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        noteFailure(`direct (${opts.tag}) revocation: ${(err as Error).message}`);
        undroppedUsers.push(username);
        return false;
      }
      step('issue', t1 - t0);
      step('revoke', performance.now() - t1);
      return true;
    };

    // ---- the engine's PostgreSQL plugin in this process (diagnosis: coffer's SQL path without HTTP/core) -------
    const pluginOp: Op = async (_w, step) => {
      const db = plugin!;
      const t0 = performance.now();
      let username: string;
      try {
        ({ username } = await db.newUser({
          usernameConfig: { displayName: 'token', roleName: ROLE },
          usernameTemplate: `${userPrefix}p-{{random 20}}`,
          statements: CREATION,
          rollbackStatements: [],
          password: generatePassword(),
          expiration: new Date(Date.now() + (TTL_S + EXPIRATION_SLACK_S) * 1000),
        }));
      } catch (err) {
        if (!isConflictAnswer((err as Error).message)) throw err;
        noteFailure(`plugin newUser: ${(err as Error).message}`);
        return false;
      }
      const t1 = performance.now();
      try {
        await db.deleteUser({ username, statements: REVOCATION });
      } catch (err) {
        if (!isConflictAnswer((err as Error).message)) throw err;
        noteFailure(`plugin deleteUser: ${(err as Error).message}`);
        undroppedUsers.push(username);
        return false;
      }
      step('issue', t1 - t0);
      step('revoke', performance.now() - t1);
      return true;
    };

    // ---- measurement -------------------------------------------------------------------------------------------
    /** Finishes what failed operations left behind, so that every run ends with no benchmark user. */
    const cleanUpAfterFailures = async () => {
      for (const leaseId of unrevokedLeases.splice(0)) await api('PUT', 'sys/leases/revoke', { lease_id: leaseId, sync: true });
      for (const u of undroppedUsers.splice(0)) {
        await admin.query(`DROP ROLE IF EXISTS "${u.replace(/"/g, '""')}"`).catch(async () => {
          await sleep(100);
          await admin.query(`DROP ROLE IF EXISTS "${u.replace(/"/g, '""')}"`);
        });
      }
    };
    const measure = async (v: Variant, seconds: number): Promise<RunFigures> => {
      // Every run starts from the same catalog state: each operation leaves dead versions of the tables' pg_class
      // rows and of pg_authid/pg_shdepend rows behind, which slow the next runs until autovacuum comes by.
      await scratch!.query('VACUUM pg_catalog.pg_class, pg_catalog.pg_authid, pg_catalog.pg_shdepend, pg_catalog.pg_auth_members');
      const before = await dbStats();
      retries = 0;
      const server0 = processCpuMs(v.pid);
      const pg0 = postgresCpu();
      const loader0 = process.cpuUsage();
      let f: ClosedLoopFigures;
      try {
        f = await closedLoop(concurrency, seconds, v.op);
      } catch (err) {
        throw err instanceof BenchFailure ? err : new BenchFailure(`${v.name}: ${(err as Error).message}`);
      }
      const loader = process.cpuUsage(loader0);
      const pgMs = postgresCpuSince(pg0);
      const serverMs = processCpuMs(v.pid) - server0;
      const failedLeftovers = unrevokedLeases.length + undroppedUsers.length;
      await cleanUpAfterFailures();
      const after = await dbStats();
      const left = await leftoverUsers();
      if (left.length) throw new BenchFailure(`${v.name}: ${left.length} benchmark user(s) left in pg_roles after the run, e.g. ${left[0]}`);
      if (f.ops === 0) throw new BenchFailure(`${v.name}: no operation succeeded (${f.failures} failed): ${failureSamples.join(' | ')}`);
      const issue = f.steps.get('issue')!;
      const revoke = f.steps.get('revoke')!;
      if (failedLeftovers) log(`    (${failedLeftovers} revocation(s) that failed in the run were finished after it)`);
      return {
        rate: f.rate,
        ops: f.ops,
        failures: f.failures,
        wallMs: f.wallMs,
        p50: f.latency.percentile(50),
        p99: f.latency.percentile(99),
        max: f.latency.max,
        issueP50: issue.percentile(50),
        issueP99: issue.percentile(99),
        revokeP50: revoke.percentile(50),
        revokeP99: revoke.percentile(99),
        retries: v.countsRetries ? retries : NaN,
        rollbacks: after.rollbacks - before.rollbacks,
        commits: after.commits - before.commits,
        serverCpuMsPerOp: serverMs / f.ops,
        postgresCpuMsPerOp: pgMs / f.ops,
        loaderCpuMsPerOp: (loader.user + loader.system) / 1000 / f.ops,
      };
    };
    const describeRun = (v: Variant, r: RunFigures) =>
      `${fmtInt(r.rate).padStart(5)} creds/s  p50 ${fmtMs(r.p50)} ms  p99 ${fmtMs(r.p99)} ms  | issue p50 ${fmtMs(r.issueP50)}  ` +
      `revoke p50 ${fmtMs(r.revokeP50)} ms | failed ${r.failures} | rollbacks ${r.rollbacks}${v.countsRetries ? ` (retries ${r.retries})` : ''} | CPU ms/op: ` +
      `${v.pid ? `coffer ${r.serverCpuMsPerOp.toFixed(2)}, ` : ''}postgres ${r.postgresCpuMsPerOp.toFixed(2)}, ` +
      `this process ${r.loaderCpuMsPerOp.toFixed(2)}`;

    const d: Variant = {
      name: 'direct',
      what: 'the role\'s statements through pg.Pool, engine retry policy',
      op: directOp(newPool('coffer-bench-direct'), { engineChecks: false, batched: true, tag: 'd' }),
      countsRetries: true,
      runs: [],
    };
    const c: Variant = { name: 'coffer', what: 'GET database/creds + PUT sys/leases/revoke over HTTP', op: cofferOp, pid: coffer.child.pid, runs: [] };
    // Where a gap would come from: coffer's SQL path in-process, the baseline with the engine's extra revocation
    // queries, the baseline with the advisory lock taken from the first attempt. Measured in the same rounds,
    // interleaved with the two sides, because the rate drifts over a run (catalog churn, autovacuum).
    const diag: Variant[] = [];
    if (diagnose) {
      plugin = postgresqlPlugin.create();
      await plugin.initialize({ config: { connection_url: engineUrl, max_open_connections: concurrency }, verifyConnection: true });
      diag.push(
        { name: 'plugin in-process', what: 'the engine\'s PostgreSQL plugin (newUser + deleteUser) called in this process: coffer\'s SQL path without HTTP, core, leases', op: pluginOp, runs: [] },
        {
          name: 'direct + engine checks',
          what: 'direct, plus the pg_terminate_backend of the user\'s sessions the engine runs in the revocation transaction',
          op: directOp(newPool('coffer-bench-direct-checks'), { engineChecks: true, batched: true, tag: 'e' }),
          countsRetries: true,
          runs: [],
        },
        {
          name: 'direct, unbatched',
          what: 'direct, with BEGIN, the lock, each statement and COMMIT as separate round trips (coffer\'s earlier policy)',
          op: directOp(newPool('coffer-bench-direct-unbatched'), { engineChecks: false, batched: false, tag: 'l' }),
          countsRetries: true,
          runs: [],
        },
      );
    }
    const all = [d, c, ...diag];
    if (s.warmup > 0) {
      for (const v of all) log(`  warm-up ${v.name} (${s.warmup} s, discarded): ${fmtInt((await measure(v, s.warmup)).rate)} creds/s`);
    }
    for (let round = 1; round <= s.rounds; round++) {
      for (const v of all) {
        const r = await measure(v, s.duration);
        v.runs.push(r);
        log(`  round ${round}/${s.rounds} ${v.name.padEnd(22)} ${describeRun(v, r)}`);
      }
    }

    const remaining = await leftoverUsers();
    if (remaining.length) throw new BenchFailure(`${remaining.length} benchmark user(s) remain in pg_roles`);

    const ratio = med(c.runs, 'rate') / med(d.runs, 'rate');
    const met = ratio >= TARGET;
    const sumFailures = (v: Variant) => v.runs.reduce((n, r) => n + r.failures, 0);
    const sumOps = (v: Variant) => v.runs.reduce((n, r) => n + r.ops, 0);
    log('');
    log(
      table(
        ['dbcreds', 'creds/s', 'p50 ms', 'p99 ms', 'issue p50/p99', 'revoke p50/p99', 'failed', 'rollbacks/run', 'coffer CPU ms/op', 'pg CPU ms/op', 'runs creds/s'],
        [d, c, ...diag].map((v) => [
          v.name,
          fmtInt(med(v.runs, 'rate')),
          fmtMs(med(v.runs, 'p50')),
          fmtMs(med(v.runs, 'p99')),
          `${fmtMs(med(v.runs, 'issueP50'))} / ${fmtMs(med(v.runs, 'issueP99'))}`,
          `${fmtMs(med(v.runs, 'revokeP50'))} / ${fmtMs(med(v.runs, 'revokeP99'))}`,
          `${sumFailures(v)}/${sumFailures(v) + sumOps(v)}`,
          String(med(v.runs, 'rollbacks')),
          v.pid ? med(v.runs, 'serverCpuMsPerOp').toFixed(2) : '-',
          med(v.runs, 'postgresCpuMsPerOp').toFixed(2),
          v.runs.map((r) => fmtInt(r.rate)).join(' / '),
        ]),
        [false, true, true, true, true, true, true, true, true, true, false],
      ),
    );
    const verdicts = [
      `dbcreds: coffer/direct = ${fmtPct(ratio)} (target ≥ ${fmtPct(TARGET)}) ${met ? 'MET' : 'MISSED'}; ` +
        `${fmtInt(med(c.runs, 'rate'))} vs ${fmtInt(med(d.runs, 'rate'))} creds/s (issue + revoke, concurrency ${concurrency}, pool ${concurrency} each)`,
      'dbcreds: "tuple concurrently updated" handled alike on both sides: the direct baseline retries with the ' +
        `engine's policy (≤ ${MAX_ATTEMPTS} attempts, random pause, advisory lock on every transaction, one round trip each); ` +
        `retried transactions per run (median) direct ${med(d.runs, 'retries')}; rolled-back transactions per run direct ${med(d.runs, 'rollbacks')} / coffer ${med(c.runs, 'rollbacks')}`,
      `dbcreds: operations that failed after the retries ran out: direct ${sumFailures(d)}/${sumFailures(d) + sumOps(d)}, coffer ${sumFailures(c)}/${sumFailures(c) + sumOps(c)}` +
        (sumFailures(c) ? ' (coffer answered 400 "tuple concurrently updated" to the client)' : ''),
      ...diag.map((v) => `dbcreds diagnosis: ${v.name} ${fmtInt(med(v.runs, 'rate'))} creds/s = ${fmtPct(med(v.runs, 'rate') / med(d.runs, 'rate'))} of direct — ${v.what}`),
      `dbcreds: no benchmark user left in pg_roles (prefix ${userPrefix})`,
    ];
    log('');
    verdicts.forEach((v) => log(v));
    if (failureSamples.length) log(`  failure samples: ${failureSamples.join(' | ')}`);

    const round = (x: number, dgt = 2) => Math.round(x * 10 ** dgt) / 10 ** dgt;
    const variantJson = (v: Variant) => ({
      what: v.what,
      creds_per_s: round(med(v.runs, 'rate'), 1),
      p50_ms: round(med(v.runs, 'p50'), 3),
      p99_ms: round(med(v.runs, 'p99'), 3),
      issue_p50_ms: round(med(v.runs, 'issueP50'), 3),
      issue_p99_ms: round(med(v.runs, 'issueP99'), 3),
      revoke_p50_ms: round(med(v.runs, 'revokeP50'), 3),
      revoke_p99_ms: round(med(v.runs, 'revokeP99'), 3),
      failed_ops: sumFailures(v),
      runs: v.runs.map((r) => ({
        creds_per_s: round(r.rate, 1),
        ops: r.ops,
        failed_ops: r.failures,
        wall_ms: round(r.wallMs, 0),
        p50_ms: round(r.p50, 3),
        p99_ms: round(r.p99, 3),
        max_ms: round(r.max, 3),
        issue_p50_ms: round(r.issueP50, 3),
        issue_p99_ms: round(r.issueP99, 3),
        revoke_p50_ms: round(r.revokeP50, 3),
        revoke_p99_ms: round(r.revokeP99, 3),
        ...(v.countsRetries ? { retried_transactions: r.retries } : {}),
        pg_stat_commits: r.commits,
        pg_stat_rollbacks: r.rollbacks,
        ...(v.pid ? { coffer_cpu_ms_per_op: round(r.serverCpuMsPerOp, 3) } : {}),
        postgres_cpu_ms_per_op: round(r.postgresCpuMsPerOp, 3),
        this_process_cpu_ms_per_op: round(r.loaderCpuMsPerOp, 3),
      })),
    });
    const json = {
      benchmark: 'dbcreds',
      date: new Date().toISOString(),
      machine: { ...machineInfo(), postgres: version },
      settings: { duration_s: s.duration, warmup_s: s.warmup, rounds: s.rounds, concurrency, pool_size: concurrency, ttl_s: TTL_S, tables: TABLES, cpuProfile: nodeFlags.length > 0 },
      operation: 'issue + revoke (coffer: GET database/creds/bench, PUT sys/leases/revoke sync; direct: creation transaction, revocation transaction)',
      statements: { creation: CREATION, revocation: REVOCATION },
      conflict_handling: `both sides: retry on 40001/40P01/"tuple concurrently updated", up to ${MAX_ATTEMPTS} attempts, random pause, pg_advisory_xact_lock on every transaction`,
      results: { direct: variantJson(d), coffer: variantJson(c) },
      diagnosis: Object.fromEntries(diag.map((v) => [v.name, { ...variantJson(v), of_direct: round(med(v.runs, 'rate') / med(d.runs, 'rate'), 4) }])),
      ratio: { value: round(ratio, 4), target: TARGET, met },
      failure_samples: failureSamples,
      leftover_users: 0,
    };
    await writeResults('dbcreds', json, log);

    return {
      rows: [d, c].map((v) => ({ bench: 'dbcreds', target: `${v.name} issue+revoke`, rps: med(v.runs, 'rate'), p50: med(v.runs, 'p50'), p99: med(v.runs, 'p99'), errors: sumFailures(v) })),
      verdicts,
      ok: met,
    };
  } catch (err) {
    if (coffer && (coffer.child.exitCode !== null || coffer.child.signalCode !== null)) log(`  coffer died during the run (${coffer.child.exitCode ?? coffer.child.signalCode})`);
    if (coffer?.stderr()) log(`  coffer stderr (tail):\n${coffer.stderr().slice(-2000)}`);
    throw err;
  } finally {
    agent.destroy();
    await coffer?.stop();
    await plugin?.close().catch(() => undefined);
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await scratch?.end().catch(() => undefined);
    if (dbCreated) {
      // The database first (its objects hold the users' grants), then any user a failed run left behind.
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((e: Error) => log(`  cleanup: DROP DATABASE failed: ${e.message}`));
      const left = await leftoverUsers().catch(() => [] as string[]);
      for (const u of left) await admin.query(`DROP ROLE IF EXISTS "${u.replace(/"/g, '""')}"`).catch(() => undefined);
      if (left.length) log(`  cleanup: dropped ${left.length} leftover benchmark user(s)`);
    }
    await admin.end().catch(() => undefined);
    if (nodeFlags.length) log(`  coffer CPU profile written under ${profileDir}`);
  }
}
