/**
 * Ephemeral `coffer_pki_certificate`: a certificate and private key issued from a PKI role (BACKEND/issue/NAME)
 * for the run, revoked when Terraform closes it unless `revoke = false`. Arguments and attributes are named as
 * in the hashicorp/vault provider's `vault_pki_secret_backend_cert`. The private key reaches neither plan nor
 * state; handing the certificate to a write-only argument of a long-lived resource needs `revoke = false`, or
 * the certificate is revoked as soon as the run ends. A role with `generate_lease` puts the certificate under a
 * lease of the provider's child token, which ends with the run whatever `revoke` says.
 */
import { z } from 'zod';
import { DiagnosticsError, error, type EphemeralResource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { mountName, secretName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { duration, parseConfig, validateKnown } from '../values.js';
import { closeHandle, encodeHandle, renewHandle } from './handle.js';

const names = z.array(z.string().min(1, 'must not be empty'));

const declared = declare({
  description: 'Issues a certificate and private key from a PKI role for the duration of the Terraform run and revokes the certificate at its end (unless revoke = false); the key reaches neither plan nor state.',
  attributes: {
    backend: { type: 'string', required: true, check: mountName, description: 'Path of the PKI mount, e.g. pki_int.' },
    name: { type: 'string', required: true, check: secretName, description: 'Name of the role to issue from.' },
    common_name: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'Common name of the certificate.' },
    alt_names: { type: ['list', 'string'], optional: true, check: names, description: 'DNS names and email addresses for the subject alternative names.' },
    ip_sans: { type: ['list', 'string'], optional: true, check: names, description: 'IP addresses for the subject alternative names.' },
    uri_sans: { type: ['list', 'string'], optional: true, check: names, description: 'URIs for the subject alternative names.' },
    other_sans: { type: ['list', 'string'], optional: true, check: names, description: 'Other SANs (refused by coffer; accepted for compatibility).' },
    ttl: { type: 'string', optional: true, check: duration, description: 'Requested validity, e.g. 1h; at most the role’s max_ttl.' },
    format: { type: 'string', optional: true, check: z.enum(['pem', 'der', 'pem_bundle'], { error: 'must be pem, der or pem_bundle' }), description: 'pem (default), der (base64) or pem_bundle.' },
    private_key_format: { type: 'string', optional: true, check: z.enum(['der', 'pkcs8'], { error: 'must be der or pkcs8' }), description: 'der (default) or pkcs8.' },
    exclude_cn_from_sans: { type: 'bool', optional: true, check: z.boolean(), description: 'Leave the common name out of the SANs.' },
    revoke: {
      type: 'bool',
      optional: true,
      check: z.boolean(),
      description: 'Revoke the certificate when the run ends (default true). false does not keep a certificate issued under a lease (role with generate_lease) alive past the provider’s child token.',
    },
    certificate: { type: 'string', computed: true, description: 'The certificate.' },
    issuing_ca: { type: 'string', computed: true, description: 'The issuing CA’s certificate.' },
    ca_chain: { type: ['list', 'string'], computed: true, description: 'The chain up to the root, issuing CA first.' },
    private_key: { type: 'string', computed: true, sensitive: true, description: 'The private key.' },
    private_key_type: { type: 'string', computed: true, description: 'Its type: rsa, ec or ed25519.' },
    serial_number: { type: 'string', computed: true, description: 'Serial number, colon-separated hex.' },
    expiration: { type: 'number', computed: true, description: 'Expiry as Unix seconds.' },
  },
});

const answer = z.object({
  certificate: z.string(),
  issuing_ca: z.string(),
  ca_chain: z.array(z.string()).optional(),
  private_key: z.string(),
  private_key_type: z.string(),
  serial_number: z.string(),
  expiration: z.number(),
});

const list = (v: string[] | null) => (v?.length ? v.join(',') : undefined);

export const pkiCertificateEphemeral: EphemeralResource<Session> = {
  typeName: 'coffer_pki_certificate',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async open(raw, session) {
    const c = parseConfig(declared.config, raw);
    const path = `${c.backend}/issue/${c.name}`;
    const body = Object.fromEntries(
      Object.entries({
        common_name: c.common_name,
        alt_names: list(c.alt_names),
        ip_sans: list(c.ip_sans),
        uri_sans: list(c.uri_sans),
        other_sans: list(c.other_sans),
        ttl: c.ttl ?? undefined,
        format: c.format ?? undefined,
        private_key_format: c.private_key_format ?? undefined,
        exclude_cn_from_sans: c.exclude_cn_from_sans ?? undefined,
      }).filter(([, v]) => v !== undefined),
    );
    const res = await session.write('create', path, body);
    const parsed = answer.safeParse(res?.data);
    if (!parsed.success) throw new DiagnosticsError(error(`${path} answered without a certificate and key`, `The server at ${session.address} sent an unexpected answer.`));
    const cert = parsed.data;
    // With generate_lease the lease's revocation revokes the certificate; without, the serial does.
    const handle = res?.lease_id
      ? encodeHandle({ kind: 'lease', lease_id: res.lease_id })
      : encodeHandle({ kind: 'certificate', backend: c.backend, serial_number: cert.serial_number });
    return {
      result: declared.state({
        certificate: cert.certificate,
        issuing_ca: cert.issuing_ca,
        ca_chain: cert.ca_chain ?? [],
        private_key: cert.private_key,
        private_key_type: cert.private_key_type,
        serial_number: cert.serial_number,
        expiration: cert.expiration,
      }),
      private: c.revoke === false ? undefined : handle,
    };
  },
  renew: renewHandle,
  close: closeHandle,
};
