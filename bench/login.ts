/**
 * bench/login: logins per second for each auth method, side by side in the same run with token lookups per
 * second (GET auth/token/lookup-self, the cheapest authenticated call: one token resolution and an answer).
 *
 *   token lookup-self   GET  /v1/auth/token/lookup-self          (baseline)
 *   approle login       POST /v1/auth/approle/login              (role_id + an unlimited-use secret_id)
 *   jwt login           POST /v1/auth/jwt/login                  (RS256 JWT; the JWKS fetched once, then cached)
 *   kubernetes login    POST /v1/auth/kubernetes/login           (TokenReview over HTTPS to the local peer)
 *
 * Every login verifies the credential and creates a token (a storage transaction), so the ratio to lookups is
 * the cost of authenticating and issuing. coffer, the peers (bench/login-peers.ts: the TokenReview endpoint and
 * the JWKS issuer of the tests) and the load generator run in three processes. A discarded warm-up per target,
 * then BENCH_ROUNDS measured runs taking the targets in turn; medians are reported; any non-2xx fails the run.
 * Results go to bench/results/login.json. Knobs: as bench/kv (BENCH_DURATION, BENCH_CONNECTIONS, ...).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIST,
  BenchFailure,
  fmtInt,
  fmtMs,
  fmtPct,
  loadSettings,
  machineInfo,
  roundTo,
  writeResults,
  measureAlternating,
  spawnDevServer,
  spawnListening,
  table,
  type BenchModuleResult,
  type ChildServer,
  type LoadTarget,
} from './harness.js';
import type { LoginPeers } from './login-peers.js';

export const name = 'login';

async function call(addr: string, token: string | null, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${addr}/v1/${p}`, {
    method,
    headers: { ...(token ? { 'X-Vault-Token': token } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) throw new BenchFailure(`setup: ${method} ${p} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const s = loadSettings();
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  log(`login: ${s.connections} connections, ${s.duration} s per run, ${s.rounds} rounds, ${s.warmup} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}`);

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'coffer-bench-login-'));
  let coffer: ChildServer | null = null;
  let peersProc: ChildServer | null = null;
  try {
    const peersFile = path.join(tmp, 'peers.json');
    peersProc = await spawnListening('peers', [path.join(BENCH_DIST, 'login-peers.js')], { env: { BENCH_PEERS_FILE: peersFile } });
    const peers = JSON.parse(await readFile(peersFile, 'utf8')) as LoginPeers;
    coffer = await spawnDevServer(token);
    log(`  coffer dev server: ${coffer.addr} (pid ${coffer.child.pid}); peers pid ${peersProc.child.pid}`);

    // Setup: one role per method, all issuing the same kind of token.
    const tokenFields = { token_policies: 'bench', token_ttl: '1h' };
    await call(coffer.addr, token, 'POST', 'sys/auth/approle', { type: 'approle' });
    await call(coffer.addr, token, 'POST', 'auth/approle/role/bench', tokenFields);
    const roleId = (await call(coffer.addr, token, 'GET', 'auth/approle/role/bench/role-id')).data.role_id;
    const secretId = (await call(coffer.addr, token, 'POST', 'auth/approle/role/bench/secret-id', {})).data.secret_id;
    await call(coffer.addr, token, 'POST', 'sys/auth/jwt', { type: 'jwt' });
    await call(coffer.addr, token, 'POST', 'auth/jwt/config', { jwks_url: peers.idp.jwksUrl, jwks_ca_pem: peers.idp.caPem, bound_issuer: peers.idp.issuer });
    await call(coffer.addr, token, 'POST', 'auth/jwt/role/bench', { ...tokenFields, bound_audiences: 'coffer', bound_claims: { project_path: 'team/app' } });
    await call(coffer.addr, token, 'POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
    await call(coffer.addr, token, 'POST', 'auth/kubernetes/config', { kubernetes_host: peers.k8s.url, kubernetes_ca_cert: peers.k8s.caPem, token_reviewer_jwt: peers.k8s.reviewerJwt });
    await call(coffer.addr, token, 'POST', 'auth/kubernetes/role/bench', { ...tokenFields, bound_service_account_names: 'my-api', bound_service_account_namespaces: 'production' });

    const bodies = {
      approle: JSON.stringify({ role_id: roleId, secret_id: secretId }),
      jwt: JSON.stringify({ role: 'bench', jwt: peers.idp.loginJwt }),
      kubernetes: JSON.stringify({ role: 'bench', jwt: peers.k8s.loginJwt }),
    };
    // Each login works before it is measured (this first JWT login also fills the JWKS cache).
    for (const [mount, body] of Object.entries(bodies)) {
      const auth = (await call(coffer.addr, null, 'POST', `auth/${mount}/login`, JSON.parse(body))).auth;
      if (!auth?.policies?.includes('bench')) throw new BenchFailure(`setup: ${mount} login gave no bench token`);
    }
    const json = { 'content-type': 'application/json' };
    const pid = coffer.child.pid;
    const targets: LoadTarget[] = [
      { name: 'token lookup-self', url: `${coffer.addr}/v1/auth/token/lookup-self`, method: 'GET', headers: { 'x-vault-token': token }, pid },
      { name: 'approle login', url: `${coffer.addr}/v1/auth/approle/login`, method: 'POST', headers: json, body: bodies.approle, pid },
      { name: 'jwt login', url: `${coffer.addr}/v1/auth/jwt/login`, method: 'POST', headers: json, body: bodies.jwt, pid },
      { name: 'kubernetes login', url: `${coffer.addr}/v1/auth/kubernetes/login`, method: 'POST', headers: json, body: bodies.kubernetes, pid },
    ];
    const measured = await measureAlternating(targets, s, log);
    const [lookup, ...logins] = measured;

    log('');
    log(
      table(
        ['login', 'req/s', 'vs lookup', 'p50 ms', 'p99 ms', 'errors', 'server µs CPU/req', 'runs req/s'],
        measured.map((m) => [
          m.name,
          fmtInt(m.median.rps),
          m === lookup ? '' : fmtPct(m.median.rps / lookup.median.rps),
          fmtMs(m.median.p50),
          fmtMs(m.median.p99),
          String(m.errors),
          m.median.cpuUsPerReq.toFixed(0),
          m.runs.map((r) => fmtInt(r.rps)).join(' / '),
        ]),
        [false, true, true, true, true, true, true, false],
      ),
    );
    // Server CPU per request is steadier than req/s on a shared machine: give both.
    const verdicts = logins.map(
      (m) =>
        `${m.name.padEnd(17)}: ${fmtInt(m.median.rps)} logins/s = ${fmtPct(m.median.rps / lookup.median.rps)} of token lookups (${fmtInt(lookup.median.rps)}/s); ` +
        `server CPU ${m.median.cpuUsPerReq.toFixed(0)} µs per login = ${(m.median.cpuUsPerReq / lookup.median.cpuUsPerReq).toFixed(1)}× a lookup's ${lookup.median.cpuUsPerReq.toFixed(0)} µs`,
    );
    log('');
    verdicts.forEach((v) => log(v));

    const round = roundTo;
    const results = {
      benchmark: 'login',
      date: new Date().toISOString(),
      machine: machineInfo(),
      settings: s,
      results: Object.fromEntries(
        measured.map((m) => [
          m.name.replace(/[ -]/g, '_'),
          {
            rps: round(m.median.rps, 1),
            ratio_to_lookup: round(m.median.rps / lookup.median.rps, 4),
            cpu_ratio_to_lookup: round(m.median.cpuUsPerReq / lookup.median.cpuUsPerReq, 2),
            p50_ms: round(m.median.p50, 3),
            p99_ms: round(m.median.p99, 3),
            errors: m.errors,
            server_cpu_us_per_req: round(m.median.cpuUsPerReq, 1),
            runs: m.runs.map((r) => ({ rps: round(r.rps, 1), p50_ms: round(r.p50, 3), p99_ms: round(r.p99, 3), requests: r.requests })),
          },
        ]),
      ),
    };
    await writeResults('login', results, log);
    return {
      rows: measured.map((m) => ({ bench: 'login', target: m.name, rps: m.median.rps, p50: m.median.p50, p99: m.median.p99, errors: m.errors })),
      verdicts,
      ok: true,
    };
  } catch (err) {
    if (coffer?.stderr()) log(`  coffer stderr (tail):\n${coffer.stderr().slice(-2000)}`);
    throw err;
  } finally {
    await Promise.all([coffer?.stop(), peersProc?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  }
}
