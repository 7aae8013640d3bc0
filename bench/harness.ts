/**
 * Shared pieces of the benchmarks: child-process servers, the autocannon wrapper, medians and the table printer.
 *
 * Every server under test runs in its own child process so that the load generator (this process) never shares
 * an event loop with it. Children are registered and killed on every exit path, failures included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import autocannon from 'autocannon';

/** dist/bench/harness.js → repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const COFFER_BIN = path.join(REPO_ROOT, 'bin/coffer.js');
export const BENCH_DIST = path.dirname(fileURLToPath(import.meta.url));
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results');

// ---------------------------------------------------------------------------------------------------------------
// Environment knobs
// ---------------------------------------------------------------------------------------------------------------

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

/** An integer knob from the environment (`BENCH_*`), refusing anything below `min`. */
export function envInt(name: string, fallback: number, min: number): number {
  const n = envNumber(name, fallback, min);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer ≥ ${min}, got "${process.env[name]}"`);
  return n;
}

export interface LoadSettings {
  /** Seconds per measured run. */
  duration: number;
  /** Seconds of the discarded warm-up run before each target's first measurement. */
  warmup: number;
  connections: number;
  pipelining: number;
  /** Measured runs per target, alternating baseline and subject; the median is reported. */
  rounds: number;
}

export function loadSettings(): LoadSettings {
  return {
    duration: envNumber('BENCH_DURATION', 10, 1),
    warmup: envNumber('BENCH_WARMUP', 2, 0),
    connections: Math.trunc(envNumber('BENCH_CONNECTIONS', 10, 1)),
    pipelining: Math.trunc(envNumber('BENCH_PIPELINING', 1, 1)),
    rounds: Math.trunc(envNumber('BENCH_ROUNDS', 3, 1)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------------------------

export interface ChildServer {
  label: string;
  child: ChildProcess;
  /** `http://127.0.0.1:PORT` from the child's `Listener:` line. */
  addr: string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the child has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

// Last line of defence: whatever happens to this process, no server outlives it.
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

/** Spawns `node ARGS...` and waits for a `Listener: URL` line on its stdout. */
export async function spawnListening(label: string, nodeArgs: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  live.add(child);
  let out = '';
  let err = '';
  // Keep draining both pipes for the whole life of the child so that it can never block on a full pipe.
  child.stdout!.on('data', (d: Buffer) => {
    if (out.length < 64 * 1024) out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    if (err.length < 64 * 1024) err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });

  const addr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not start within ${opts.timeoutMs ?? 20_000} ms\nstderr: ${err}`));
    }, opts.timeoutMs ?? 20_000);
    const onData = () => {
      const m = /Listener: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });

  let stopping: Promise<void> | null = null;
  return {
    label,
    child,
    addr,
    stderr: () => err,
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * A `coffer server -dev` child on a random port with `token` as its root token, leaving ~/.coffer-token alone.
 * `nodeFlags` go to node itself (e.g. --cpu-prof).
 */
export function spawnDevServer(token: string, nodeFlags: string[] = []): Promise<ChildServer> {
  return spawnListening('coffer', [
    ...nodeFlags,
    COFFER_BIN,
    'server',
    '-dev',
    '-dev-no-store-token',
    `-dev-root-token-id=${token}`,
    '-dev-listen-address=127.0.0.1:0',
    '-log-level=error',
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// Load generation
// ---------------------------------------------------------------------------------------------------------------

export interface LoadTarget {
  /** Row label, e.g. `coffer read`. */
  name: string;
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Varies each request (path, body); used for writes. */
  setupRequest?: (req: autocannon.Request) => autocannon.Request;
  /** The server's pid, to account its CPU time during the run (Linux /proc). */
  pid?: number;
}

export interface RunFigures {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  durationS: number;
  /** Server CPU time (user+system) per completed request, µs; NaN when unknown. */
  serverCpuUsPerReq: number;
  /** Server CPU use over the run, % of one core; NaN when unknown. */
  serverCpuPct: number;
  /** This process's (the load generator's) CPU use over the run, % of one core. */
  loaderCpuPct: number;
}

/** utime+stime of a process in ms from /proc/PID/stat, or NaN off Linux. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100; // USER_HZ, 100 on every Linux build

export async function runLoad(target: LoadTarget, seconds: number, s: LoadSettings): Promise<RunFigures> {
  const request: autocannon.Request = {
    method: target.method,
    headers: target.headers,
    ...(target.body !== undefined ? { body: target.body } : {}),
    ...(target.setupRequest ? { setupRequest: target.setupRequest } : {}),
  };
  // autocannon's own latency histogram has 1 ms resolution, too coarse here; keep every 2xx response time
  // (float ms from process.hrtime) and take the percentiles ourselves.
  const latencies = new LatencyRecorder();
  const serverCpu0 = processCpuMs(target.pid);
  const loaderCpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: s.connections,
        pipelining: s.pipelining,
        duration: seconds,
        method: target.method,
        headers: target.headers,
        ...(target.body !== undefined ? { body: target.body } : {}),
        requests: [request],
        timeout: 10,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.add(ms);
    });
  });
  const wallMs = performance.now() - wall0;
  const serverCpuMs = processCpuMs(target.pid) - serverCpu0;
  const loaderCpu = process.cpuUsage(loaderCpu0);
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = v?.count ?? 0;
  return {
    rps: result.requests.average,
    p50: latencies.percentile(50),
    p99: latencies.percentile(99),
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    statusCodes,
    durationS: result.duration,
    serverCpuUsPerReq: (serverCpuMs * 1000) / Math.max(1, result.requests.total),
    serverCpuPct: (100 * serverCpuMs) / wallMs,
    loaderCpuPct: (100 * (loaderCpu.user + loaderCpu.system)) / 1000 / wallMs,
  };
}

/** Response times in ms, grown by doubling; percentiles by sorting once. */
export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private n = 0;
  private sorted = false;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
    this.sorted = false;
  }

  get count(): number {
    return this.n;
  }

  /** Largest value recorded, NaN when none. */
  get max(): number {
    let m = NaN;
    for (let i = 0; i < this.n; i++) if (!(this.values[i] <= m)) m = this.values[i];
    return m;
  }

  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const v = this.values.subarray(0, this.n);
    if (!this.sorted) {
      v.sort();
      this.sorted = true;
    }
    return v[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))];
  }
}

/** Median figures of a target's measured runs. */
export interface Measured {
  name: string;
  runs: RunFigures[];
  median: { rps: number; p50: number; p99: number; cpuUsPerReq: number; serverCpuPct: number; loaderCpuPct: number };
  errors: number;
}

export function summarise(name: string, runs: RunFigures[]): Measured {
  const med = (k: keyof RunFigures) => median(runs.map((r) => r[k] as number));
  return {
    name,
    runs,
    median: { rps: med('rps'), p50: med('p50'), p99: med('p99'), cpuUsPerReq: med('serverCpuUsPerReq'), serverCpuPct: med('serverCpuPct'), loaderCpuPct: med('loaderCpuPct') },
    errors: runs.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx + r.mismatches, 0),
  };
}

/**
 * A discarded warm-up of each target, then `rounds` measured runs taking the targets in turn (baseline first),
 * so that a slow phase of a noisy machine hits every target alike. Any error answer fails the run.
 */
export async function measureAlternating(targets: LoadTarget[], s: LoadSettings, log: (m: string) => void): Promise<Measured[]> {
  if (s.warmup > 0) {
    for (const t of targets) {
      log(`  warm-up ${t.name} (${s.warmup} s, discarded)`);
      assertClean(`${t.name} (warm-up)`, await runLoad(t, s.warmup, s));
    }
  }
  const runs: RunFigures[][] = targets.map(() => []);
  const width = Math.max(12, ...targets.map((t) => t.name.length));
  for (let round = 1; round <= s.rounds; round++) {
    for (const [i, t] of targets.entries()) {
      const r = await runLoad(t, s.duration, s);
      assertClean(t.name, r);
      runs[i].push(r);
      log(
        `  round ${round}/${s.rounds} ${t.name.padEnd(width)} ${fmtInt(r.rps).padStart(7)} req/s  p50 ${fmtMs(r.p50)} ms  ` +
          `p99 ${fmtMs(r.p99)} ms  server ${r.serverCpuUsPerReq.toFixed(0)} µs CPU/req (${r.serverCpuPct.toFixed(0)} % of a core), ` +
          `load generator ${r.loaderCpuPct.toFixed(0)} %`,
      );
    }
  }
  return targets.map((t, i) => summarise(t.name, runs[i]));
}

/** `x` rounded to `digits` decimals, for results JSON. */
export const roundTo = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The machine a result was measured on, for results JSON. */
export function machineInfo(): { cpus: number; cpuModel: string; node: string; platform: string } {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` };
}

/** Writes bench/results/NAME.json and says where. */
export async function writeResults(name: string, json: unknown, log: (m: string) => void): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`  results written to ${path.relative(process.cwd(), file) || file}`);
}

export class BenchFailure extends Error {}

/** Refuses a run with any connection error, timeout or non-2xx answer: its figures would mean nothing. */
export function assertClean(name: string, r: RunFigures): void {
  if (r.errors || r.timeouts || r.non2xx || r.mismatches) {
    throw new BenchFailure(
      `${name}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx, ${r.mismatches} mismatches ` +
        `out of ${r.requests} requests (status codes ${JSON.stringify(r.statusCodes)})`,
    );
  }
  if (r.requests === 0) throw new BenchFailure(`${name}: no request completed`);
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// ---------------------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------------------

/** One row of the final summary table that run.ts prints. */
export interface SummaryRow {
  bench: string;
  target: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  note?: string;
}

export interface BenchModuleResult {
  rows: SummaryRow[];
  /** Lines under the table: ratios against targets and the like. */
  verdicts: string[];
  /** True when every target was met. */
  ok: boolean;
}

export function table(headers: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number) => n.toFixed(2);
export const fmtPct = (n: number) => `${(n * 100).toFixed(1)} %`;

// ---------------------------------------------------------------------------------------------------------------
// Hand-driven load (operations autocannon cannot express: multi-request sequences, non-HTTP baselines)
// ---------------------------------------------------------------------------------------------------------------

export interface JsonAnswer {
  status: number;
  /** Parsed body, or null when empty or not JSON. */
  json: unknown;
  text: string;
}

/**
 * One HTTP request with a JSON body over `agent` (give it `keepAlive: true` so that measured requests reuse
 * connections). Never throws on a non-2xx status; network errors reject.
 */
export function httpJson(
  agent: http.Agent,
  addr: string,
  method: string,
  urlPath: string,
  opts: { token?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<JsonAnswer> {
  const url = new URL(urlPath, addr);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        headers: {
          ...opts.headers,
          ...(opts.token ? { 'x-vault-token': opts.token } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface ClosedLoopFigures {
  /** Completed operations per second over the run's wall time. */
  rate: number;
  ops: number;
  wallMs: number;
  /** Per-operation latency (ms) of the completed operations. */
  latency: LatencyRecorder;
  /** Extra recorders the operation filled in (per step), by name. */
  steps: Map<string, LatencyRecorder>;
  /** Operations that reported failure (returned false); not in `ops`, `rate` or `latency`. */
  failures: number;
}

/**
 * `concurrency` workers each run `op` back to back until `seconds` have passed (an operation under way then is
 * finished and counted). An operation that resolves to `false` is an expected kind of failure (an error answer
 * the benchmark reports): counted in `failures`, left out of the rate and the latencies. An operation that
 * throws stops every worker and rejects: figures from such a run would mean nothing. `op` may time its own
 * steps through `step(name, ms)`.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  op: (worker: number, step: (name: string, ms: number) => void) => Promise<void | boolean>,
): Promise<ClosedLoopFigures> {
  const latency = new LatencyRecorder();
  const steps = new Map<string, LatencyRecorder>();
  const step = (name: string, ms: number) => {
    let r = steps.get(name);
    if (!r) steps.set(name, (r = new LatencyRecorder()));
    r.add(ms);
  };
  let failed: unknown = null;
  let failures = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (failed === null && performance.now() < deadline) {
        const s = performance.now();
        try {
          if ((await op(worker, step)) === false) {
            failures++;
            continue;
          }
        } catch (err) {
          failed ??= err;
          return;
        }
        latency.add(performance.now() - s);
      }
    }),
  );
  const wallMs = performance.now() - t0;
  if (failed !== null) throw failed;
  return { rate: (latency.count * 1000) / wallMs, ops: latency.count, wallMs, latency, steps, failures };
}
