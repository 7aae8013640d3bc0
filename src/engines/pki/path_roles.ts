/**
 * `roles/:name` (write, read, delete) and `roles/` (list): what `issue/:role` and `sign/:role` may put into a
 * certificate (names, IP and URI SANs, key type and size, usages, subject fields, TTLs) and whether issued
 * certificates are stored and leased. A write replaces the role, with Vault's defaults for omitted fields.
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, duration, int, stringList } from '../../sdk/fields.js';
import { listKeys, NAME } from '../../sdk/records.js';
import { nothing, type PkiContext, ROLE_PREFIX } from './backend.js';
import { checkUsageNames } from './certutil.js';
import { subjectAttributeFields } from './fields.js';
import { checkKeySpec } from './keys.js';
import type { NamePolicy } from './names.js';

export interface RoleEntry extends NamePolicy {
  ttl: number;
  max_ttl: number;
  server_flag: boolean;
  client_flag: boolean;
  code_signing_flag: boolean;
  email_protection_flag: boolean;
  key_type: 'rsa' | 'ec' | 'ed25519' | 'any';
  key_bits: number;
  key_usage: string[];
  ext_key_usage: string[];
  use_csr_common_name: boolean;
  use_csr_sans: boolean;
  require_cn: boolean;
  ou: string[];
  organization: string[];
  country: string[];
  locality: string[];
  province: string[];
  street_address: string[];
  postal_code: string[];
  no_store: boolean;
  generate_lease: boolean;
}

const DEFAULTS: RoleEntry = {
  ttl: 0,
  max_ttl: 0,
  allowed_domains: [],
  allow_bare_domains: false,
  allow_subdomains: false,
  allow_glob_domains: false,
  allow_any_name: false,
  allow_localhost: true,
  enforce_hostnames: true,
  allow_wildcard_certificates: true,
  allow_ip_sans: true,
  allowed_uri_sans: [],
  server_flag: true,
  client_flag: true,
  code_signing_flag: false,
  email_protection_flag: false,
  key_type: 'rsa',
  key_bits: 2048,
  key_usage: ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'],
  ext_key_usage: [],
  use_csr_common_name: true,
  use_csr_sans: true,
  require_cn: true,
  ou: [],
  organization: [],
  country: [],
  locality: [],
  province: [],
  street_address: [],
  postal_code: [],
  no_store: false,
  generate_lease: false,
};

const roleFields = z.object({
  ttl: duration().optional(),
  max_ttl: duration().optional(),
  allowed_domains: stringList().optional(),
  allow_bare_domains: bool().optional(),
  allow_subdomains: bool().optional(),
  allow_glob_domains: bool().optional(),
  allow_any_name: bool().optional(),
  allow_localhost: bool().optional(),
  enforce_hostnames: bool().optional(),
  allow_wildcard_certificates: bool().optional(),
  allow_ip_sans: bool().optional(),
  allowed_uri_sans: stringList().optional(),
  server_flag: bool().optional(),
  client_flag: bool().optional(),
  code_signing_flag: bool().optional(),
  email_protection_flag: bool().optional(),
  key_type: z.string().optional(),
  key_bits: int().optional(),
  key_usage: stringList().optional(),
  ext_key_usage: stringList().optional(),
  use_csr_common_name: bool().optional(),
  use_csr_sans: bool().optional(),
  require_cn: bool().optional(),
  ...subjectAttributeFields,
  no_store: bool().optional(),
  generate_lease: bool().optional(),
});
type RoleBody = z.infer<typeof roleFields>;

/** The extended key usages a role's flags and list stand for. */
export function roleExtKeyUsage(role: RoleEntry): string[] {
  const out = [...role.ext_key_usage];
  if (role.server_flag) out.push('ServerAuth');
  if (role.client_flag) out.push('ClientAuth');
  if (role.code_signing_flag) out.push('CodeSigning');
  if (role.email_protection_flag) out.push('EmailProtection');
  return out;
}

async function writeRole(ctx: PkiContext, req: Request<RoleBody>): Promise<Response | null> {
  const body = req.data;
  const defined = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  const role: RoleEntry = { ...DEFAULTS, ...defined } as RoleEntry;
  const spec = checkKeySpec(role.key_type, body.key_bits ?? 0, true);
  role.key_type = spec.type;
  role.key_bits = spec.bits;
  if (role.max_ttl > 0 && role.ttl > role.max_ttl) throw badRequest('"ttl" value must be less than "max_ttl" value');
  checkUsageNames(role.key_usage, role.ext_key_usage);
  const warnings: string[] = [];
  if (role.no_store && role.generate_lease) {
    warnings.push('mutually exclusive values no_store=true and generate_lease=true were both specified; no_store=true takes priority');
    role.generate_lease = false;
  } else if (role.generate_lease) {
    warnings.push('it is encouraged to disable generate_lease and rely on PKI\'s native capabilities when possible; this option can cause instance-wide issues with large numbers of issued certificates');
  }
  await ctx.locks.run(ROLE_PREFIX + req.params.name, () => req.storage.putJSON(ROLE_PREFIX + req.params.name, role));
  return { data: { ...role }, warnings };
}

async function readRole(ctx: PkiContext, req: Request): Promise<Response> {
  const role = await ctx.readRole(req.storage, req.params.name);
  if (!role) throw nothing();
  return { data: { ...DEFAULTS, ...role } };
}

export function pathRoles(ctx: PkiContext): PathSpec[] {
  return [
    {
      pattern: 'roles/?',
      operations: { list: (req) => listKeys(req, ROLE_PREFIX) },
      help: 'Lists the roles.',
    },
    {
      pattern: `roles/${NAME('name')}`,
      fields: roleFields,
      operations: {
        update: (req) => writeRole(ctx, req),
        read: (req) => readRole(ctx, req),
        delete: async (req) => {
          await req.storage.delete(ROLE_PREFIX + req.params.name);
          return null;
        },
      },
      existenceCheck: async (req) => (await ctx.readRole(req.storage, req.params.name)) !== null,
      help: 'Manages a role: allowed_domains, allow_bare_domains, allow_subdomains, allow_glob_domains, allow_any_name, '
        + 'allow_localhost, allow_ip_sans, allowed_uri_sans, enforce_hostnames, allow_wildcard_certificates, '
        + 'server_flag, client_flag, key_type (rsa, ec, ed25519, any), key_bits, key_usage, ext_key_usage, ttl, '
        + 'max_ttl, ou, organization, country, no_store, generate_lease.',
    },
  ];
}
