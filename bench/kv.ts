/**
 * bench/kv: KV v2 read and write throughput of a live coffer dev server against a bare Node HTTP server that
 * answers the same bytes, in the same run (README, "Performance"; issue 2, "Benchmark").
 *
 *   coffer read    GET  /v1/secret/data/bench/item      (X-Vault-Token, ~200-byte value)
 *   coffer write   POST /v1/secret/data/bench/w-<n>     (n cycles over 1000 keys; secret/config max_versions=2)
 *   bare read      GET  to the bare server, which answers coffer's real read response bytes
 *   bare write     POST to the bare server with the same request body; it reads the body and answers coffer's
 *                  real write response bytes
 *
 * Both servers are child processes; autocannon runs here. Each target gets one discarded warm-up run, then
 * BENCH_ROUNDS measured runs alternating bare, coffer, bare, coffer, ...; the median of each figure is reported.
 * Any connection error, timeout or non-2xx answer fails the benchmark. Targets: read ≥ 50 %, write ≥ 25 % of
 * the bare server's requests/s. Results go to bench/results/kv.json.
 *
 * Knobs: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (10), BENCH_WARMUP (s, 2), BENCH_ROUNDS (3),
 * BENCH_PIPELINING (1), BENCH_CPU_PROF=1 (run coffer under --cpu-prof; profile in bench/results/profiles/).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import {
  spawnDevServer,
  BENCH_DIST,
  BenchFailure,
  RESULTS_DIR,
  fmtInt,
  fmtMs,
  fmtPct,
  loadSettings,
  machineInfo,
  roundTo,
  writeResults,
  measureAlternating,
  spawnListening,
  table,
  type BenchModuleResult,
  type ChildServer,
  type LoadTarget,
} from './harness.js';

export const name = 'kv';

const TARGETS = { read: 0.5, write: 0.25 } as const;
const WRITE_KEYS = 1000;
const MAX_VERSIONS = 2;
const READ_PATH = '/v1/secret/data/bench/item';

async function call(addr: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(`${addr}${p}`, {
    method,
    headers: { 'X-Vault-Token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function expectOk(addr: string, token: string, method: string, p: string, body?: unknown): Promise<Buffer> {
  const { status, bytes } = await call(addr, token, method, p, body);
  if (status < 200 || status > 299) {
    throw new BenchFailure(`setup: ${method} ${p} answered ${status}: ${bytes.toString('utf8').slice(0, 300)}`);
  }
  return bytes;
}

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const s = loadSettings();
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  const nodeFlags = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  if (nodeFlags.length) await mkdir(profileDir, { recursive: true });

  log(
    `kv: ${s.connections} connections, pipelining ${s.pipelining}, ${s.duration} s per run, ${s.rounds} rounds, ` +
      `${s.warmup} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}`,
  );

  let coffer: ChildServer | null = null;
  let bare: ChildServer | null = null;
  try {
    coffer = await spawnDevServer(token, nodeFlags);
    log(`  coffer dev server: ${coffer.addr} (pid ${coffer.child.pid})`);

    // Setup: small version history so records stay small; one ~200-byte secret to read.
    await expectOk(coffer.addr, token, 'POST', '/v1/secret/config', { max_versions: MAX_VERSIONS });
    const value = randomBytes(150).toString('base64url'); // 200 characters
    const writeBody = JSON.stringify({ data: { value } });
    await expectOk(coffer.addr, token, 'POST', READ_PATH, { data: { value: randomBytes(150).toString('base64url') } });
    const readBytes = await expectOk(coffer.addr, token, 'GET', READ_PATH);
    const readJson = JSON.parse(readBytes.toString('utf8')) as { data?: { data?: { value?: string } } };
    if (typeof readJson.data?.data?.value !== 'string' || readJson.data.data.value.length !== 200) {
      throw new BenchFailure(`setup: unexpected read response ${readBytes.toString('utf8').slice(0, 300)}`);
    }
    // A real write response, for the bare server's POST answer (same shape and size as what coffer sends).
    const writeBytes = await expectOk(coffer.addr, token, 'POST', '/v1/secret/data/bench/w-probe', JSON.parse(writeBody));

    bare = await spawnListening('bare', [path.join(BENCH_DIST, 'bare-server.js')], {
      env: { BARE_GET_BODY: readBytes.toString('base64'), BARE_POST_BODY: writeBytes.toString('base64') },
    });
    log(`  bare server:       ${bare.addr} (pid ${bare.child.pid}); read body ${readBytes.length} B, write body ${writeBytes.length} B`);
    const bareRead = await call(bare.addr, token, 'GET', READ_PATH);
    if (bareRead.status !== 200 || bareRead.bytes.length !== readBytes.length) {
      throw new BenchFailure(`setup: bare server answered ${bareRead.status} with ${bareRead.bytes.length} bytes`);
    }

    const readHeaders = { 'x-vault-token': token };
    const writeHeaders = { 'x-vault-token': token, 'content-type': 'application/json' };
    const variedWrite = (): LoadTarget['setupRequest'] => {
      let n = 0;
      return (req: autocannon.Request) => ({ ...req, path: `/v1/secret/data/bench/w-${n++ % WRITE_KEYS}` });
    };

    log('read:');
    const [bareR, cofferR] = await measureAlternating([
      { name: 'bare read', url: `${bare.addr}${READ_PATH}`, method: 'GET', headers: readHeaders, pid: bare.child.pid },
      { name: 'coffer read', url: `${coffer.addr}${READ_PATH}`, method: 'GET', headers: readHeaders, pid: coffer.child.pid },
    ], s,
      log,
    );
    log('write:');
    const [bareW, cofferW] = await measureAlternating([
      { name: 'bare write', url: `${bare.addr}/v1/secret/data/bench/w-0`, method: 'POST', headers: writeHeaders, body: writeBody, setupRequest: variedWrite(), pid: bare.child.pid },
      { name: 'coffer write', url: `${coffer.addr}/v1/secret/data/bench/w-0`, method: 'POST', headers: writeHeaders, body: writeBody, setupRequest: variedWrite(), pid: coffer.child.pid },
    ], s,
      log,
    );

    // The writes really happened, spread over the keys, with the history pruned to max_versions.
    const meta = JSON.parse((await expectOk(coffer.addr, token, 'GET', '/v1/secret/metadata/bench/w-1')).toString('utf8')) as {
      data: { current_version: number; versions: Record<string, unknown> };
    };
    const keys = JSON.parse((await expectOk(coffer.addr, token, 'GET', '/v1/secret/metadata/bench?list=true')).toString('utf8')) as {
      data: { keys: string[] };
    };
    if (meta.data.current_version < 2 || Object.keys(meta.data.versions).length > MAX_VERSIONS) {
      throw new BenchFailure(`check: bench/w-1 has current_version ${meta.data.current_version} and ${Object.keys(meta.data.versions).length} versions`);
    }
    const writtenKeys = keys.data.keys.filter((k) => k.startsWith('w-') && k !== 'w-probe').length;
    log(`  check: ${writtenKeys} write keys, bench/w-1 at version ${meta.data.current_version} keeping ${Object.keys(meta.data.versions).length}`);

    const readRatio = cofferR.median.rps / bareR.median.rps;
    const writeRatio = cofferW.median.rps / bareW.median.rps;
    const readOk = readRatio >= TARGETS.read;
    const writeOk = writeRatio >= TARGETS.write;

    const rows = [bareR, cofferR, bareW, cofferW];
    log('');
    log(
      table(
        ['kv', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'server µs CPU/req', 'server CPU', 'loader CPU', 'runs req/s'],
        rows.map((m) => [
          m.name,
          fmtInt(m.median.rps),
          fmtMs(m.median.p50),
          fmtMs(m.median.p99),
          String(m.errors),
          m.median.cpuUsPerReq.toFixed(0),
          `${m.median.serverCpuPct.toFixed(0)} %`,
          `${m.median.loaderCpuPct.toFixed(0)} %`,
          m.runs.map((r) => fmtInt(r.rps)).join(' / '),
        ]),
        [false, true, true, true, true, true, true, true, false],
      ),
    );
    const verdicts = [
      `kv read : coffer/bare = ${fmtPct(readRatio)} (target ≥ ${fmtPct(TARGETS.read)}) ${readOk ? 'MET' : 'MISSED'}`,
      `kv write: coffer/bare = ${fmtPct(writeRatio)} (target ≥ ${fmtPct(TARGETS.write)}) ${writeOk ? 'MET' : 'MISSED'}`,
      `server CPU per request: read ${cofferR.median.cpuUsPerReq.toFixed(0)} µs vs bare ${bareR.median.cpuUsPerReq.toFixed(0)} µs; ` +
        `write ${cofferW.median.cpuUsPerReq.toFixed(0)} µs vs bare ${bareW.median.cpuUsPerReq.toFixed(0)} µs`,
    ];
    log('');
    verdicts.forEach((v) => log(v));

    const round = roundTo;
    const json = {
      benchmark: 'kv',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: { ...s, writeKeys: WRITE_KEYS, maxVersions: MAX_VERSIONS, valueBytes: value.length, cpuProfile: nodeFlags.length > 0 },
      bodies: { readResponseBytes: readBytes.length, writeResponseBytes: writeBytes.length, writeRequestBytes: Buffer.byteLength(writeBody) },
      results: Object.fromEntries(
        rows.map((m) => [
          m.name.replace(' ', '_'),
          {
            rps: round(m.median.rps, 1),
            p50_ms: round(m.median.p50, 3),
            p99_ms: round(m.median.p99, 3),
            errors: m.errors,
            server_cpu_us_per_req: round(m.median.cpuUsPerReq, 1),
            server_cpu_pct: round(m.median.serverCpuPct, 1),
            loader_cpu_pct: round(m.median.loaderCpuPct, 1),
            runs: m.runs.map((r) => ({
              rps: round(r.rps, 1),
              p50_ms: round(r.p50, 3),
              p99_ms: round(r.p99, 3),
              requests: r.requests,
              duration_s: r.durationS,
              server_cpu_us_per_req: round(r.serverCpuUsPerReq, 1),
              server_cpu_pct: round(r.serverCpuPct, 1),
              loader_cpu_pct: round(r.loaderCpuPct, 1),
            })),
          },
        ]),
      ),
      ratios: {
        read: { value: round(readRatio, 4), target: TARGETS.read, met: readOk },
        write: { value: round(writeRatio, 4), target: TARGETS.write, met: writeOk },
      },
    };
    await writeResults('kv', json, log);

    return {
      rows: rows.map((m) => ({ bench: 'kv', target: m.name, rps: m.median.rps, p50: m.median.p50, p99: m.median.p99, errors: m.errors })),
      verdicts,
      ok: readOk && writeOk,
    };
  } catch (err) {
    for (const srv of [coffer, bare]) {
      if (srv && (srv.child.exitCode !== null || srv.child.signalCode !== null)) {
        log(`  ${srv.label} server died during the run (${srv.child.exitCode ?? srv.child.signalCode})`);
      }
    }
    if (coffer?.stderr()) log(`  coffer stderr (tail):\n${coffer.stderr().slice(-2000)}`);
    throw err;
  } finally {
    await Promise.all([coffer?.stop(), bare?.stop()]);
    if (nodeFlags.length) log(`  coffer CPU profile written under ${profileDir}`);
  }
}
