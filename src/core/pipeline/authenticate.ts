/**
 * Stage "authenticate": the calling token, looked up and checked against its bound CIDRs, becomes the caller.
 */
import type { CallerInfo } from '../../sdk/backend.js';
import { addressAllowed } from '../../sdk/cidr.js';
import { permissionDenied } from '../../sdk/errors.js';
import type { TokenEntry } from '../tokens/store.js';
import type { AuditTrail } from './audit-trail.js';
import type { LogicalRequest, PipelineHost, Route } from './types.js';

export interface Authenticated {
  caller: CallerInfo;
  /** The calling token; null on unauthenticated paths. */
  entry: TokenEntry | null;
}

export async function authenticate(core: PipelineHost, request: LogicalRequest, route: Route, trail: AuditTrail): Promise<Authenticated> {
  const { clientToken, remoteAddr } = request;
  const caller: CallerInfo = { policies: [], remoteAddr, sudo: false };
  if (route.unauthenticated) return { caller, entry: null };
  const entry = clientToken ? await core.tokens.lookup(clientToken) : null;
  if (entry) trail.setToken(entry);
  if (!entry || !addressAllowed(remoteAddr, entry.bound_cidrs)) throw permissionDenied();
  Object.assign(caller, {
    tokenId: entry.id,
    accessor: entry.accessor,
    policies: entry.policies,
    displayName: entry.display_name,
    // Only the token store's own paths see the clear token (lookup-self, renew-self...).
    clientToken: route.mount.entry.type === 'token' ? clientToken : undefined,
  });
  return { caller, entry };
}
