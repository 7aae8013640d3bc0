/**
 * CIDR bounds (`token_bound_cidrs`, AppRole's `secret_id_bound_cidrs`): parsed once with zod at the edge and
 * checked against the caller's socket address. A bare address means a single host (/32 or /128), as in Vault.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { stringList } from './fields.js';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is the IPv4 address 10.0.0.1. */
export function normalizeAddress(addr: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return mapped ? mapped[1] : addr;
}

function cidrProblem(text: string): string | null {
  const [ip, bits, extra] = text.split('/');
  const family = isIP(ip);
  if (!family || extra !== undefined) return `invalid CIDR "${text.slice(0, 64)}"`;
  if (bits === undefined) return null;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `invalid CIDR "${text.slice(0, 64)}"`;
  return null;
}

/** A list of CIDR blocks or addresses (array or comma-separated), each validated. */
export const cidrList = () =>
  stringList().superRefine((list, ctx) => {
    for (const item of list) {
      const problem = cidrProblem(item);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }
  });
export type CidrList = z.infer<ReturnType<typeof cidrList>>;

const compiled = new Map<string, BlockList>();

function blockList(cidrs: string[]): BlockList {
  const key = cidrs.join(',');
  let list = compiled.get(key);
  if (!list) {
    list = new BlockList();
    for (const cidr of cidrs) {
      const [ip, bits] = cidr.split('/');
      const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(ip, family);
      else list.addSubnet(ip, Number(bits), family);
    }
    // Bounded: the same few lists come back on every request.
    if (compiled.size >= 1000) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, list);
  }
  return list;
}

/** True when there is no bound, or `remoteAddr` falls inside one of the blocks. Unknown addresses never match. */
export function addressAllowed(remoteAddr: string, cidrs: string[] | undefined | null): boolean {
  if (!cidrs || cidrs.length === 0) return true;
  const addr = normalizeAddress(remoteAddr);
  const family = isIP(addr);
  if (!family) return false;
  return blockList(cidrs).check(addr, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * True when the block `inner` lies wholly inside one of `outers` (AppRole: a secret ID's CIDRs must be a subset
 * of the role's). Blocks are aligned, so that holds when inner's prefix is no shorter and its address is inside.
 */
export function cidrWithin(inner: string, outers: string[]): boolean {
  const [ip, bits] = inner.split('/');
  const innerBits = bits === undefined ? (isIP(ip) === 6 ? 128 : 32) : Number(bits);
  return outers.some((outer) => {
    const [oip, obits] = outer.split('/');
    if (isIP(oip) !== isIP(ip)) return false;
    const outerBits = obits === undefined ? (isIP(oip) === 6 ? 128 : 32) : Number(obits);
    return outerBits <= innerBits && addressAllowed(ip, [outer]);
  });
}
