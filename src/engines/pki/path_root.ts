/**
 * `root/generate/:type` (internal | exported), `root/sign-intermediate`, `root/sign-self-issued` (sudo) and
 * `DELETE root`. A mount holds one issuer: generating a root where a CA exists is refused until `DELETE root`
 * (Vault before 1.11 behaved so; later versions keep several issuers per mount).
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, int, stringList } from '../../sdk/fields.js';
import { CA_BUNDLE, CA_EXISTS, CRL, type IssuingCa, outputFormat, PENDING_INTERMEDIATE, type PkiContext } from './backend.js';
import { commonNameOf, createCertificate, isCa, newSerialHex, parseCertificate, parseCsr, sansOf, subjectName, type Urls } from './certutil.js';
import { rebuildCrl } from './crl.js';
import {
  type CaGenerateBody, caGenerateFields, exportedOf, outputFields, requestedSans, requireCommonName, sanFields, subjectFields,
  subjectOf, validityFields,
} from './fields.js';
import { certificateResponse, childPathLength, validity } from './issuing.js';
import { checkKeySpec, exportKeyPair, generateKeyPair, type KeySpec } from './keys.js';

/** Vault's warning for a CA made before config/urls was set. */
export function aiaWarning(urls: Urls): string[] {
  return urls.issuing_certificates.length || urls.crl_distribution_points.length || urls.ocsp_servers.length
    ? []
    : ['This mount hasn\'t configured any authority information access (AIA) fields; this may make it harder for systems to find missing certificates in the chain or to validate revocation status of certificates. Consider updating /config/urls or the newly generated issuer with this information.'];
}

/** Refuses early (before a key is generated) when the mount already has a CA. */
export async function refuseIfCa(req: Request): Promise<void> {
  if (await req.storage.get(CA_BUNDLE)) throw badRequest(CA_EXISTS);
}

/** What root and intermediate generation read from the request before they make a key. */
export async function caGenerationRequest(req: Request<CaGenerateBody>) {
  const exported = exportedOf(req.params.type);
  const format = outputFormat(req);
  await refuseIfCa(req);
  const cn = requireCommonName(req.data.common_name);
  return { exported, format, cn, sans: requestedSans(req.data, cn) };
}

/** A new key pair of the requested type for a CA. */
export async function newCaKey(body: CaGenerateBody) {
  const spec = checkKeySpec(body.key_type ?? 'rsa', body.key_bits ?? 0) as KeySpec;
  const keys = await generateKeyPair(spec);
  return { keys, material: await exportKeyPair(keys, spec) };
}

async function generateRoot(ctx: PkiContext, req: Request<CaGenerateBody>): Promise<Response> {
  const body = req.data;
  const { exported, format, sans } = await caGenerationRequest(req);
  const { notBefore, notAfter, warnings } = validity({ ttl: body.ttl ?? 0, notAfter: body.not_after, roleTtl: 0, roleMaxTtl: 0, system: req.system, issuer: null });
  const { keys, material } = await newCaKey(body);
  const urls = await ctx.readUrls(req.storage);
  const cert = await createCertificate({
    serialHex: newSerialHex(),
    subject: subjectName(subjectOf(body)),
    sans,
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
    ca: { maxPathLength: body.max_path_length ?? -1, permittedDnsDomains: body.permitted_dns_domains ?? [] },
    urls,
  }, { certificate: null, key: keys.privateKey, spec: material.spec });
  const bundle = await ctx.installCa(req.storage, cert, material.pkcs8Pem, [], body.issuer_name ?? '');
  await rebuildCrl(ctx, req.storage);
  const data = certificateResponse(cert, null, format, exported ? { material, keyFormat: body.private_key_format ?? '' } : undefined);
  Object.assign(data, { issuer_id: bundle.issuer_id, issuer_name: bundle.issuer_name, key_id: bundle.key_id, key_name: body.key_name ?? '' });
  const extra = body.max_path_length === 0 ? ['Max path length of the generated certificate is zero. This certificate cannot be used to issue intermediate CA certificates.'] : [];
  return { data, warnings: [...warnings, ...aiaWarning(urls), ...extra] };
}

const signIntermediateFields = z.object({
  ...subjectFields,
  ...sanFields,
  ...outputFields,
  ...validityFields,
  csr: z.string().optional(),
  use_csr_values: bool().optional(),
  max_path_length: int().optional(),
  permitted_dns_domains: stringList().optional(),
});

async function signIntermediate(ctx: PkiContext, req: Request<z.infer<typeof signIntermediateFields>>): Promise<Response> {
  const body = req.data;
  const format = outputFormat(req);
  const ca = await ctx.requireCa(req.storage);
  const csr = await parseCsr(body.csr);
  const csrCn = commonNameOf(csr.subjectName);
  // use_csr_values keeps the CSR's whole subject and SANs; otherwise the request's fields name the CA.
  const cn = body.use_csr_values ? csrCn : body.common_name || csrCn;
  const subject = body.use_csr_values ? csr.subjectName : subjectName({ ...subjectOf(body), common_name: cn });
  const sans = body.use_csr_values ? sansOf(csr) : requestedSans(body, cn);
  const maxPathLength = childPathLength(ca.certificate, body.max_path_length);
  const { notBefore, notAfter, warnings } = validity({ ttl: body.ttl ?? 0, notAfter: body.not_after, roleTtl: 0, roleMaxTtl: 0, system: req.system, issuer: ca.certificate });
  const cert = await createCertificate({
    serialHex: newSerialHex(),
    subject,
    sans,
    publicKey: csr.publicKey,
    notBefore,
    notAfter,
    ca: { maxPathLength, permittedDnsDomains: body.permitted_dns_domains ?? [] },
    urls: await ctx.readUrls(req.storage),
  }, ca);
  await ctx.storeCert(req.storage, cert);
  return { data: certificateResponse(cert, ca, format), warnings };
}

/**
 * Re-signs a self-issued CA certificate (subject = issuer, e.g. another root) with this CA's key, keeping its
 * serial, subject, validity, key and extensions: the cross-signing Vault's endpoint is for.
 */
async function signSelfIssued(ctx: PkiContext, req: Request<{ certificate?: string }>): Promise<Response> {
  const ca: IssuingCa = await ctx.requireCa(req.storage);
  if (!req.data.certificate) throw badRequest('"certificate" is empty');
  const cert = parseCertificate(req.data.certificate);
  if (cert.subject !== cert.issuer) throw badRequest('given certificate is not self-issued');
  if (!isCa(cert)) throw badRequest('given certificate is not a CA certificate');
  const signed = await createCertificate({
    serialHex: cert.serialNumber,
    subject: cert.subjectName,
    sans: sansOf(cert),
    publicKey: cert.publicKey,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ca: { maxPathLength: childPathLength(ca.certificate, undefined), permittedDnsDomains: [] },
  }, ca);
  return { data: { certificate: certificateResponse(signed, ca, 'pem').certificate, issuing_ca: ca.bundle.certificate } };
}

async function deleteRoot(ctx: PkiContext, req: Request): Promise<Response> {
  await ctx.locks.run(CA_BUNDLE, () => req.storage.transaction([
    { kind: 'delete', key: CA_BUNDLE },
    { kind: 'delete', key: PENDING_INTERMEDIATE },
    { kind: 'delete', key: CRL },
  ]));
  return { warnings: ['DELETE /root deleted the mount\'s CA certificate and key; issued certificates and roles are kept.'] };
}

export function pathRoot(ctx: PkiContext): PathSpec[] {
  return [
    {
      pattern: 'root/generate/(?<type>\\w+)',
      fields: caGenerateFields,
      operations: { update: (req) => generateRoot(ctx, req) },
      help: 'Generates a self-signed root CA: common_name, ttl, key_type (rsa, ec, ed25519), key_bits, '
        + 'max_path_length, permitted_dns_domains, ou, organization, country, issuer_name. "exported" returns the '
        + 'private key in this one response; "internal" never returns it.',
    },
    {
      pattern: 'root/sign-intermediate',
      fields: signIntermediateFields,
      operations: { update: (req) => signIntermediate(ctx, req) },
      help: 'Signs an intermediate CA CSR (csr) with this CA: common_name, ttl, use_csr_values, max_path_length.',
    },
    {
      pattern: 'root/sign-self-issued',
      fields: z.object({ certificate: z.string().optional(), require_matching_certificate_algorithms: bool().optional() }),
      operations: { update: (req) => signSelfIssued(ctx, req) },
      sudo: true,
      help: 'Signs a self-issued CA certificate (certificate) with this CA\'s key (needs sudo).',
    },
    {
      pattern: 'root',
      operations: { delete: (req) => deleteRoot(ctx, req) },
      sudo: true,
      help: 'Deletes the mount\'s CA (certificate, key and CRL), so that a new one can be generated or imported.',
    },
  ];
}
