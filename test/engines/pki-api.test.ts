/**
 * The PKI engine through the HTTP API of a live dev server: every path, role enforcement (domains,
 * subdomains, bare domains, globs, wildcards, localhost, IP and URI SANs, TTL caps), bad input (malformed
 * CSRs, CSRs whose signature does not match their key, key_bits not allowed for a key type, set-signed with a
 * certificate for another key), output formats, key types, the leased certificate, tidy and ACLs on the
 * unauthenticated paths. Certificates are checked by parsing and verifying them with @peculiar/x509.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { client, postOk, postRefused, startDevServer, type TestServer } from '../helpers/server.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

let srv: TestServer;
let root: ReturnType<typeof client>;

before(async () => {
  srv = await startDevServer();
  root = client(srv.addr, srv.token);
});
after(() => srv?.close());

const ok = (path: string, body: Record<string, unknown> = {}) => postOk(root, path, body);
const refused = (path: string, body: Record<string, unknown>, message: RegExp) => postRefused(root, path, body, message);

let mountCount = 0;
/** A new pki mount with an EC root CA; returns its path. */
async function mountWithRoot(extra: Record<string, unknown> = {}): Promise<string> {
  const mount = `pki${++mountCount}`;
  await ok(`sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '8760h' } });
  await ok(`${mount}/root/generate/internal`, { common_name: `Root ${mount}`, key_type: 'ec', ttl: '8760h', ...extra });
  return mount;
}

async function ecKeys(curve = 'P-256'): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function makeCsr(cn: string, opts: { keys?: CryptoKeyPair; dns?: string[]; ips?: string[] } = {}): Promise<string> {
  const keys = opts.keys ?? (await ecKeys());
  const names = [...(opts.dns ?? []).map((value) => ({ type: 'dns' as const, value })), ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return csr.toString('pem');
}

const caOf = async (mount: string) => new x509.X509Certificate((await root.get(`${mount}/cert/ca`)).body.data.certificate);
const sanNames = (cert: x509.X509Certificate) =>
  cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => `${n.type}:${n.value}`) ?? [];

describe('CA generation', () => {
  test('root/generate/exported returns the private key once; internal never does; the key stays private', async () => {
    await ok('sys/mounts/pki-exp', { type: 'pki' });
    const res = await ok('pki-exp/root/generate/exported', { common_name: 'Exported Root', key_type: 'ec', key_bits: 384, ou: ['Ops'], organization: 'Acme', country: 'DE', ttl: '24h' });
    const cert = new x509.X509Certificate(res.data.certificate);
    assert.equal(cert.subject, 'C=DE, O=Acme, OU=Ops, CN=Exported Root');
    assert.equal(res.data.issuing_ca, res.data.certificate);
    assert.equal(res.data.private_key_type, 'ec');
    assert.match(res.data.private_key, /^-----BEGIN EC PRIVATE KEY-----/);
    // The returned key is the certificate's key.
    const spki = createPublicKey(createPrivateKey(res.data.private_key)).export({ type: 'spki', format: 'der' });
    assert.ok(Buffer.from(cert.publicKey.rawData).equals(spki));
    assert.ok(cert.getExtension(x509.BasicConstraintsExtension)?.ca);
    assert.equal(res.data.serial_number, cert.serialNumber.match(/../g)!.join(':'));
    assert.match(res.warnings.join('\n'), /authority information access/);
    // Nothing else ever returns it.
    for (const path of ['pki-exp/cert/ca', 'pki-exp/cert/ca_chain']) assert.doesNotMatch((await root.get(path)).text, /PRIVATE KEY/);

    await ok('sys/mounts/pki-int', { type: 'pki' });
    const internal = await ok('pki-int/root/generate/internal', { common_name: 'Internal Root', key_type: 'ed25519' });
    assert.equal(internal.data.private_key, undefined);
    assert.equal(new x509.X509Certificate(internal.data.certificate).signatureAlgorithm.name, 'Ed25519');
  });

  test('one issuer per mount: a second root is refused until DELETE root (sudo)', async () => {
    const mount = await mountWithRoot();
    await ok(`${mount}/roles/r`, { allow_any_name: true, key_type: 'ec' });
    const old = (await ok(`${mount}/issue/r`, { common_name: 'old.example', ttl: '1h' })).data;
    await ok(`${mount}/revoke`, { serial_number: old.serial_number });
    await refused(`${mount}/root/generate/internal`, { common_name: 'again' }, /already configured/);
    await refused(`${mount}/intermediate/generate/internal`, { common_name: 'again' }, /already configured/);
    const del = await root.delete(`${mount}/root`);
    assert.equal(del.status, 200);
    assert.match(del.body.warnings[0], /deleted/);
    assert.equal((await root.get(`${mount}/ca/pem`)).status, 204);
    await ok(`${mount}/root/generate/internal`, { common_name: 'Second Root', key_type: 'ec' });
    // The new CA's CRL does not list what the deleted CA revoked.
    const crl = new x509.X509Crl((await root.get(`${mount}/cert/crl`)).body.data.certificate);
    assert.equal(crl.issuer, 'CN=Second Root');
    assert.equal(crl.entries.length, 0);
    assert.ok((await root.get(`${mount}/cert/${old.serial_number}`)).body.data.revocation_time > 0);
  });

  test('bad input: key_bits for the key type, unknown key type, missing common name, bad path type', async () => {
    await ok('sys/mounts/pki-bad', { type: 'pki' });
    await refused('pki-bad/root/generate/internal', { common_name: 'x', key_type: 'ec', key_bits: 2048 }, /unsupported bit length for EC key: 2048/);
    await refused('pki-bad/root/generate/internal', { common_name: 'x', key_type: 'rsa', key_bits: 1024 }, /RSA keys < 2048 bits are unsafe and not supported: got 1024/);
    await refused('pki-bad/root/generate/internal', { common_name: 'x', key_type: 'rsa', key_bits: 2500 }, /unsupported bit length for RSA key: 2500/);
    await refused('pki-bad/root/generate/internal', { common_name: 'x', key_type: 'dsa' }, /unknown key type dsa/);
    await refused('pki-bad/root/generate/internal', { key_type: 'ec' }, /common_name field is required/);
    await refused('pki-bad/root/generate/kms', { common_name: 'x' }, /invalid type "kms"/);
    await refused('pki-bad/root/generate/internal', { common_name: 'x', ttl: 'soon' }, /ttl/);
    await refused('pki-bad/root/generate/internal', { common_name: 'x', format: 'xml' }, /unknown format "xml"/);
    await refused('pki-bad/roles/r', { key_type: 'ec', key_bits: 4096 }, /unsupported bit length for EC key: 4096/);
    await refused('pki-bad/roles/r', { ttl: '2h', max_ttl: '1h' }, /"ttl" value must be less than "max_ttl" value/);
    // No CA yet: issuing is refused, raw reads are empty.
    await ok('pki-bad/roles/r', { allow_any_name: true });
    await refused('pki-bad/issue/r', { common_name: 'a.example' }, /no default issuer/);
    assert.equal((await root.get('pki-bad/ca')).status, 204);
    assert.equal((await root.get('pki-bad/crl')).status, 204);
  });

  test('root TTL over the mount max is capped with a warning; root max_path_length and permitted_dns_domains', async () => {
    await ok('sys/mounts/pki-cap', { type: 'pki', config: { max_lease_ttl: '48h' } });
    const res = await ok('pki-cap/root/generate/internal', { common_name: 'Capped', key_type: 'ec', ttl: '100h', max_path_length: 1, permitted_dns_domains: 'example.com' });
    assert.ok(res.warnings.includes('TTL "100h0m0s" is longer than permitted maxTTL "48h0m0s", so maxTTL is being used'));
    const cert = new x509.X509Certificate(res.data.certificate);
    assert.ok(Math.abs(cert.notAfter.getTime() - Date.now() - 48 * 3600_000) < 60_000);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.pathLength, 1);
    assert.ok(cert.getExtension('2.5.29.30'), 'name constraints present');
  });
});

describe('intermediates', () => {
  test('sign-intermediate, set-signed with the full chain, and the chain endpoints', async () => {
    const parent = await mountWithRoot();
    await ok('sys/mounts/pki-child', { type: 'pki' });
    const gen = await ok('pki-child/intermediate/generate/exported', { common_name: 'Child CA', key_type: 'rsa', key_bits: 3072 });
    assert.match(gen.data.private_key, /^-----BEGIN RSA PRIVATE KEY-----/);
    const csr = new x509.Pkcs10CertificateRequest(gen.data.csr);
    assert.equal(csr.subject, 'CN=Child CA');
    const signed = await ok(`${parent}/root/sign-intermediate`, { csr: gen.data.csr, ttl: '100h', common_name: 'Renamed CA', organization: 'Acme' });
    const inter = new x509.X509Certificate(signed.data.certificate);
    assert.equal(inter.subject, 'O=Acme, CN=Renamed CA');
    assert.ok(inter.getExtension(x509.BasicConstraintsExtension)?.ca);
    assert.equal(await inter.verify({ publicKey: (await caOf(parent)).publicKey, signatureOnly: true }), true);
    assert.deepEqual(signed.data.ca_chain, [signed.data.issuing_ca]);

    // use_csr_values keeps the CSR's subject.
    const verbatim = await ok(`${parent}/root/sign-intermediate`, { csr: gen.data.csr, use_csr_values: true, common_name: 'ignored' });
    assert.equal(new x509.X509Certificate(verbatim.data.certificate).subject, 'CN=Child CA');

    const set = await ok('pki-child/intermediate/set-signed', { certificate: `${signed.data.certificate}\n${signed.data.issuing_ca}` });
    assert.equal(set.data.imported_issuers.length, 1);
    const chain = await root.get('pki-child/cert/ca_chain');
    assert.equal(chain.body.data.certificate, `${signed.data.certificate}\n${signed.data.issuing_ca}`);
    const rawChain = await fetch(`${srv.addr}/v1/pki-child/ca_chain`);
    assert.equal(rawChain.headers.get('content-type'), 'application/pkix-cert');
    assert.equal(await rawChain.text(), chain.body.data.certificate);
  });

  test('bad input: set-signed for another key, no pending key, malformed and mismatched CSRs', async () => {
    const parent = await mountWithRoot();
    await ok('sys/mounts/pki-mis', { type: 'pki' });
    await refused('pki-mis/intermediate/set-signed', { certificate: (await caOf(parent)).toString('pem') }, /no pending intermediate key/);
    await ok('pki-mis/intermediate/generate/internal', { common_name: 'Mis CA', key_type: 'ec' });
    // A certificate signed for a different key than the pending one.
    const other = await ok(`${parent}/root/sign-intermediate`, { csr: await makeCsr('Other CA'), ttl: '1h' });
    await refused('pki-mis/intermediate/set-signed', { certificate: other.data.certificate }, /does not match the pending intermediate key/);
    await refused('pki-mis/intermediate/set-signed', { certificate: 'not a pem' }, /no certificate found/);
    await refused('pki-mis/intermediate/set-signed', { certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, /could not be parsed/);

    await refused(`${parent}/root/sign-intermediate`, { csr: '' }, /"csr" is empty/);
    await refused(`${parent}/root/sign-intermediate`, { csr: 'garbage' }, /csr contains no data/);
    await refused(`${parent}/root/sign-intermediate`, { csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----' }, /certificate request could not be parsed/);
    // Signed by key A but carrying key B's public key.
    const a = await ecKeys();
    const b = await ecKeys();
    const forged = await makeCsr('Forged CA', { keys: { privateKey: a.privateKey, publicKey: b.publicKey } });
    await refused(`${parent}/root/sign-intermediate`, { csr: forged }, /request signature invalid/);
  });

  test('config/ca imports a CA bundle; sign-self-issued cross-signs a root (sudo)', async () => {
    const source = await root.post('sys/mounts/pki-src', { type: 'pki' });
    assert.equal(source.status, 204);
    const gen = await ok('pki-src/root/generate/exported', { common_name: 'Imported Root', key_type: 'ec' });
    await ok('sys/mounts/pki-imp', { type: 'pki' });
    await refused('pki-imp/config/ca', { pem_bundle: gen.data.certificate }, /exactly one private key, found 0/);
    const wrongKey = createPrivateKey({ key: (await webcrypto.subtle.exportKey('pkcs8', (await ecKeys()).privateKey)) as ArrayBuffer as never, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    await refused('pki-imp/config/ca', { pem_bundle: `${wrongKey}\n${gen.data.certificate}` }, /matches its private key/);
    const imported = await ok('pki-imp/config/ca', { pem_bundle: `${gen.data.private_key}\n${gen.data.certificate}` });
    assert.equal(imported.data.imported_keys.length, 1);
    assert.equal((await root.get('pki-imp/cert/ca')).body.data.certificate, gen.data.certificate);

    const signer = await mountWithRoot();
    const cross = await ok(`${signer}/root/sign-self-issued`, { certificate: gen.data.certificate });
    const crossed = new x509.X509Certificate(cross.data.certificate);
    const original = new x509.X509Certificate(gen.data.certificate);
    assert.equal(crossed.subject, original.subject);
    assert.equal(crossed.serialNumber, original.serialNumber);
    assert.equal(crossed.issuer, `CN=Root ${signer}`);
    assert.equal(await crossed.verify({ publicKey: (await caOf(signer)).publicKey, signatureOnly: true }), true);
    const leafCsr = await ok(`${signer}/root/sign-intermediate`, { csr: await makeCsr('Not self-issued'), ttl: '1h' });
    await refused(`${signer}/root/sign-self-issued`, { certificate: leafCsr.data.certificate }, /not self-issued/);
    // sudo: a token with update but no sudo is denied.
    await ok('sys/policies/acl/signer', { policy: `path "${signer}/root/sign-self-issued" { capabilities = ["update"] }` });
    const token = (await ok('auth/token/create', { policies: ['signer'] })).auth.client_token;
    const denied = await client(srv.addr, token).post(`${signer}/root/sign-self-issued`, { certificate: gen.data.certificate });
    assert.equal(denied.status, 403);
  });
});

describe('roles and issuing', () => {
  let mount: string;
  before(async () => {
    mount = await mountWithRoot();
    await ok(`${mount}/config/urls`, { issuing_certificates: `${srv.addr}/v1/${mount}/ca`, crl_distribution_points: [`${srv.addr}/v1/${mount}/crl`] });
    await ok(`${mount}/roles/web`, { allowed_domains: ['example.com', 'corp.internal'], allow_subdomains: true, key_type: 'ec', max_ttl: '2h', allow_ip_sans: false });
    await ok(`${mount}/roles/bare`, { allowed_domains: 'example.com', allow_bare_domains: true, key_type: 'ec', allow_localhost: false });
    await ok(`${mount}/roles/glob`, { allowed_domains: '*.svc.example.com', allow_glob_domains: true, key_type: 'ec', allowed_uri_sans: 'spiffe://cluster/*' });
    await ok(`${mount}/roles/noglob`, { allowed_domains: '*.svc.example.com', key_type: 'ec' });
  });

  test('roles: read with defaults, list, delete; config/urls read', async () => {
    const role = (await root.get(`${mount}/roles/web`)).body.data;
    assert.deepEqual(role.allowed_domains, ['example.com', 'corp.internal']);
    assert.equal(role.max_ttl, 7200);
    assert.equal(role.key_bits, 256);
    assert.equal(role.allow_localhost, true);
    assert.equal(role.server_flag, true);
    assert.deepEqual((await root.list(`${mount}/roles`)).body.data.keys.sort(), ['bare', 'glob', 'noglob', 'web']);
    await ok(`${mount}/roles/tmp`, { allow_any_name: true });
    assert.equal((await root.delete(`${mount}/roles/tmp`)).status, 204);
    assert.equal((await root.get(`${mount}/roles/tmp`)).status, 404);
    await refused(`${mount}/issue/tmp`, { common_name: 'a.example.com' }, /unknown role: tmp/);
    // A role's subject fields go into what it issues.
    await ok(`${mount}/roles/subj`, { allow_any_name: true, key_type: 'ec', organization: 'Acme', ou: 'Platform,Security', country: 'DE' });
    const subj = await ok(`${mount}/issue/subj`, { common_name: 'x.example.com', ttl: '10m' });
    assert.equal(new x509.X509Certificate(subj.data.certificate).subject, 'C=DE, O=Acme, OU=Platform, OU=Security, CN=x.example.com');
    const urls = (await root.get(`${mount}/config/urls`)).body.data;
    assert.deepEqual(urls.crl_distribution_points, [`${srv.addr}/v1/${mount}/crl`]);
    await refused(`${mount}/config/urls`, { issuing_certificates: 'not a url' }, /invalid URL/);
  });

  test('names outside the allowed domains, bare domains, globs and wildcards are refused with a reason', async () => {
    await refused(`${mount}/issue/web`, { common_name: 'evil.com' }, /common name evil.com not allowed by this role/);
    await refused(`${mount}/issue/web`, { common_name: 'a.example.com', alt_names: 'b.example.org' }, /subject alternate name b.example.org not allowed by this role/);
    await refused(`${mount}/issue/web`, { common_name: 'example.com' }, /common name example.com not allowed by this role/);
    await refused(`${mount}/issue/web`, { common_name: 'notexample.com' }, /not allowed/);
    await refused(`${mount}/issue/web`, { common_name: 'a.example.com', alt_names: 'ops@evil.com' }, /email address ops@evil.com not allowed/);
    // Glob abuse: a wildcard for a whole TLD, a wildcard in the wrong label, two wildcards.
    await refused(`${mount}/issue/web`, { common_name: '*.com' }, /common name \*\.com not allowed/);
    await refused(`${mount}/issue/glob`, { common_name: '*.com' }, /not allowed/);
    await refused(`${mount}/issue/web`, { common_name: 'a.*.example.com' }, /not allowed/);
    await refused(`${mount}/issue/web`, { common_name: '*.*.example.com' }, /not allowed/);
    // Globs in allowed_domains only count with allow_glob_domains.
    await refused(`${mount}/issue/noglob`, { common_name: 'api.svc.example.com' }, /not allowed/);
    await refused(`${mount}/issue/glob`, { common_name: 'api.other.example.com' }, /not allowed/);
    // Bare domain only with allow_bare_domains; subdomains not then; localhost only when allowed.
    await refused(`${mount}/issue/bare`, { common_name: 'www.example.com' }, /not allowed/);
    await refused(`${mount}/issue/bare`, { common_name: 'localhost' }, /not allowed/);
    // enforce_hostnames.
    await refused(`${mount}/issue/web`, { common_name: 'bad_name!.example.com' }, /not allowed/);

    const allowed = [
      ['web', 'a.b.example.com'], ['web', '*.example.com'], ['web', 'localhost'], ['bare', 'example.com'], ['glob', 'api.svc.example.com'],
    ];
    for (const [role, cn] of allowed) {
      const res = await ok(`${mount}/issue/${role}`, { common_name: cn, ttl: '10m' });
      assert.equal(new x509.X509Certificate(res.data.certificate).subject, `CN=${cn}`, `${role} ${cn}`);
    }
  });

  test('IP SANs only when allowed; URI SANs only matching allowed_uri_sans', async () => {
    await refused(`${mount}/issue/web`, { common_name: 'a.example.com', other_sans: '1.2.3.4;UTF8:x' }, /other_sans are not supported/);
    await refused(`${mount}/issue/web`, { common_name: 'a.example.com', ip_sans: '10.0.0.1' }, /IP Subject Alternative Names are not allowed in this role, but was provided via the API/);
    await refused(`${mount}/issue/glob`, { common_name: 'a.svc.example.com', ip_sans: 'not-an-ip' }, /not a valid IP address/);
    await refused(`${mount}/issue/web`, { common_name: 'a.example.com', uri_sans: 'spiffe://cluster/x' }, /URI Subject Alternative Names are not allowed in this role/);
    await refused(`${mount}/issue/glob`, { common_name: 'a.svc.example.com', uri_sans: 'spiffe://other/x' }, /not valid for this role/);
    const res = await ok(`${mount}/issue/glob`, { common_name: 'a.svc.example.com', ip_sans: '10.0.0.1,::1', uri_sans: 'spiffe://cluster/ns/web', alt_names: 'b.svc.example.com' });
    const cert = new x509.X509Certificate(res.data.certificate);
    assert.deepEqual(sanNames(cert).sort(), ['dns:a.svc.example.com', 'dns:b.svc.example.com', 'ip:10.0.0.1', 'ip:::1', 'url:spiffe://cluster/ns/web'].sort());
  });

  test('TTL over max_ttl is capped with a warning; never past the issuer; not_after', async () => {
    const res = await ok(`${mount}/issue/web`, { common_name: 'ttl.example.com', ttl: '5h' });
    assert.deepEqual(res.warnings, ['TTL "5h0m0s" is longer than permitted maxTTL "2h0m0s", so maxTTL is being used']);
    assert.ok(Math.abs(res.data.expiration - Date.now() / 1000 - 7200) < 60);
    await ok(`${mount}/roles/long`, { allow_any_name: true, key_type: 'ec', max_ttl: '20000h' });
    await refused(`${mount}/issue/long`, { common_name: 'long.example.com', ttl: '10000h' }, /beyond the expiration of the CA certificate/);
    await refused(`${mount}/issue/web`, { common_name: 'x.example.com', ttl: '1h', not_after: '2030-01-01T00:00:00Z' }, /Either ttl or not_after/);
    const until = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const fixed = await ok(`${mount}/issue/web`, { common_name: 'x.example.com', not_after: until });
    assert.equal(new Date(fixed.data.expiration * 1000).toISOString().replace(/\.\d+Z$/, 'Z'), until);
  });

  test('issue: the response shape, the chain verifies, usages and AIA/CRL URLs from config/urls', async () => {
    const res = await ok(`${mount}/issue/web`, { common_name: 'svc.corp.internal', ttl: '1h' });
    assert.deepEqual(Object.keys(res.data).sort(), ['ca_chain', 'certificate', 'expiration', 'issuing_ca', 'private_key', 'private_key_type', 'serial_number']);
    const cert = new x509.X509Certificate(res.data.certificate);
    const ca = await caOf(mount);
    assert.equal(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }), true);
    assert.equal(res.data.issuing_ca, ca.toString('pem').replace(/\r\n/g, '\n').trim());
    assert.equal(res.data.private_key_type, 'ec');
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages;
    assert.deepEqual([...eku].sort(), [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth].sort());
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.deepEqual(cert.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints.length, 1);
    assert.ok(cert.getExtension(x509.AuthorityInfoAccessExtension));
    assert.equal(res.data.expiration, Math.floor(cert.notAfter.getTime() / 1000));
    // Stored and readable by serial, listed.
    const stored = await root.get(`${mount}/cert/${res.data.serial_number}`);
    assert.equal(stored.body.data.certificate, res.data.certificate);
    assert.equal(stored.body.data.revocation_time, 0);
    assert.ok((await root.list(`${mount}/certs`)).body.data.keys.includes(res.data.serial_number));
    // cert/:serial also takes the dash form.
    assert.equal((await root.get(`${mount}/cert/${res.data.serial_number.replace(/:/g, '-')}`)).body.data.certificate, res.data.certificate);
    assert.equal((await root.get(`${mount}/cert/00:11`)).status, 404);
  });

  test('formats: der, pem_bundle, private_key_format=pkcs8; key types rsa, ec P-384, ed25519', async () => {
    await ok(`${mount}/roles/rsa`, { allow_any_name: true, key_type: 'rsa', key_bits: 2048 });
    await ok(`${mount}/roles/ec384`, { allow_any_name: true, key_type: 'ec', key_bits: 384 });
    await ok(`${mount}/roles/ed`, { allow_any_name: true, key_type: 'ed25519' });
    const der = await ok(`${mount}/issue/rsa`, { common_name: 'der.example.com', format: 'der', ttl: '1h' });
    const derCert = new x509.X509Certificate(Buffer.from(der.data.certificate, 'base64'));
    assert.equal(derCert.subject, 'CN=der.example.com');
    assert.equal(createPrivateKey({ key: Buffer.from(der.data.private_key, 'base64'), format: 'der', type: 'pkcs1' }).asymmetricKeyDetails?.modulusLength, 2048);
    new x509.X509Certificate(Buffer.from(der.data.issuing_ca, 'base64'));
    assert.equal(der.data.ca_chain.length, 1);

    const bundle = await ok(`${mount}/issue/ec384`, { common_name: 'bundle.example.com', format: 'pem_bundle', ttl: '1h' });
    assert.match(bundle.data.certificate, /^-----BEGIN EC PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN CERTIFICATE-----/);
    const bundleCert = new x509.X509Certificate(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(bundle.data.certificate)![0]);
    assert.equal(createPublicKey(bundleCert.toString('pem')).asymmetricKeyDetails?.namedCurve, 'secp384r1');

    const pkcs8 = await ok(`${mount}/issue/ed`, { common_name: 'ed.example.com', private_key_format: 'pkcs8', ttl: '1h' });
    assert.match(pkcs8.data.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(pkcs8.data.private_key_type, 'ed25519');
  });

  test('sign/:role checks the CSR key against the role; sign-verbatim keeps the CSR subject', async () => {
    const csr = await makeCsr('app.example.com', { dns: ['app2.example.com'] });
    const signed = await ok(`${mount}/sign/web`, { csr, ttl: '30m' });
    const cert = new x509.X509Certificate(signed.data.certificate);
    assert.equal(cert.subject, 'CN=app.example.com');
    assert.deepEqual(sanNames(cert).sort(), ['dns:app.example.com', 'dns:app2.example.com']);
    assert.equal(signed.data.private_key, undefined);
    await refused(`${mount}/sign/web`, { csr: await makeCsr('evil.org') }, /common name evil.org not allowed/);
    await refused(`${mount}/sign/web`, { csr: await makeCsr('a.example.com', { ips: ['10.1.1.1'] }) }, /IP Subject Alternative Names are not allowed in this role, but was provided via CSR/);
    await refused(`${mount}/sign/rsa`, { csr }, /role requires keys of type rsa/);
    await refused(`${mount}/sign/ec384`, { csr }, /role requires a minimum of 384 bits for EC keys/);
    const a = await ecKeys();
    const b = await ecKeys();
    await refused(`${mount}/sign/web`, { csr: await makeCsr('x.example.com', { keys: { privateKey: a.privateKey, publicKey: b.publicKey } }) }, /request signature invalid/);

    const verbatim = await ok(`${mount}/sign-verbatim`, { csr: await makeCsr('anything.at.all'), ttl: '30m', ext_key_usage: 'ClientAuth' });
    const vcert = new x509.X509Certificate(verbatim.data.certificate);
    assert.equal(vcert.subject, 'CN=anything.at.all');
    assert.deepEqual([...vcert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.clientAuth]);
    await refused(`${mount}/sign-verbatim`, { csr: await makeCsr('x'), key_usage: 'Teleport' }, /unknown key_usage "Teleport"/);
    const viaRole = await ok(`${mount}/sign-verbatim/web`, { csr: await makeCsr('other.org'), ttl: '5h' });
    assert.match(viaRole.warnings[0], /maxTTL "2h0m0s"/);
  });
});

describe('revocation, CRL, leases, tidy', () => {
  test('revoke by serial and by certificate; the CRL lists both and is signed by the issuer; crl/rotate', async () => {
    const mount = await mountWithRoot();
    await ok(`${mount}/roles/r`, { allow_any_name: true, key_type: 'ec', no_store: false });
    await ok(`${mount}/roles/nostore`, { allow_any_name: true, key_type: 'ec', no_store: true });
    const one = (await ok(`${mount}/issue/r`, { common_name: 'one.example', ttl: '1h' })).data;
    const two = (await ok(`${mount}/issue/nostore`, { common_name: 'two.example', ttl: '1h' })).data;
    assert.equal((await root.get(`${mount}/cert/${two.serial_number}`)).status, 404, 'no_store certificates are not kept');

    await refused(`${mount}/revoke`, {}, /serial number or certificate to revoke must be provided/);
    await refused(`${mount}/revoke`, { serial_number: one.serial_number, certificate: one.certificate }, /not both/);
    await refused(`${mount}/revoke`, { serial_number: 'aa:bb:cc' }, /certificate with serial aa:bb:cc not found/);
    await refused(`${mount}/revoke`, { serial_number: (await caOf(mount)).serialNumber }, /own CRL/);
    const foreign = await mountWithRoot();
    await ok(`${foreign}/roles/r`, { allow_any_name: true, key_type: 'ec' });
    const alien = (await ok(`${foreign}/issue/r`, { common_name: 'alien.example', ttl: '1h' })).data;
    await refused(`${mount}/revoke`, { certificate: alien.certificate }, /unable to verify signature/);

    const r1 = await ok(`${mount}/revoke`, { serial_number: one.serial_number });
    assert.equal(r1.data.state, 'revoked');
    const again = await ok(`${mount}/revoke`, { serial_number: one.serial_number });
    assert.equal(again.data.revocation_time, r1.data.revocation_time, 'revoking twice keeps the first time');
    await ok(`${mount}/revoke`, { certificate: two.certificate });
    assert.deepEqual((await root.list(`${mount}/certs/revoked`)).body.data.keys.sort(), [one.serial_number, two.serial_number].sort());

    const res = await fetch(`${srv.addr}/v1/${mount}/crl`);
    assert.equal(res.headers.get('content-type'), 'application/pkix-crl');
    const crl = new x509.X509Crl(Buffer.from(await res.arrayBuffer()));
    const ca = await caOf(mount);
    assert.equal(await crl.verify({ publicKey: ca }), true);
    assert.deepEqual(crl.entries.map((e) => e.serialNumber).sort(), [one.serial_number, two.serial_number].map((s) => s.replace(/:/g, '')).sort());
    assert.equal(crl.issuer, ca.subject);
    const number = (c: x509.X509Crl) => Buffer.from(c.getExtension('2.5.29.20')!.value).readUIntBE(2, Buffer.from(c.getExtension('2.5.29.20')!.value).length - 2);

    const rotated = await root.get(`${mount}/crl/rotate`);
    assert.equal(rotated.body.data.success, true);
    const crl2 = new x509.X509Crl((await root.get(`${mount}/cert/crl`)).body.data.certificate);
    assert.equal(number(crl2), number(crl) + 1);
    assert.equal(crl2.entries.length, 2);
  });

  test('generate_lease: the certificate comes under a lease; revoking the lease revokes the certificate', async () => {
    const mount = await mountWithRoot();
    const role = await ok(`${mount}/roles/leased`, { allow_any_name: true, key_type: 'ec', generate_lease: true, max_ttl: '1h' });
    assert.match(role.warnings[0], /encouraged to disable generate_lease/);
    const res = await root.post(`${mount}/issue/leased`, { common_name: 'leased.example', ttl: '30m' });
    assert.equal(res.status, 200);
    assert.match(res.body.lease_id, new RegExp(`^${mount}/issue/leased/`));
    assert.ok(res.body.lease_duration > 1700 && res.body.lease_duration <= 1800);
    assert.equal(res.body.renewable, false);
    assert.equal((await root.get(`${mount}/cert/${res.body.data.serial_number}`)).body.data.revocation_time, 0);

    assert.equal((await root.post('sys/leases/revoke', { lease_id: res.body.lease_id })).status, 204);
    const after = await root.get(`${mount}/cert/${res.body.data.serial_number}`);
    assert.ok(after.body.data.revocation_time > 0);
    const crl = new x509.X509Crl((await root.get(`${mount}/cert/crl`)).body.data.certificate);
    assert.ok(crl.findRevoked(res.body.data.serial_number.replace(/:/g, '')));
    assert.equal((await root.post('sys/leases/lookup', { lease_id: res.body.lease_id })).status, 400, 'the lease is gone');

    // no_store wins over generate_lease.
    const both = await ok(`${mount}/roles/both`, { allow_any_name: true, key_type: 'ec', generate_lease: true, no_store: true });
    assert.match(both.warnings[0], /mutually exclusive/);
    const plain = await root.post(`${mount}/issue/both`, { common_name: 'x.example', ttl: '1m' });
    assert.equal(plain.body.lease_id, '');
  });

  test('tidy removes expired certificates and expired revoked entries past the safety buffer', async () => {
    const mount = await mountWithRoot();
    await ok(`${mount}/roles/short`, { allow_any_name: true, key_type: 'ec' });
    const keep = (await ok(`${mount}/issue/short`, { common_name: 'keep.example', ttl: '1h' })).data;
    const expiring = (await ok(`${mount}/issue/short`, { common_name: 'short.example', ttl: '2s' })).data;
    const revokedExpiring = (await ok(`${mount}/issue/short`, { common_name: 'revoked.example', ttl: '2s' })).data;
    await ok(`${mount}/revoke`, { serial_number: revokedExpiring.serial_number });
    await refused(`${mount}/tidy`, {}, /at least one of tidy_cert_store or tidy_revoked_certs/);

    // Wait until both short certificates are past their notAfter (not a timing assertion: tidy needs them expired).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiring.expiration * 1000 - Date.now()) + 1500));
    // With the default 72h safety buffer nothing is old enough yet.
    const first = await root.post(`${mount}/tidy`, { tidy_cert_store: true, tidy_revoked_certs: true });
    assert.equal(first.status, 202);
    const status = async () => {
      for (;;) {
        const s = (await root.get(`${mount}/tidy-status`)).body.data;
        if (s.state !== 'Running') return s;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    let s = await status();
    assert.equal(s.state, 'Finished');
    assert.equal(s.cert_store_deleted_count, 0);

    await root.post(`${mount}/tidy`, { tidy_cert_store: true, tidy_revoked_certs: true, safety_buffer: '1s' });
    s = await status();
    assert.equal(s.state, 'Finished');
    assert.equal(s.revoked_cert_deleted_count, 1);
    assert.equal(s.cert_store_deleted_count, 2);
    const keys = (await root.list(`${mount}/certs`)).body.data.keys;
    assert.ok(keys.includes(keep.serial_number));
    assert.ok(!keys.includes(expiring.serial_number) && !keys.includes(revokedExpiring.serial_number));
    assert.equal((await root.list(`${mount}/certs/revoked`)).status, 404);
    const crl = new x509.X509Crl((await root.get(`${mount}/cert/crl`)).body.data.certificate);
    assert.equal(crl.entries.length, 0);
  });

  test('unauthenticated paths: ca, ca/pem, crl, cert/:serial need no token; certs and issue do', async () => {
    const mount = await mountWithRoot();
    const anon = client(srv.addr, null);
    const der = await fetch(`${srv.addr}/v1/${mount}/ca`);
    assert.equal(der.status, 200);
    assert.equal(der.headers.get('content-type'), 'application/pkix-cert');
    assert.equal(new x509.X509Certificate(Buffer.from(await der.arrayBuffer())).subject, `CN=Root ${mount}`);
    const pem = await anon.get(`${mount}/ca/pem`);
    assert.equal(pem.headers['content-type'], 'application/pem-certificate-chain');
    assert.match(pem.text, /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await anon.get(`${mount}/crl/pem`)).status, 200);
    assert.equal((await anon.get(`${mount}/cert/ca`)).status, 200);
    assert.equal((await anon.list(`${mount}/certs`)).status, 403);
    assert.equal((await anon.post(`${mount}/issue/x`, { common_name: 'x' })).status, 403);
    assert.equal((await anon.post(`${mount}/root/generate/internal`, { common_name: 'x' })).status, 403);
    // cert/:serial/raw forms.
    const serial = (await caOf(mount)).serialNumber;
    const raw = await fetch(`${srv.addr}/v1/${mount}/cert/${serial}/raw`);
    assert.equal(raw.headers.get('content-type'), 'application/pkix-cert');
    assert.equal(new x509.X509Certificate(Buffer.from(await raw.arrayBuffer())).serialNumber, serial);
    assert.match(await (await fetch(`${srv.addr}/v1/${mount}/cert/${serial}/raw/pem`)).text(), /^-----BEGIN CERTIFICATE-----/);
  });
});
