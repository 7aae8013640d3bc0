/**
 * `npm run bench`: runs every benchmark module in turn, then prints one summary table.
 *
 *   node dist/bench/run.js            # all benchmarks
 *   node dist/bench/run.js kv         # only the named ones
 *
 * Exit code: 1 when a benchmark failed to run (connection errors, non-2xx answers, setup); otherwise 0, since a
 * benchmark is not a timed test; with BENCH_STRICT=1 a missed target exits 3. A benchmark is a module exporting `name` and
 * `run(log): Promise<BenchModuleResult>`; add it to MODULES.
 */
import { BenchFailure, fmtInt, fmtMs, table, type BenchModuleResult, type SummaryRow } from './harness.js';

interface BenchModule {
  name: string;
  run(log: (m: string) => void): Promise<BenchModuleResult>;
}

const MODULES: (() => Promise<BenchModule>)[] = [
  () => import('./kv.js'),
  () => import('./ha.js'),
  () => import('./cli.js'),
  () => import('./dbcreds.js'),
  () => import('./leases-restore.js'),
  () => import('./login.js'),
  () => import('./eso.js'),
  () => import('./pki.js'),
  () => import('./pki-revoke.js'),
  () => import('./argocd.js'),
  () => import('./provider.js'),
];

async function main(argv: string[]): Promise<number> {
  const only = new Set(argv);
  const modules = await Promise.all(MODULES.map((load) => load()));
  const unknown = [...only].filter((n) => !modules.some((m) => m.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${modules.map((m) => m.name).join(', ')}\n`);
    return 2;
  }

  const rows: SummaryRow[] = [];
  const verdicts: string[] = [];
  const failures: string[] = [];
  let allMet = true;
  for (const mod of modules) {
    if (only.size && !only.has(mod.name)) continue;
    process.stdout.write(`\n=== bench/${mod.name} ===\n`);
    const started = Date.now();
    try {
      const result = await mod.run((m) => process.stdout.write(`${m}\n`));
      rows.push(...result.rows);
      verdicts.push(...result.verdicts);
      allMet &&= result.ok;
    } catch (err) {
      const msg = err instanceof BenchFailure ? err.message : err instanceof Error ? err.stack ?? err.message : String(err);
      failures.push(`${mod.name}: ${msg}`);
      process.stderr.write(`\nbench/${mod.name} FAILED: ${msg}\n`);
    }
    process.stdout.write(`(bench/${mod.name} took ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }

  process.stdout.write('\n=== summary ===\n');
  if (rows.length) {
    process.stdout.write(
      `${table(
        ['bench', 'target', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
        rows.map((r) => [r.bench, r.target, fmtInt(r.rps), fmtMs(r.p50), fmtMs(r.p99), String(r.errors)]),
        [false, false, true, true, true, true],
      )}\n\n`,
    );
  }
  verdicts.forEach((v) => process.stdout.write(`${v}\n`));
  if (failures.length) {
    process.stdout.write(`\nFAILED (${failures.length}):\n${failures.map((f) => `  ${f.split('\n')[0]}`).join('\n')}\n`);
    return 1;
  }
  return allMet || process.env.BENCH_STRICT !== '1' ? 0 : 3;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
