/**
 * bench/leases-restore: a file-backed coffer server holding 100,000 leases is restarted and unsealed; how soon
 * does it serve requests again, how long until every lease is restored, and is any request held up meanwhile
 * (issue 4, "Benchmark": under 10 s to serve, no request blocked while restore runs). Baseline in the same run:
 * the same server state with no leases (README, "Performance").
 *
 * Setup (not measured):
 *   1. a config file in a temp dir (sqlite storage, listener 127.0.0.1:0, tls_disable); `coffer server -config`
 *      as a child process; sys/init (1 share) and sys/unseal through the API; a kv v2 mount `secret/` with one
 *      ~200-byte secret and a `database` mount (no connection: nothing is revoked during the benchmark);
 *      the child is stopped;
 *   2. the database file is copied: the copy is the baseline (0 leases);
 *   3. in this process, startServer() on the original file, unseal, then BENCH_LEASES (100,000) leases
 *      registered through core.leases.register() for `database/creds/bench` on the real mount (TTL 1 h,
 *      renewable, internal data shaped like a database credential's), in batches that group-commit; close.
 *
 * Measured, BENCH_ROUNDS (3) rounds alternating baseline and subject: the child is started sealed; a prober
 * sends a KV read (GET /v1/secret/data/bench/item) every BENCH_PROBE_MS (5) ms, open loop (each request on its
 * own schedule, so a stalled server shows up as latency rather than as fewer requests), and polls
 * sys/leases/count every 50 ms; then PUT sys/unseal is sent (t0). Reported:
 *   time to serve      t0 → the first KV read answered 200;
 *   restore finished   t0 → the first sys/leases/count answer with lease_count == the leases stored;
 *   latency            of KV reads sent between the unseal answer and the end of the restore (baseline: the
 *                      same length of window after its unseal answer, at least 2 s), p50/p99/max; a read that
 *                      takes longer than BENCH_BLOCKED_MS (100) ms counts as blocked. The open-loop reads use new
 *                      connections whenever the pooled ones are busy, as real clients do when a server stalls;
 *                      alongside, one keep-alive connection opened before the unseal reads in a closed loop
 *                      (every BENCH_PROBE_MS after the previous answer), and its worst latency is reported too.
 * Targets: time to serve < 10 s; no KV read blocked during the restore. Results: bench/results/leases-restore.json.
 *
 * For the diagnosis, every measured server runs with a preloaded event-loop monitor (node --import, a file in the
 * temp dir; coffer itself is unchanged) that records each stretch over 10 ms in which the loop ran no timer: the
 * longest such stall up to the unseal answer and within the window are reported, with a 250 ms timeline of the
 * KV reads' worst latency in the JSON.
 *
 * Knobs: BENCH_LEASES (100000), BENCH_ROUNDS (3), BENCH_PROBE_MS (5), BENCH_BLOCKED_MS (100),
 * BENCH_CPU_PROF=1 (the measured children run under --cpu-prof; profiles in bench/results/profiles/).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';
import {
  envInt,
  BenchFailure,
  COFFER_BIN,
  LatencyRecorder,
  RESULTS_DIR,
  fmtInt,
  fmtMs,
  httpJson,
  loadSettings,
  median,
  spawnListening,
  table,
  type BenchModuleResult,
  type ChildServer,
  machineInfo,
  writeResults,
} from './harness.js';

export const name = 'leases-restore';

const SERVE_TARGET_MS = 10_000;
const LEASE_PATH = 'database/creds/bench';
const READ_PATH = '/v1/secret/data/bench/item';
const COUNT_POLL_MS = 50;
const MIN_WINDOW_MS = 2000;
const BATCH = 2000;
const TIMELINE_MS = 250;
/** Stalls of the server's event loop shorter than this are not recorded. */
const STALL_MS = 10;

/**
 * Preloaded into the measured servers (node --import): a 2 ms interval timer notes every gap over STALL_MS, i.e.
 * a stretch in which the event loop ran no timers (so answered no request), and writes them out at exit as
 * [epoch ms at the start, length ms]. Nothing in coffer is changed.
 */
const LOOP_MONITOR = `
import { writeFileSync } from 'node:fs';
const file = process.env.BENCH_LOOP_FILE;
const stalls = [];
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  if (now - last > ${STALL_MS}) stalls.push([performance.timeOrigin + last, now - last]);
  last = now;
}, 2);
timer.unref();
process.on('exit', () => { if (file) writeFileSync(file, JSON.stringify(stalls)); });
`;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  /** ms since t0 (the unseal request) when sent and when answered. */
  sent: number;
  done: number;
  status: number;
}

interface RestartFigures {
  leases: number;
  /** t0 → unseal answered. */
  unsealMs: number;
  /** t0 → first KV read answered 200. */
  serveMs: number;
  /** t0 → lease_count reached `leases` (as seen by the poller). */
  restoredMs: number;
  /** The window the latencies cover, ms after t0. */
  window: [number, number];
  reads: number;
  p50: number;
  p99: number;
  max: number;
  blocked: number;
  /** Largest latency of any KV read in the whole run (sealed 503s and post-window included). */
  maxAny: number;
  /** Largest latency of a sys/leases/count poll in the window. */
  countPollMax: number;
  /** Event-loop stalls of the server (from the preloaded monitor), ms after t0: [start, length]. */
  stalls: [number, number][];
  /** Longest stall overlapping t0 → unseal answered, and longest one starting inside the window. */
  unsealStallMs: number;
  windowStallMs: number;
  /** KV reads with a status other than 200 or 503 (sealed), or network errors. */
  errors: number;
  /** The same KV read, closed loop on one keep-alive connection opened before the unseal: reads in the window, max. */
  persistentReads: number;
  persistentMax: number;
  /** Resident memory of the server after the restore (kB, VmRSS). */
  rssKb: number;
  /** KV reads by send time in TIMELINE_MS buckets from t0: [bucket start ms, reads, max latency ms]. */
  timeline: [number, number, number][];
}

function rssKb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const { rounds } = loadSettings();
  const leases = envInt('BENCH_LEASES', 100_000, 1);
  const probeMs = envInt('BENCH_PROBE_MS', 5, 1);
  const blockedMs = envInt('BENCH_BLOCKED_MS', 100, 1);
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  const nodeFlags = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  if (nodeFlags.length) await mkdir(profileDir, { recursive: true });

  log(`leases-restore: ${fmtInt(leases)} leases, ${rounds} rounds, KV read every ${probeMs} ms, blocked = over ${blockedMs} ms; ${os.cpus().length} CPUs, Node ${process.version}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-leases-'));
  const writeConfig = (file: string, db: string) => {
    writeFileSync(
      file,
      JSON.stringify({
        listener: { tcp: { address: '127.0.0.1:0', tls_disable: true } },
        storage: { sqlite: { path: db } },
        log_level: 'error',
        disable_mlock: true,
      }),
    );
    return file;
  };
  const monitorFile = path.join(dir, 'loop-monitor.mjs');
  writeFileSync(monitorFile, LOOP_MONITOR);
  const subjectDb = path.join(dir, 'leases.db');
  const baselineDb = path.join(dir, 'empty.db');
  const subjectCfg = writeConfig(path.join(dir, 'leases.json'), subjectDb);
  const baselineCfg = writeConfig(path.join(dir, 'empty.json'), baselineDb);

  let child: ChildServer | null = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    // ---- 1. init, unseal, mounts, a secret: through the API of a child server -----------------------------
    child = await spawnListening('coffer', [COFFER_BIN, 'server', `-config=${subjectCfg}`]);
    const addr0 = child.addr;
    const call = async (method: string, p: string, body?: unknown, token?: string) => {
      const res = await httpJson(agent, addr0, method, `/v1/${p}`, { token, body });
      if (res.status < 200 || res.status > 299) throw new BenchFailure(`setup: ${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res.json as Record<string, unknown>;
    };
    const init = (await call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 })) as { keys_base64: string[]; root_token: string };
    const unsealKey = init.keys_base64[0];
    const token = init.root_token;
    await call('PUT', 'sys/unseal', { key: unsealKey });
    await call('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } }, token);
    await call('POST', 'sys/mounts/database', { type: 'database' }, token);
    await call('POST', 'secret/data/bench/item', { data: { value: randomBytes(150).toString('base64url') } }, token);
    const read = (await call('GET', 'secret/data/bench/item', undefined, token)) as { data?: { data?: { value?: string } } };
    if (read.data?.data?.value?.length !== 200) throw new BenchFailure('setup: the secret did not read back');
    await child.stop();
    child = null;

    // ---- 2. the baseline: the same state, no leases --------------------------------------------------------
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(subjectDb + suffix)) copyFileSync(subjectDb + suffix, baselineDb + suffix);
    }

    // ---- 3. leases, registered in this process on the real mount ----------------------------------------------
    const p0 = performance.now();
    const server = await startServer(await loadConfig(subjectCfg));
    let sampleLease = '';
    try {
      await server.core.submitUnsealShare(Buffer.from(unsealKey, 'base64'));
      const mount = server.core.mounts.find('database/');
      if (!mount) throw new BenchFailure('setup: database/ mount not found in-process');
      const system = server.core.systemView(mount.entry);
      const now = Date.now();
      for (let i = 0; i < leases; i += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, leases - i) }, (_, j) =>
          server.core.leases.register(LEASE_PATH, mount.entry, system, '', {
            ttl: 3600,
            renewable: true,
            // Shaped like a database credential's internal data, so that entries have a realistic size.
            internal: {
              username: `v-token-bench-${randomBytes(15).toString('base64url').slice(0, 20)}-${Math.floor(now / 1000)}`,
              role: 'bench',
              db_name: 'bench',
              plugin_name: 'postgresql-database-plugin',
              revocation_statements: ['REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{{name}}"; DROP ROLE IF EXISTS "{{name}}";'],
              renew_statements: [],
              max_ttl: 0,
              issue_time: now,
              seq: i + j,
            },
          }),
        );
        const done = await Promise.all(batch);
        sampleLease ||= done[0].entry.lease_id;
      }
      const count = server.core.leases.metrics.scheduled;
      if (count !== leases) throw new BenchFailure(`setup: ${count} leases scheduled in-process, expected ${leases}`);
    } finally {
      await server.close();
    }
    log(`  setup: ${fmtInt(leases)} leases registered in ${((performance.now() - p0) / 1000).toFixed(1)} s (in-process, ${path.basename(subjectDb)})`);

    // ---- measurement -----------------------------------------------------------------------------------------
    const restart = async (label: string, cfg: string, expected: number): Promise<RestartFigures> => {
      const loopFile = path.join(dir, `loop-${label}-${randomBytes(4).toString('hex')}.json`);
      const srv = await spawnListening(`coffer (${label})`, [...nodeFlags, '--import', pathToFileURL(monitorFile).href, COFFER_BIN, 'server', `-config=${cfg}`], {
        env: { BENCH_LOOP_FILE: loopFile },
      });
      child = srv;
      const addr = srv.addr;
      const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
      // One connection that is already open when the unseal starts: what a client with a pooled connection sees.
      const steadyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const steady: Sample[] = [];
      let steadyRunning = true;
      const samples: Sample[] = [];
      const polls: Sample[] = [];
      const pending = new Set<Promise<void>>();
      let errors = 0;
      let t0 = 0;
      let serveMs = NaN;
      let restoredMs = NaN;
      let lastCount = -1;
      const track = (p: Promise<void>) => {
        pending.add(p);
        void p.finally(() => pending.delete(p));
      };
      const probe = () => {
        const sent = performance.now() - t0;
        track(
          httpJson(probeAgent, addr, 'GET', READ_PATH, { token, timeoutMs: 60_000 }).then(
            (res) => {
              const done = performance.now() - t0;
              samples.push({ sent, done, status: res.status });
              if (res.status === 200 && Number.isNaN(serveMs)) serveMs = done;
              if (res.status !== 200 && res.status !== 503) errors++;
            },
            () => {
              errors++;
            },
          ),
        );
      };
      const poll = () => {
        const sent = performance.now() - t0;
        track(
          httpJson(probeAgent, addr, 'GET', '/v1/sys/leases/count', { token, timeoutMs: 60_000 }).then(
            (res) => {
              const done = performance.now() - t0;
              polls.push({ sent, done, status: res.status });
              const count = (res.json as { data?: { lease_count?: number } } | null)?.data?.lease_count;
              if (res.status === 200 && typeof count === 'number') {
                lastCount = count;
                if (count === expected && Number.isNaN(restoredMs)) restoredMs = done;
              }
            },
            () => undefined,
          ),
        );
      };

      try {
        // Open the steady connection (a sealed 503), let the server settle, then start probing and unseal.
        await httpJson(steadyAgent, addr, 'GET', READ_PATH, { token });
        await sleep(200);
        t0 = performance.now();
        const probeTimer = setInterval(probe, probeMs);
        const steadyLoop = (async () => {
          while (steadyRunning) {
            const sent = performance.now() - t0;
            const res = await httpJson(steadyAgent, addr, 'GET', READ_PATH, { token, timeoutMs: 60_000 }).catch(() => null);
            steady.push({ sent, done: performance.now() - t0, status: res?.status ?? 0 });
            if (!res || (res.status !== 200 && res.status !== 503)) errors++;
            await sleep(probeMs);
          }
        })();
        const pollTimer = setInterval(poll, COUNT_POLL_MS);
        let unsealMs = NaN;
        let unsealError: unknown = null;
        try {
          const unseal = await httpJson(agent, addr, 'PUT', '/v1/sys/unseal', { body: { key: unsealKey }, timeoutMs: 120_000 });
          unsealMs = performance.now() - t0;
          if (unseal.status !== 200 || (unseal.json as { sealed?: boolean }).sealed !== false) {
            throw new BenchFailure(`${label}: unseal answered ${unseal.status}: ${unseal.text.slice(0, 300)}`);
          }
          const deadline = performance.now() + 120_000;
          while ((Number.isNaN(serveMs) || Number.isNaN(restoredMs) || performance.now() - t0 < unsealMs + MIN_WINDOW_MS) && performance.now() < deadline) {
            await sleep(10);
          }
        } catch (err) {
          unsealError = err;
        } finally {
          clearInterval(probeTimer);
          clearInterval(pollTimer);
          steadyRunning = false;
          await Promise.all([...pending, steadyLoop]);
        }
        if (unsealError) throw unsealError;
        if (Number.isNaN(serveMs)) throw new BenchFailure(`${label}: no KV read answered 200 within 120 s of the unseal`);
        if (Number.isNaN(restoredMs)) throw new BenchFailure(`${label}: lease_count stayed at ${lastCount}, expected ${expected}, 120 s after the unseal`);
        const rss = rssKb(srv.child.pid);

        // A restored lease is usable: look it up.
        if (expected > 0) {
          const lookup = await httpJson(agent, addr, 'PUT', '/v1/sys/leases/lookup', { token, body: { lease_id: sampleLease } });
          if (lookup.status !== 200) throw new BenchFailure(`${label}: lookup of a restored lease answered ${lookup.status}: ${lookup.text.slice(0, 200)}`);
        }

        const window: [number, number] = [unsealMs, Math.max(restoredMs, unsealMs + MIN_WINDOW_MS)];
        const lat = new LatencyRecorder();
        let blocked = 0;
        for (const smp of samples) {
          if (smp.sent < window[0] || smp.sent > window[1]) continue;
          const ms = smp.done - smp.sent;
          lat.add(ms);
          if (ms > blockedMs) blocked++;
        }
        const buckets = new Map<number, [number, number, number]>();
        for (const smp of samples) {
          const at = Math.floor(smp.sent / TIMELINE_MS) * TIMELINE_MS;
          const b = buckets.get(at) ?? [at, 0, 0];
          b[1]++;
          b[2] = Math.max(b[2], Math.round((smp.done - smp.sent) * 10) / 10);
          buckets.set(at, b);
        }
        const steadyInWindow = steady.filter((x) => x.sent >= window[0] && x.sent <= window[1]);
        const pollLat = new LatencyRecorder();
        for (const p of polls) if (p.sent >= window[0] && p.sent <= window[1]) pollLat.add(p.done - p.sent);
        // The monitor writes its record when the server exits.
        await srv.stop();
        const t0Epoch = performance.timeOrigin + t0;
        const stalls: [number, number][] = existsSync(loopFile)
          ? (JSON.parse(readFileSync(loopFile, 'utf8')) as [number, number][]).map(([at, ms]) => [at - t0Epoch, ms])
          : [];
        const unsealStallMs = Math.max(0, ...stalls.filter(([at, ms]) => at < unsealMs && at + ms > 0).map(([, ms]) => ms));
        const windowStallMs = Math.max(0, ...stalls.filter(([at]) => at >= unsealMs && at <= window[1]).map(([, ms]) => ms));
        return {
          leases: expected,
          unsealMs,
          serveMs,
          restoredMs,
          window,
          reads: lat.count,
          p50: lat.percentile(50),
          p99: lat.percentile(99),
          max: lat.max,
          blocked,
          maxAny: Math.max(...samples.map((x) => x.done - x.sent)),
          stalls: stalls.filter(([at]) => at > -1000 && at <= window[1] + 1000),
          unsealStallMs,
          windowStallMs,
          countPollMax: pollLat.max,
          errors,
          persistentReads: steadyInWindow.length,
          persistentMax: Math.max(0, ...steadyInWindow.map((x) => x.done - x.sent)),
          rssKb: rss,
          timeline: [...buckets.values()].sort((a, b) => a[0] - b[0]),
        };
      } finally {
        probeAgent.destroy();
        steadyAgent.destroy();
        await srv.stop();
        child = null;
      }
    };

    const describe = (r: RestartFigures) =>
      `unseal ${fmtMs(r.unsealMs)} ms, serving after ${fmtMs(r.serveMs)} ms, restore done after ${fmtMs(r.restoredMs)} ms | ` +
      `${r.reads} KV reads in the window: p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms, max ${fmtMs(r.max)} ms, ` +
      `${r.blocked} over ${blockedMs} ms | one open connection: max ${fmtMs(r.persistentMax)} ms | count poll max ${fmtMs(r.countPollMax)} ms | server event loop: longest stall ` +
      `${fmtMs(r.unsealStallMs)} ms up to the unseal answer, ${fmtMs(r.windowStallMs)} ms in the window, ` +
      `${r.stalls.filter(([at, ms]) => at >= r.unsealMs && at <= r.window[1] && ms > 20).length} over 20 ms | errors ${r.errors} | RSS ${fmtInt(r.rssKb / 1024)} MB`;

    const base: RestartFigures[] = [];
    const subj: RestartFigures[] = [];
    for (let round = 1; round <= rounds; round++) {
      const b = await restart('baseline', baselineCfg, 0);
      base.push(b);
      log(`  round ${round}/${rounds} baseline (0 leases)      ${describe(b)}`);
      const s = await restart('subject', subjectCfg, leases);
      subj.push(s);
      log(`  round ${round}/${rounds} ${fmtInt(leases)} leases  ${describe(s)}`);
    }
    const errors = [...base, ...subj].reduce((n, r) => n + r.errors, 0);
    if (errors) throw new BenchFailure(`${errors} KV reads failed (status other than 200/503, or network errors)`);

    const med = (rs: RestartFigures[], k: keyof RestartFigures) => median(rs.map((r) => r[k] as number));
    const maxOf = (rs: RestartFigures[], k: keyof RestartFigures) => Math.max(...rs.map((r) => r[k] as number));
    const serveMs = med(subj, 'serveMs');
    const worstServe = maxOf(subj, 'serveMs');
    const maxDuring = maxOf(subj, 'max');
    const blockedTotal = subj.reduce((n, r) => n + r.blocked, 0);
    const serveOk = worstServe < SERVE_TARGET_MS;
    const blockOk = blockedTotal === 0;
    const restoreMs = med(subj, 'restoredMs') - med(subj, 'unsealMs');

    log('');
    log(
      table(
        ['leases-restore', 'unseal ms', 'serve ms', 'restored ms', 'reads', 'p50 ms', 'p99 ms', 'max ms', `> ${blockedMs} ms`, 'open conn. max ms', 'loop stall ms (unseal / window)', 'RSS MB'],
        [
          ['baseline (0 leases)', base],
          [`${fmtInt(leases)} leases`, subj],
        ].map(([label, rs]) => {
          const r = rs as RestartFigures[];
          return [
            label as string,
            fmtMs(med(r, 'unsealMs')),
            fmtMs(med(r, 'serveMs')),
            fmtMs(med(r, 'restoredMs')),
            fmtInt(med(r, 'reads')),
            fmtMs(med(r, 'p50')),
            fmtMs(med(r, 'p99')),
            fmtMs(maxOf(r, 'max')),
            String(r.reduce((n, x) => n + x.blocked, 0)),
            fmtMs(maxOf(r, 'persistentMax')),
            `${fmtMs(maxOf(r, 'unsealStallMs'))} / ${fmtMs(maxOf(r, 'windowStallMs'))}`,
            fmtInt(med(r, 'rssKb') / 1024),
          ];
        }),
        [false, true, true, true, true, true, true, true, true, true, true, true],
      ),
    );
    const verdicts = [
      `leases-restore: time to serve with ${fmtInt(leases)} leases ${fmtMs(serveMs)} ms median, ${fmtMs(worstServe)} ms worst ` +
        `(baseline ${fmtMs(med(base, 'serveMs'))} ms; target < ${SERVE_TARGET_MS} ms) ${serveOk ? 'MET' : 'MISSED'}`,
      `leases-restore: restore finished ${fmtMs(med(subj, 'restoredMs'))} ms after the unseal request ` +
        `(${fmtInt(leases / (restoreMs / 1000))} leases/s after the unseal answer)`,
      `leases-restore: KV reads while restoring: p50 ${fmtMs(med(subj, 'p50'))} / p99 ${fmtMs(med(subj, 'p99'))} / max ${fmtMs(maxDuring)} ms ` +
        `vs baseline p50 ${fmtMs(med(base, 'p50'))} / p99 ${fmtMs(med(base, 'p99'))} / max ${fmtMs(maxOf(base, 'max'))} ms; ` +
        `${blockedTotal} of ${subj.reduce((n, r) => n + r.reads, 0)} over ${blockedMs} ms (target: none blocked) ${blockOk ? 'MET' : 'MISSED'}`,
      `leases-restore: server event loop with ${fmtInt(leases)} leases: longest stall ${fmtMs(maxOf(subj, 'unsealStallMs'))} ms before the unseal answer, ` +
        `${fmtMs(maxOf(subj, 'windowStallMs'))} ms while restoring (baseline ${fmtMs(maxOf(base, 'unsealStallMs'))} / ${fmtMs(maxOf(base, 'windowStallMs'))} ms); ` +
        `KV reads on one connection opened before the unseal: max ${fmtMs(maxOf(subj, 'persistentMax'))} ms while restoring (baseline ${fmtMs(maxOf(base, 'persistentMax'))} ms)`,
    ];
    log('');
    verdicts.forEach((v) => log(v));

    const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
    const runJson = (r: RestartFigures) => ({
      leases: r.leases,
      unseal_ms: round(r.unsealMs, 1),
      serve_ms: round(r.serveMs, 1),
      restored_ms: round(r.restoredMs, 1),
      window_ms: r.window.map((x) => round(x, 1)),
      kv_reads_in_window: r.reads,
      p50_ms: round(r.p50, 3),
      p99_ms: round(r.p99, 3),
      max_ms: round(r.max, 3),
      blocked: r.blocked,
      max_any_kv_read_ms: round(r.maxAny, 3),
      count_poll_max_ms: round(r.countPollMax, 3),
      open_connection_reads_in_window: r.persistentReads,
      open_connection_max_ms: round(r.persistentMax, 3),
      rss_mb: round(r.rssKb / 1024, 1),
      loop_stall_until_unseal_answer_ms: round(r.unsealStallMs, 1),
      loop_stall_max_in_window_ms: round(r.windowStallMs, 1),
      loop_stalls_over_20ms: r.stalls.filter(([, ms]) => ms > 20).map(([at, ms]) => `at ${round(at, 0)} ms: ${round(ms, 1)} ms`),
      timeline_250ms: r.timeline.map(([at, n, max]) => `${at}: ${n} reads, max ${max} ms`),
    });
    const json = {
      benchmark: 'leases-restore',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: { leases, rounds, probe_interval_ms: probeMs, blocked_ms: blockedMs, count_poll_ms: COUNT_POLL_MS, min_window_ms: MIN_WINDOW_MS, cpuProfile: nodeFlags.length > 0 },
      results: {
        baseline: { serve_ms: round(med(base, 'serveMs'), 1), p50_ms: round(med(base, 'p50'), 3), p99_ms: round(med(base, 'p99'), 3), max_ms: round(maxOf(base, 'max'), 3), runs: base.map(runJson) },
        subject: {
          serve_ms: round(serveMs, 1),
          serve_worst_ms: round(worstServe, 1),
          restored_ms: round(med(subj, 'restoredMs'), 1),
          p50_ms: round(med(subj, 'p50'), 3),
          p99_ms: round(med(subj, 'p99'), 3),
          max_ms: round(maxDuring, 3),
          blocked: blockedTotal,
          runs: subj.map(runJson),
        },
      },
      targets: {
        serve: { value_ms: round(worstServe, 1), target_ms: SERVE_TARGET_MS, met: serveOk },
        no_request_blocked: { max_ms: round(maxDuring, 3), blocked: blockedTotal, threshold_ms: blockedMs, met: blockOk },
      },
    };
    await writeResults('leases-restore', json, log);

    return {
      rows: [
        { bench: 'leases-restore', target: 'baseline KV read (0 leases)', rps: (1000 / probeMs), p50: med(base, 'p50'), p99: med(base, 'p99'), errors: 0 },
        { bench: 'leases-restore', target: `KV read, restoring ${fmtInt(leases)}`, rps: (1000 / probeMs), p50: med(subj, 'p50'), p99: med(subj, 'p99'), errors: 0 },
      ],
      verdicts,
      ok: serveOk && blockOk,
    };
  } catch (err) {
    const c = child as ChildServer | null;
    if (c?.stderr()) log(`  coffer stderr (tail):\n${c.stderr().slice(-2000)}`);
    throw err;
  } finally {
    agent.destroy();
    await (child as ChildServer | null)?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (nodeFlags.length) log(`  coffer CPU profiles written under ${profileDir}`);
  }
}
