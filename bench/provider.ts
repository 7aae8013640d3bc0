/**
 * `bench/provider`: what the Terraform provider costs a run.
 *
 * 1. Start-up: from spawning the launcher (as Terraform does, with go-plugin's environment and a client
 *    certificate) to the handshake line on its stdout; beside it, spawn-to-exit of `node -e ''`, the floor any
 *    Node.js provider pays. Alternating, median of N. Target: under 250 ms. Also the CPU time each had used
 *    by then, which other work on a shared machine inflates far less than wall time.
 * 2. `terraform plan` of 50 `coffer_kv_secret_v2` data sources against a dev server, beside the same plan with
 *    50 `terraform_data` resources (no provider process at all) and with one data source, in the same run,
 *    alternating. Per-instance overhead: (50 data sources − 50 terraform_data) / 50, and the marginal cost
 *    of one more data source: (50 − 1) / 49.
 *
 * BENCH_PROVIDER_RUNS (default 20) start-ups per target; BENCH_PROVIDER_PLANS (default 5) plans per config.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { selfSignedCert } from '../provider/protocol/cert.js';
import { MAGIC_COOKIE_VALUE } from '../provider/protocol/handshake.js';
import { BenchFailure, envInt, fmtMs, median, REPO_ROOT, RESULTS_DIR, spawnDevServer, table, type BenchModuleResult, type ChildServer } from './harness.js';

const TARGET_MS = 250;
const INSTANCES = 50;
const LAUNCHER = path.join(REPO_ROOT, 'provider/bin/terraform-provider-coffer');

interface Timed {
  ms: number;
  ok: boolean;
  detail: string;
  /** CPU time (user + system) the process had used when `done` held, from /proc (10 ms ticks). */
  cpuMs?: number;
}

/** CPU time so far of a live process; less sensitive than wall time to other work on the machine. */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

/** Spawns `cmd` and times until `done(stdout)` holds (then stops it) or until it exits. */
function timeUntil(cmd: string, args: string[], env: NodeJS.ProcessEnv, done: ((out: string) => boolean) | null, timeoutMs = 30_000, cwd = REPO_ROOT): Promise<Timed> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let settled = false;
    let cpuMs: number | undefined;
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      const ms = performance.now() - t0;
      cpuMs ??= cpuMsOf(child.pid);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGTERM');
      child.once('close', () => resolve({ ms, ok, detail, cpuMs }));
      if (child.exitCode !== null) resolve({ ms, ok, detail, cpuMs });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(false, `timed out; stderr: ${err.slice(0, 300)}`);
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // The baseline prints its own CPU time as it exits; the provider is read from /proc at the handshake.
      if (done === null && /^cpu \d/.test(out)) cpuMs = Number(out.slice(4));
      if (done?.(out)) finish(true, out.trim());
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => finish(done === null && code === 0, `exit ${code}; stdout: ${out.slice(-300)} stderr: ${err.slice(0, 800)}`));
  });
}

const HEADER = `terraform {\n  required_providers {\n    coffer = { source = "terraform.local/coffer/coffer" }\n  }\n}\n`;

function writeProject(root: string, name: string, body: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'main.tf'), `${HEADER}\n${body}\n`);
  return dir;
}

const kvConfig = (n: number) => `provider "coffer" {}\n\ndata "coffer_kv_secret_v2" "s" {\n  count = ${n}\n  mount = "secret"\n  name  = "bench/s\${count.index}"\n}\n`;
const terraformDataConfig = (n: number) => `resource "terraform_data" "r" {\n  count = ${n}\n  input = "value-\${count.index}"\n}\n`;

export const name = 'provider';

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const runs = envInt('BENCH_PROVIDER_RUNS', 20, 1);
  const plans = envInt('BENCH_PROVIDER_PLANS', 5, 1);
  const round = (x: number) => Math.round(x * 100) / 100;
  log(`provider: ${runs} start-ups and ${plans} plans per target, alternating; ${os.cpus().length} CPUs, Node ${process.version}`);

  // ---- start-up ----
  const launchEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TF_PLUGIN_MAGIC_COOKIE: MAGIC_COOKIE_VALUE,
    PLUGIN_PROTOCOL_VERSIONS: '5,6',
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '25000',
    PLUGIN_CLIENT_CERT: selfSignedCert('terraform').certPem,
  };
  const startTargets = [
    // node -e '' plus an exit hook that reports the process's CPU time (the hook itself costs microseconds).
    { label: "node -e ''", cmd: process.execPath, args: ['-e', "process.on('exit', () => { const u = process.cpuUsage(); process.stdout.write('cpu ' + (u.user + u.system) / 1000); })"], done: null },
    { label: 'provider to handshake', cmd: LAUNCHER, args: [], done: (out: string) => /^1\|6\|unix\|[^|]+\|grpc\|[A-Za-z0-9+/]+\n/.test(out) },
  ];
  const startSamples: number[][] = [[], []];
  const cpuSamples: number[][] = [[], []];
  for (let i = 0; i < runs + 2; i++) {
    for (const [k, t] of startTargets.entries()) {
      const r = await timeUntil(t.cmd, t.args, launchEnv, t.done);
      if (!r.ok) throw new BenchFailure(`${t.label}: ${r.detail}`);
      if (i < 2) continue;
      startSamples[k].push(r.ms);
      if (r.cpuMs !== undefined) cpuSamples[k].push(r.cpuMs);
    }
  }
  const [nodeMs, providerMs] = startSamples.map(median);
  const [nodeCpu, providerCpu] = cpuSamples.map((c) => (c.length ? median(c) : NaN));
  const startMet = providerMs < TARGET_MS;
  log('');
  log(
    table(
      ['process', 'median ms', 'min ms', 'max ms', 'CPU ms (median)'],
      startTargets.map((t, k) => [t.label, fmtMs(median(startSamples[k])), fmtMs(Math.min(...startSamples[k])), fmtMs(Math.max(...startSamples[k])), fmtMs(k ? providerCpu : nodeCpu)]),
      [false, true, true, true, true],
    ),
  );

  // ---- terraform plan ----
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  const work = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-provider-'));
  let server: ChildServer | null = null;
  try {
    server = await spawnDevServer(token);
    for (let i = 0; i < INSTANCES; i++) {
      const res = await fetch(`${server.addr}/v1/secret/data/bench/s${i}`, {
        method: 'POST',
        headers: { 'x-vault-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { value: randomBytes(12).toString('hex') } }),
      });
      if (res.status !== 200) throw new BenchFailure(`setup: write secret ${i} answered ${res.status}`);
    }
    const cli = path.join(work, 'cli.tfrc');
    writeFileSync(cli, `provider_installation {\n  dev_overrides {\n    "terraform.local/coffer/coffer" = "${path.dirname(LAUNCHER)}"\n  }\n  direct {}\n}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, TF_CLI_CONFIG_FILE: cli, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', COFFER_ADDR: server.addr, COFFER_TOKEN: token, HOME: work };
    delete env.TF_LOG;
    const configs = [
      { label: `${INSTANCES} terraform_data`, dir: writeProject(work, 'baseline', terraformDataConfig(INSTANCES)) },
      { label: '1 coffer_kv_secret_v2', dir: writeProject(work, 'one', kvConfig(1)) },
      { label: `${INSTANCES} coffer_kv_secret_v2`, dir: writeProject(work, 'many', kvConfig(INSTANCES)) },
    ];
    const planSamples: number[][] = configs.map(() => []);
    for (let i = 0; i < plans + 1; i++) {
      for (const [k, c] of configs.entries()) {
        const r = await timeUntil('terraform', ['plan', '-input=false', '-no-color', '-lock=false'], env, null, 300_000, c.dir);
        if (!r.ok) throw new BenchFailure(`terraform plan (${c.label}): ${r.detail}`);
        if (i >= 1) planSamples[k].push(r.ms);
      }
    }
    const [baseline, one, many] = planSamples.map(median);
    const perInstance = (many - baseline) / INSTANCES;
    const marginal = (many - one) / (INSTANCES - 1);
    log('');
    log(table(['terraform plan', 'median ms', 'min ms', 'max ms'], configs.map((c, k) => [c.label, fmtMs(median(planSamples[k])), fmtMs(Math.min(...planSamples[k])), fmtMs(Math.max(...planSamples[k]))]), [false, true, true, true]));
    const verdicts = [
      `provider: start-up to handshake median ${fmtMs(providerMs)} ms vs node -e '' ${fmtMs(nodeMs)} ms (+${fmtMs(providerMs - nodeMs)} ms, ${(providerMs / nodeMs).toFixed(2)}x; ` +
        `CPU ${fmtMs(providerCpu)} ms vs ${fmtMs(nodeCpu)} ms); target under ${TARGET_MS} ms: ${startMet ? 'MET' : 'MISSED'}`,
      `provider: plan of ${INSTANCES} data sources ${fmtMs(many)} ms vs ${INSTANCES} terraform_data ${fmtMs(baseline)} ms: ${fmtMs(perInstance)} ms per instance; ` +
        `marginal data source ${fmtMs(marginal)} ms (1 data source: ${fmtMs(one)} ms)`,
    ];
    log('');
    verdicts.forEach((v) => log(v));

    const json = {
      benchmark: 'provider',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
      settings: { runs, plans, instances: INSTANCES },
      startup: {
        node_e_empty: { median_ms: round(nodeMs), cpu_median_ms: round(nodeCpu), samples_ms: startSamples[0].map(round) },
        provider_handshake: { median_ms: round(providerMs), cpu_median_ms: round(providerCpu), samples_ms: startSamples[1].map(round) },
        difference_ms: round(providerMs - nodeMs),
        target: { under_ms: TARGET_MS, met: startMet },
      },
      plan: {
        terraform_data_50: { median_ms: round(baseline), samples_ms: planSamples[0].map(round) },
        kv_data_source_1: { median_ms: round(one), samples_ms: planSamples[1].map(round) },
        kv_data_source_50: { median_ms: round(many), samples_ms: planSamples[2].map(round) },
        per_instance_overhead_ms: round(perInstance),
        marginal_data_source_ms: round(marginal),
      },
    };
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, 'provider.json');
    await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
    log(`  results written to ${path.relative(process.cwd(), file) || file}`);
    return {
      rows: [
        { bench: 'provider', target: "start-up: node -e ''", rps: 1000 / nodeMs, p50: nodeMs, p99: Math.max(...startSamples[0]), errors: 0 },
        { bench: 'provider', target: 'start-up: provider handshake', rps: 1000 / providerMs, p50: providerMs, p99: Math.max(...startSamples[1]), errors: 0 },
        ...configs.map((c, k) => ({ bench: 'provider', target: `plan: ${c.label}`, rps: 1000 / median(planSamples[k]), p50: median(planSamples[k]), p99: Math.max(...planSamples[k]), errors: 0 })),
      ],
      verdicts,
      ok: startMet,
    };
  } finally {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }

}
