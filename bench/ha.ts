/**
 * bench/ha (storage part, issue 17): KV v2 writes and reads through a coffer server on PostgreSQL storage
 * against the same SQL statements run through `pg` directly, in the same run, on the same database.
 *
 *   coffer write   POST /v1/secret/data/bench/w-<n>   (n cycles over 1000 keys; max_versions=2, ~200-byte value)
 *   direct write   the statements coffer issues per KV v2 write, measured on this run (transactions per write,
 *                  rows put and deleted per transaction, average stored value size), through a pg.Pool:
 *                  coffer's own prepared write statement (src/storage/postgresql.ts) with the same row counts
 *   coffer read    GET /v1/secret/data/bench/item
 *   direct read    coffer's get statement for one stored row
 *
 * Both sides run `BENCH_CONNECTIONS` workers back to back (closed loop) for BENCH_DURATION s, alternating
 * direct, coffer, direct, coffer ... for BENCH_ROUNDS rounds after a discarded warm-up; medians are reported.
 * Target: coffer writes ≥ 60 % of the direct rate. coffer answers reads from its barrier cache (no SQL), so the
 * read ratio shows what that cache is worth rather than a storage cost.
 *
 * Needs PostgreSQL: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) must be allowed to
 * create and drop a database. Results go to bench/results/ha.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgresStatements, splitKey } from '../src/storage/postgresql.js';
import {
  BenchFailure,
  COFFER_BIN,
  closedLoop,
  fmtInt,
  fmtMs,
  fmtPct,
  httpJson,
  loadSettings,
  machineInfo,
  median,
  processCpuMs,
  roundTo,
  spawnListening,
  table,
  writeResults,
  type BenchModuleResult,
  type ChildServer,
  type ClosedLoopFigures,
} from './harness.js';

export const name = 'ha';

const TARGETS = { write: 0.6 } as const;
const WRITE_KEYS = 1000;
const TABLE = 'vault_kv_store';
const READ_PATH = '/v1/secret/data/bench/item';
const PROBE_WRITES = 200;

/** What one KV v2 write costs in SQL: coffer issues ONE write statement per write (a storage transaction). */
interface WriteShape {
  /** Autocommitted reads (get statements) besides the write statement. */
  reads: number;
  puts: number;
  deletes: number;
  valueBytes: number;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function databaseUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Transactions, rows and bytes one KV v2 write costs in PostgreSQL, from the server's statistics. */
async function measureWriteShape(url: string, write: (n: number) => Promise<void>): Promise<WriteShape> {
  const counters = () =>
    withClient(url, async (c) => {
      await c.query('SELECT pg_stat_clear_snapshot()');
      const xact = await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
      const rows = await c.query<{ ins: string; upd: string; del: string }>(
        `SELECT n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del FROM pg_stat_user_tables WHERE relname = $1`,
        [TABLE],
      );
      return { xact: Number(xact.rows[0].n), puts: Number(rows.rows[0].ins) + Number(rows.rows[0].upd), deletes: Number(rows.rows[0].del) };
    });
  // An idle backend reports its statistics only after 10 s (PostgreSQL 15): wait that long before each reading.
  const settle = () => new Promise((r) => setTimeout(r, 11_000));
  for (let n = 0; n < PROBE_WRITES; n++) await write(n % 100); // history at max_versions, as in the measured runs
  await settle();
  const before = await counters();
  for (let n = 0; n < PROBE_WRITES; n++) await write(n % 100);
  await settle();
  const after = await counters();
  // Every autocommitted statement counts as a transaction, reads included; each counters() reading adds 3.
  const statements = Math.max(1, Math.round((after.xact - before.xact - 3) / PROBE_WRITES));
  const size = await withClient(url, (c) => c.query<{ n: string }>(`SELECT avg(octet_length(value))::int AS n FROM ${TABLE} WHERE path LIKE '/logical/%'`));
  return {
    reads: statements - 1,
    puts: Math.max(1, Math.round((after.puts - before.puts) / PROBE_WRITES)),
    deletes: Math.round((after.deletes - before.deletes) / PROBE_WRITES),
    valueBytes: Number(size.rows[0].n),
  };
}

/** Writes shaped like coffer's: its reads, then one statement putting a metadata and a version row, deleting pruned ones. */
function directWriter(pool: pg.Pool, shape: WriteShape): (worker: number, n: number) => Promise<void> {
  const { get, write } = postgresStatements(TABLE);
  const value = randomBytes(shape.valueBytes);
  return async (worker, n) => {
    const key = `direct/w${worker}-${n % WRITE_KEYS}`;
    for (let r = 0; r < shape.reads; r++) {
      const { path: p, name } = splitKey(`${key}/meta`);
      await pool.query({ ...get, values: [p, name] });
    }
    const puts = Array.from({ length: shape.puts }, (_, i) => splitKey(i === 0 ? `${key}/meta` : `${key}/v${n}-${i}`));
    const deletes = Array.from({ length: shape.deletes }, (_, i) => splitKey(`${key}/v${n - 2}-${i + 1}`));
    await pool.query({
      ...write,
      values: [puts.map((p) => p.parent), puts.map((p) => p.path), puts.map((p) => p.name), puts.map(() => value), deletes.map((d) => d.path), deletes.map((d) => d.name)],
    });
  };
}

interface Round {
  rate: number;
  p50: number;
  p99: number;
  ops: number;
  /** CPU time of the coffer process per operation (µs); ~0 for the direct targets. */
  cofferCpuUs: number;
}

/** One measured run, with the coffer process's CPU per operation (where the gap to direct SQL goes). */
async function measure(connections: number, seconds: number, op: (worker: number) => Promise<void>, cofferPid: number | undefined): Promise<Round> {
  const cpu0 = processCpuMs(cofferPid);
  const f: ClosedLoopFigures = await closedLoop(connections, seconds, op);
  const cpuUs = ((processCpuMs(cofferPid) - cpu0) * 1000) / Math.max(1, f.ops);
  return { rate: f.rate, p50: f.latency.percentile(50), p99: f.latency.percentile(99), ops: f.ops, cofferCpuUs: cpuUs };
}

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const s = loadSettings();
  const adminUrl = process.env.BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const db = `coffer_bench_${randomBytes(5).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-ha-'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: s.connections });
  let coffer: ChildServer | null = null;
  let pool: pg.Pool | null = null;
  log(`ha: ${s.connections} workers, ${s.duration} s per run, ${s.rounds} rounds, ${s.warmup} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}; database ${db}`);
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${db}`));
  try {
    const url = databaseUrl(adminUrl, db);
    const config = path.join(dir, 'coffer.hcl');
    writeFileSync(config, `storage "postgresql" {\n  connection_url = "${url}"\n  max_parallel = ${s.connections}\n}\nlistener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n`);
    coffer = await spawnListening('coffer', [COFFER_BIN, 'server', `-config=${config}`, '-log-level=error']);
    const addr = coffer.addr;
    const call = async (method: string, p: string, token?: string, body?: unknown) => {
      const res = await httpJson(agent, addr, method, p, { token, body });
      if (res.status < 200 || res.status > 299) throw new BenchFailure(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res.json as any;
    };
    const init = await call('PUT', '/v1/sys/init', undefined, { secret_shares: 1, secret_threshold: 1 });
    await call('PUT', '/v1/sys/unseal', undefined, { key: init.keys[0] });
    const token: string = init.root_token;
    await call('POST', '/v1/sys/mounts/secret', token, { type: 'kv', options: { version: '2' } });
    await call('POST', '/v1/secret/config', token, { max_versions: 2 });
    const body = { data: { value: randomBytes(150).toString('base64url') } };
    await call('POST', READ_PATH, token, body);
    log(`  coffer: ${addr} (pid ${coffer.child.pid}) on PostgreSQL`);

    const cofferWrite = (n: number) => call('POST', `/v1/secret/data/bench/w-${n % WRITE_KEYS}`, token, body).then(() => undefined);
    const shape = await measureWriteShape(url, cofferWrite);
    log(`  one KV v2 write = ${shape.reads} read(s), then one write statement of ${shape.puts} put(s) and ${shape.deletes} delete(s); values ~${shape.valueBytes} B`);

    pool = new pg.Pool({ connectionString: url, max: s.connections });
    const directWrite = directWriter(pool, shape);
    const { get } = postgresStatements(TABLE);
    const stored = await pool.query<{ path: string; key: string }>(`SELECT path, key FROM ${TABLE} WHERE path LIKE '/logical/%' LIMIT 1`);
    const readRow = [stored.rows[0].path, stored.rows[0].key];

    const counters = new Array<number>(s.connections).fill(0);
    let cofferN = 0;
    const targets: Record<string, (worker: number) => Promise<void>> = {
      'direct write': (w) => directWrite(w, counters[w]++),
      'coffer write': () => cofferWrite(cofferN++),
      'direct read': async () => void (await pool!.query({ ...get, values: readRow })),
      'coffer read': async () => void (await call('GET', READ_PATH, token)),
    };
    if (s.warmup > 0) {
      log(`  warm-up of each target (${s.warmup} s, discarded)`);
      for (const op of Object.values(targets)) await closedLoop(s.connections, s.warmup, op);
    }
    const runs: Record<string, Round[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
    for (let r = 1; r <= s.rounds; r++) {
      for (const [label, op] of Object.entries(targets)) {
        const f = await measure(s.connections, s.duration, op, coffer.child.pid);
        runs[label].push(f);
        log(`  round ${r} ${label}: ${fmtInt(f.rate)} op/s, p50 ${fmtMs(f.p50)} ms, coffer CPU ${f.cofferCpuUs.toFixed(0)} µs/op`);
      }
    }
    const med = (label: string) => ({
      rate: median(runs[label].map((x) => x.rate)),
      p50: median(runs[label].map((x) => x.p50)),
      p99: median(runs[label].map((x) => x.p99)),
      cpu: median(runs[label].map((x) => x.cofferCpuUs)),
    });
    const m = Object.fromEntries(Object.keys(targets).map((k) => [k, med(k)]));
    const writeRatio = m['coffer write'].rate / m['direct write'].rate;
    const readRatio = m['coffer read'].rate / m['direct read'].rate;
    const writeOk = writeRatio >= TARGETS.write;

    log('');
    log(table(['ha (PostgreSQL)', 'op/s', 'p50 ms', 'p99 ms', 'coffer CPU µs/op', 'runs op/s'], Object.keys(targets).map((k) => [
      k, fmtInt(m[k].rate), fmtMs(m[k].p50), fmtMs(m[k].p99), m[k].cpu.toFixed(0), runs[k].map((x) => fmtInt(x.rate)).join(' / '),
    ]), [false, true, true, true, true, false]));
    const verdicts = [
      `ha write: coffer/direct SQL = ${fmtPct(writeRatio)} (target ≥ ${fmtPct(TARGETS.write)}) ${writeOk ? 'MET' : 'MISSED'}`,
      `ha read : coffer/direct SQL = ${fmtPct(readRatio)} (no target; coffer reads come from its barrier cache)`,
    ];
    log('');
    verdicts.forEach((v) => log(v));

    await writeResults('ha', {
      benchmark: 'ha',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: { ...s, writeKeys: WRITE_KEYS, writeShape: shape },
      results: Object.fromEntries(Object.keys(targets).map((k) => [k.replace(' ', '_'), {
        rate: roundTo(m[k].rate, 1), p50_ms: roundTo(m[k].p50, 3), p99_ms: roundTo(m[k].p99, 3), coffer_cpu_us_per_op: roundTo(m[k].cpu, 1),
        runs: runs[k].map((x) => ({ rate: roundTo(x.rate, 1), p50_ms: roundTo(x.p50, 3), ops: x.ops })),
      }])),
      ratios: { write: { value: roundTo(writeRatio, 4), target: TARGETS.write, met: writeOk }, read: { value: roundTo(readRatio, 4) } },
    }, log);
    return {
      rows: Object.keys(targets).map((k) => ({ bench: 'ha', target: k, rps: m[k].rate, p50: m[k].p50, p99: m[k].p99, errors: 0 })),
      verdicts,
      ok: writeOk,
    };
  } finally {
    agent.destroy();
    await pool?.end();
    await coffer?.stop();
    await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
    rmSync(dir, { recursive: true, force: true });
  }
}
