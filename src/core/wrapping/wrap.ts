/**
 * Response wrapping (Vault's `X-Vault-Wrap-TTL`): instead of the answer, the client receives a single-use
 * wrapping token whose cubbyhole holds the answer exactly as it would have been sent (`response`) and what
 * `sys/wrapping/lookup` reports (`wrapinfo`). Wrapping tokens carry only the built-in `response-wrapping`
 * policy, one use and no parent; when they are used up, revoked or expire, their cubbyhole goes with them.
 */
import type { Request, Response, WrapInfo } from '../../sdk/backend.js';
import { RESPONSE_WRAPPING_POLICY } from '../acl/policy.js';
import { parseDuration } from '../../sdk/duration.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import type { StorageView } from '../../storage/view.js';
import { cubbyholeOf } from '../../sdk/cubbyhole.js';
import type { TokenEntry, TokenStore } from '../tokens/store.js';

export const WRAP_TTL_HEADER = 'x-vault-wrap-ttl';

/** Paths whose token (in the body, or else the client token) must be a live wrapping token. */
export const WRAPPING_TOKEN_PATHS = new Set(['sys/wrapping/lookup', 'sys/wrapping/unwrap', 'sys/wrapping/rewrap']);

/** Vault's error for an unknown, expired, used or non-wrapping token given to the sys/wrapping paths. */
export const invalidWrappingToken = () => new CofferError(400, 'wrapping token is not valid or does not exist');

/** The wrapping TTL a request asks for, in seconds; 0 when it asks for none. An unreadable value is a 400. */
export function requestedWrapTTL(headers: Record<string, string | string[] | undefined>): number {
  const raw = headers[WRAP_TTL_HEADER];
  if (raw === undefined) return 0;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (value.trim().startsWith('-')) throw badRequest('requested wrap ttl cannot be negative');
  return parseDuration(value.trim(), 'X-Vault-Wrap-TTL') ?? 0;
}

/** What a wrapping token's cubbyhole keeps besides the response, for `sys/wrapping/lookup` and rewrap. */
export interface WrapRecord {
  creation_ttl: number;
  creation_time: string;
  creation_path: string;
}

/** The wrapped response as it is stored: the JSON the client would have received, or a raw body described. */
export type StoredResponse = string;

/** A raw (non-JSON) answer is stored as Vault stores one: in `data` under the `http_*` keys. */
export function rawToStored(raw: NonNullable<Response['raw']>, requestId: string, mountType: string): StoredResponse {
  const body = typeof raw.body === 'string' ? Buffer.from(raw.body) : raw.body;
  return JSON.stringify({
    request_id: requestId,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: { http_status_code: raw.status, http_content_type: raw.contentType, http_raw_body: body.toString('base64') },
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: mountType,
  });
}

/**
 * What an unwrap answers: the stored bytes as they are (so the original response comes back exactly), or the
 * raw body a raw answer was. `data` and `auth` are set only for the audit entry, which hashes them; they never
 * reach the client beside `raw`.
 */
export function storedToResponse(stored: StoredResponse): Response {
  const parsed = JSON.parse(stored) as { data?: Record<string, unknown> | null; auth?: Response['auth'] | null };
  const data = parsed.data ?? null;
  if (data && typeof data.http_raw_body === 'string' && typeof data.http_status_code === 'number') {
    const contentType = typeof data.http_content_type === 'string' ? data.http_content_type : 'application/octet-stream';
    return { raw: { status: data.http_status_code, contentType, body: Buffer.from(data.http_raw_body, 'base64') } };
  }
  return { raw: { status: 200, contentType: 'application/json', body: stored }, data, auth: parsed.auth ?? undefined };
}

export class ResponseWrapper {
  /** Ids of wrapping tokens being consumed right now. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly tokens: TokenStore,
    /** The `cubbyhole/` mount's storage. */
    private readonly cubbyholes: () => StorageView,
  ) {}

  /** Creates a wrapping token holding `response`; on any failure the token is revoked again. */
  async wrap(response: StoredResponse, ttl: number, creationPath: string, opts: { displayName?: string; wrappedAccessor?: string } = {}): Promise<WrapInfo> {
    const { token, entry } = await this.tokens.create({
      issuer: { kind: 'system' }, // the core's own single-use token, with the fixed response-wrapping policy
      parent: '',
      policies: [RESPONSE_WRAPPING_POLICY],
      displayName: opts.displayName ?? '',
      numUses: 1,
      ttl,
      explicitMaxTTL: ttl,
      period: 0,
      renewable: false,
      path: creationPath,
      mountMaxTTL: 0,
    });
    const creationTime = new Date(entry.creation_time * 1000).toISOString();
    try {
      const cubbyhole = cubbyholeOf(this.cubbyholes(), entry.id);
      await cubbyhole.putJSON('response', { response });
      await cubbyhole.putJSON('wrapinfo', { creation_ttl: ttl, creation_time: creationTime, creation_path: creationPath } satisfies WrapRecord);
    } catch (err) {
      await this.tokens.revokeTree(entry.id).catch(() => undefined);
      throw err;
    }
    return {
      token,
      accessor: entry.accessor,
      ttl,
      creation_time: creationTime,
      creation_path: creationPath,
      ...(opts.wrappedAccessor ? { wrapped_accessor: opts.wrappedAccessor } : {}),
    };
  }

  /**
   * The wrapping token a sys/wrapping request is about: `token` in the body (a third party unwraps), else the
   * client token. `pendingId` is the id of a client token whose last use this very request is (first party).
   * Anything but a live wrapping token is Vault's "wrapping token is not valid or does not exist".
   */
  async find(clientToken: string | null, data: Record<string, unknown>, pendingId?: string): Promise<{ entry: TokenEntry; thirdParty: boolean }> {
    const bodyToken = data.token;
    if (bodyToken !== undefined && bodyToken !== null && bodyToken !== '') {
      if (typeof bodyToken !== 'string') throw badRequest('error validating wrapping token: "token" must be a string');
      return { entry: this.checked(await this.tokens.lookup(bodyToken)), thirdParty: true };
    }
    const entry = pendingId ? await this.tokens.lookupById(pendingId, true) : clientToken ? await this.tokens.lookup(clientToken) : null;
    return { entry: this.checked(entry), thirdParty: false };
  }

  private checked(entry: TokenEntry | null): TokenEntry {
    if (!entry || entry.policies.length !== 1 || entry.policies[0] !== RESPONSE_WRAPPING_POLICY) throw invalidWrappingToken();
    return entry;
  }

  /** Reads what a wrapping token holds (404-free: a token without a stored response is invalid). */
  async contents(entry: TokenEntry): Promise<{ response: StoredResponse; info: WrapRecord }> {
    const cubbyhole = cubbyholeOf(this.cubbyholes(), entry.id);
    const stored = await cubbyhole.getJSON<{ response: StoredResponse }>('response');
    const info = await cubbyhole.getJSON<WrapRecord>('wrapinfo');
    if (!stored || !info) throw invalidWrappingToken();
    return { response: stored.response, info };
  }

  /**
   * Takes the wrapping token's single use and its contents, then revokes it (with its cubbyhole). A first-party
   * token was used by the request pipeline already; a third party's token is used here. The claim makes
   * concurrent requests for one token exclusive, so that exactly one of them gets the contents.
   */
  async consume(req: Request): Promise<{ response: StoredResponse; info: WrapRecord; entry: TokenEntry }> {
    const { entry, thirdParty } = await this.find(null, req.data, req.caller.tokenId);
    if (this.claimed.has(entry.id)) throw invalidWrappingToken();
    this.claimed.add(entry.id);
    try {
      if (thirdParty && !(await this.tokens.use(entry))) throw invalidWrappingToken();
      return { ...(await this.contents(entry)), entry };
    } finally {
      await this.tokens.revokeTree(entry.id);
      this.claimed.delete(entry.id);
    }
  }
}
