/**
 * A self-signed EC P-256 certificate made with node:crypto alone. go-plugin pins the plugin's certificate from
 * the handshake line (it is both the server certificate and the host's only trusted root), so a fresh one per
 * start is enough; building the few DER structures by hand costs well under a millisecond, where an X.509
 * library would add its import time to every provider start.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';

export interface SelfSignedCert {
  /** DER bytes of the certificate (what the handshake line carries, base64 without padding). */
  der: Buffer;
  certPem: string;
  keyPem: string;
}

// ---- minimal DER writer ---------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), length(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, body: Buffer) => tlv(0xa0 + n, body);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && b[i + 1] < 0x80) i++;
  const body = b[i] >= 0x80 ? Buffer.concat([Buffer.from([0]), b.subarray(i)]) : b.subarray(i);
  return tlv(0x02, body);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime, as RFC 5280 asks for dates before 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${iso}Z`, 'ascii'));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/**
 * Key usage bits digitalSignature (bit 0) and keyCertSign (bit 5): the certificate signs the TLS handshake
 * and, being its own trust anchor, itself.
 */
const KEY_USAGE = tlv(0x03, Buffer.from([0x02, 0x84]));

export function selfSignedCert(commonName = 'localhost', validHours = 24 * 30): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const name = seq(set(seq(oid(OID.organization), utf8('coffer'))), set(seq(oid(OID.commonName), utf8(commonName))));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + validHours * 3_600_000);
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const extensions = seq(
    extension(OID.basicConstraints, true, seq(bool(true))),
    extension(OID.keyUsage, true, KEY_USAGE),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth), oid(OID.clientAuth))),
    // dNSName [2] IMPLICIT IA5String
    extension(OID.subjectAltName, false, seq(tlv(0x82, Buffer.from(commonName, 'ascii')))),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey as KeyObject); // DER-encoded ECDSA-Sig-Value
  const der = seq(tbs, algorithm, bitString(signature));
  return {
    der,
    certPem: toPem('CERTIFICATE', der),
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

export function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Parses one PEM certificate; throws with a short reason when it is not one. */
export function parseCertPem(pem: string): X509Certificate {
  return new X509Certificate(pem);
}
