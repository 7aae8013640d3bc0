/**
 * `revoke` (`serial_number` or `certificate`) and `crl/rotate`. A presented certificate must have been
 * signed by this mount's CA; it need not be stored (certificates of no_store roles can be revoked this way).
 * `revoke` answers once the CRL lists the certificate, or says why it will not yet (auto_rebuild, disable).
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { type PkiContext, readCrlConfig } from './backend.js';
import { parseCertificate, pemBlocks } from './certutil.js';
import { rebuildCrl, revocationWarnings, revokeCertificate } from './crl.js';

const revokeFields = z.object({
  serial_number: z.string().optional(),
  certificate: z.string().optional(),
});

async function revoke(ctx: PkiContext, req: Request<z.infer<typeof revokeFields>>): Promise<Response | null> {
  const { serial_number: serial, certificate } = req.data;
  if (!serial && !certificate) throw badRequest('The serial number or certificate to revoke must be provided.');
  if (serial && certificate) throw badRequest('Must provide either the certificate or the serial to revoke; not both.');
  let result;
  if (certificate) {
    const blocks = pemBlocks(certificate).filter((b) => b.type === 'CERTIFICATE');
    if (blocks.length !== 1) throw badRequest('certificate contains no PEM data, or more than one certificate');
    const cert = parseCertificate(blocks[0].pem);
    const ca = await ctx.requireCa(req.storage);
    if (!(await cert.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }).catch(() => false))) {
      throw badRequest('unable to verify signature on presented cert from any present issuer in this mount');
    }
    result = await revokeCertificate(ctx, req.storage, cert.serialNumber, 'now', cert);
  } else {
    result = await revokeCertificate(ctx, req.storage, serial!, 'now');
  }
  return result ? { data: { ...result }, warnings: revocationWarnings(await readCrlConfig(req.storage)) } : null;
}

export function pathRevoke(ctx: PkiContext): PathSpec[] {
  return [
    {
      pattern: 'revoke',
      fields: revokeFields,
      operations: { update: (req) => revoke(ctx, req) },
      help: 'Revokes a certificate by serial_number (colon or dash separated hex) or by its PEM (certificate); '
        + 'answers once the CRL lists it (unless config/crl has auto_rebuild or disable, which the answer says).',
    },
    {
      pattern: 'crl/rotate',
      operations: {
        read: async (req) => {
          await ctx.requireCa(req.storage);
          await rebuildCrl(ctx, req.storage);
          return { data: { success: true } };
        },
      },
      help: 'Rebuilds and re-signs the CRL.',
    },
  ];
}
