/**
 * What the ESO routes may use of the server: the extension capabilities (`ExtensionHost`). Every secret they
 * touch goes through `handle`, the ordinary request pipeline with the caller's token (token lookup, ACL with the
 * namespace, audit, leases). The rest is ESO's own bookkeeping: records behind the barrier for owners, the token
 * HMAC that scopes those records to the token that made them, and the lease manager's delayed revocation for an
 * owner's superseded credentials.
 */
import type { ExtensionHost } from '../src/server/extension.js';

export type CoreGateway = ExtensionHost;
