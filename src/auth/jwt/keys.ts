/**
 * Where the JWT method gets its verification keys: PEM keys from the config, a JWKS URL, or the JWKS named by
 * an OIDC discovery document. Remote key sets are cached; a token whose `kid` is not in the cache triggers one
 * refetch (concurrent logins share it), which is how a provider's key rotation is picked up.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CofferError } from '../../sdk/errors.js';
import { fetchJson } from '../http.js';

export interface VerificationKey {
  kid?: string;
  key: KeyObject;
}

export interface KeySource {
  /** Keys that may have signed a token with this `kid` (every key when the token names none). */
  candidates(kid: string | undefined): Promise<VerificationKey[]>;
}

export class StaticKeys implements KeySource {
  private readonly keys: VerificationKey[];
  constructor(pems: string[]) {
    this.keys = pems.map((pem) => ({ key: createPublicKey(pem) }));
  }
  async candidates(): Promise<VerificationKey[]> {
    return this.keys;
  }
}

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/** Public signing keys of a JWKS document; encryption keys and keys Node cannot import are left out. */
export function parseJwks(json: unknown): VerificationKey[] {
  const parsed = jwksSchema.safeParse(json);
  if (!parsed.success) throw new CofferError(500, 'JWKS document has no "keys" array');
  const out: VerificationKey[] = [];
  for (const jwk of parsed.data.keys) {
    if (jwk.use === 'enc' || jwk.kty === 'oct') continue;
    try {
      const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      out.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, key });
    } catch {
      // A key type this runtime cannot import cannot have signed a token we could verify either.
    }
  }
  return out;
}

export class RemoteKeySet implements KeySource {
  private keys: VerificationKey[] | null = null;
  private inflight: Promise<VerificationKey[]> | null = null;
  /** How many times the JWKS was fetched (visible for tests and the benchmark's cache check). */
  fetches = 0;

  constructor(private readonly jwksUrl: () => Promise<string>, private readonly ca: string | undefined) {}

  private refresh(): Promise<VerificationKey[]> {
    this.inflight ??= (async () => {
      try {
        this.fetches++;
        const url = await this.jwksUrl();
        const { status, json } = await fetchJson('JWKS', url, { ca: this.ca });
        if (status !== 200) throw new CofferError(500, `fetching keys from ${new URL(url).host} failed (HTTP ${status})`);
        this.keys = parseJwks(json);
        return this.keys;
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  async candidates(kid: string | undefined): Promise<VerificationKey[]> {
    const pick = (keys: VerificationKey[]) => (kid === undefined ? keys : keys.filter((k) => k.kid === kid));
    let found = pick(this.keys ?? (await this.refresh()));
    if (found.length === 0 && kid !== undefined) found = pick(await this.refresh());
    return found;
  }
}

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.string().url() });

/** Reads `/.well-known/openid-configuration` and checks that it names the issuer it was fetched from. */
export async function discover(discoveryUrl: string, ca: string | undefined): Promise<{ issuer: string; jwksUri: string }> {
  const base = discoveryUrl.replace(/\/+$/, '');
  const { status, json } = await fetchJson('OIDC discovery', `${base}/.well-known/openid-configuration`, { ca });
  if (status !== 200) throw new CofferError(400, `error checking oidc discovery URL: HTTP ${status}`);
  const parsed = discoverySchema.safeParse(json);
  if (!parsed.success) throw new CofferError(400, 'error checking oidc discovery URL: the document has no issuer or jwks_uri');
  if (parsed.data.issuer.replace(/\/+$/, '') !== base) {
    throw new CofferError(400, `error checking oidc discovery URL: issuer did not match the issuer returned by provider, expected "${base}" got "${parsed.data.issuer.slice(0, 200)}"`);
  }
  return { issuer: parsed.data.issuer, jwksUri: parsed.data.jwks_uri };
}
