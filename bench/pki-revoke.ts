/**
 * bench/pki-revoke: `sys/leases/revoke-prefix` of BENCH_REVOKE_CERTS (2,000) leased PKI certificates, and the
 * latency of unrelated KV reads sent meanwhile (issue 14, "Denial of service": revoking 2,000 leased
 * certificates took 6.5 minutes with KV reads at 0.5 s; target < 10 s with no unrelated request over 100 ms).
 *
 * Setup: a coffer dev server as a child process and one KV v2 secret; per round a new pki mount with an EC P-256
 * root and a role with `generate_lease=true`, whose certificates are issued (setup, not measured). Then:
 *   subject   a prober sends a KV read every BENCH_PROBE_MS (5) on its own schedule (open loop: a stalled
 *             server shows up as latency, not as fewer requests) while `revoke-prefix` of the role's leases
 *             runs; the window ends when the revoke-prefix has answered and a read of the CRL has answered (a
 *             CRL read waits for a pending rebuild, so the rebuild's cost is inside the window);
 *   baseline  the same prober for a window of the same length with no revocation running.
 * Reported per round: the revoke-prefix time, the time until the CRL lists every certificate, and the KV reads'
 * p50/p99/max in both windows with the ratio of the maxima; medians over BENCH_ROUNDS (3) rounds.
 *
 * Checks (a failed check fails the benchmark): every KV read answers 200; after the window the CRL (DER) verifies
 * against the mount's CA and lists every issued serial (`openssl crl`); no lease is left under the prefix.
 * Results go to bench/results/pki-revoke.json.
 *
 * Knobs: BENCH_REVOKE_CERTS (2000), BENCH_ROUNDS (3), BENCH_PROBE_MS (5), BENCH_BLOCKED_MS (100); BENCH_CPU_PROF=1
 * writes the server's CPU profile to bench/results/profiles/.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  BenchFailure, envInt, fmtInt, fmtMs, httpJson, LatencyRecorder, loadSettings, machineInfo, median, RESULTS_DIR, spawnDevServer, table,
  writeResults, type BenchModuleResult, type ChildServer, type SummaryRow,
} from './harness.js';

export const name = 'pki-revoke';

const execFileAsync = promisify(execFile);

const ROLE = 'leased';
const READ_PATH = '/v1/secret/data/bench/item';
const TARGET_REVOKE_MS = 10_000;
const ISSUE_CONCURRENCY = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Window {
  reads: number;
  p50: number;
  p99: number;
  max: number;
  /** Reads slower than BENCH_BLOCKED_MS. */
  blocked: number;
}

interface Round {
  certs: number;
  issueS: number;
  revokeMs: number;
  /** Start of revoke-prefix → a CRL read answered listing every certificate. */
  crlReadyMs: number;
  subject: Window;
  baseline: Window;
}

/** KV reads every `probeMs` until `work` settles; returns the work's result and the reads' figures. */
async function probeDuring<T>(agent: http.Agent, addr: string, token: string, probeMs: number, blockedMs: number, work: () => Promise<T>): Promise<{ result: T; window: Window }> {
  const latency = new LatencyRecorder();
  const pending = new Set<Promise<void>>();
  let failures = 0;
  const reasons = new Map<string, number>();
  const fail = (why: string) => {
    failures++;
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  };
  let blocked = 0;
  const probe = () => {
    const sent = performance.now();
    const p = httpJson(agent, addr, 'GET', READ_PATH, { token, timeoutMs: 60_000 }).then(
      (res) => {
        const ms = performance.now() - sent;
        latency.add(ms);
        if (ms > blockedMs) blocked++;
        if (res.status !== 200) fail(`status ${res.status}`);
      },
      (err: Error) => fail(err.message.slice(0, 80)),
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const timer = setInterval(probe, probeMs);
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
    await Promise.all([...pending]);
  }
  if (failures) throw new BenchFailure(`${failures} KV reads failed: ${[...reasons].map(([why, n]) => `${n} × ${why}`).join(', ')}`);
  return { result, window: { reads: latency.count, p50: latency.percentile(50), p99: latency.percentile(99), max: latency.max, blocked } };
}

/**
 * The serials of a CRL (DER) as `openssl crl` lists them, lower case without leading zeros, once openssl has
 * verified its signature against `caPem`. (@peculiar/x509's parser refuses a CRL of thousands of entries.)
 */
async function opensslCrlSerials(der: Buffer, caPem: string): Promise<Set<string>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'coffer-bench-crl-'));
  try {
    await writeFile(path.join(dir, 'crl.der'), der);
    await writeFile(path.join(dir, 'ca.pem'), caPem);
    const { stdout, stderr } = await execFileAsync('openssl', ['crl', '-inform', 'DER', '-in', 'crl.der', '-CAfile', 'ca.pem', '-verify', '-noout', '-text'], { cwd: dir, maxBuffer: 64 << 20 });
    if (!/verify OK/.test(stderr)) throw new BenchFailure(`the CRL does not verify against the CA: ${stderr.slice(0, 200)}`);
    return new Set([...stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1].toLowerCase().replace(/^0+/, '')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const { rounds } = loadSettings();
  const certs = envInt('BENCH_REVOKE_CERTS', 2000, 1);
  const probeMs = envInt('BENCH_PROBE_MS', 5, 1);
  const blockedMs = envInt('BENCH_BLOCKED_MS', 100, 1);
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  log(`pki-revoke: ${fmtInt(certs)} leased certificates per round, ${rounds} rounds, KV read every ${probeMs} ms, blocked = over ${blockedMs} ms`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  // FIFO so that every pooled socket is reused well within the server's keep-alive timeout (an idle one it
  // closes just as the client reuses it would fail a read with ECONNRESET).
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: 'fifo' });
  let coffer: ChildServer | null = null;
  try {
    const profileDir = path.join(RESULTS_DIR, 'profiles');
    if (process.env.BENCH_CPU_PROF) await mkdir(profileDir, { recursive: true });
    coffer = await spawnDevServer(token, process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    const addr = coffer.addr;
    const api = async (method: string, p: string, body?: unknown, timeoutMs = 30_000) => {
      const res = await httpJson(agent, addr, method, `/v1/${p}`, { token, body, timeoutMs });
      if (res.status < 200 || res.status > 299) throw new BenchFailure(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res;
    };
    await api('POST', 'secret/data/bench/item', { data: { user: 'bench', password: randomBytes(16).toString('hex') } });

    const done: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      // ---- setup: a mount of its own per round (the same CRL size every round), the leased certificates ------
      const mount = `pki-revoke-${round + 1}`;
      await api('POST', `sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
      const ca = ((await api('POST', `${mount}/root/generate/internal`, { common_name: `Bench Revoke CA ${round + 1}`, key_type: 'ec', ttl: '8760h' })).json as { data: { certificate: string } }).data.certificate;
      await api('POST', `${mount}/roles/${ROLE}`, { allow_any_name: true, key_type: 'ec', generate_lease: true, max_ttl: '2h' });
      const t0 = performance.now();
      const serials: string[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: ISSUE_CONCURRENCY }, async () => {
        while (next < certs) {
          const n = next++;
          const res = await api('POST', `${mount}/issue/${ROLE}`, { common_name: `svc-${round}-${n}.bench.example`, ttl: '1h' });
          const body = res.json as { lease_id: string; data: { serial_number: string } };
          if (!body.lease_id) throw new BenchFailure('the role issued a certificate without a lease');
          serials.push(body.data.serial_number.replace(/:/g, ''));
        }
      }));
      const issueS = (performance.now() - t0) / 1000;
      await sleep(500);

      // ---- subject: revoke-prefix while KV reads go on ---------------------------------------------------------
      let revokeMs = NaN;
      let crlReadyMs = NaN;
      let crlDer = Buffer.alloc(0);
      const subject = await probeDuring(probeAgent, addr, token, probeMs, blockedMs, async () => {
        const start = performance.now();
        await api('POST', `sys/leases/revoke-prefix/${mount}/issue/${ROLE}`, undefined, 600_000);
        revokeMs = performance.now() - start;
        const crl = await fetch(`${addr}/v1/${mount}/crl`);
        crlDer = Buffer.from(await crl.arrayBuffer());
        crlReadyMs = performance.now() - start;
        if (crl.status !== 200) throw new BenchFailure(`GET ${mount}/crl answered ${crl.status}`);
      });
      const windowMs = crlReadyMs;

      // ---- checks ------------------------------------------------------------------------------------------------
      const listed = await opensslCrlSerials(crlDer, ca);
      const missing = serials.filter((s) => !listed.has(s.toLowerCase().replace(/^0+/, '')));
      if (missing.length) throw new BenchFailure(`${missing.length} revoked serials are missing from the CRL`);
      const left = await httpJson(agent, addr, 'GET', `/v1/sys/leases/lookup/${mount}/issue/${ROLE}/?list=true`, { token });
      if (left.status !== 404) throw new BenchFailure(`leases left under the prefix: ${left.text.slice(0, 200)}`);

      // ---- baseline: the same reads, no revocation -------------------------------------------------------------
      await sleep(500);
      const baseline = await probeDuring(probeAgent, addr, token, probeMs, blockedMs, () => sleep(windowMs));

      const r: Round = { certs, issueS, revokeMs, crlReadyMs, subject: subject.window, baseline: baseline.window };
      done.push(r);
      log(`  round ${round + 1}: issued ${fmtInt(certs)} in ${issueS.toFixed(1)} s; revoke-prefix ${fmtInt(revokeMs)} ms, CRL with all ${fmtInt(listed.size)} `
        + `entries after ${fmtInt(crlReadyMs)} ms; KV reads during: p50 ${fmtMs(r.subject.p50)} / p99 ${fmtMs(r.subject.p99)} / max ${fmtMs(r.subject.max)} ms `
        + `(${r.subject.blocked} over ${blockedMs} ms of ${r.subject.reads}); baseline: p50 ${fmtMs(r.baseline.p50)} / p99 ${fmtMs(r.baseline.p99)} / max ${fmtMs(r.baseline.max)} ms`);
    }

    const med = (f: (r: Round) => number) => median(done.map(f));
    const worst = (f: (r: Round) => number) => Math.max(...done.map(f));
    const revokeMed = med((r) => r.revokeMs);
    const crlMed = med((r) => r.crlReadyMs);
    const maxDuring = worst((r) => r.subject.max);
    const maxBaseline = worst((r) => r.baseline.max);
    const blocked = done.reduce((n, r) => n + r.subject.blocked, 0);
    const reads = done.reduce((n, r) => n + r.subject.reads, 0);
    const timeMet = worst((r) => r.crlReadyMs) < TARGET_REVOKE_MS;
    const latencyMet = maxDuring <= blockedMs;
    const rows: SummaryRow[] = [
      { bench: 'pki-revoke', target: 'baseline KV read (no revocation)', rps: 1000 / probeMs, p50: med((r) => r.baseline.p50), p99: med((r) => r.baseline.p99), errors: 0 },
      { bench: 'pki-revoke', target: `KV read, revoking ${fmtInt(certs)} certs`, rps: 1000 / probeMs, p50: med((r) => r.subject.p50), p99: med((r) => r.subject.p99), errors: 0 },
    ];
    const verdicts = [
      `pki-revoke: revoke-prefix of ${fmtInt(certs)} leased certificates ${fmtInt(revokeMed)} ms, CRL complete after ${fmtInt(crlMed)} ms (median of ${done.length}) `
        + `— target < ${TARGET_REVOKE_MS / 1000} s ${timeMet ? 'met' : 'MISSED'}`,
      `pki-revoke: KV reads while revoking max ${fmtMs(maxDuring)} ms vs ${fmtMs(maxBaseline)} ms with no revocation (${(maxDuring / maxBaseline).toFixed(2)}x); `
        + `${blocked} of ${fmtInt(reads)} over ${blockedMs} ms — target none ${latencyMet ? 'met' : 'MISSED'}`,
    ];
    log(`\n${table(['window', 'reads', 'p50 ms', 'p99 ms', 'max ms'], [
      ['no revocation', fmtInt(med((r) => r.baseline.reads)), fmtMs(med((r) => r.baseline.p50)), fmtMs(med((r) => r.baseline.p99)), fmtMs(maxBaseline)],
      ['revoke-prefix', fmtInt(med((r) => r.subject.reads)), fmtMs(med((r) => r.subject.p50)), fmtMs(med((r) => r.subject.p99)), fmtMs(maxDuring)],
    ], [false, true, true, true, true])}`);
    verdicts.forEach((v) => log(v));
    await writeResults('pki-revoke', {
      bench: 'pki-revoke',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: { certs, rounds, probe_interval_ms: probeMs, blocked_ms: blockedMs },
      rounds: done,
      summary: rows,
      verdicts,
    }, log);
    return { rows, verdicts, ok: timeMet && latencyMet };
  } finally {
    agent.destroy();
    probeAgent.destroy();
    await coffer?.stop();
  }
}
