/**
 * What an ephemeral resource keeps in Terraform's `private` bytes to renew and close what it opened: a lease
 * id, a token's accessor (never the token itself), or a certificate's serial number. Terraform hands the bytes
 * back untouched; they are still parsed strictly, since a malformed handle must fail with a diagnostic rather
 * than revoke something else.
 */
import { z } from 'zod';
import { CofferApiError } from '../../src/client/index.js';
import { revokedWithChildToken, type Action } from '../errors.js';
import { DiagnosticsError, error, type Diagnostic, type RenewResult } from '../protocol/types.js';
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

/** The request that renews or revokes what `h` names. */
function request(h: Handle, op: 'renew' | 'revoke'): { action: Action; body: Record<string, unknown> } {
  const subject = describeHandle(h);
  if (h.kind === 'lease') return { action: { op, path: `sys/leases/${op}`, subject }, body: { lease_id: h.lease_id } };
  if (h.kind === 'token') return { action: { op, path: `auth/token/${op}-accessor`, subject }, body: { accessor: h.accessor } };
  return { action: { op, path: `${h.backend}/revoke`, subject }, body: { serial_number: h.serial_number } };
}

export async function renewHandle(priv: Uint8Array | null, session: Session): Promise<RenewResult> {
  const h = decodeHandle(priv);
  if (!h) return {};
  // A certificate cannot be renewed: its resource never asks Terraform to (no renew_at).
  if (h.kind === 'certificate') return { private: priv ?? undefined };
  const { action, body } = request(h, 'renew');
  const res = await session.run(action, (c) => c.write(action.path, body));
  const lease = h.kind === 'lease' ? res : res?.auth;
  return { renewAt: renewAt(lease?.lease_duration ?? 0, !!lease?.renewable), private: priv ?? undefined };
}

/**
 * Revokes what the resource opened. Without permission to, a lease or token under the provider's child token
 * is only a warning: revoking the child token at the end of the run revokes it with everything issued under
 * it. A certificate issued without a lease outlives the child token, so there it stays an error.
 */
export async function closeHandle(priv: Uint8Array | null, session: Session): Promise<Diagnostic[]> {
  const h = decodeHandle(priv);
  if (!h) return [];
  const { action, body } = request(h, 'revoke');
  try {
    await session.client.write(action.path, body);
    return [];
  } catch (err) {
    const endsWithRun = h.kind !== 'certificate' && session.runsWithChildToken;
    if (endsWithRun && err instanceof CofferApiError && err.status === 403 && (await session.tokenValid()) !== false) {
      return [revokedWithChildToken(action, await session.policies().catch(() => null))];
    }
    throw await session.failure(err, action);
  }
}
