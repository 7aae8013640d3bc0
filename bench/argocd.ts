/**
 * bench/argocd: `coffer-argocd-plugin generate DIR` over 1,000 manifests holding 10,000 placeholders that name
 * 200 distinct secret paths (issue 8: "the number of HTTP requests made must equal the distinct paths; within 2x
 * of parsing and printing the same YAML, plus the 200 requests").
 *
 * Setup (not measured): a `coffer server -dev` child with a KV v2 mount holding kv/data/bench/p000..p199, ten
 * keys each; 100 files of 10 manifests each in a temp dir, every manifest with ten `<path:kv/data/bench/pNNN#kJ>`
 * placeholders (one in five through `| base64encode`). Between the plugin and the server sits a counting proxy
 * in this process: every request the plugin sends is counted there (by method and path) and forwarded.
 *
 * Measured, BENCH_ARGOCD_RUNS (5) runs each after one discarded warm-up, alternating:
 *   baseline   node dist/bench/argocd-baseline.js DIR   the plugin's reader and printer alone, same files;
 *   requests   the 200 reads alone, from this process, through the plugin's fetch (same client, same
 *              concurrency) to the proxy: what the 200 requests cost;
 *   plugin     node argocd-plugin/bin/coffer-argocd-plugin generate DIR   (VAULT_ADDR = the proxy).
 * Each process run is timed from spawn() to exit and must exit 0; the plugin's output must hold 1,000
 * documents and no placeholder, and each run must make exactly 200 requests. Reported: medians, the ratio
 * plugin / baseline, and the target plugin <= 2 x baseline + requests. Results: bench/results/argocd.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CofferClient } from '../src/client/client.js';
import { fetchSecrets } from '../argocd-plugin/secrets.js';
import { BENCH_DIST, BenchFailure, REPO_ROOT, RESULTS_DIR, envInt, fmtMs, median, spawnDevServer, table, type BenchModuleResult } from './harness.js';

export const name = 'argocd';

const MANIFESTS = 1000;
const PER_MANIFEST = 10;
const PATHS = 200;
const FILES = 100;
const PLUGIN_BIN = path.join(REPO_ROOT, 'argocd-plugin/bin/coffer-argocd-plugin');

const secretPath = (i: number) => `kv/data/bench/p${String(i).padStart(3, '0')}`;

function manifests(dir: string): void {
  for (let f = 0; f < FILES; f++) {
    const docs: string[] = [];
    for (let d = 0; d < MANIFESTS / FILES; d++) {
      const m = f * (MANIFESTS / FILES) + d;
      const lines = [`apiVersion: v1`, `kind: Secret`, `metadata:`, `  name: app-${m}`, `  namespace: team-${m % 7}`, `  labels:`, `    app: app-${m}`, `type: Opaque`, `stringData:`];
      for (let k = 0; k < PER_MANIFEST; k++) {
        const p = secretPath((m * PER_MANIFEST + k) % PATHS);
        lines.push(`  KEY_${k}: <path:${p}#k${k}${k % 5 === 0 ? ' | base64encode' : ''}>`);
      }
      docs.push(lines.join('\n'));
    }
    writeFileSync(path.join(dir, `file-${String(f).padStart(3, '0')}.yaml`), `${docs.join('\n---\n')}\n`);
  }
}

/** Forwards every request to `target`, counting them. */
function countingProxy(target: string): Promise<{ addr: string; count: () => number; reset: () => void; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    const fwd = http.request(
      { agent, host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(fwd);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        addr: `http://127.0.0.1:${port}`,
        count: () => count,
        reset: () => void (count = 0),
        close: () =>
          new Promise<void>((r) => {
            agent.destroy();
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

function timedRun(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr }));
  });
}

export async function run(log: (m: string) => void): Promise<BenchModuleResult> {
  const runs = envInt('BENCH_ARGOCD_RUNS', 5, 1);
  const token = `bench-${process.pid}`;
  const srv = await spawnDevServer(token);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-argocd-'));
  const proxy = await countingProxy(srv.addr);
  try {
    const root = new CofferClient({ address: srv.addr, token });
    await root.write('sys/mounts/kv', { type: 'kv', options: { version: '2' } });
    for (let i = 0; i < PATHS; i++) {
      const data: Record<string, string> = {};
      for (let k = 0; k < PER_MANIFEST; k++) data[`k${k}`] = `value-${i}-${k}-${'x'.repeat(24)}`;
      await root.write(secretPath(i), { data });
    }
    const input = path.join(dir, 'manifests');
    await mkdir(input);
    manifests(input);
    log(`${MANIFESTS} manifests in ${FILES} files, ${MANIFESTS * PER_MANIFEST} placeholders over ${PATHS} paths; ${runs} runs each`);

    const env = { ...process.env, VAULT_ADDR: proxy.addr, VAULT_TOKEN: token, AVP_TYPE: 'vault', AVP_AUTH_TYPE: 'token', HOME: dir };
    const reads = Array.from({ length: PATHS }, (_, i) => ({ path: secretPath(i), version: undefined }));
    const baseline: number[] = [];
    const requests: number[] = [];
    const plugin: number[] = [];
    const counts: number[] = [];
    for (let r = -1; r < runs; r++) {
      const b = await timedRun([path.join(BENCH_DIST, 'argocd-baseline.js'), input], env);
      if (b.code !== 0) throw new BenchFailure(`baseline exited ${b.code}: ${b.stderr}`);

      proxy.reset();
      const t0 = performance.now();
      const answers = await fetchSecrets(new CofferClient({ address: proxy.addr, token }), reads);
      const reqMs = performance.now() - t0;
      if ([...answers.values()].some((a) => a.status !== 200)) throw new BenchFailure('a read of the request baseline failed');

      proxy.reset();
      const p = await timedRun([PLUGIN_BIN, 'generate', input], env);
      if (p.code !== 0) throw new BenchFailure(`plugin exited ${p.code}: ${p.stderr}`);
      const docs = p.stdout.split('\n---\n').length - 1 + (p.stdout.endsWith('---\n') ? 1 : 0);
      if (p.stdout.split(/^---$/m).length - 1 !== MANIFESTS || p.stdout.includes('<path:')) throw new BenchFailure(`plugin output: ${docs} documents, placeholders left: ${p.stdout.includes('<path:')}`);
      if (r >= 0) {
        baseline.push(b.ms);
        requests.push(reqMs);
        plugin.push(p.ms);
        counts.push(proxy.count());
      }
    }
    if (counts.some((c) => c !== PATHS)) throw new BenchFailure(`the plugin made ${counts.join(', ')} requests per run; expected ${PATHS}`);

    const mb = median(baseline);
    const mr = median(requests);
    const mp = median(plugin);
    const target = 2 * mb + mr;
    log(
      table(
        ['run', 'median ms', 'min ms', 'max ms'],
        [
          ['baseline: read + print (process)', fmtMs(mb), fmtMs(Math.min(...baseline)), fmtMs(Math.max(...baseline))],
          [`the ${PATHS} reads alone (in process)`, fmtMs(mr), fmtMs(Math.min(...requests)), fmtMs(Math.max(...requests))],
          ['plugin generate (process)', fmtMs(mp), fmtMs(Math.min(...plugin)), fmtMs(Math.max(...plugin))],
        ],
        [false, true, true, true],
      ),
    );
    const verdict = `argocd: ${PATHS} requests per run (${MANIFESTS * PER_MANIFEST} placeholders); plugin ${fmtMs(mp)} ms = ${(mp / mb).toFixed(2)}x baseline ${fmtMs(mb)} ms; target <= 2 x baseline + requests = ${fmtMs(target)} ms: ${mp <= target ? 'met' : 'MISSED'}`;
    log(verdict);
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(
      path.join(RESULTS_DIR, 'argocd.json'),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          manifests: MANIFESTS,
          placeholders: MANIFESTS * PER_MANIFEST,
          distinctPaths: PATHS,
          requestsPerRun: counts,
          ms: { baseline, requests, plugin },
          median: { baseline: mb, requests: mr, plugin: mp },
          ratio: mp / mb,
          target,
          met: mp <= target,
        },
        null,
        2,
      )}\n`,
    );
    return {
      rows: [{ bench: 'argocd', target: `generate ${MANIFESTS} manifests (ms)`, rps: mp, p50: mp, p99: Math.max(...plugin), errors: 0, note: `baseline ${fmtMs(mb)} ms` }],
      verdicts: [verdict],
      ok: mp <= target,
    };
  } finally {
    await proxy.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
