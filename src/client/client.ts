/**
 * The typed HTTP client for a coffer (or Vault) server, built on undici. It is the one way the CLI, the
 * Terraform provider, the Argo CD plugin and the tests talk to a server.
 */
import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { createAgent, send } from './transport.js';
import { CofferApiError, CofferConnectionError } from './errors.js';
import type { VaultAuth, WrapInfo } from '../shared/vault-types.js';

export interface ClientOptions {
  /** e.g. `https://coffer.example:8200` (default `http://127.0.0.1:8200`). */
  address?: string;
  token?: string;
  /** PEM file of the CA that signed the server's certificate. */
  caCertFile?: string;
  caCertPem?: string;
  /** Do not verify the server's certificate (testing only). */
  skipVerify?: boolean;
  clientCertFile?: string;
  clientKeyFile?: string;
  /** Per-request timeout in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Retries for idempotent reads on 5xx and connection errors (default 2). */
  maxRetries?: number;
  /** Ask the server to wrap every response in a single-use token valid this long (`X-Vault-Wrap-TTL`). */
  wrapTTL?: string;
}

export interface Envelope<D = Record<string, any>> {
  request_id: string;
  lease_id: string;
  renewable: boolean;
  lease_duration: number;
  data: D | null;
  wrap_info: WrapInfo | null;
  warnings: string[] | null;
  auth: AuthInfo | null;
  mount_type?: string;
  [key: string]: unknown;
}

/** Vault's `auth` block, as the server's (src/shared/vault-types.ts). */
export type AuthInfo = VaultAuth;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send without a token (unauthenticated sys paths, logins). */
  noToken?: boolean;
  /** This request's timeout and retries, instead of the client's (a quick probe of a server that may hang). */
  timeoutMs?: number;
  maxRetries?: number;
}

export type { WrapInfo };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

const RETRYABLE_STATUS = new Set([500, 502, 504]);
const RETRYABLE_METHODS = new Set(['GET', 'HEAD']);

export class CofferClient {
  readonly address: string;
  token: string | undefined;
  wrapTTL: string | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;

  constructor(options: ClientOptions = {}) {
    this.address = (options.address ?? 'http://127.0.0.1:8200').replace(/\/+$/, '');
    this.token = options.token;
    this.wrapTTL = options.wrapTTL || undefined;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 2;
    const ca = options.caCertPem ?? (options.caCertFile ? readFileSync(options.caCertFile, 'utf8') : undefined);
    this.dispatcher = createAgent({
      connect: {
        ca,
        rejectUnauthorized: !options.skipVerify,
        cert: options.clientCertFile ? readFileSync(options.clientCertFile) : undefined,
        key: options.clientKeyFile ? readFileSync(options.clientKeyFile) : undefined,
      },
    });
  }

  withToken(token: string | undefined): CofferClient {
    return this.with({ token });
  }

  /** The same client with another wrapping TTL (undefined: responses come unwrapped). */
  withWrapTTL(wrapTTL: string | undefined): CofferClient {
    return this.with({ wrapTTL });
  }

  private with(changes: Partial<Pick<CofferClient, 'token' | 'wrapTTL'>>): CofferClient {
    const copy = Object.create(CofferClient.prototype) as CofferClient;
    Object.assign(copy, this, changes);
    return copy;
  }

  /** One API call; `path` is relative to `/v1/`. Throws CofferApiError for 4xx/5xx (except as noted). */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const url = new URL(`${this.address}/v1/${path.replace(/^\/+/, '')}`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (this.token && !options.noToken) headers['x-vault-token'] = this.token;
    if (this.wrapTTL) headers['x-vault-wrap-ttl'] = this.wrapTTL;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const attempts = RETRYABLE_METHODS.has(method) ? (options.maxRetries ?? this.maxRetries) + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await send(this.dispatcher, url, {
          method: method as Dispatcher.HttpMethod,
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
        });
      } catch (err) {
        if (attempt < attempts) {
          await backoff(attempt);
          continue;
        }
        throw new CofferConnectionError(this.address, err);
      }
      const text = await res.body.text();
      if (RETRYABLE_STATUS.has(res.statusCode) && attempt < attempts) {
        await backoff(attempt);
        continue;
      }
      let json: any = undefined;
      if (text) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      return { status: res.statusCode, headers: res.headers, text, json };
    }
  }

  /** Like raw(), but 4xx/5xx become a CofferApiError. */
  async call(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const res = await this.raw(method, path, options);
    if (res.status >= 400) {
      const errors = Array.isArray(res.json?.errors) ? (res.json.errors as string[]) : [];
      throw new CofferApiError(res.status, method, `${this.address}/v1/${path.replace(/^\/+/, '')}`, errors, res.json);
    }
    return res;
  }

  /** GET; a 404 with no data answers null (Vault's "no value found"). */
  async read<D = Record<string, any>>(path: string, query?: RequestOptions['query']): Promise<Envelope<D> | null> {
    try {
      return ((await this.call('GET', path, { query })).json ?? null) as Envelope<D> | null;
    } catch (err) {
      if (err instanceof CofferApiError && err.status === 404 && err.errors.length === 0 && !(err.body as Envelope)?.data) return null;
      throw err;
    }
  }

  /** GET ?list=true; null when there are no keys. */
  async list(path: string): Promise<Envelope<{ keys: string[] }> | null> {
    return this.read<{ keys: string[] }>(path, { list: 'true' });
  }

  /** POST (Vault treats PUT and POST alike); null for 204. */
  async write<D = Record<string, any>>(path: string, data: Record<string, unknown> = {}): Promise<Envelope<D> | null> {
    return ((await this.call('POST', path, { body: data })).json ?? null) as Envelope<D> | null;
  }

  async patch<D = Record<string, any>>(path: string, data: Record<string, unknown>): Promise<Envelope<D> | null> {
    const res = await this.call('PATCH', path, { body: data, headers: { 'content-type': 'application/merge-patch+json' } });
    return (res.json ?? null) as Envelope<D> | null;
  }

  async delete(path: string, query?: RequestOptions['query']): Promise<Envelope | null> {
    return ((await this.call('DELETE', path, { query })).json ?? null) as Envelope | null;
  }

  /**
   * Unwraps a response-wrapping token and returns the response it holds (null when it held none). As Vault's
   * client does: the wrapping token goes in the body when this client has another token to authenticate
   * with, else it is the client token itself; without an argument the client's own token is unwrapped.
   */
  async unwrap<D = Record<string, any>>(wrappingToken?: string): Promise<Envelope<D> | null> {
    if (wrappingToken && !this.token) return this.withToken(wrappingToken).unwrap<D>();
    const body = wrappingToken && wrappingToken !== this.token ? { token: wrappingToken } : undefined;
    return ((await this.call('POST', 'sys/wrapping/unwrap', { body })).json ?? null) as Envelope<D> | null;
  }

  // --- sys helpers (bare JSON answers, no envelope) ---------------------------------------------------

  async sealStatus(): Promise<SealStatus> {
    return (await this.call('GET', 'sys/seal-status', { noToken: true })).json as SealStatus;
  }

  async health(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.raw('GET', 'sys/health', { noToken: true });
    return { status: res.status, body: res.json ?? {} };
  }

  async init(shares: number, threshold: number): Promise<{ keys: string[]; keys_base64: string[]; root_token: string }> {
    return (await this.call('PUT', 'sys/init', { body: { secret_shares: shares, secret_threshold: threshold }, noToken: true })).json;
  }

  async unseal(key: string | null, reset = false): Promise<SealStatus> {
    const body = reset ? { reset: true } : { key };
    return (await this.call('PUT', 'sys/unseal', { body, noToken: true })).json as SealStatus;
  }

  /** The mount serving `path` and its options (the `kv` commands use it to learn the KV version). */
  async mountInfo(path: string): Promise<{ path: string; type: string; options: Record<string, string> | null } | null> {
    // A lookup the CLI makes for itself: never wrapped, whatever the command asked for (as the vault CLI does).
    const res = await this.withWrapTTL(undefined).read<{ path: string; type: string; options: Record<string, string> | null }>(
      `sys/internal/ui/mounts/${path.replace(/^\/+/, '')}`,
    );
    return res?.data ?? null;
  }
}

export interface SealStatus {
  type: string;
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  nonce: string;
  version: string;
  storage_type?: string;
  cluster_name?: string;
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(100 * 2 ** (attempt - 1), 2000) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
