/** sys/leases/*: lookup, list, renew, revoke, revoke-prefix, revoke-force, tidy (Vault's lease API). */
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { bool, duration } from '../../sdk/fields.js';

const leaseFields = z.object({
  lease_id: z.string().optional(),
  increment: duration().optional(),
  sync: bool().optional(),
});
type LeaseFields = z.infer<typeof leaseFields>;
const syncField = z.object({ sync: bool().optional() });

/** The lease id comes in the body or, for the older form, in the path. */
function leaseId(req: Request<LeaseFields>): string {
  const id = (req.params.id ?? req.data.lease_id ?? '').replace(/^\/+/, '');
  if (!id) throw badRequest('lease_id must be specified');
  return id;
}

export function leasePaths(core: Core): PathSpec[] {
  const renew = async (req: Request<LeaseFields>) => {
    const { entry, ttl, warnings } = await core.leases.renew(leaseId(req), req.data.increment ?? 0);
    return { lease: { id: entry.lease_id, duration: ttl, renewable: entry.renewable }, warnings };
  };
  // Vault revokes synchronously by default; `sync=false` queues the revocation (with the scheduler's retries).
  const revoke = async (req: Request<LeaseFields>) => {
    if (req.data.sync === false) await core.leases.revokeLater(leaseId(req));
    else await core.leases.revoke(leaseId(req));
    return null;
  };
  const prefixed = (force: boolean) => async (req: Request<z.infer<typeof syncField>>) => {
    const prefix = (req.params.prefix ?? '').replace(/\/+$/, '');
    // Tokens are leases of the path that created them, as in Vault.
    if (prefix === 'auth/token' || prefix.startsWith('auth/token/')) await core.tokens.revokeByPathPrefix(prefix);
    // revoke-force always waits: it is the operator's last resort and reports what it removed.
    await core.leases.revokePrefix(req.params.prefix ?? '', force, force || req.data.sync !== false);
    return null;
  };
  return [
    {
      pattern: 'leases/lookup',
      fields: leaseFields,
      operations: { update: async (req: Request<LeaseFields>) => ({ data: await core.leases.lookup(leaseId(req)) }) },
    },
    {
      pattern: 'leases/lookup/(?<prefix>.*)', // listing leases; the lookup of one lease above needs no sudo
      sudo: true,
      operations: {
        list: async (req) => {
          const keys = await core.leases.list(req.params.prefix);
          if (!keys.length) throw new CofferError(404, []);
          return { data: { keys } };
        },
      },
    },
    { pattern: 'leases/renew(?:/(?<id>.+))?', fields: leaseFields, operations: { update: renew } },
    { pattern: 'leases/revoke(?:/(?<id>.+))?', fields: leaseFields, operations: { update: revoke } },
    { pattern: 'leases/revoke-prefix/(?<prefix>.+)', sudo: true, fields: syncField, operations: { update: prefixed(false) } },
    { pattern: 'leases/revoke-force/(?<prefix>.+)', sudo: true, operations: { update: prefixed(true) } },
    {
      pattern: 'leases/tidy',
      operations: {
        update: async () => {
          const removed = await core.leases.tidy();
          return { data: { removed_index_entries: removed, ...core.leases.metrics } };
        },
      },
    },
    {
      pattern: 'leases/count',
      operations: { read: async () => ({ data: { lease_count: core.leases.metrics.scheduled, irrevocable: core.leases.metrics.irrevocable } }) },
    },
  ];
}
