/**
 * What the ESO routes may use of the core. Every secret they touch goes through `handle`, the ordinary request
 * pipeline with the caller's token (token lookup, ACL with the namespace, audit, leases). The rest is ESO's own
 * bookkeeping: a storage view behind the barrier for owner records, the token HMAC that scopes those records to
 * the token that made them, and the lease manager's delayed revocation for an owner's superseded credentials.
 */
import type { Core, CoreRequest, CoreResponse } from '../src/core/core.js';
import { StorageView } from '../src/storage/view.js';

export interface CoreGateway {
  handle(req: CoreRequest): Promise<CoreResponse>;
  /** ESO's records, encrypted by the barrier (only usable while unsealed). */
  storage(): StorageView;
  /** The token's HMAC id (what the token store keys tokens by); never the token itself. */
  tokenId(token: string): string;
  /** Revokes a lease through its engine after `delayMs`, with the lease manager's retries; survives restarts. */
  revokeLater(leaseId: string, delayMs: number): Promise<void>;
  /** The server log (stderr); never given a token or a secret value. */
  logError(message: string): void;
}

export function coreGateway(core: Core): CoreGateway {
  return {
    handle: (req) => core.handle(req),
    storage: () => new StorageView(core.barrier, 'sys/eso/'),
    tokenId: (token) => core.tokens.hmac(token),
    revokeLater: (leaseId, delayMs) => core.leases.revokeLater(leaseId, delayMs),
    logError: (message) => core.logger.error(message),
  };
}
