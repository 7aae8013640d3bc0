/**
 * The lease manager: every leased secret an engine returns is registered here, persisted behind the barrier
 * (`sys/expire/`), and revoked through its engine when it expires, is revoked by id or prefix, or when the
 * token that created it is revoked. Expirations sit in one priority queue (ExpiryQueue), not one timer each.
 * A revocation that fails is retried with exponential backoff; after MAX_ATTEMPTS the lease is marked
 * irrevocable — kept, visible in lookup and counted, never dropped silently.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { StorageView } from '../../storage/view.js';
import type { Backend, MountInfo, Request, SecretLease, SystemView } from '../../sdk/backend.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { ExpiryQueue } from '../expiry.js';
import { timeSlices } from '../../shared/slices.js';

export interface LeaseEntry {
  lease_id: string;
  /** Request path that issued the secret (`database/creds/readonly`). */
  path: string;
  mount_uuid: string;
  /** HMAC id of the token that created it, '' when none. */
  token_id: string;
  /** Engine data handed back to its revoke/renew; never returned to clients. */
  internal: Record<string, unknown>;
  issue_time: number; // ms
  expire_time: number; // ms
  /** Hard cap: issue time + the max TTL in force at issue. */
  max_expire_time: number; // ms
  last_renewal_time: number | null; // ms
  renewable: boolean;
  revoke_attempts: number;
  irrevocable: boolean;
  /** Last revocation error (the engine's message, which never holds a secret). */
  last_error: string;
}

/** What the manager needs from the core: the live mount for a lease, to call its engine. */
export interface LeaseMountResolver {
  (uuid: string): { backend: Backend; view: StorageView; entry: MountInfo; system: SystemView } | undefined;
}

export const MAX_ATTEMPTS = 6;
/** Longest run of restore (or lease listing) work between two yields to the event loop. */
const RESTORE_SLICE_MS = 5;
/**
 * Revocations of one revoke-prefix or one token's leases under way at once. Their storage writes then share
 * commits (the SQLite backend commits the writes of one event-loop turn together, one fsync each), where one
 * revocation after another paid a commit or two each: minutes for thousands of leases. More at once lengthens
 * each event-loop turn, which unrelated requests wait for: bench/pki-revoke measured 16 and 8 at once no
 * faster than 4 for 2,000 leases, and unrelated reads several times slower.
 */
const BULK_REVOKE_PARALLEL = 4;

/** Runs `fn` on every item, `parallel` at a time. */
async function eachInParallel<T>(items: T[], parallel: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}
const MAX_BACKOFF_MS = 60_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const tokenIndexKey = (tokenId: string, leaseId: string) =>
  `token/${tokenId}/${createHash('sha256').update(leaseId).digest('hex')}`;

export class LeaseManager {
  private view!: StorageView;
  private resolveMount!: LeaseMountResolver;
  private queue: ExpiryQueue | null = null;
  /** Leases whose revocation is running, so a timer and an API call never revoke the same lease twice. */
  private readonly inProgress = new Map<string, Promise<void>>();
  private irrevocableCount = 0;
  /** First retry delay after a failed revocation; doubles per attempt (1 s, 2 s, 4 s … capped at 60 s). */
  retryBaseMs = 1000;
  /** Settles when the leases stored at unseal are all scheduled (requests are served meanwhile). */
  restored: Promise<void> = Promise.resolve();

  setup(view: StorageView, resolveMount: LeaseMountResolver): void {
    this.view = view;
    this.resolveMount = resolveMount;
    this.queue = new ExpiryQueue((id) => this.expire(id));
    this.irrevocableCount = 0;
    this.restored = this.restore();
  }

  teardown(): void {
    this.queue?.stop();
    this.queue = null;
  }

  get metrics() {
    return { scheduled: this.queue?.size ?? 0, irrevocable: this.irrevocableCount };
  }

  /**
   * Restores persisted leases in the background, after the unseal has answered, yielding to the event loop
   * every few milliseconds so requests keep being served. Overdue leases are scheduled at once and so revoked
   * right away.
   */
  private async restore(): Promise<void> {
    const slice = timeSlices(RESTORE_SLICE_MS);
    // Folders are walked a page at a time, so even a folder of 100,000 leases never means one long scan.
    const walk = async (folder: string): Promise<void> => {
      let after: string | undefined;
      for (;;) {
        const page = await this.view.list(folder, { after, limit: 500 });
        for (const child of page) {
          if (!this.queue) return; // sealed meanwhile
          if (child.endsWith('/')) await walk(folder + child);
          else {
            const entry = await this.view.getJSON<LeaseEntry>(folder + child);
            if (entry?.irrevocable) this.irrevocableCount++;
            else if (entry) this.queue.schedule(entry.lease_id, entry.expire_time);
          }
          await slice();
        }
        if (page.length < 500) return;
        after = page[page.length - 1];
        await slice();
      }
    };
    await new Promise((resolve) => setImmediate(resolve));
    await walk('id/');
  }

  private async read(leaseId: string): Promise<LeaseEntry | null> {
    return this.view.getJSON<LeaseEntry>(`id/${leaseId}`);
  }

  private save(entry: LeaseEntry): Promise<void> {
    return this.view.putJSON(`id/${entry.lease_id}`, entry);
  }

  /**
   * Registers a secret just issued at `path`. Effective TTL = the engine's TTL (or the mount default), capped
   * by the mount's max TTL. Returns the lease and any warning about the cap.
   */
  async register(path: string, mount: MountInfo, system: SystemView, tokenId: string, secret: SecretLease): Promise<{ entry: LeaseEntry; ttl: number; warnings: string[] }> {
    const max = system.maxLeaseTTL();
    let ttl = secret.ttl > 0 ? secret.ttl : system.defaultLeaseTTL();
    const warnings: string[] = [];
    if (ttl > max) {
      warnings.push(`TTL of "${ttl}s" exceeded the effective max_ttl of "${max}s"; TTL value is capped accordingly`);
      ttl = max;
    }
    const now = Date.now();
    const entry: LeaseEntry = {
      lease_id: `${path.replace(/\/+$/, '')}/${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`,
      path,
      mount_uuid: mount.uuid,
      token_id: tokenId,
      internal: secret.internal ?? {},
      issue_time: now,
      expire_time: now + ttl * 1000,
      max_expire_time: now + max * 1000,
      last_renewal_time: null,
      renewable: secret.renewable,
      revoke_attempts: 0,
      irrevocable: false,
      last_error: '',
    };
    const ops = [{ kind: 'put' as const, key: `id/${entry.lease_id}`, value: Buffer.from(JSON.stringify(entry)) }];
    if (tokenId) ops.push({ kind: 'put', key: tokenIndexKey(tokenId, entry.lease_id), value: Buffer.from(entry.lease_id) });
    await this.view.transaction(ops);
    this.queue?.schedule(entry.lease_id, entry.expire_time);
    return { entry, ttl, warnings };
  }

  async lookup(leaseId: string) {
    const entry = await this.read(leaseId);
    if (!entry) throw badRequest('invalid lease');
    return {
      id: entry.lease_id,
      issue_time: iso(entry.issue_time),
      expire_time: iso(entry.expire_time),
      last_renewal: iso(entry.last_renewal_time),
      renewable: entry.renewable && !entry.irrevocable,
      ttl: Math.max(0, Math.round((entry.expire_time - Date.now()) / 1000)),
      irrevocable: entry.irrevocable,
      revoke_attempts: entry.revoke_attempts,
      revoke_error: entry.last_error || undefined,
    };
  }

  /** Lease ids (and folders) directly under `prefix`, as `sys/leases/lookup/:prefix` lists them. */
  async list(prefix: string): Promise<string[]> {
    const normalized = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    return this.view.list(`id/${normalized}`);
  }

  /** Extends a lease by `increment` seconds (0 = the engine's choice), never past its max. */
  async renew(leaseId: string, increment: number): Promise<{ entry: LeaseEntry; ttl: number; warnings: string[] }> {
    const entry = await this.read(leaseId);
    if (!entry || entry.expire_time <= Date.now()) throw badRequest('lease not found or lease is not renewable');
    if (!entry.renewable || entry.irrevocable) throw badRequest('lease is not renewable');
    const live = this.resolveMount(entry.mount_uuid);
    if (!live?.backend.renew) throw badRequest('lease is not renewable');
    const now = Date.now();
    const remaining = Math.floor((entry.max_expire_time - now) / 1000);
    if (remaining <= 0) throw badRequest('lease is past its max TTL and cannot be renewed');
    const warnings: string[] = [];
    const req = this.engineRequest(entry, live, 'update', { increment });
    const granted = await live.backend.renew(req, entry.internal);
    // The engine knows its own limits (a role's max_ttl) and answers with the TTL it granted; 0 leaves it to
    // the request's increment, then the mount default.
    let ttl = granted.ttl > 0 ? granted.ttl : increment > 0 ? increment : live.system.defaultLeaseTTL();
    if (ttl > remaining) {
      warnings.push(`TTL of "${ttl}s" exceeded the effective max_ttl of "${remaining}s"; TTL value is capped accordingly`);
      ttl = remaining;
    }
    const updated: LeaseEntry = {
      ...entry,
      internal: granted.internal ?? entry.internal,
      expire_time: now + ttl * 1000,
      last_renewal_time: now,
    };
    await this.save(updated);
    this.queue?.schedule(updated.lease_id, updated.expire_time);
    return { entry: updated, ttl, warnings };
  }

  /** Revokes one lease now (through its engine). Unknown ids succeed, as in Vault. */
  async revoke(leaseId: string): Promise<void> {
    const entry = await this.read(leaseId);
    if (!entry) return;
    await this.revokeEntry(entry, false);
  }

  /** The leases under `prefix` (a prefix may also name one lease exactly). */
  private async leasesUnder(prefix: string): Promise<LeaseEntry[]> {
    const normalized = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const keys = await this.view.listRecursive(`id/${normalized}`);
    const exact = normalized !== prefix ? await this.read(prefix) : null;
    const entries = exact ? [exact] : [];
    const pause = timeSlices(RESTORE_SLICE_MS);
    for (const key of keys) {
      const entry = await this.view.getJSON<LeaseEntry>(key);
      if (entry) entries.push(entry);
      await pause();
    }
    return entries;
  }

  /**
   * Revokes every lease under `prefix`. With `force`, leases whose engine fails are removed anyway (Vault's
   * revoke-force, for engines whose backing system is gone for good). With `sync` false (Vault's `sync=false`)
   * the leases are made due now and the scheduler revokes them, with its retries.
   */
  async revokePrefix(prefix: string, force: boolean, sync = true): Promise<number> {
    const entries = await this.leasesUnder(prefix);
    if (!sync) {
      for (const entry of entries) await this.revokeLater(entry);
      return entries.length;
    }
    const failures: string[] = [];
    await eachInParallel(entries, BULK_REVOKE_PARALLEL, async (entry) => {
      try {
        await this.revokeEntry(entry, force);
      } catch {
        failures.push(entry.lease_id); // stays stored and scheduled; reported below
      }
    });
    if (failures.length) throw new CofferError(400, `failed to revoke ${failures.length} lease(s) under "${prefix}"; retry, or use revoke-force`);
    return entries.length;
  }

  /** Revokes every lease a token created (called when the token is revoked). */
  async revokeByToken(tokenId: string): Promise<void> {
    await eachInParallel(await this.view.list(`token/${tokenId}/`), BULK_REVOKE_PARALLEL, async (key) => {
      const leaseId = (await this.view.get(`token/${tokenId}/${key}`))?.toString();
      if (leaseId) {
        const entry = await this.read(leaseId);
        // A failing engine must not block revoking the token: the lease stays queued and keeps retrying. It is
        // made due now (and stored so, for restarts): expire() retries only leases past their expiry, so a
        // lease still inside its TTL would otherwise wait for its natural expiry with its token long gone.
        if (entry) await this.revokeEntry(entry, false).catch(() => this.revokeLater(entry, this.retryBaseMs));
      }
      await this.view.delete(`token/${tokenId}/${key}`);
    });
  }

  /**
   * Makes a lease due in `delayMs` (stored so, for restarts; never later than it was due) and leaves the
   * revocation to the scheduler, with its retries: for `sys/leases/revoke` with `sync=false`, for leases whose
   * synchronous revocation failed, and for the grace period after which the ESO generator drops an owner's
   * previous credentials.
   */
  async revokeLater(entryOrId: LeaseEntry | string, delayMs = 0): Promise<void> {
    const entry = typeof entryOrId === 'string' ? await this.read(entryOrId) : entryOrId;
    if (!entry) return;
    const due = Math.min(entry.expire_time, Date.now() + delayMs);
    // The max TTL moves too, so a renewal during a grace period cannot carry the lease past its revocation.
    await this.save({ ...entry, expire_time: due, max_expire_time: Math.min(entry.max_expire_time, due) });
    this.queue?.schedule(entry.lease_id, due);
  }

  /** Revokes every lease of a mount (before the mount is disabled); failures are forced out with it. */
  async revokeMount(uuid: string): Promise<void> {
    for (const key of await this.view.listRecursive('id/')) {
      const entry = await this.view.getJSON<LeaseEntry>(key);
      if (entry?.mount_uuid === uuid) await this.revokeEntry(entry, true);
    }
  }

  /**
   * Revokes the leases of tokens that no longer exist (`auth/token/tidy`: a token revocation interrupted before
   * its leases went). Returns how many such tokens had leases.
   */
  async revokeLeasesOfMissingTokens(tokenExists: (id: string) => Promise<boolean>): Promise<number> {
    let count = 0;
    for (const folder of await this.view.list('token/')) {
      const tokenId = folder.replace(/\/$/, '');
      if (await tokenExists(tokenId)) continue;
      await this.revokeByToken(tokenId);
      count++;
    }
    return count;
  }

  /** Removes index entries that point at leases that no longer exist (`sys/leases/tidy`). */
  async tidy(): Promise<number> {
    let removed = 0;
    for (const key of await this.view.listRecursive('token/')) {
      const leaseId = (await this.view.get(key))?.toString();
      if (!leaseId || !(await this.read(leaseId))) {
        await this.view.delete(key);
        removed++;
      }
    }
    return removed;
  }

  private revokeEntry(entry: LeaseEntry, force: boolean): Promise<void> {
    const running = this.inProgress.get(entry.lease_id);
    if (running) return running;
    const work = this.runRevoke(entry, force).finally(() => this.inProgress.delete(entry.lease_id));
    this.inProgress.set(entry.lease_id, work);
    return work;
  }

  private async runRevoke(entry: LeaseEntry, force: boolean): Promise<void> {
    const live = this.resolveMount(entry.mount_uuid);
    try {
      // A lease whose mount is gone cannot be revoked in its backing system: keep it (and retry) unless forced.
      if (!live) throw new CofferError(500, 'the mount that issued this lease no longer exists');
      if (live.backend.revoke) await live.backend.revoke(this.engineRequest(entry, live, 'delete', {}), entry.internal);
    } catch (err) {
      if (!force) throw err;
    }
    this.queue?.cancel(entry.lease_id);
    const ops = [{ kind: 'delete' as const, key: `id/${entry.lease_id}` }];
    if (entry.token_id) ops.push({ kind: 'delete', key: tokenIndexKey(entry.token_id, entry.lease_id) });
    await this.view.transaction(ops);
    if (entry.irrevocable) this.irrevocableCount = Math.max(0, this.irrevocableCount - 1);
  }

  /** Timer callback: revoke, or record the failure and retry with exponential backoff. */
  private async expire(leaseId: string): Promise<void> {
    const entry = await this.read(leaseId);
    if (!entry || entry.irrevocable) return;
    if (entry.expire_time > Date.now()) {
      this.queue?.schedule(leaseId, entry.expire_time); // renewed since it was queued
      return;
    }
    try {
      await this.revokeEntry(entry, false);
    } catch (err) {
      const attempts = entry.revoke_attempts + 1;
      const failed: LeaseEntry = {
        ...entry,
        revoke_attempts: attempts,
        last_error: err instanceof CofferError ? err.errors.join('; ') : (err as Error)?.message?.slice(0, 300) ?? 'revocation failed',
        irrevocable: attempts >= MAX_ATTEMPTS,
      };
      await this.save(failed);
      if (failed.irrevocable) this.irrevocableCount++;
      else this.queue?.schedule(leaseId, Date.now() + Math.min(this.retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS));
    }
  }

  private engineRequest(
    entry: LeaseEntry,
    live: NonNullable<ReturnType<LeaseMountResolver>>,
    operation: 'update' | 'delete',
    data: Record<string, unknown>,
  ): Request {
    const rel = entry.path.startsWith(live.entry.path) ? entry.path.slice(live.entry.path.length) : entry.path;
    return {
      operation,
      path: rel,
      params: {},
      data,
      query: {},
      headers: {},
      storage: live.view,
      mount: live.entry,
      system: live.system,
      caller: { policies: [], remoteAddr: '', sudo: false },
      requestId: `lease:${entry.lease_id}`,
    };
  }
}
