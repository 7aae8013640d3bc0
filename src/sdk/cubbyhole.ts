/**
 * Where a token's cubbyhole lives in the `cubbyhole/` mount's storage: the layout the cubbyhole engine serves and
 * the core relies on (response wrapping stores a wrapped response there; revoking a token destroys it). Keyed by a
 * hash of the token's id (itself an HMAC of the token), so the clear token never reaches storage.
 */
import { createHash } from 'node:crypto';
import type { StorageView } from '../storage/view.js';

/** The storage of one token's cubbyhole inside the mount's view. */
export function cubbyholeOf(mountView: StorageView, tokenId: string): StorageView {
  const key = createHash('sha256').update(`cubbyhole\0${tokenId}`).digest('hex');
  return mountView.sub(`${key}/`);
}

/** Deletes everything a token kept in its cubbyhole (called when the token is revoked). */
export function destroyCubbyhole(mountView: StorageView, tokenId: string): Promise<void> {
  return cubbyholeOf(mountView, tokenId).deletePrefix();
}
