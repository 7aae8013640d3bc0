/**
 * The client address of a request, with Vault's `X-Forwarded-For` listener options: the header is honoured
 * only from peers in `x_forwarded_for_authorized_addrs`, `x_forwarded_for_hop_skips` addresses are skipped from
 * the right of the chain (the ones added by proxies in front of the trusted one), and by default a request
 * without the header, or with it from an unauthorized peer, is refused. This address is the one the login
 * lockout, the audit log's `remote_address` and CIDR-bound tokens see.
 */
import { isIP } from 'node:net';
import { addressAllowed, normalizeAddress } from '../sdk/cidr.js';

export interface ForwardedForConfig {
  /** CIDR blocks of the proxies whose header is believed. Empty: the header is ignored (Vault's default). */
  authorizedAddrs: string[];
  hopSkips: number;
  rejectNotAuthorized: boolean;
  rejectNotPresent: boolean;
}

export type ClientAddress = { address: string } | { error: string };

export function clientAddress(peer: string, header: string | string[] | undefined, config: ForwardedForConfig | undefined): ClientAddress {
  if (!config || config.authorizedAddrs.length === 0) return { address: peer };
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  if (values.length === 0) {
    return config.rejectNotPresent ? { error: 'missing x-forwarded-for header and configured to reject when not present' } : { address: peer };
  }
  if (!addressAllowed(peer, config.authorizedAddrs)) {
    return config.rejectNotAuthorized ? { error: 'client address not authorized for x-forwarded-for and configured to reject connection' } : { address: peer };
  }
  const chain = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  const index = chain.length - 1 - config.hopSkips;
  if (index < 0) {
    return { error: `malformed x-forwarded-for configuration or request, hops to skip (${config.hopSkips}) would skip before earliest chain link (chain length ${chain.length})` };
  }
  const address = normalizeAddress(chain[index]);
  // An entry that is not an address (`unknown`, a host name) cannot stand for the client: refuse it.
  if (!isIP(address)) return { error: 'x-forwarded-for entry is not an IP address' };
  return { address };
}
