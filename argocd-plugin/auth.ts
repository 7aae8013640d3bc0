/**
 * Getting a token for the run: the static token (`AVP_AUTH_TYPE=token`), or a login with AppRole
 * (`POST /v1/<mount>/login {role_id, secret_id}`) or Kubernetes (`{role, jwt}` with the pod's service account
 * token), which answer `auth.client_token` and `auth.lease_duration` as Vault's do. Login tokens are cached per
 * identity (token-cache.ts); a cached token the server no longer accepts is replaced by a new login.
 */
import { readFileSync } from 'node:fs';
import type { CofferClient } from '../src/client/client.js';
import { CofferApiError } from '../src/client/errors.js';
import type { AuthConfig } from './config.js';
import { TokenCache } from './token-cache.js';

export class AuthError extends Error {}

/** How to log in, and who that login is (the cache key). */
export interface Login {
  identity: string[];
  describe: string;
  /** Exchanges the credentials for a token through `base` (a client without token). */
  perform(base: CofferClient): Promise<{ token: string; ttlSeconds: number }>;
}

/** `POST /v1/<mount>/login` with `body`, answering Vault's `auth` block. */
function postLogin(mountPath: string, describe: string, body: () => Record<string, string>): Login['perform'] {
  return async (base) => {
    let answer;
    try {
      answer = await base.call('POST', `${mountPath}/login`, { body: body(), noToken: true });
    } catch (err) {
      if (err instanceof CofferApiError) {
        throw new AuthError(`${describe} failed: the server answered ${err.status}${err.errors.length ? ` (${err.errors.join('; ')})` : ''}`);
      }
      throw err;
    }
    const auth = answer.json?.auth;
    if (typeof auth?.client_token !== 'string' || !auth.client_token) throw new AuthError(`${describe} failed: the answer carries no token`);
    return { token: auth.client_token, ttlSeconds: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0 };
  };
}

export function loginFor(auth: AuthConfig, address: string): Login | undefined {
  const mount = (p: string) => p.replace(/^\/+|\/+$/g, '');
  if (auth.type === 'approle') {
    const describe = `approle login at ${mount(auth.mountPath)}`;
    return {
      identity: [address, 'approle', mount(auth.mountPath), auth.roleId],
      describe,
      perform: postLogin(mount(auth.mountPath), describe, () => ({ role_id: auth.roleId, secret_id: auth.secretId })),
    };
  }
  if (auth.type === 'k8s') {
    const describe = `kubernetes login at ${mount(auth.mountPath)} as role ${auth.role}`;
    return {
      identity: [address, 'kubernetes', mount(auth.mountPath), auth.role, auth.tokenPath],
      describe,
      perform: postLogin(mount(auth.mountPath), describe, () => {
        let jwt: string;
        try {
          jwt = readFileSync(auth.tokenPath, 'utf8').trim();
        } catch (err) {
          throw new AuthError(`cannot read the Kubernetes service account token at ${auth.tokenPath}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        }
        if (!jwt) throw new AuthError(`the Kubernetes service account token at ${auth.tokenPath} is empty`);
        return { role: auth.role, jwt };
      }),
    };
  }
  return undefined;
}

/** The token of a run: from the configuration, the cache, or a login. */
export class Session {
  /** True when the current token came from the cache (and may have been revoked since). */
  fromCache = false;
  private current: CofferClient | undefined;

  constructor(
    private readonly base: CofferClient,
    private readonly login: Login | undefined,
    private readonly cache: TokenCache | undefined,
  ) {}

  async client(): Promise<CofferClient> {
    if (this.current) return this.current;
    if (!this.login) return (this.current = this.base);
    const cached = this.cache?.get(this.login.identity);
    if (cached) {
      this.fromCache = true;
      return (this.current = this.base.withToken(cached));
    }
    return this.fresh();
  }

  /** Drops the cached token and logs in again. */
  async refresh(): Promise<CofferClient> {
    if (this.login) this.cache?.delete(this.login.identity);
    return this.fresh();
  }

  /** True when the server still accepts the current token. */
  async tokenValid(): Promise<boolean> {
    const client = await this.client();
    const res = await client.raw('GET', 'auth/token/lookup-self');
    return res.status === 200;
  }

  private async fresh(): Promise<CofferClient> {
    const login = this.login!;
    const { token, ttlSeconds } = await login.perform(this.base);
    this.fromCache = false;
    // Failing to cache only costs a login next time: it never fails the run.
    try {
      this.cache?.put(login.identity, token, ttlSeconds);
    } catch {
      /* not cached */
    }
    return (this.current = this.base.withToken(token));
  }
}
