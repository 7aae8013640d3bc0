/**
 * The token store. A token is `cfs.` + 32 random base64url characters; storage only ever sees
 * HMAC-SHA256(token) under a key kept behind the barrier, so a copy of the database does not yield usable
 * tokens. Parent → child links make revocation of a token revoke its whole subtree.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { StorageView } from '../../storage/view.js';
import { badRequest } from '../../sdk/errors.js';
import { normalizePolicies } from '../../sdk/fields.js';
import { ExpiryQueue } from '../expiry.js';

export const TOKEN_PREFIX = 'cfs.';
/** Every generated token: the prefix and 24 random bytes in base64url (root generation's OTPs are this long). */
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 32;

export interface TokenEntry {
  /** HMAC of the token: the storage key and the id used internally. */
  id: string;
  accessor: string;
  /** HMAC id of the parent, '' for an orphan. */
  parent: string;
  policies: string[];
  meta: Record<string, string> | null;
  display_name: string;
  /** Remaining uses, 0 = unlimited. */
  num_uses: number;
  creation_time: number; // unix seconds
  creation_ttl: number; // seconds, 0 = never expires
  /** Milliseconds since the epoch; null = never expires. */
  expire_at: number | null;
  /** Hard cap on renewals (explicit_max_ttl or the mount's max), null = none. */
  max_expire_at: number | null;
  explicit_max_ttl: number;
  period: number;
  renewable: boolean;
  path: string;
  role: string;
  type: 'service';
  /** The token is refused when used from an address outside these blocks (absent = anywhere). */
  bound_cidrs?: string[];
}

/**
 * Who asks for a token. Vault's rule is enforced in `TokenStore.create`, the one door every token goes through:
 * an auth method (any login) never obtains a `root` token, and only a token that itself has `root` may create one.
 * `system` is the core's own bootstrap (sys/init, dev mode).
 */
export type TokenIssuer = { kind: 'system' } | { kind: 'auth-method' } | { kind: 'token'; policies: string[] };

export const ROOT_FROM_AUTH_METHOD = 'auth methods cannot create root tokens';
export const ROOT_FROM_NON_ROOT = 'root tokens may not be created without parent token being root';

function assertMayGrant(issuer: TokenIssuer, policies: string[]): void {
  if (!policies.includes('root') || issuer.kind === 'system') return;
  if (issuer.kind === 'auth-method') throw badRequest(ROOT_FROM_AUTH_METHOD);
  if (!normalizePolicies(issuer.policies).includes('root')) throw badRequest(ROOT_FROM_NON_ROOT);
}

export interface CreateTokenParams {
  issuer: TokenIssuer;
  id?: string;
  parent: string;
  policies: string[];
  meta?: Record<string, string> | null;
  displayName: string;
  numUses: number;
  ttl: number;
  explicitMaxTTL: number;
  period: number;
  renewable: boolean;
  path: string;
  role?: string;
  /** The token mount's max TTL in seconds; caps non-periodic tokens. */
  mountMaxTTL: number;
  boundCidrs?: string[];
}

export type RevokeHook = (entry: TokenEntry) => Promise<void>;
/** Tidies what other stores keep per token (the lease index); `exists` says whether a token id is stored. */
export type TidyHook = (exists: (id: string) => Promise<boolean>) => Promise<number>;

/** What `auth/token/tidy` removed. */
export interface TidyCounts {
  expired_tokens: number;
  tokens_with_missing_parent: number;
  accessor_entries: number;
  child_index_entries: number;
  leases_of_missing_tokens: number;
}

const CACHE_LIMIT = 10_000;
/** num_uses of a token whose last use is being served; it is revoked when that request ends. */
const REVOCATION_PENDING = -1;

export class TokenStore {
  private view!: StorageView;
  private hmacKey!: Buffer;
  private readonly cache = new Map<string, TokenEntry>();
  private readonly idMemo = new Map<string, string>();
  private expiry: ExpiryQueue | null = null;
  private readonly revokeHooks: RevokeHook[] = [];
  private readonly tidyHooks: TidyHook[] = [];
  private tidying: Promise<TidyCounts> | null = null;

  /** Called at unseal with the barrier-backed view `sys/token/`. */
  async setup(view: StorageView): Promise<void> {
    this.view = view;
    let key = await view.get('salt');
    if (!key) {
      key = randomBytes(32);
      await view.put('salt', key);
    }
    this.hmacKey = key;
    this.cache.clear();
    this.expiry = new ExpiryQueue((id) => this.expire(id));
    for (const name of await view.list('id/')) {
      const entry = await view.getJSON<TokenEntry>(`id/${name}`);
      if (entry?.num_uses === REVOCATION_PENDING) await this.revokeTree(entry.id); // interrupted last use
      else if (entry?.expire_at) this.expiry.schedule(entry.id, entry.expire_at);
    }
  }

  teardown(): void {
    this.expiry?.stop();
    this.expiry = null;
    this.cache.clear();
    this.idMemo.clear();
    this.hmacKey?.fill(0);
  }

  onRevoke(hook: RevokeHook): void {
    this.revokeHooks.push(hook);
  }

  onTidy(hook: TidyHook): void {
    this.tidyHooks.push(hook);
  }

  hmac(token: string): string {
    return createHmac('sha256', this.hmacKey).update(token).digest('hex');
  }

  async create(params: CreateTokenParams): Promise<{ token: string; entry: TokenEntry }> {
    const policies = normalizePolicies(params.policies);
    assertMayGrant(params.issuer, policies);
    const token = params.id ?? TOKEN_PREFIX + randomBytes(24).toString('base64url'); // TOKEN_LENGTH characters
    const id = this.hmac(token);
    if (params.id !== undefined && (await this.view.get(`id/${id}`))) throw badRequest('token with the given id already exists');
    const now = Date.now();
    const { ttl, maxExpireAt } = this.initialTTL(params, now);
    const entry: TokenEntry = {
      id,
      // 24 base62 characters like Vault's: base64url could start with "-", which a CLI reads as a flag.
      accessor: [...randomBytes(64)].filter((b) => b < 248).slice(0, 24).map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62]).join(''),
      parent: params.parent,
      policies,
      meta: params.meta ?? null,
      display_name: params.displayName,
      num_uses: params.numUses,
      creation_time: Math.floor(now / 1000),
      creation_ttl: ttl,
      expire_at: ttl > 0 ? now + ttl * 1000 : null,
      max_expire_at: maxExpireAt,
      explicit_max_ttl: params.explicitMaxTTL,
      period: params.period,
      renewable: params.renewable,
      path: params.path,
      role: params.role ?? '',
      type: 'service',
      ...(params.boundCidrs?.length ? { bound_cidrs: params.boundCidrs } : {}),
    };
    const ops = [
      { kind: 'put' as const, key: `id/${id}`, value: Buffer.from(JSON.stringify(entry)) },
      { kind: 'put' as const, key: `accessor/${this.hmac(entry.accessor)}`, value: Buffer.from(id) },
    ];
    if (entry.parent) ops.push({ kind: 'put', key: `parent/${entry.parent}/${id}`, value: Buffer.alloc(0) });
    await this.view.transaction(ops);
    if (entry.expire_at) this.expiry?.schedule(id, entry.expire_at);
    return { token, entry };
  }

  private initialTTL(p: CreateTokenParams, now: number): { ttl: number; maxExpireAt: number | null } {
    const caps: number[] = [];
    if (p.explicitMaxTTL > 0) caps.push(p.explicitMaxTTL);
    if (p.period === 0 && p.ttl > 0 && p.mountMaxTTL > 0) caps.push(p.mountMaxTTL);
    const cap = caps.length ? Math.min(...caps) : 0;
    let ttl = p.period > 0 ? p.period : p.ttl;
    if (cap > 0) ttl = ttl > 0 ? Math.min(ttl, cap) : cap;
    return { ttl, maxExpireAt: cap > 0 ? now + cap * 1000 : null };
  }

  /** Resolves a clear token to its entry; expired, unknown or malformed tokens give null. */
  async lookup(token: string): Promise<TokenEntry | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 512) return null;
    // The same tokens arrive on every request: remember the HMAC of tokens that resolved (bounded, in memory
    // only, dropped at seal) so the hot path skips computing it.
    const memo = this.idMemo.get(token);
    const entry = await this.lookupById(memo ?? this.hmac(token));
    if (entry && memo === undefined) {
      if (this.idMemo.size >= CACHE_LIMIT) this.idMemo.delete(this.idMemo.keys().next().value!);
      this.idMemo.set(token, entry.id);
    }
    return entry;
  }

  /** `allowPending`: also return a token whose last use is in flight (for that request's own handler). */
  async lookupById(id: string, allowPending = false): Promise<TokenEntry | null> {
    let entry = this.cache.get(id) ?? null;
    if (!entry) {
      entry = await this.view.getJSON<TokenEntry>(`id/${id}`);
      if (!entry) return null;
      this.remember(entry);
    }
    if (entry.expire_at !== null && entry.expire_at <= Date.now()) return null;
    if (entry.num_uses === REVOCATION_PENDING && !allowPending) return null;
    return entry;
  }

  async lookupByAccessor(accessor: string): Promise<TokenEntry | null> {
    if (typeof accessor !== 'string' || accessor.length === 0 || accessor.length > 256) return null;
    const id = await this.view.get(`accessor/${this.hmac(accessor)}`);
    if (!id) return null;
    const entry = await this.lookupById(id.toString());
    // The accessor index is keyed by an HMAC; compare the accessor itself too, in constant time.
    if (!entry || !safeEqual(entry.accessor, accessor)) return null;
    return entry;
  }

  private remember(entry: TokenEntry): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(entry.id, entry);
  }

  private async save(entry: TokenEntry): Promise<void> {
    await this.view.putJSON(`id/${entry.id}`, entry);
    this.remember(entry);
  }

  /**
   * Counts one use of a limited-use token. Returns false when the token had no uses left. The use that
   * exhausts the token is allowed: like Vault, the token is marked revocation-pending (num_uses -1, refused
   * by every lookup but the in-flight request's own) and revoked by `finishUse` once that request is done.
   */
  async use(entry: TokenEntry): Promise<boolean> {
    if (entry.num_uses === 0) return true;
    const fresh = await this.lookupById(entry.id);
    if (!fresh) return false;
    fresh.num_uses -= 1;
    if (fresh.num_uses <= 0) fresh.num_uses = REVOCATION_PENDING;
    await this.save(fresh);
    entry.num_uses = fresh.num_uses;
    return true;
  }

  /** Called after the request that used `entry`: revokes the token if that was its last use. */
  async finishUse(entry: TokenEntry | null): Promise<void> {
    if (entry && entry.num_uses === REVOCATION_PENDING) await this.revokeTree(entry.id);
  }

  /**
   * Extends a token's TTL by `increment` seconds (0 = its original TTL), never past its max. Returns the TTL
   * granted and a warning when it was capped.
   */
  async renew(entry: TokenEntry, increment: number): Promise<{ entry: TokenEntry; warnings: string[] }> {
    if (entry.expire_at === null) return { entry, warnings: [] };
    if (!entry.renewable) throw badRequest('lease is not renewable');
    const now = Date.now();
    const ttl = entry.period > 0 ? entry.period : increment > 0 ? increment : entry.creation_ttl;
    let ttlMs = ttl * 1000;
    const warnings: string[] = [];
    if (entry.max_expire_at !== null) {
      // Capped to the exact time left (as Vault does), so a renewal never shortens a token's life.
      const remainingMs = entry.max_expire_at - now;
      if (remainingMs <= 0) throw badRequest('past the max TTL, cannot renew');
      if (ttlMs > remainingMs) {
        warnings.push(`TTL of "${ttl}s" exceeded the effective max_ttl of "${Math.floor(remainingMs / 1000)}s"; TTL value is capped accordingly`);
        ttlMs = remainingMs;
      }
    }
    const updated = { ...entry, expire_at: now + ttlMs };
    await this.save(updated);
    this.expiry?.schedule(updated.id, updated.expire_at!);
    return { entry: updated, warnings };
  }

  /** Revokes a token and every token created under it. */
  async revokeTree(id: string): Promise<void> {
    for (const child of await this.view.list(`parent/${id}/`)) await this.revokeTree(child);
    await this.revokeOne(id);
  }

  /** Revokes a token and turns its children into orphans. */
  async revokeOrphan(id: string): Promise<void> {
    for (const child of await this.view.list(`parent/${id}/`)) {
      const entry = await this.view.getJSON<TokenEntry>(`id/${child}`);
      if (entry) await this.save({ ...entry, parent: '' });
      await this.view.delete(`parent/${id}/${child}`);
    }
    await this.revokeOne(id);
  }

  private async revokeOne(id: string): Promise<void> {
    const entry = this.cache.get(id) ?? (await this.view.getJSON<TokenEntry>(`id/${id}`));
    this.cache.delete(id);
    this.expiry?.cancel(id);
    if (!entry) return;
    for (const hook of this.revokeHooks) await hook(entry);
    const ops = [
      { kind: 'delete' as const, key: `id/${id}` },
      { kind: 'delete' as const, key: `accessor/${this.hmac(entry.accessor)}` },
    ];
    if (entry.parent) ops.push({ kind: 'delete', key: `parent/${entry.parent}/${id}` });
    await this.view.transaction(ops);
  }

  private async expire(id: string): Promise<void> {
    const entry = await this.view.getJSON<TokenEntry>(`id/${id}`);
    if (!entry) return;
    if (entry.expire_at !== null && entry.expire_at > Date.now()) {
      this.expiry?.schedule(id, entry.expire_at); // renewed since it was queued
      return;
    }
    await this.revokeTree(id);
  }

  /**
   * Revokes every token created at a path under `prefix` (`auth/token/create`, `auth/token/create/ROLE`):
   * in Vault tokens are leases of their creation path, so `sys/leases/revoke-prefix/auth/token/create`
   * revokes them. Returns how many token trees were revoked.
   */
  async revokeByPathPrefix(prefix: string): Promise<number> {
    let count = 0;
    for (const name of await this.view.list('id/')) {
      const entry = await this.view.getJSON<TokenEntry>(`id/${name}`);
      if (entry && (entry.path === prefix || entry.path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`))) {
        await this.revokeTree(entry.id);
        count++;
      }
    }
    return count;
  }

  /**
   * `auth/token/tidy`: removes what interrupted revocations can leave behind. Storage is the truth here, not the
   * cache. One run at a time; a second request joins the running one.
   */
  tidy(): Promise<TidyCounts> {
    this.tidying ??= this.runTidy().finally(() => (this.tidying = null));
    return this.tidying;
  }

  private async runTidy(): Promise<TidyCounts> {
    const counts: TidyCounts = { expired_tokens: 0, tokens_with_missing_parent: 0, accessor_entries: 0, child_index_entries: 0, leases_of_missing_tokens: 0 };
    const exists = async (id: string) => (await this.view.get(`id/${id}`)) !== null;
    // Tokens past their expiry that were never revoked, and children whose parent was revoked without them.
    for (const name of await this.view.list('id/')) {
      const entry = await this.view.getJSON<TokenEntry>(`id/${name}`);
      if (!entry) continue;
      if (entry.expire_at !== null && entry.expire_at <= Date.now()) {
        await this.revokeTree(entry.id);
        counts.expired_tokens++;
      } else if (entry.parent && !(await exists(entry.parent))) {
        await this.revokeTree(entry.id);
        counts.tokens_with_missing_parent++;
      }
    }
    // Accessor entries whose token is gone.
    for (const name of await this.view.list('accessor/')) {
      const id = await this.view.get(`accessor/${name}`);
      if (id && (await exists(id.toString()))) continue;
      await this.view.delete(`accessor/${name}`);
      counts.accessor_entries++;
    }
    // Parent → child links where either side is gone (a live child of a missing parent was revoked above).
    for (const folder of await this.view.list('parent/')) {
      const parent = folder.replace(/\/$/, '');
      const parentExists = await exists(parent);
      for (const child of await this.view.list(`parent/${parent}/`)) {
        if (parentExists && (await exists(child))) continue;
        await this.view.delete(`parent/${parent}/${child}`);
        counts.child_index_entries++;
      }
    }
    for (const hook of this.tidyHooks) counts.leases_of_missing_tokens += await hook(exists);
    return counts;
  }

  async listAccessors(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.view.list('id/')) {
      const entry = await this.lookupById(name);
      if (entry) out.push(entry.accessor);
    }
    return out.sort();
  }

}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
