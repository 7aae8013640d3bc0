/**
 * bench/eso: 200 ExternalSecrets × 5 keys refreshed concurrently, through coffer's ESO endpoint and, in the same
 * run, the same reads through the plain Vault API (issue 9, "Benchmark"; README, "Performance").
 *
 * A refresh wave is what ESO does when every ExternalSecret comes due at once: 200 reconciles run concurrently,
 * and each reads its 5 `data[]` entries one after another (ESO resolves an ExternalSecret's entries in order).
 *   ESO      GET /eso/v1/kv/secret?key=ns-K/es-I&property=kJ&version=   with X-Vault-Token and
 *            X-Coffer-Kubernetes-Namespace: ns-K; policy `secret/data/{{kubernetes.namespace}}/*` (20 namespaces)
 *   baseline GET /v1/secret/data/ns-K/es-I   with X-Vault-Token; policy `secret/data/*`
 * Every answer is checked (the ESO value must equal the seeded string; the baseline's data must hold the key).
 * The server is a `coffer server -dev` child on plain HTTP; the client is one keep-alive http.Agent (64 sockets).
 * Each side gets a warm-up wave, then BENCH_ROUNDS rounds alternating baseline and ESO, each of BENCH_ESO_WAVES
 * waves; requests/s = requests / wall time of the waves, p50/p99 over every request of a round; medians are
 * reported, with the server's CPU time per request (from /proc): the load generator shares the two cores, so
 * the smaller ESO answer (one value instead of the whole envelope) makes the client side cheaper and can lift
 * the ESO rate above the baseline's; server CPU per request is the figure that shows what the translation
 * (header checks, a templated ACL per namespace, value shaping) costs. There is no target.
 *
 * Knobs: BENCH_ROUNDS (3), BENCH_ESO_WAVES (10), BENCH_ESO_SECRETS (200), BENCH_ESO_KEYS (5).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  BenchFailure,
  LatencyRecorder,
  envInt,
  fmtInt,
  fmtMs,
  fmtPct,
  httpJson,
  loadSettings,
  median,
  processCpuMs,
  spawnDevServer,
  type BenchModuleResult,
  machineInfo,
  writeResults,
} from './harness.js';

export const name = 'eso';

const NAMESPACES = 20;

interface Round {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  serverCpuUsPerReq: number;
}

export async function run(log: (m: string) => void): Promise<BenchModuleResult> {
  const s = loadSettings();
  const waves = envInt('BENCH_ESO_WAVES', 10, 1);
  const secrets = envInt('BENCH_ESO_SECRETS', 200, 1);
  const keys = envInt('BENCH_ESO_KEYS', 5, 1);
  const rootToken = `cfs.bench-${randomBytes(8).toString('hex')}`;
  const coffer = await spawnDevServer(rootToken);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const api = async (method: string, p: string, body?: unknown, token = rootToken) => {
      const res = await httpJson(agent, coffer.addr, method, `/v1/${p}`, { token, body });
      if (res.status >= 300) throw new BenchFailure(`setup ${method} ${p}: ${res.status} ${res.text.slice(0, 200)}`);
      return res.json as { auth?: { client_token: string } };
    };
    await api('PUT', 'sys/policies/acl/eso-tenants', { policy: 'path "secret/data/{{kubernetes.namespace}}/*" { capabilities = ["read"] }' });
    await api('PUT', 'sys/policies/acl/plain-reader', { policy: 'path "secret/data/*" { capabilities = ["read"] }' });
    const esoToken = (await api('POST', 'auth/token/create', { policies: ['eso-tenants'], ttl: '2h' })).auth!.client_token;
    const plainToken = (await api('POST', 'auth/token/create', { policies: ['plain-reader'], ttl: '2h' })).auth!.client_token;
    const value = (i: number, j: number) => (j % 2 ? `value-${i}-${j}-${'x'.repeat(24)}` : i * 10 + j + 0.5);
    const es = Array.from({ length: secrets }, (_, i) => ({ ns: `ns-${i % NAMESPACES}`, key: `ns-${i % NAMESPACES}/es-${i}`, i }));
    for (const e of es) {
      await api('POST', `secret/data/${e.key}`, { data: Object.fromEntries(Array.from({ length: keys }, (_, j) => [`k${j}`, value(e.i, j)])) });
    }
    log(`  seeded ${secrets} secrets × ${keys} keys in ${NAMESPACES} namespaces; ${waves} waves per round, ${s.rounds} rounds`);

    type Read = (e: (typeof es)[number], j: number) => Promise<void>;
    const esoRead: Read = async (e, j) => {
      const res = await httpJson(agent, coffer.addr, 'GET', `/eso/v1/kv/secret?key=${encodeURIComponent(e.key)}&property=k${j}&version=`, {
        token: esoToken,
        headers: { 'x-coffer-kubernetes-namespace': e.ns },
      }).catch((err) => {
        throw new BenchFailure(`eso: ${(err as Error).message}`);
      });
      if (res.status !== 200 || (res.json as { data?: unknown })?.data !== String(value(e.i, j))) {
        throw new BenchFailure(`eso ${e.key} k${j}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    };
    const plainRead: Read = async (e, j) => {
      const res = await httpJson(agent, coffer.addr, 'GET', `/v1/secret/data/${e.key}`, { token: plainToken });
      const data = (res.json as { data?: { data?: Record<string, unknown> } })?.data?.data;
      if (res.status !== 200 || !data || !(`k${j}` in data)) throw new BenchFailure(`baseline ${e.key}: ${res.status} ${res.text.slice(0, 200)}`);
    };

    const wave = async (read: Read, latencies: LatencyRecorder) => {
      await Promise.all(
        es.map(async (e) => {
          for (let j = 0; j < keys; j++) {
            const t = performance.now();
            await read(e, j);
            latencies.add(performance.now() - t);
          }
        }),
      );
    };
    const measure = async (read: Read, n: number): Promise<Round> => {
      const latencies = new LatencyRecorder();
      const cpu0 = processCpuMs(coffer.child.pid);
      const t0 = performance.now();
      for (let w = 0; w < n; w++) await wave(read, latencies);
      const wallMs = performance.now() - t0;
      const cpuMs = processCpuMs(coffer.child.pid) - cpu0;
      return {
        rps: (latencies.count * 1000) / wallMs,
        p50: latencies.percentile(50),
        p99: latencies.percentile(99),
        requests: latencies.count,
        serverCpuUsPerReq: (cpuMs * 1000) / latencies.count,
      };
    };

    await measure(plainRead, 1);
    await measure(esoRead, 1);
    const sides = { baseline: [] as Round[], eso: [] as Round[] };
    const show = (r: Round) => `${fmtInt(r.rps).padStart(6)} req/s  p50 ${fmtMs(r.p50)} ms  p99 ${fmtMs(r.p99)} ms  server CPU ${r.serverCpuUsPerReq.toFixed(0)} µs/req`;
    for (let round = 1; round <= s.rounds; round++) {
      const b = await measure(plainRead, waves);
      sides.baseline.push(b);
      log(`  round ${round} /v1/secret/data   ${show(b)}`);
      const e = await measure(esoRead, waves);
      sides.eso.push(e);
      log(`  round ${round} /eso/v1/kv         ${show(e)}`);
    }
    const med = (rs: Round[], k: keyof Round) => median(rs.map((r) => r[k]));
    const rpsRatio = med(sides.eso, 'rps') / med(sides.baseline, 'rps');
    const p99Ratio = med(sides.eso, 'p99') / med(sides.baseline, 'p99');
    const cpuRatio = med(sides.eso, 'serverCpuUsPerReq') / med(sides.baseline, 'serverCpuUsPerReq');
    const verdicts = [
      `eso: ESO endpoint ${fmtInt(med(sides.eso, 'rps'))} req/s vs /v1 ${fmtInt(med(sides.baseline, 'rps'))} req/s = ${fmtPct(rpsRatio)} of the plain read rate; ` +
        `p99 ${fmtMs(med(sides.eso, 'p99'))} vs ${fmtMs(med(sides.baseline, 'p99'))} ms (× ${p99Ratio.toFixed(2)}); ` +
        `server CPU ${med(sides.eso, 'serverCpuUsPerReq').toFixed(0)} vs ${med(sides.baseline, 'serverCpuUsPerReq').toFixed(0)} µs/req (× ${cpuRatio.toFixed(2)}); no target`,
    ];
    verdicts.forEach((v) => log(`  ${v}`));

    const json = {
      benchmark: 'eso',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: { rounds: s.rounds, waves_per_round: waves, external_secrets: secrets, keys_per_secret: keys, namespaces: NAMESPACES, sockets: 64 },
      workload: 'each wave: every ExternalSecret concurrently, its keys one after another',
      results: Object.fromEntries(
        Object.entries(sides).map(([k, rs]) => [k, { rps: med(rs, 'rps'), p50_ms: med(rs, 'p50'), p99_ms: med(rs, 'p99'), server_cpu_us_per_req: med(rs, 'serverCpuUsPerReq'), rounds: rs }]),
      ),
      ratio: { rps: rpsRatio, p99: p99Ratio, server_cpu_per_req: cpuRatio },
    };
    await writeResults('eso', json, log);
    return {
      rows: [
        { bench: 'eso', target: '/v1/secret/data (baseline)', rps: med(sides.baseline, 'rps'), p50: med(sides.baseline, 'p50'), p99: med(sides.baseline, 'p99'), errors: 0 },
        { bench: 'eso', target: '/eso/v1/kv', rps: med(sides.eso, 'rps'), p50: med(sides.eso, 'p50'), p99: med(sides.eso, 'p99'), errors: 0 },
      ],
      verdicts,
      ok: true,
    };
  } catch (err) {
    if (coffer.stderr()) log(`  coffer stderr (tail):\n${coffer.stderr().slice(-2000)}`);
    throw err;
  } finally {
    agent.destroy();
    await coffer.stop();
  }
}
