/**
 * bench/cli: whole-process startup time of `coffer read secret/data/bench/x` against a live dev server (issue 3:
 * "kept under 300 ms on this machine"), against the floor a Node CLI cannot beat in the same run:
 *
 *   floor        node -e "require('http').get(...)"   one GET of the same URL with node's built-in http, body printed
 *   coffer read  node bin/coffer.js read secret/data/bench/x   (COFFER_ADDR/COFFER_TOKEN, HOME with no token helper)
 *
 * The server is a child process. Each run is a fresh process timed from spawn() to its exit; BENCH_CLI_WARMUP
 * (3) discarded runs, then BENCH_CLI_RUNS (30) measured runs, floor and coffer alternating so that both see the
 * same machine. Every run must exit 0 and print the secret. Reported: median, p90, min, max; the difference and
 * the ratio of the medians; the target (coffer read median under 300 ms).
 *
 * Then, where the time goes (BENCH_CLI_DIAGNOSE=0 skips it):
 *   phases   a preload (--import) marks node's bootstrap, the first byte of output and the 'exit' event;
 *   profile  node --cpu-prof runs of `coffer read`: sampled time by package / node internals / idle, and the idle
 *            stretch at the end of the run (the process waiting to exit after its work is done);
 *   imports  performance.now() around a dynamic import() of each package and coffer module seen in the
 *            profile, each in a fresh process (cumulative: a module's own imports included);
 *   what-if  `coffer read` under node --liftoff-only (no background WebAssembly tier-up compile to wait for).
 * Results go to bench/results/cli.json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  envInt,
  spawnDevServer,
  BenchFailure,
  COFFER_BIN,
  REPO_ROOT,
  fmtMs,
  median,
  table,
  type BenchModuleResult,
  type ChildServer,
  machineInfo,
  writeResults,
} from './harness.js';

export const name = 'cli';

const TARGET_MS = 300;
const SECRET_PATH = 'secret/data/bench/x';


/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
}

interface Stats {
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  return {
    median: median(samples),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

interface Timed {
  ms: number;
  code: number | string;
  stdout: string;
  stderr: string;
  /** Wall-clock epoch ms at the child's exit, for lining up with marks taken inside it. */
  exitEpoch: number;
}

/** One fresh `node ARGS...`, timed from spawn() to its exit. */
function timeNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      const ms = performance.now() - t0;
      const exitEpoch = performance.timeOrigin + performance.now();
      clearTimeout(timer);
      // Let the pipes drain before handing back the output (the timing is already taken).
      child.on('close', () => resolve({ ms, code: code ?? signal ?? -1, stdout, stderr, exitEpoch }));
    });
  });
}

/** The floor: one GET with node's built-in http, the body printed, nothing else loaded. */
const FLOOR_SCRIPT =
  "require('http').get(process.env.BENCH_URL, { headers: { 'x-vault-token': process.env.BENCH_TOKEN } }, (r) => {" +
  " let b = ''; r.setEncoding('utf8'); r.on('data', (d) => (b += d));" +
  " r.on('end', () => { process.stdout.write(b); process.exitCode = r.statusCode === 200 ? 0 : 1; });" +
  " }).on('error', (e) => { process.stderr.write(e.message + '\\n'); process.exitCode = 2; });";

// ---------------------------------------------------------------------------------------------------------------
// Diagnosis
// ---------------------------------------------------------------------------------------------------------------

/** Preload for the phase marks: bootstrap done, first and last stdout write, the 'exit' event (ms since start). */
const MARKS_PRELOAD = `
import { appendFileSync } from 'node:fs';
const marks = { boot: performance.now(), firstWrite: null, lastWrite: null, exit: null, origin: performance.timeOrigin };
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (...a) => { const t = performance.now(); marks.firstWrite ??= t; marks.lastWrite = t; return write(...a); };
process.on('exit', () => { marks.exit = performance.now(); appendFileSync(process.env.BENCH_MARKS_FILE, JSON.stringify(marks) + '\\n'); });
`;

interface Phases {
  bootMs: number;
  firstOutputMs: number;
  exitEventMs: number;
  processGoneMs: number;
}

interface ProfileBucket {
  bucket: string;
  ms: number;
}

interface ImportCost {
  module: string;
  ms: number;
}

interface Diagnosis {
  phases: Phases;
  profile: { runs: number; sampledMs: number; buckets: ProfileBucket[]; trailingIdleMs: number; wasmSeen: boolean };
  imports: ImportCost[];
  liftoffOnly: { runs: number; medianMs: number; plainMedianMs: number };
}

/** Groups a profile frame's script URL: a package, a coffer module, a node internal area, or a V8 pseudo-frame. */
function bucketOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : `native ${functionName}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  if (url.startsWith('wasm://')) return 'WebAssembly';
  if (url.startsWith('node:')) {
    const p = url.slice(5).split('/');
    const area = p[0] === 'internal' ? p.slice(0, Math.min(p.length, 3)).join('/') : p[0];
    return `node ${area.replace(/\.js$/, '')}`;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `coffer ${url.slice(dist + 6)}`;
  return url;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function readProfiles(dir: string): CpuProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile);
}

async function diagnose(env: NodeJS.ProcessEnv, readArgs: string[], log: (m: string) => void): Promise<Diagnosis> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-cli-'));
  try {
    const check = (r: Timed, what: string) => {
      if (r.code !== 0) throw new BenchFailure(`${what} exited ${r.code}: ${r.stderr.slice(0, 500)}`);
    };

    // Phases.
    const preload = path.join(tmp, 'marks.mjs');
    const marksFile = path.join(tmp, 'marks.jsonl');
    writeFileSync(preload, MARKS_PRELOAD);
    const gone: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await timeNode(['--import', pathToFileURL(preload).href, ...readArgs], { ...env, BENCH_MARKS_FILE: marksFile });
      check(r, 'coffer read (phases)');
      const m = JSON.parse(readFileSync(marksFile, 'utf8').trim().split('\n').pop()!) as { origin: number; exit: number };
      gone.push(r.exitEpoch - m.origin);
    }
    const marks = readFileSync(marksFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { boot: number; firstWrite: number; lastWrite: number; exit: number });
    const phases: Phases = {
      bootMs: median(marks.map((m) => m.boot)),
      firstOutputMs: median(marks.map((m) => m.firstWrite)),
      exitEventMs: median(marks.map((m) => m.exit)),
      processGoneMs: median(gone),
    };

    // CPU profiles.
    const profDir = path.join(tmp, 'prof');
    const profRuns = 3;
    for (let i = 0; i < profRuns; i++) {
      check(await timeNode(['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=200', ...readArgs], env), 'coffer read (profile)');
    }
    const profiles = readProfiles(profDir);
    const totals = new Map<string, number>();
    let sampledUs = 0;
    let trailingIdleUs = 0;
    let wasmSeen = false;
    for (const p of profiles) {
      const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
      let trailing = 0;
      p.samples.forEach((id, i) => {
        const frame = byId.get(id)!;
        const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time runs until the next one
        const bucket = bucketOf(frame.url, frame.functionName);
        if (bucket === 'WebAssembly' || frame.functionName.includes('Wasm')) wasmSeen = true;
        totals.set(bucket, (totals.get(bucket) ?? 0) + dt);
        sampledUs += dt;
        trailing = frame.functionName === '(idle)' ? trailing + dt : 0;
      });
      trailingIdleUs += trailing;
    }
    const buckets = [...totals.entries()]
      .map(([bucket, us]) => ({ bucket, ms: us / 1000 / profiles.length }))
      .sort((a, b) => b.ms - a.ms);

    // Import costs of what the profile shows was loaded.
    const specs = new Set<string>();
    for (const b of buckets) {
      if (b.bucket.startsWith('package ')) specs.add(b.bucket.slice(8));
      else if (b.bucket.startsWith('coffer ') && b.bucket.endsWith('.js')) specs.add(pathToFileURL(path.join(REPO_ROOT, 'dist', b.bucket.slice(7))).href);
    }
    specs.add(pathToFileURL(path.join(REPO_ROOT, 'dist/src/cli/main.js')).href);
    const imports: ImportCost[] = [];
    for (const spec of specs) {
      const code = `const t = performance.now(); await import(${JSON.stringify(spec)}); process.stdout.write(String(performance.now() - t));`;
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await timeNode(['--input-type=module', '-e', code], env);
        if (r.code !== 0) {
          log(`  (import of ${spec} failed: ${r.stderr.split('\n')[0]})`);
          break;
        }
        times.push(Number(r.stdout));
      }
      if (times.length) imports.push({ module: spec.startsWith('file:') ? path.relative(REPO_ROOT, new URL(spec).pathname) : spec, ms: median(times) });
    }
    imports.sort((a, b) => b.ms - a.ms);

    // What-if: no background WebAssembly tier-up to wait for at exit.
    const liftoff: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 7; i++) {
      const a = await timeNode(['--liftoff-only', ...readArgs], env);
      check(a, 'coffer read (--liftoff-only)');
      liftoff.push(a.ms);
      const b = await timeNode(readArgs, env);
      check(b, 'coffer read');
      plain.push(b.ms);
    }

    return {
      phases,
      profile: { runs: profiles.length, sampledMs: sampledUs / 1000 / profiles.length, buckets, trailingIdleMs: trailingIdleUs / 1000 / profiles.length, wasmSeen },
      imports,
      liftoffOnly: { runs: liftoff.length, medianMs: median(liftoff), plainMedianMs: median(plain) },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------------------------

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const runs = envInt('BENCH_CLI_RUNS', 30, 1);
  const warmup = envInt('BENCH_CLI_WARMUP', 3, 0);
  const doDiagnose = process.env.BENCH_CLI_DIAGNOSE !== '0';
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  const value = randomBytes(24).toString('base64url');
  const home = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-cli-home-'));

  log(`cli: ${runs} runs after ${warmup} warm-ups, floor and coffer alternating; ${os.cpus().length} CPUs, Node ${process.version}`);

  let server: ChildServer | null = null;
  try {
    server = await spawnDevServer(token);
    log(`  coffer dev server: ${server.addr} (pid ${server.child.pid})`);
    const put = await fetch(`${server.addr}/v1/${SECRET_PATH}`, {
      method: 'POST',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { value } }),
    });
    if (put.status !== 200) throw new BenchFailure(`setup: POST ${SECRET_PATH} answered ${put.status}: ${(await put.text()).slice(0, 300)}`);

    // No inherited address, token, format or token helper: exactly one GET per coffer run.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      COFFER_ADDR: server.addr,
      COFFER_TOKEN: token,
      VAULT_ADDR: '',
      VAULT_TOKEN: '',
      COFFER_FORMAT: '',
      VAULT_FORMAT: '',
      HOME: home,
      BENCH_URL: `${server.addr}/v1/${SECRET_PATH}`,
      BENCH_TOKEN: token,
    };
    const readArgs = [COFFER_BIN, 'read', SECRET_PATH];
    const targets = [
      { name: 'floor: node -e http.get', args: ['-e', FLOOR_SCRIPT] },
      { name: 'coffer read', args: readArgs },
    ];
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < warmup + runs; i++) {
      for (const [k, t] of targets.entries()) {
        const r = await timeNode(t.args, env);
        if (r.code !== 0 || !r.stdout.includes(value)) {
          throw new BenchFailure(`${t.name}: exit ${r.code}, secret ${r.stdout.includes(value) ? '' : 'not '}printed\nstdout: ${r.stdout.slice(0, 300)}\nstderr: ${r.stderr.slice(0, 500)}`);
        }
        if (i >= warmup) samples[k].push(r.ms);
      }
    }
    const [floor, coffer] = samples.map(stats);
    const diff = coffer.median - floor.median;
    const ratio = coffer.median / floor.median;
    const met = coffer.median < TARGET_MS;

    log('');
    log(
      table(
        ['process', 'median ms', 'p90 ms', 'min ms', 'max ms', 'mean ms'],
        targets.map((t, k) => {
          const s = k === 0 ? floor : coffer;
          return [t.name, fmtMs(s.median), fmtMs(s.p90), fmtMs(s.min), fmtMs(s.max), fmtMs(s.mean)];
        }),
        [false, true, true, true, true, true],
      ),
    );
    const verdicts = [
      `cli: coffer read median ${fmtMs(coffer.median)} ms (p90 ${fmtMs(coffer.p90)} ms) vs floor ${fmtMs(floor.median)} ms ` +
        `(p90 ${fmtMs(floor.p90)} ms): +${fmtMs(diff)} ms, ${ratio.toFixed(2)}x`,
      `cli: target coffer read under ${TARGET_MS} ms (median): ${met ? 'MET' : 'MISSED'}`,
    ];
    log('');
    verdicts.forEach((v) => log(v));

    let diagnosis: Diagnosis | null = null;
    if (doDiagnose) {
      log('');
      log(`where coffer read's time goes${met ? '' : ' (target missed)'}:`);
      diagnosis = await diagnose(env, readArgs, log);
      const ph = diagnosis.phases;
      log(
        `  phases (median of 5, ms since process start): node bootstrap ${fmtMs(ph.bootMs)}, first output ${fmtMs(ph.firstOutputMs)}, ` +
          `'exit' event ${fmtMs(ph.exitEventMs)}, process gone ${fmtMs(ph.processGoneMs)}`,
      );
      log(`    → after its output the process waits ${fmtMs(ph.exitEventMs - ph.firstOutputMs)} ms before exiting`);
      const pr = diagnosis.profile;
      log(`  cpu profile (${pr.runs} runs, sampled time per run ${fmtMs(pr.sampledMs)} ms; idle at the end of the run ${fmtMs(pr.trailingIdleMs)} ms):`);
      for (const b of pr.buckets.filter((x) => x.ms >= 1).slice(0, 15)) log(`    ${fmtMs(b.ms).padStart(7)} ms  ${b.bucket}`);
      log('  import() cost in a fresh process (cumulative, median of 5):');
      for (const imp of diagnosis.imports) log(`    ${fmtMs(imp.ms).padStart(7)} ms  ${imp.module}`);
      const lo = diagnosis.liftoffOnly;
      log(
        `  what-if: under node --liftoff-only (no background WebAssembly tier-up compile, e.g. undici's llhttp, for node to wait for at exit) ` +
          `coffer read takes ${fmtMs(lo.medianMs)} ms vs ${fmtMs(lo.plainMedianMs)} ms (median of ${lo.runs} each, alternating)`,
      );
    }

    const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
    const roundStats = (s: Stats) => Object.fromEntries(Object.entries(s).map(([k, v]) => [`${k}_ms`, round(v)]));
    const json = {
      benchmark: 'cli',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: { runs, warmup, command: `coffer read ${SECRET_PATH}`, floor: 'node -e "require(\'http\').get(...)"' },
      results: {
        floor: { ...roundStats(floor), samples_ms: samples[0].map((x) => round(x)) },
        coffer_read: { ...roundStats(coffer), samples_ms: samples[1].map((x) => round(x)) },
      },
      difference_ms: round(diff),
      ratio: round(ratio, 3),
      target: { coffer_read_median_under_ms: TARGET_MS, met },
      diagnosis: diagnosis && {
        phases_ms: Object.fromEntries(Object.entries(diagnosis.phases).map(([k, v]) => [k, round(v)])),
        profile: {
          runs: diagnosis.profile.runs,
          sampled_ms: round(diagnosis.profile.sampledMs),
          trailing_idle_ms: round(diagnosis.profile.trailingIdleMs),
          webassembly_seen: diagnosis.profile.wasmSeen,
          buckets_ms: Object.fromEntries(diagnosis.profile.buckets.filter((b) => b.ms >= 0.5).map((b) => [b.bucket, round(b.ms)])),
        },
        import_ms: Object.fromEntries(diagnosis.imports.map((i) => [i.module, round(i.ms)])),
        liftoff_only: { runs: diagnosis.liftoffOnly.runs, median_ms: round(diagnosis.liftoffOnly.medianMs), coffer_read_median_ms: round(diagnosis.liftoffOnly.plainMedianMs) },
      },
    };
    await writeResults('cli', json, log);

    return {
      rows: targets.map((t, k) => {
        const s = k === 0 ? floor : coffer;
        // req/s here: sequential whole-process runs per second (1000 / median ms).
        return { bench: 'cli', target: t.name, rps: 1000 / s.median, p50: s.median, p99: s.p99, errors: 0 };
      }),
      verdicts,
      ok: met,
    };
  } catch (err) {
    if (server?.stderr()) log(`  coffer server stderr (tail):\n${server.stderr().slice(-2000)}`);
    throw err;
  } finally {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
