/**
 * Certificates, CSRs and their encodings with @peculiar/x509: serial numbers in Vault's colon-hex form,
 * subjects in Go's attribute order, the extensions Vault puts into CA and leaf certificates, PEM bundles, and
 * the `format` (pem | der | pem_bundle) of responses.
 */
import { randomBytes } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asnX509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { badRequest } from '../../sdk/errors.js';
import { type KeySpec, signingAlgorithm } from './keys.js';

export type OutputFormat = 'pem' | 'der' | 'pem_bundle';

/** A random positive 159-bit serial (as Go's certutil.GenerateSerialNumber), in hex without a leading zero byte. */
export function newSerialHex(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0] & 0x7f) || 0x01;
  return bytes.toString('hex');
}

/** `0a:1b:...` as Vault prints serials (lower case, colon separated, no leading zero bytes). */
export function colonSerial(hex: string): string {
  const clean = hex.toLowerCase().replace(/^(00)+(?=..)/, '');
  return (clean.length % 2 ? `0${clean}` : clean).match(/../g)!.join(':');
}

/** The storage form of a serial (Vault's normalizeSerial: dashes), from colon, dash or plain hex input. */
export function serialKey(serial: string): string | null {
  const hex = serial.trim().toLowerCase().replace(/[:-]/g, '');
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 80) return null;
  return colonSerial(hex).replace(/:/g, '-');
}

export function pemOf(cert: x509.X509Certificate): string {
  return cert.toString('pem').replace(/\r\n/g, '\n').trim();
}

export function derBase64(cert: x509.X509Certificate): string {
  return Buffer.from(cert.rawData).toString('base64');
}

/** Every PEM block of a bundle, by type. */
export function pemBlocks(text: string): { type: string; pem: string }[] {
  const out: { type: string; pem: string }[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ type: m[1], pem: m[0] });
  return out;
}

export function parseCertificate(pem: string, what = 'certificate'): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch {
    throw badRequest(`${what} could not be parsed`);
  }
}

/** The certificates of a PEM bundle, in order; a 400 when there is none or one does not parse. */
export function parseCertificates(text: string, field: string): x509.X509Certificate[] {
  const blocks = pemBlocks(text).filter((b) => b.type === 'CERTIFICATE');
  if (blocks.length === 0) throw badRequest(`no certificate found in "${field}": expected PEM data`);
  return blocks.map((b, i) => parseCertificate(b.pem, `certificate ${i + 1} in "${field}"`));
}

/** A CSR from PEM whose self-signature checks out (Vault: "request signature invalid"). */
export async function parseCsr(text: string | undefined): Promise<x509.Pkcs10CertificateRequest> {
  if (!text || text.trim() === '') throw badRequest('"csr" is empty');
  const block = pemBlocks(text).find((b) => b.type === 'CERTIFICATE REQUEST' || b.type === 'NEW CERTIFICATE REQUEST');
  if (!block) throw badRequest('csr contains no data');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(block.pem.replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'));
  } catch {
    throw badRequest('certificate request could not be parsed');
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw badRequest('request signature invalid: the CSR is not signed by the key it carries');
  return csr;
}

// ---- names ---------------------------------------------------------------------------------------------

export interface SubjectFields {
  common_name?: string;
  ou?: string[];
  organization?: string[];
  country?: string[];
  locality?: string[];
  province?: string[];
  street_address?: string[];
  postal_code?: string[];
  serial_number?: string;
}

const dedup = (list: string[] | undefined) => [...new Set((list ?? []).filter((s) => s !== ''))];

/** A subject in the order Go's pkix.Name writes it: C, O, OU, L, ST, STREET, POSTALCODE, SERIALNUMBER, CN. */
export function subjectName(f: SubjectFields): x509.JsonName {
  const rdns: x509.JsonName = [];
  const add = (type: string, values: string[]) => values.forEach((v) => rdns.push({ [type]: [v] }));
  add('C', dedup(f.country));
  add('O', dedup(f.organization));
  add('OU', dedup(f.ou));
  add('L', dedup(f.locality));
  add('ST', dedup(f.province));
  add('2.5.4.9', dedup(f.street_address));
  add('2.5.4.17', dedup(f.postal_code));
  if (f.serial_number) add('2.5.4.5', [f.serial_number]);
  if (f.common_name) add('CN', [f.common_name]);
  return rdns;
}

export function commonNameOf(name: x509.Name): string {
  return name.getField('CN')[0] ?? '';
}

export interface Sans {
  dns: string[];
  email: string[];
  ip: string[];
  uri: string[];
}

export const noSans = (): Sans => ({ dns: [], email: [], ip: [], uri: [] });

/** The SANs a CSR or certificate carries. */
export function sansOf(source: { getExtension(type: string): x509.Extension | null }): Sans {
  const sans = noSans();
  const ext = source.getExtension('2.5.29.17');
  if (!ext) return sans;
  for (const item of new x509.SubjectAlternativeNameExtension(ext.rawData).names.items) {
    if (item.type === 'dns') sans.dns.push(item.value);
    else if (item.type === 'email') sans.email.push(item.value);
    else if (item.type === 'ip') sans.ip.push(item.value);
    else if (item.type === 'url') sans.uri.push(item.value);
  }
  return sans;
}

// ---- extensions ----------------------------------------------------------------------------------------

/** Vault's role key_usage names (x509.KeyUsage constants without the prefix). */
const KEY_USAGE: Record<string, x509.KeyUsageFlags> = {
  digitalsignature: x509.KeyUsageFlags.digitalSignature,
  contentcommitment: x509.KeyUsageFlags.nonRepudiation,
  keyencipherment: x509.KeyUsageFlags.keyEncipherment,
  dataencipherment: x509.KeyUsageFlags.dataEncipherment,
  keyagreement: x509.KeyUsageFlags.keyAgreement,
  certsign: x509.KeyUsageFlags.keyCertSign,
  crlsign: x509.KeyUsageFlags.cRLSign,
  encipheronly: x509.KeyUsageFlags.encipherOnly,
  decipheronly: x509.KeyUsageFlags.decipherOnly,
};

const EXT_KEY_USAGE: Record<string, string> = {
  serverauth: x509.ExtendedKeyUsage.serverAuth,
  clientauth: x509.ExtendedKeyUsage.clientAuth,
  codesigning: x509.ExtendedKeyUsage.codeSigning,
  emailprotection: x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  ocspsigning: x509.ExtendedKeyUsage.ocspSigning,
  any: '2.5.29.37.0',
};

/** Checks key usage names at role write time (Vault ignores unknown ones silently; coffer names them). */
export function checkUsageNames(keyUsage: string[], extKeyUsage: string[]): void {
  for (const u of keyUsage) if (!(u.toLowerCase().replace(/^keyusage/, '') in KEY_USAGE)) throw badRequest(`unknown key_usage "${u.slice(0, 40)}"`);
  for (const u of extKeyUsage) if (!(u.toLowerCase().replace(/^extkeyusage/, '') in EXT_KEY_USAGE)) throw badRequest(`unknown ext_key_usage "${u.slice(0, 40)}"`);
}

export interface Urls {
  issuing_certificates: string[];
  crl_distribution_points: string[];
  ocsp_servers: string[];
}

export interface CertificateTemplate {
  serialHex: string;
  subject: x509.JsonName | x509.Name;
  sans: Sans;
  publicKey: x509.PublicKey | CryptoKey;
  notBefore: Date;
  notAfter: Date;
  /** CA certificates: basic constraints CA:TRUE with this path length (-1: none), keyCertSign + cRLSign. */
  ca?: { maxPathLength: number; permittedDnsDomains: string[] };
  keyUsage?: string[];
  extKeyUsage?: string[];
  urls?: Urls;
}

export interface Signer {
  /** Null for a self-signed certificate. */
  certificate: x509.X509Certificate | null;
  key: CryptoKey;
  spec: KeySpec;
}

function nameConstraints(domains: string[]): x509.Extension {
  const subtrees = new asnX509.GeneralSubtrees(
    domains.map((d) => new asnX509.GeneralSubtree({ base: new asnX509.GeneralName({ dNSName: d }) })),
  );
  const value = AsnConvert.serialize(new asnX509.NameConstraints({ permittedSubtrees: subtrees }));
  return new x509.Extension(asnX509.id_ce_nameConstraints, true, value);
}

export function sanExtension(sans: Sans): x509.Extension | null {
  const names: x509.JsonGeneralName[] = [
    ...sans.dns.map((value) => ({ type: 'dns' as const, value })),
    ...sans.email.map((value) => ({ type: 'email' as const, value })),
    ...sans.ip.map((value) => ({ type: 'ip' as const, value })),
    ...sans.uri.map((value) => ({ type: 'url' as const, value })),
  ];
  return names.length ? new x509.SubjectAlternativeNameExtension(names, false) : null;
}

/** Creates and signs a certificate from `t` (self-signed when the signer has no certificate). */
export async function createCertificate(t: CertificateTemplate, signer: Signer): Promise<x509.X509Certificate> {
  const publicKey = t.publicKey instanceof x509.PublicKey ? await t.publicKey.export() : t.publicKey;
  const extensions: x509.Extension[] = [];
  if (t.ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, t.ca.maxPathLength >= 0 ? t.ca.maxPathLength : undefined, true));
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
    if (t.ca.permittedDnsDomains.length) extensions.push(nameConstraints(t.ca.permittedDnsDomains));
  } else {
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
    let flags = 0;
    for (const u of t.keyUsage ?? []) flags |= KEY_USAGE[u.toLowerCase().replace(/^keyusage/, '')] ?? 0;
    if (flags) extensions.push(new x509.KeyUsagesExtension(flags, true));
    const eku = (t.extKeyUsage ?? []).map((u) => EXT_KEY_USAGE[u.toLowerCase().replace(/^extkeyusage/, '')]).filter(Boolean);
    if (eku.length) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
  const issuerCert = signer.certificate;
  if (issuerCert) {
    const ski = issuerCert.getExtension(x509.SubjectKeyIdentifierExtension);
    extensions.push(ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(issuerCert));
  }
  const san = sanExtension(t.sans);
  if (san) extensions.push(san);
  if (t.urls?.issuing_certificates.length || t.urls?.ocsp_servers.length) {
    extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: t.urls.issuing_certificates, ocsp: t.urls.ocsp_servers }));
  }
  if (t.urls?.crl_distribution_points.length) extensions.push(new x509.CRLDistributionPointsExtension(t.urls.crl_distribution_points));
  return x509.X509CertificateGenerator.create({
    serialNumber: t.serialHex,
    subject: t.subject,
    issuer: issuerCert ? issuerCert.subjectName : t.subject,
    notBefore: t.notBefore,
    notAfter: t.notAfter,
    publicKey,
    signingKey: signer.key,
    signingAlgorithm: signingAlgorithm(signer.spec),
    extensions,
  });
}

/** Whether a certificate is a CA (basic constraints CA:TRUE). */
export function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

/** The path length constraint of a CA certificate; undefined when it has none. */
export function pathLength(cert: x509.X509Certificate): number | undefined {
  return cert.getExtension(x509.BasicConstraintsExtension)?.pathLength;
}

/** A certificate (and the chain above it) in the response `format`. */
export function formatCert(cert: x509.X509Certificate, format: OutputFormat): string {
  return format === 'der' ? derBase64(cert) : pemOf(cert);
}
