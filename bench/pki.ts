/**
 * bench/pki: certificates issued per second through coffer's API (`POST /v1/<mount>/issue/<role>`, a new key
 * pair generated per certificate, signed by the mount's CA), for EC P-256 and RSA 2048, side by side with the
 * limit: generating the same key and signing the same certificate directly with @peculiar/x509 on Node's
 * WebCrypto in this process (issue 6, "Benchmark"; README, "Performance").
 *
 * Setup: a coffer dev server as a child process with two mounts, `pki-ec` (EC P-256 root, role `ec` with
 * key_type ec) and `pki-rsa` (RSA 2048 root, role `rsa` with key_type rsa/2048); roles allow the benchmark's
 * names and store every certificate (as issue does by default). The baseline holds a CA of the same key type
 * and, per operation, generates a key pair, builds a leaf with the same extensions coffer writes (basic
 * constraints, key usage, extended key usage, subject and authority key identifiers, a DNS SAN), signs it and
 * exports the private key as PKCS#8 and the certificate as PEM — the work a client would have to do itself.
 *
 * Both sides run `BENCH_PKI_CONCURRENCY` (4) operations at once in a closed loop; each variant gets a discarded
 * warm-up run and BENCH_ROUNDS measured runs alternating baseline and coffer; medians are reported. Every
 * coffer answer must be 200 with a certificate; every 10th certificate of each run is parsed and its signature
 * verified against the CA. Besides the rate, each run records the CPU time per certificate of the process doing
 * the work (this one for direct, the server for coffer): on a shared machine it is the steadier figure.
 * Results go to bench/results/pki.json.
 *
 * Knobs: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 2), BENCH_ROUNDS (3), BENCH_PKI_CONCURRENCY (4).
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import {
  BenchFailure, closedLoop, envInt, fmtInt, fmtMs, fmtPct, httpJson, loadSettings, median, processCpuMs, RESULTS_DIR, spawnDevServer, table,
  type BenchModuleResult, type ChildServer, type ClosedLoopFigures, type SummaryRow,
} from './harness.js';

export const name = 'pki';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle;

interface KeyKind {
  label: string;
  mount: string;
  role: Record<string, unknown>;
  gen: RsaHashedKeyGenParams | EcKeyGenParams;
  sign: Algorithm | EcdsaParams;
}

const KINDS: KeyKind[] = [
  {
    label: 'EC P-256',
    mount: 'pki-ec',
    role: { key_type: 'ec', key_bits: 256 },
    gen: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  },
  {
    label: 'RSA 2048',
    mount: 'pki-rsa',
    role: { key_type: 'rsa', key_bits: 2048 },
    gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
];

const DOMAIN = 'bench.svc.cluster.local';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The baseline: key generation and signing with the library directly, a CA of the same key type. */
async function directIssuer(kind: KeyKind) {
  const caKeys = (await subtle.generateKey(kind.gen as never, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Bench Direct CA',
    keys: caKeys,
    signingAlgorithm: kind.sign,
    notAfter: new Date(Date.now() + 24 * 3600_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey)],
  });
  const caKeyId = ca.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  return {
    ca,
    async issue(n: number): Promise<x509.X509Certificate> {
      const keys = (await subtle.generateKey(kind.gen as never, true, ['sign', 'verify'])) as CryptoKeyPair;
      const serial = randomBytes(20);
      serial[0] = (serial[0] & 0x7f) || 1;
      const cn = `svc-${n}.${DOMAIN}`;
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial.toString('hex'),
        subject: `CN=${cn}`,
        issuer: ca.subjectName,
        notBefore: new Date(Date.now() - 30_000),
        notAfter: new Date(Date.now() + 3600_000),
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: kind.sign,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyAgreement, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          new x509.AuthorityKeyIdentifierExtension(caKeyId),
          new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }]),
        ],
      });
      // What a response carries: the key and the certificate, encoded.
      Buffer.from(await subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
      cert.toString('pem');
      return cert;
    },
  };
}

interface Run {
  rate: number;
  p50: number;
  p99: number;
  ops: number;
  /** CPU time per certificate (ms) of the process doing the work: this one for direct, the server for coffer. */
  cpuMs: number;
}

interface VariantResult {
  runs: Run[];
}

/**
 * A measured run with the CPU time of the process that does the work. CPU per certificate is far steadier than
 * the rate on a machine shared with other work, so both are reported.
 */
async function measure(run: () => Promise<ClosedLoopFigures>, cpuNow: () => number): Promise<Run> {
  const cpu0 = cpuNow();
  const f = await run();
  return { rate: f.rate, p50: f.latency.percentile(50), p99: f.latency.percentile(99), ops: f.ops, cpuMs: (cpuNow() - cpu0) / Math.max(1, f.ops) };
}

const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function run(log: (m: string) => void = (m) => process.stdout.write(`${m}\n`)): Promise<BenchModuleResult> {
  const s = loadSettings();
  const concurrency = envInt('BENCH_PKI_CONCURRENCY', 4, 1);
  const token = `cfs.bench-${randomBytes(12).toString('hex')}`;
  log(`pki: concurrency ${concurrency}, ${s.duration} s per run, ${s.rounds} rounds, ${s.warmup} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let coffer: ChildServer | null = null;
  try {
    coffer = await spawnDevServer(token);
    const addr = coffer.addr;
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await httpJson(agent, addr, method, `/v1/${p}`, { token, body });
      if (res.status < 200 || res.status > 299) throw new BenchFailure(`${method} ${p} answered ${res.status}: ${res.text.slice(0, 300)}`);
      return res;
    };
    const results: Record<string, { coffer: VariantResult; direct: VariantResult; check: string }> = {};
    const rows: SummaryRow[] = [];
    const verdicts: string[] = [];

    for (const kind of KINDS) {
      await api('POST', `sys/mounts/${kind.mount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
      const root = (await api('POST', `${kind.mount}/root/generate/internal`, { common_name: `Bench ${kind.label} CA`, ttl: '8760h', ...kind.role })).json as { data: { certificate: string } };
      const caCert = new x509.X509Certificate(root.data.certificate);
      await api('POST', `${kind.mount}/roles/bench`, { allowed_domains: DOMAIN, allow_subdomains: true, max_ttl: '1h', ...kind.role });
      const direct = await directIssuer(kind);
      let verified = 0;

      const cofferOp = async (worker: number) => {
        const res = await httpJson(agent, addr, 'POST', `/v1/${kind.mount}/issue/bench`, { token, body: { common_name: `svc-${worker}.${DOMAIN}`, ttl: '1h' } });
        const data = (res.json as { data?: { certificate?: string; private_key?: string } } | null)?.data;
        if (res.status !== 200 || !data?.certificate || !data.private_key) throw new BenchFailure(`coffer issue answered ${res.status}: ${res.text.slice(0, 300)}`);
        if (Math.random() < 0.1) {
          if (!(await new x509.X509Certificate(data.certificate).verify({ publicKey: caCert.publicKey, signatureOnly: true }))) {
            throw new BenchFailure('coffer issued a certificate whose signature does not verify against its CA');
          }
          verified++;
        }
      };
      let n = 0;
      const directOp = async () => {
        const cert = await direct.issue(n++);
        if (n % 10 === 0 && !(await cert.verify({ publicKey: direct.ca.publicKey, signatureOnly: true }))) throw new BenchFailure('direct signature does not verify');
      };

      // Warm-up, then alternate.
      if (s.warmup > 0) {
        await closedLoop(concurrency, s.warmup, directOp);
        await closedLoop(concurrency, s.warmup, cofferOp);
      }
      const figures = { coffer: { runs: [] } as VariantResult, direct: { runs: [] } as VariantResult };
      for (let round = 0; round < s.rounds; round++) {
        const d = await measure(() => closedLoop(concurrency, s.duration, directOp), ownCpuMs);
        await sleep(200);
        const c = await measure(() => closedLoop(concurrency, s.duration, cofferOp), () => processCpuMs(coffer!.child.pid));
        await sleep(200);
        figures.direct.runs.push(d);
        figures.coffer.runs.push(c);
        log(`  ${kind.label} round ${round + 1}: direct ${fmtInt(d.rate)}/s (p50 ${fmtMs(d.p50)} ms, ${fmtMs(d.cpuMs)} ms CPU/cert), `
          + `coffer ${fmtInt(c.rate)}/s (p50 ${fmtMs(c.p50)} ms, server ${fmtMs(c.cpuMs)} ms CPU/cert)`);
      }
      const med = (v: VariantResult, k: keyof Run) => median(v.runs.map((r) => r[k]));
      const ratio = med(figures.coffer, 'rate') / med(figures.direct, 'rate');
      const cpuRatio = med(figures.coffer, 'cpuMs') / med(figures.direct, 'cpuMs');
      rows.push(
        { bench: 'pki', target: `direct ${kind.label} (keygen + sign)`, rps: med(figures.direct, 'rate'), p50: med(figures.direct, 'p50'), p99: med(figures.direct, 'p99'), errors: 0 },
        { bench: 'pki', target: `coffer issue ${kind.label}`, rps: med(figures.coffer, 'rate'), p50: med(figures.coffer, 'p50'), p99: med(figures.coffer, 'p99'), errors: 0 },
      );
      const verdict = `pki ${kind.label}: coffer ${fmtInt(med(figures.coffer, 'rate'))} certs/s vs direct ${fmtInt(med(figures.direct, 'rate'))}/s = ${fmtPct(ratio)} of the library's limit; `
        + `CPU per certificate ${fmtMs(med(figures.coffer, 'cpuMs'))} ms (server) vs ${fmtMs(med(figures.direct, 'cpuMs'))} ms = ${cpuRatio.toFixed(2)}x`;
      verdicts.push(verdict);
      results[kind.label] = { ...figures, check: `${verified} coffer certificates verified against the CA` };
      log(`  ${verdict}; ${verified} coffer certificates verified`);
    }

    log(`\n${table(['variant', 'certs/s', 'p50 ms', 'p99 ms'], rows.map((r) => [r.target, fmtInt(r.rps), fmtMs(r.p50), fmtMs(r.p99)]), [false, true, true, true])}`);
    await mkdir(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, 'pki.json');
    const json = {
      bench: 'pki',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.version },
      settings: { ...s, concurrency },
      results,
      summary: rows,
      verdicts,
    };
    await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
    log(`results: ${file}`);
    return { rows, verdicts, ok: true };
  } finally {
    agent.destroy();
    await coffer?.stop();
  }
}
