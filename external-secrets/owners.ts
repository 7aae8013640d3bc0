/**
 * Owner tracking for the generator endpoint. ESO never revokes what a generator issued, so every refresh of an
 * ExternalSecret would leave one more live database user behind. When the request names the owning
 * ExternalSecret, coffer remembers the lease it issued to that owner and hands the previous one to the lease
 * manager for revocation after a grace period (time for pods to pick up the new Secret).
 *
 * A record is keyed by (calling token, issuing path, owner): the owner header is written by whoever holds the
 * token, so a token can only ever supersede leases that it obtained itself under the same owner name.
 */
import { createHash } from 'node:crypto';
import type { CoreGateway } from './gateway.js';

export interface OwnerRecord {
  owner: string;
  path: string;
  lease_id: string;
  issued_at: string;
}

export class OwnerLeases {
  /** Per-record queue: two refreshes of one owner at once must not both see the same "previous" lease. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly gateway: CoreGateway) {}

  private key(token: string, path: string, owner: string): string {
    const digest = createHash('sha256').update(`${this.gateway.tokenId(token)}\n${path}\n${owner}`).digest('hex');
    return `owners/${digest}`;
  }

  /**
   * Records `leaseId` as the owner's current lease and schedules the previous one (if any, and different) for
   * revocation after `graceMs`. Returns the superseded lease id.
   */
  supersede(token: string, path: string, owner: string, leaseId: string, graceMs: number): Promise<string | null> {
    const key = this.key(token, path, owner);
    const run = async () => {
      const storage = this.gateway.storage();
      const previous = await storage.getJSON<OwnerRecord>(key);
      const record: OwnerRecord = { owner, path, lease_id: leaseId, issued_at: new Date().toISOString() };
      await storage.putJSON(key, record);
      if (!previous || previous.lease_id === leaseId) return null;
      await this.gateway.revokeLater(previous.lease_id, graceMs);
      return previous.lease_id;
    };
    const result = (this.pending.get(key) ?? Promise.resolve()).then(run, run);
    const settled = result.catch(() => undefined);
    this.pending.set(key, settled);
    void settled.then(() => {
      if (this.pending.get(key) === settled) this.pending.delete(key);
    });
    return result;
  }
}
