/**
 * `issue/:role` (a new key and a certificate for it), `sign/:role` (a certificate for a CSR's key) and
 * `sign-verbatim[/:role]` (the CSR's subject and SANs as they are). issue and sign apply the role's name
 * policy, key type and size, usages and TTLs; with `generate_lease` the certificate comes under a lease whose
 * revocation revokes it (secret_certs.ts); with `no_store` it is not kept in the certificate store.
 */
import type * as x509 from '@peculiar/x509';
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { stringList } from '../../sdk/fields.js';
import { NAME } from '../../sdk/records.js';
import { type IssuingCa, outputFormat, type PkiContext } from './backend.js';
import {
  checkUsageNames, colonSerial, commonNameOf, createCertificate, newSerialHex, type OutputFormat, parseCsr, type Sans, sansOf,
  subjectName,
} from './certutil.js';
import { outputFields, requestedSans, requireCommonName, sanFields, validityFields, withCommonName } from './fields.js';
import { certificateResponse, validity } from './issuing.js';
import { exportKeyPair, generateKeyPair, type KeySpec, type PrivateKeyMaterial, publicKeySpec } from './keys.js';
import { checkIpSans, checkUriSans, firstRefused } from './names.js';
import { type RoleEntry, roleExtKeyUsage } from './path_roles.js';
import { CERT_SECRET_TYPE } from './secret_certs.js';

const issueFields = z.object({
  ...sanFields,
  ...outputFields,
  ...validityFields,
  common_name: z.string().optional(),
  csr: z.string().optional(),
  other_sans: stringList().optional(),
  key_usage: stringList().optional(),
  ext_key_usage: stringList().optional(),
});
type IssueBody = z.infer<typeof issueFields>;

async function requireRole(ctx: PkiContext, req: Request<IssueBody>): Promise<RoleEntry> {
  // Refused rather than ignored: a certificate silently missing a requested SAN is worse than an error.
  if (req.data.other_sans?.length) throw badRequest('other_sans are not supported by coffer');
  const role = await ctx.readRole(req.storage, req.params.role);
  if (!role) throw badRequest(`unknown role: ${req.params.role}`);
  return role;
}

/** The role's checks on a common name and SANs, with Vault's messages. */
function enforceNames(role: RoleEntry, cn: string, sans: Sans, source: 'the API' | 'CSR'): void {
  if (cn && firstRefused(role, [cn]) !== undefined) throw badRequest(`common name ${cn} not allowed by this role`);
  const badDns = firstRefused(role, sans.dns);
  if (badDns !== undefined) throw badRequest(`subject alternate name ${badDns} not allowed by this role`);
  const badEmail = firstRefused(role, sans.email);
  if (badEmail !== undefined) throw badRequest(`email address ${badEmail} not allowed by this role`);
  checkIpSans(role, sans.ip, source);
  checkUriSans(role, sans.uri, source);
}

interface Issuance {
  role: Pick<RoleEntry, 'ttl' | 'max_ttl' | 'no_store' | 'generate_lease'>;
  ca: IssuingCa;
  subject: x509.JsonName | x509.Name;
  sans: Sans;
  publicKey: x509.PublicKey | CryptoKey;
  keyUsage: string[];
  extKeyUsage: string[];
  format: OutputFormat;
  key?: { material: PrivateKeyMaterial; keyFormat: string };
}

/** Signs, stores (unless no_store) and answers, under a lease when the role asks for one. */
async function issueCertificate(ctx: PkiContext, req: Request<IssueBody>, i: Issuance): Promise<Response> {
  const { notBefore, notAfter, warnings } = validity({
    ttl: req.data.ttl ?? 0, notAfter: req.data.not_after, roleTtl: i.role.ttl, roleMaxTtl: i.role.max_ttl, system: req.system, issuer: i.ca.certificate,
  });
  const cert = await createCertificate({
    serialHex: newSerialHex(),
    subject: i.subject,
    sans: i.sans,
    publicKey: i.publicKey,
    notBefore,
    notAfter,
    keyUsage: i.keyUsage,
    extKeyUsage: i.extKeyUsage,
    urls: await ctx.readUrls(req.storage),
  }, i.ca);
  if (!i.role.no_store) await ctx.storeCert(req.storage, cert);
  const response: Response = { data: certificateResponse(cert, i.ca, i.format, i.key), warnings };
  if (i.role.generate_lease && !i.role.no_store) {
    response.secret = {
      ttl: Math.max(1, Math.floor((cert.notAfter.getTime() - Date.now()) / 1000)),
      renewable: false,
      internal: { secret_type: CERT_SECRET_TYPE, serial_number: colonSerial(cert.serialNumber) },
    };
  }
  return response;
}

/**
 * issue and sign once they know the names: the role's name rules, then (only if they pass) the key, then a
 * certificate with the role's subject fields and usages.
 */
async function issueUnderRole(
  ctx: PkiContext, req: Request<IssueBody>, role: RoleEntry, cn: string, sans: Sans, source: 'the API' | 'CSR',
  keyFor: () => Promise<{ publicKey: x509.PublicKey | CryptoKey; key?: Issuance['key'] }>,
): Promise<Response> {
  enforceNames(role, cn, sans, source);
  const format = outputFormat(req);
  const ca = await ctx.requireCa(req.storage);
  const { publicKey, key } = await keyFor();
  const subject = subjectName({
    common_name: cn, ou: role.ou, organization: role.organization, country: role.country, locality: role.locality,
    province: role.province, street_address: role.street_address, postal_code: role.postal_code,
  });
  return issueCertificate(ctx, req, {
    role, sans, subject, publicKey, key, ca, format,
    keyUsage: role.key_usage,
    extKeyUsage: roleExtKeyUsage(role),
  });
}

async function issue(ctx: PkiContext, req: Request<IssueBody>): Promise<Response> {
  const role = await requireRole(ctx, req);
  const format = outputFormat(req);
  if (role.key_type === 'any') {
    throw badRequest('role key type "any" not allowed for issuing certificates without providing key_type and/or key_bits request parameters');
  }
  const cn = req.data.common_name ?? '';
  if (role.require_cn) requireCommonName(cn);
  const spec: KeySpec = { type: role.key_type, bits: role.key_bits };
  return issueUnderRole(ctx, req, role, cn, requestedSans(req.data, cn), 'the API', async () => {
    const keys = await generateKeyPair(spec);
    return { publicKey: keys.publicKey, key: { material: await exportKeyPair(keys, spec), keyFormat: req.data.private_key_format ?? '' } };
  });
}

/** The role's key type and minimum size against the CSR's key. */
function checkCsrKey(role: RoleEntry, csr: x509.Pkcs10CertificateRequest): void {
  const spec = publicKeySpec(csr.publicKey.rawData);
  if (!spec) throw badRequest('Unknown key type in CSR: coffer signs RSA, EC (P-256, P-384, P-521) and Ed25519 keys');
  if (spec.type === 'rsa' && spec.bits < 2048) throw badRequest('RSA keys < 2048 bits are unsafe and not supported');
  if (role.key_type === 'any') return;
  if (spec.type !== role.key_type) throw badRequest(`role requires keys of type ${role.key_type}`);
  if (spec.type !== 'ed25519' && spec.bits < role.key_bits) {
    throw badRequest(`role requires a minimum of ${role.key_bits} bits for ${spec.type.toUpperCase()} keys, but the CSR's key has ${spec.bits}`);
  }
}

async function sign(ctx: PkiContext, req: Request<IssueBody>): Promise<Response> {
  const role = await requireRole(ctx, req);
  const csr = await parseCsr(req.data.csr);
  checkCsrKey(role, csr);
  const cn = (role.use_csr_common_name ? commonNameOf(csr.subjectName) : '') || req.data.common_name || '';
  if (role.require_cn) requireCommonName(cn);
  const sans = role.use_csr_sans ? withCommonName(sansOf(csr), cn, req.data.exclude_cn_from_sans) : requestedSans(req.data, cn);
  return issueUnderRole(ctx, req, role, cn, sans, role.use_csr_sans ? 'CSR' : 'the API', async () => ({ publicKey: csr.publicKey }));
}

/** Without a role: the mount's TTLs, stored, no lease. */
const VERBATIM_DEFAULTS = { ttl: 0, max_ttl: 0, no_store: false, generate_lease: false };

async function signVerbatim(ctx: PkiContext, req: Request<IssueBody>): Promise<Response> {
  const role = req.params.role ? await requireRole(ctx, req) : VERBATIM_DEFAULTS;
  const format = outputFormat(req);
  const csr = await parseCsr(req.data.csr);
  const keyUsage = req.data.key_usage ?? ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'];
  const extKeyUsage = req.data.ext_key_usage ?? [];
  checkUsageNames(keyUsage, extKeyUsage);
  return issueCertificate(ctx, req, {
    role, format, keyUsage, extKeyUsage,
    ca: await ctx.requireCa(req.storage),
    subject: csr.subjectName,
    sans: sansOf(csr),
    publicKey: csr.publicKey,
  });
}

export function pathIssueSign(ctx: PkiContext): PathSpec[] {
  const ROLE = NAME('role');
  return [
    {
      pattern: `issue/${ROLE}`,
      fields: issueFields,
      operations: { update: (req) => issue(ctx, req) },
      help: 'Issues a certificate and a new private key under the role: common_name, alt_names, ip_sans, '
        + 'uri_sans, ttl, format (pem, der, pem_bundle), private_key_format (pkcs8).',
    },
    {
      pattern: `sign/${ROLE}`,
      fields: issueFields,
      operations: { update: (req) => sign(ctx, req) },
      help: 'Signs a CSR (csr) under the role; the CSR\'s common name and SANs are used unless the role says otherwise.',
    },
    {
      pattern: `sign-verbatim(?:/${ROLE})?`,
      fields: issueFields,
      operations: { update: (req) => signVerbatim(ctx, req) },
      help: 'Signs a CSR keeping its subject and SANs, without name checks: ttl, key_usage, ext_key_usage; '
        + 'with a role, its TTLs, no_store and generate_lease apply.',
    },
  ];
}
