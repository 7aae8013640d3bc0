/**
 * What every path that signs a certificate shares: the validity period (Vault's getCertificateNotAfter with
 * the default `leaf_not_after_behavior=err`), the path length a CA certificate may carry, and the response
 * shape (`certificate`, `issuing_ca`, `ca_chain`, `private_key`, `serial_number`, `expiration` in `format`).
 */
import type * as x509 from '@peculiar/x509';
import type { SystemView } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { formatDuration } from '../../sdk/duration.js';
import type { IssuingCa } from './backend.js';
import { colonSerial, formatCert, type OutputFormat, pathLength } from './certutil.js';
import { type PrivateKeyMaterial, privateKeyOutput } from './keys.js';

/** Vault backdates certificates by 30 s (not_before_duration) so that slightly slow clocks accept them. */
export const NOT_BEFORE_SKEW_SECONDS = 30;

export interface ValidityInput {
  /** Requested `ttl` in seconds (0: none). */
  ttl: number;
  /** Requested `not_after` (RFC 3339), mutually exclusive with ttl. */
  notAfter?: string;
  roleTtl: number;
  roleMaxTtl: number;
  system: SystemView;
  /** The issuer's certificate; null for a self-signed root. */
  issuer: x509.X509Certificate | null;
}

const rfc3339 = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');

/**
 * notBefore/notAfter for a new certificate: ttl (or the role's, or the mount default), capped at the role's
 * max_ttl and the mount's max with Vault's warning; a notAfter past the issuer's is an error, as Vault's
 * default leaf_not_after_behavior=err has it.
 */
export function validity(v: ValidityInput): { notBefore: Date; notAfter: Date; warnings: string[] } {
  const warnings: string[] = [];
  const now = Date.now();
  if (v.ttl > 0 && v.notAfter) throw badRequest('Either ttl or not_after should be provided. Both should not be provided in the same request.');
  let notAfter: Date;
  if (v.notAfter) {
    notAfter = new Date(v.notAfter);
    if (Number.isNaN(notAfter.getTime()) || !/^\d{4}-\d\d-\d\dT/.test(v.notAfter)) {
      throw badRequest(`invalid not_after "${v.notAfter.slice(0, 40)}": expected an RFC 3339 time such as 2030-01-01T00:00:00Z`);
    }
  } else {
    let ttl = v.ttl || v.roleTtl || v.system.defaultLeaseTTL();
    const mountMax = v.system.maxLeaseTTL();
    const max = v.roleMaxTtl > 0 ? Math.min(v.roleMaxTtl, mountMax) : mountMax;
    if (ttl > max) {
      warnings.push(`TTL "${formatDuration(ttl)}" is longer than permitted maxTTL "${formatDuration(max)}", so maxTTL is being used`);
      ttl = max;
    }
    notAfter = new Date(now + ttl * 1000);
  }
  if (v.issuer && notAfter.getTime() > v.issuer.notAfter.getTime()) {
    throw badRequest(`cannot satisfy request, as TTL would result in notAfter of ${rfc3339(notAfter)} that is beyond the expiration of the CA certificate at ${rfc3339(v.issuer.notAfter)}`);
  }
  if (notAfter.getTime() <= now) throw badRequest(`cannot satisfy request, as NotAfter date ${rfc3339(notAfter)} is in the past`);
  return { notBefore: new Date(now - NOT_BEFORE_SKEW_SECONDS * 1000), notAfter, warnings };
}

/**
 * The path length of a CA certificate signed by `issuer`: the requested one (-1: unlimited), else one less
 * than the issuer's. An issuer whose path length is 0 cannot sign CA certificates at all.
 */
export function childPathLength(issuer: x509.X509Certificate, requested: number | undefined): number {
  const parent = pathLength(issuer);
  if (parent === 0) throw badRequest('the issuer has a max path length of 0 and cannot sign CA certificates');
  if (requested !== undefined && requested >= 0) {
    if (parent !== undefined && requested >= parent) throw badRequest(`max_path_length ${requested} must be less than the issuer's (${parent})`);
    return requested;
  }
  return parent === undefined ? -1 : parent - 1;
}

/**
 * A signed certificate as Vault's responses carry it. `ca` null: self-signed (its own issuing CA, no chain).
 * `key`: include the generated private key.
 */
export function certificateResponse(
  cert: x509.X509Certificate,
  ca: IssuingCa | null,
  format: OutputFormat,
  key?: { material: PrivateKeyMaterial; keyFormat: string },
): Record<string, unknown> {
  const certText = formatCert(cert, format);
  const data: Record<string, unknown> = {
    expiration: Math.floor(cert.notAfter.getTime() / 1000),
    serial_number: colonSerial(cert.serialNumber),
  };
  const chain = ca ? ca.chain.map((pem) => (format === 'der' ? pemBody(pem) : pem)) : [];
  const issuing = ca ? chain[0] : certText;
  const privateKey = key ? privateKeyOutput(key.material, format, key.keyFormat) : undefined;
  data.certificate = format === 'pem_bundle' ? [privateKey, certText, ...chain].filter(Boolean).join('\n') : certText;
  data.issuing_ca = issuing;
  if (ca) data.ca_chain = chain;
  if (key) {
    data.private_key = privateKey;
    data.private_key_type = key.material.spec.type;
  }
  return data;
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
}
