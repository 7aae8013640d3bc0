/**
 * Issue 6, acceptance: the seed's certificate chain built with the `coffer` CLI against a spawned dev server,
 * exactly as a runbook written for `vault` does it — root CA on `pki` (tuned to 87600h), intermediate on
 * `pki_int` signed by the root from a CSR file (`csr=@file`), role `internal-tls`, a leaf for
 * my-api.production.svc.cluster.local. The results are checked with real tools: `openssl verify`, a Node TLS
 * server presenting the leaf to a client that trusts only the root, `openssl crl -text` and `openssl crl
 * -verify` for the CRL after a revocation, and @peculiar/x509's CRL signature check.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { runCoffer, spawnServer, type ServerProcess } from '../helpers/process.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const exec = promisify(execFile);
const ROOT_TOKEN = 'pki-acceptance-root';
const LEAF_NAME = 'my-api.production.svc.cluster.local';

let proc: ServerProcess;
let dir: string;
let env: Record<string, string>;

/** Runs `coffer ...` in the work directory; expects success and returns stdout. */
async function coffer(args: string[]): Promise<string> {
  const res = await runCoffer(args, { env });
  assert.equal(res.code, 0, `coffer ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
  return res.stdout;
}

/** `openssl ARGS` in the work directory; returns stdout and stderr (a failure rejects with both). */
async function openssl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec('openssl', args, { cwd: dir });
}

const file = (name: string) => path.join(dir, name);
const firstPem = (text: string) => /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(text)![0];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'coffer-pki-cli-'));
  proc = await spawnServer(['-dev', '-dev-no-store-token', `-dev-root-token-id=${ROOT_TOKEN}`, '-dev-listen-address=127.0.0.1:0', '-log-level=error']);
  env = { VAULT_ADDR: proc.addr, VAULT_TOKEN: ROOT_TOKEN, COFFER_ADDR: '', COFFER_TOKEN: '', HOME: dir, COFFER_FORMAT: '', VAULT_FORMAT: '' };
});

after(async () => {
  proc?.child.kill('SIGTERM');
  await proc?.exited;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the seed chain, scripted with the CLI', () => {
  let leaf: { certificate: string; private_key: string; issuing_ca: string; ca_chain: string[]; serial_number: string; expiration: number };
  let issueWarnings: string[];

  test('root, intermediate, role and leaf', async () => {
    // Root CA.
    assert.equal(await coffer(['secrets', 'enable', 'pki']), 'Success! Enabled the pki secrets engine at: pki/\n');
    assert.equal(await coffer(['secrets', 'tune', '-max-lease-ttl=87600h', 'pki']), 'Success! Tuned the secrets engine at: pki/\n');
    const rootPem = await coffer(['write', '-field=certificate', 'pki/root/generate/internal', 'common_name=Company Internal CA', 'ttl=87600h']);
    writeFileSync(file('root.pem'), `${rootPem}\n`);
    const root = new x509.X509Certificate(rootPem);
    assert.equal(root.subject, 'CN=Company Internal CA');
    // 87600h = 3650 days: the tuned mount max allowed the whole TTL.
    assert.ok(Math.abs(root.notAfter.getTime() - Date.now() - 87600 * 3600_000) < 120_000, `root notAfter ${root.notAfter.toISOString()}`);

    // Intermediate: a CSR file, signed by the root for 43800h, set-signed with its chain.
    await coffer(['secrets', 'enable', '-path=pki_int', 'pki']);
    const csr = await coffer(['write', '-field=csr', 'pki_int/intermediate/generate/internal', 'common_name=Company Intermediate CA']);
    assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
    writeFileSync(file('pki_intermediate.csr'), csr);
    const signed = await coffer(['write', '-field=certificate', 'pki/root/sign-intermediate', `csr=@${file('pki_intermediate.csr')}`, 'format=pem_bundle', 'ttl=43800h']);
    writeFileSync(file('intermediate.pem'), `${signed}\n`);
    const intermediate = new x509.X509Certificate(firstPem(signed));
    assert.equal(intermediate.subject, 'CN=Company Intermediate CA');
    assert.equal(intermediate.issuer, 'CN=Company Internal CA');
    assert.ok(Math.abs(intermediate.notAfter.getTime() - Date.now() - 43800 * 3600_000) < 120_000);
    const setSigned = await coffer(['write', '-format=json', 'pki_int/intermediate/set-signed', `certificate=@${file('intermediate.pem')}`]);
    assert.equal(JSON.parse(setSigned).data.imported_issuers.length, 1);

    // Role and leaf.
    await coffer(['write', 'pki_int/roles/internal-tls', 'allowed_domains=svc.cluster.local,internal.company.com', 'allow_subdomains=true', 'max_ttl=72h']);
    const issued = JSON.parse(await coffer(['write', '-format=json', 'pki_int/issue/internal-tls', `common_name=${LEAF_NAME}`]));
    leaf = issued.data;
    issueWarnings = issued.warnings;
    writeFileSync(file('leaf.pem'), `${leaf.certificate}\n`);
    writeFileSync(file('leaf.key'), `${leaf.private_key}\n`, { mode: 0o600 });
    assert.match(leaf.serial_number, /^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    assert.equal(leaf.issuing_ca, firstPem(signed));
    assert.deepEqual(leaf.ca_chain, [firstPem(signed), rootPem.trim()]);
  });

  test('the leaf TTL is capped at the role max_ttl (72h) with a warning', () => {
    assert.deepEqual(issueWarnings, ['TTL "768h0m0s" is longer than permitted maxTTL "72h0m0s", so maxTTL is being used']);
    const remaining = leaf.expiration - Date.now() / 1000;
    assert.ok(remaining > 72 * 3600 - 120 && remaining <= 72 * 3600, `expiration in ${remaining}s`);
  });

  test('openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem', async () => {
    const { stdout } = await openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'leaf.pem']);
    assert.equal(stdout.trim(), 'leaf.pem: OK');
    // Without the intermediate the chain cannot be built: the check above is not vacuous.
    await assert.rejects(openssl(['verify', '-CAfile', 'root.pem', 'leaf.pem']), /unable to get local issuer certificate/);
  });

  test('a Node TLS server using the leaf is accepted by a client trusting only the root', async () => {
    const server = tls.createServer({ cert: [leaf.certificate, leaf.issuing_ca].join('\n'), key: leaf.private_key }, (socket) => socket.end('hello over tls\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const connect = (ca: string) => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: LEAF_NAME, ca }, () => {
        let text = '';
        socket.on('data', (d) => (text += d)).on('end', () => resolve(text)).on('error', reject);
      });
      socket.on('error', reject);
    });
    try {
      assert.equal(await connect(readFileSync(file('root.pem'), 'utf8')), 'hello over tls\n');
      // A client trusting another CA refuses the same server.
      const selfSigned = await x509.X509CertificateGenerator.createSelfSigned({
        name: 'CN=Unrelated CA',
        keys: await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as CryptoKeyPair,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      });
      await assert.rejects(connect(selfSigned.toString('pem')), /unable to get local issuer certificate|self.signed|unable to verify/);
    } finally {
      server.close();
    }
  });

  test('a revoked serial is listed by openssl crl -text and the CRL verifies against the issuer', async () => {
    const revoked = JSON.parse(await coffer(['write', '-format=json', 'pki_int/revoke', `serial_number=${leaf.serial_number}`]));
    assert.equal(revoked.data.state, 'revoked');
    assert.ok(revoked.data.revocation_time >= Math.floor(Date.now() / 1000) - 60);

    // The CRL endpoints are unauthenticated, as in Vault: fetched without a token.
    const res = await fetch(`${proc.addr}/v1/pki_int/crl/pem`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-pem-file');
    const crlPem = await res.text();
    writeFileSync(file('crl.pem'), crlPem);
    writeFileSync(file('intermediate-only.pem'), `${leaf.issuing_ca}\n`);

    const { stdout } = await openssl(['crl', '-in', 'crl.pem', '-noout', '-text']);
    assert.match(stdout, /Issuer: CN = Company Intermediate CA/);
    assert.match(stdout, new RegExp(`Serial Number: ${leaf.serial_number.replace(/:/g, '').toUpperCase()}`));
    const verified = await openssl(['crl', '-in', 'crl.pem', '-noout', '-CAfile', 'intermediate-only.pem', '-verify']);
    assert.match(verified.stdout + verified.stderr, /verify OK/);
    // Against the root the signature does not verify: the CRL is signed by the intermediate.
    const wrong = await openssl(['crl', '-in', 'crl.pem', '-noout', '-CAfile', 'root.pem', '-verify']).catch((err) => err);
    assert.doesNotMatch(`${wrong.stdout}${wrong.stderr}`, /verify OK/);

    const crl = new x509.X509Crl(crlPem);
    assert.equal(await crl.verify({ publicKey: new x509.X509Certificate(leaf.issuing_ca) }), true);
    assert.ok(crl.findRevoked(new x509.X509Certificate(leaf.certificate)));

    // And cert/:serial reports the revocation.
    const cert = JSON.parse(await coffer(['read', '-format=json', `pki_int/cert/${leaf.serial_number}`]));
    assert.equal(cert.data.revocation_time, revoked.data.revocation_time);
  });
});
