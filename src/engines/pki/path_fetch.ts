/**
 * Reading certificates and the CRL, in Vault's raw and JSON forms:
 *   raw, unauthenticated:  ca (DER, application/pkix-cert), ca/pem (application/pem-certificate-chain),
 *                          ca_chain (PEM chain; Vault labels it application/pkix-cert), crl (DER,
 *                          application/pkix-crl), crl/pem (application/x-pem-file),
 *                          cert/:serial/raw (DER), cert/:serial/raw/pem
 *   JSON, unauthenticated: cert/ca, cert/ca_chain, cert/crl, cert/:serial (with its revocation time)
 *   JSON, with a token:    certs/ and certs/revoked/ (lists of serials)
 * A raw path with nothing to return answers 204 with an empty body, as Vault does.
 */
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { listKeys } from '../../sdk/records.js';
import { CERTS_PREFIX, nothing, type PkiContext, REVOKED_PREFIX } from './backend.js';
import { colonSerial } from './certutil.js';
import { currentCrl } from './crl.js';

const raw = (contentType: string, body: Buffer | string): Response =>
  ({ raw: { status: body.length ? 200 : 204, contentType, body } });

function toPem(der: Buffer, type: string): string {
  return `-----BEGIN ${type}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${type}-----`;
}
const pemToDer = (pem: string) => Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');

/** JSON answer of the `cert/...` paths. */
const certJson = (certificate: string, extra: Record<string, unknown> = {}): Response => ({
  data: { certificate, revocation_time: 0, revocation_time_rfc3339: '', ...extra },
});

async function caPem(ctx: PkiContext, req: Request): Promise<string> {
  return (await ctx.readBundle(req.storage))?.certificate ?? '';
}

async function chainPem(ctx: PkiContext, req: Request): Promise<string> {
  const bundle = await ctx.readBundle(req.storage);
  return bundle ? [bundle.certificate, ...bundle.ca_chain].join('\n') : '';
}

async function crlDer(ctx: PkiContext, req: Request): Promise<Buffer> {
  return (await currentCrl(ctx, req.storage)) ?? Buffer.alloc(0);
}

async function certBySerial(ctx: PkiContext, req: Request): Promise<{ certificate: string; revocation_time: number; revocation_time_rfc3339: string } | null> {
  const record = await ctx.readCert(req.storage, req.params.serial);
  if (!record) return null;
  const revoked = await ctx.readRevoked(req.storage, req.params.serial);
  return {
    certificate: record.certificate,
    revocation_time: revoked?.revocation_time ?? 0,
    revocation_time_rfc3339: revoked?.revocation_time_rfc3339 ?? '',
  };
}

const SERIAL = '(?<serial>[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2})*|[0-9A-Fa-f]+)';

export function pathFetch(ctx: PkiContext): PathSpec[] {
  const open = (pattern: string, read: (req: Request) => Promise<Response | null>, help: string): PathSpec =>
    ({ pattern, operations: { read }, unauthenticated: true, help });
  return [
    open('ca', async (req) => raw('application/pkix-cert', pemToDer(await caPem(ctx, req))), 'The CA certificate, DER.'),
    open('ca/pem', async (req) => raw('application/pem-certificate-chain', await caPem(ctx, req)), 'The CA certificate, PEM.'),
    open('ca_chain', async (req) => raw('application/pkix-cert', await chainPem(ctx, req)), 'The CA chain, PEM.'),
    open('crl', async (req) => raw('application/pkix-crl', await crlDer(ctx, req)), 'The CRL, DER.'),
    open('crl/pem', async (req) => {
      const der = await crlDer(ctx, req);
      return raw('application/x-pem-file', der.length ? toPem(der, 'X509 CRL') : '');
    }, 'The CRL, PEM.'),
    open('cert/ca', async (req) => {
      const pem = await caPem(ctx, req);
      if (!pem) throw nothing();
      return certJson(pem);
    }, 'The CA certificate, JSON.'),
    open('cert/ca_chain', async (req) => {
      const chain = await chainPem(ctx, req);
      if (!chain) throw nothing();
      return certJson(chain, { ca_chain: chain });
    }, 'The CA chain, JSON.'),
    open('cert/crl', async (req) => {
      const der = await crlDer(ctx, req);
      if (!der.length) throw nothing();
      return certJson(toPem(der, 'X509 CRL'));
    }, 'The CRL, JSON.'),
    open(`cert/${SERIAL}/raw`, async (req) => {
      const cert = await certBySerial(ctx, req);
      return raw('application/pkix-cert', pemToDer(cert?.certificate ?? ''));
    }, 'A certificate by serial, DER.'),
    open(`cert/${SERIAL}/raw/pem`, async (req) => raw('application/pem-certificate-chain', (await certBySerial(ctx, req))?.certificate ?? ''), 'A certificate by serial, PEM.'),
    open(`cert/${SERIAL}`, async (req) => {
      const cert = await certBySerial(ctx, req);
      return cert ? { data: { ...cert } } : null;
    }, 'A certificate by serial (colon or dash separated), with its revocation time (0 when not revoked).'),
    {
      pattern: 'certs/?',
      operations: { list: (req) => listKeys(req, CERTS_PREFIX, (k) => colonSerial(k.replace(/-/g, ''))) },
      help: 'Lists the serial numbers of the stored certificates.',
    },
    {
      pattern: 'certs/revoked/?',
      operations: { list: (req) => listKeys(req, REVOKED_PREFIX, (k) => colonSerial(k.replace(/-/g, ''))) },
      help: 'Lists the serial numbers of the revoked certificates.',
    },
  ];
}
