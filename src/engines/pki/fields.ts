/** Field declarations the PKI paths share (as Vault's pki/fields.go), and reading them into names. */
import { z } from 'zod';
import { badRequest } from '../../sdk/errors.js';
import { bool, duration, int, stringList } from '../../sdk/fields.js';
import { type Sans, type SubjectFields } from './certutil.js';
import { checkIpSans, HOSTNAME, splitAltNames } from './names.js';

/** Subject attributes besides the common name (requests and roles). */
export const subjectAttributeFields = {
  ou: stringList().optional(),
  organization: stringList().optional(),
  country: stringList().optional(),
  locality: stringList().optional(),
  province: stringList().optional(),
  street_address: stringList().optional(),
  postal_code: stringList().optional(),
};

/** Subject attributes taken from the request (CA generation, sign-intermediate). */
export const subjectFields = {
  ...subjectAttributeFields,
  common_name: z.string().optional(),
  serial_number: z.string().optional(),
};

export const sanFields = {
  alt_names: stringList().optional(),
  ip_sans: stringList().optional(),
  uri_sans: stringList().optional(),
  exclude_cn_from_sans: bool().optional(),
};

export const outputFields = {
  format: z.string().optional(),
  private_key_format: z.enum(['der', 'pem', 'pkcs8', '']).optional(),
};

export const validityFields = {
  ttl: duration().optional(),
  not_after: z.string().optional(),
};

/** Fields of root/generate and intermediate/generate. */
export const caGenerateFields = z.object({
  ...subjectFields,
  ...sanFields,
  ...outputFields,
  ...validityFields,
  key_type: z.string().optional(),
  key_bits: int().optional(),
  issuer_name: z.string().optional(),
  key_name: z.string().optional(),
  max_path_length: int().optional(),
  permitted_dns_domains: stringList().optional(),
  add_basic_constraints: bool().optional(),
});
export type CaGenerateBody = z.infer<typeof caGenerateFields>;

type SanBody = { alt_names?: string[]; ip_sans?: string[]; uri_sans?: string[]; exclude_cn_from_sans?: boolean };

/** Adds the common name to the SANs (as a DNS name or an email), unless excluded or neither. */
export function withCommonName(sans: Sans, cn: string, exclude = false): Sans {
  if (!cn || exclude) return sans;
  if (cn.includes('@')) return { ...sans, email: [...new Set([cn, ...sans.email])] };
  if (HOSTNAME.test(cn)) return { ...sans, dns: [...new Set([cn, ...sans.dns])] };
  return sans;
}

/**
 * The SANs a request asks for: alt_names split into DNS names and emails, ip_sans, uri_sans, and the common
 * name (see withCommonName). IP SANs are checked for form here; whether they are allowed is the caller's
 * business.
 */
export function requestedSans(body: SanBody, cn: string): Sans {
  const { dns, email } = splitAltNames(body.alt_names ?? []);
  const ip = body.ip_sans ?? [];
  checkIpSans({ allow_ip_sans: true }, ip, 'the API');
  return withCommonName({ dns: [...new Set(dns)], email: [...new Set(email)], ip, uri: body.uri_sans ?? [] }, cn, body.exclude_cn_from_sans);
}

export function requireCommonName(cn: string | undefined): string {
  if (!cn) {
    throw badRequest('the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false');
  }
  return cn;
}

export function subjectOf(body: SubjectFields): SubjectFields {
  return {
    common_name: body.common_name,
    ou: body.ou,
    organization: body.organization,
    country: body.country,
    locality: body.locality,
    province: body.province,
    street_address: body.street_address,
    postal_code: body.postal_code,
    serial_number: body.serial_number,
  };
}

/** `internal` or `exported` from the path. */
export function exportedOf(type: string): boolean {
  if (type === 'internal') return false;
  if (type === 'exported') return true;
  throw badRequest(`invalid type "${type.slice(0, 40)}": expected "internal" or "exported" (coffer has no kms or existing keys)`);
}
