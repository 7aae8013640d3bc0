/**
 * The leased certificate (`generate_lease=true`): what the lease manager calls when the lease is revoked or
 * expires. `internal` carries the certificate's serial. A certificate no longer in the store (tidied away)
 * cannot be put on the CRL; as in Vault that counts as done, so the lease does not retry forever.
 */
import type { Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import type { PkiContext } from './backend.js';
import { revokeCertificate } from './crl.js';

export const CERT_SECRET_TYPE = 'pki';

export async function revokeLeasedCert(ctx: PkiContext, req: Request, internal: Record<string, unknown>): Promise<void> {
  const serial = internal.serial_number;
  if (typeof serial !== 'string' || serial === '') throw badRequest('could not find serial in internal secret data');
  if (!(await ctx.readCert(req.storage, serial))) return;
  // The CRL build is left to run after the burst this revocation is usually part of (see crl.ts).
  await revokeCertificate(ctx, req.storage, serial, 'soon');
}
