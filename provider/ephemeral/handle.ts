/**
 * What an ephemeral resource keeps in Terraform's `private` bytes to renew and close what it opened: a lease
 * id, a token's accessor (never the token itself), or a certificate's serial number. Terraform hands the bytes
 * back untouched; they are still parsed strictly, since a malformed handle must fail with a diagnostic rather
 * than revoke something else.
 */
import { z } from 'zod';
import type { RenewResult } from '../protocol/types.js';
import { DiagnosticsError, error } from '../protocol/types.js';
import type { Session } from '../session.js';

const handleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lease'), lease_id: z.string().min(1) }),
  z.object({ kind: z.literal('token'), accessor: z.string().min(1) }),
  z.object({ kind: z.literal('certificate'), backend: z.string().min(1), serial_number: z.string().min(1) }),
]);

export type Handle = z.infer<typeof handleSchema>;

export const encodeHandle = (h: Handle): Uint8Array => Buffer.from(JSON.stringify(h));

function decodeHandle(priv: Uint8Array | null): Handle | null {
  if (!priv) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(priv).toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = handleSchema.safeParse(json);
  if (!parsed.success) throw new DiagnosticsError(error('Unreadable private data for an ephemeral resource', 'Terraform handed back data this provider did not write.'));
  return parsed.data;
}

/** Terraform renews at renew_at when the run still needs the resource: two thirds into the lease. */
export function renewAt(leaseSeconds: number, renewable: boolean): Date | undefined {
  return renewable && leaseSeconds > 0 ? new Date(Date.now() + (leaseSeconds * 1000 * 2) / 3) : undefined;
}

function describeHandle(h: Handle): string {
  if (h.kind === 'lease') return `lease ${h.lease_id}`;
  if (h.kind === 'token') return `token with accessor ${h.accessor}`;
  return `certificate ${h.serial_number} of ${h.backend}`;
}

export async function renewHandle(priv: Uint8Array | null, session: Session): Promise<RenewResult> {
  const h = decodeHandle(priv);
  if (!h) return {};
  // A certificate cannot be renewed: its resource never asks Terraform to (no renew_at).
  if (h.kind === 'certificate') return { private: priv ?? undefined };
  if (h.kind === 'lease') {
    const res = await session.run('renew', describeHandle(h), (c) => c.write('sys/leases/renew', { lease_id: h.lease_id }));
    return { renewAt: renewAt(res?.lease_duration ?? 0, !!res?.renewable), private: priv ?? undefined };
  }
  const res = await session.run('renew', describeHandle(h), (c) => c.write('auth/token/renew-accessor', { accessor: h.accessor }));
  return { renewAt: renewAt(res?.auth?.lease_duration ?? 0, !!res?.auth?.renewable), private: priv ?? undefined };
}

export async function closeHandle(priv: Uint8Array | null, session: Session): Promise<void> {
  const h = decodeHandle(priv);
  if (!h) return;
  const [path, body] =
    h.kind === 'lease' ? ['sys/leases/revoke', { lease_id: h.lease_id }]
    : h.kind === 'token' ? ['auth/token/revoke-accessor', { accessor: h.accessor }]
    : [`${h.backend}/revoke`, { serial_number: h.serial_number }];
  await session.run('revoke', describeHandle(h), (c) => c.write(path, body));
}
