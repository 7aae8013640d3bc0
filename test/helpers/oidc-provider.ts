/**
 * An identity provider's public side, for tests and benchmarks: an HTTPS server (test CA) publishing an OIDC
 * discovery document and a JWKS, and signing JWTs with its current key, as GitLab, GitHub Actions or a cloud
 * workload identity issuer does. `rotate()` replaces the signing key (new `kid`, old key withdrawn from the
 * JWKS); `jwksFetches` counts JWKS downloads so tests can see the cache at work.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { makeTestPki } from './tls.js';

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export interface OidcProvider {
  /** The issuer, also the discovery URL (`/.well-known/openid-configuration` under it). */
  issuer: string;
  jwksUrl: string;
  caPem: string;
  readonly jwksFetches: number;
  readonly current: SigningKey;
  /** A new signing key (RS256 unless `alg` says otherwise) replaces the current one in the JWKS. */
  rotate(alg?: string): Promise<void>;
  /** A JWT from this issuer: `iss`, `iat`, `nbf` and a 5-minute `exp` unless given in `claims`. */
  sign(claims: JWTPayload, opts?: { key?: SigningKey; header?: Record<string, unknown> }): Promise<string>;
  newKey(alg?: string): Promise<SigningKey>;
  close(): Promise<void>;
}

let counter = 0;
async function newKey(alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid: `key-${++counter}-${alg.toLowerCase()}`, alg, privateKey, publicKey };
}

export async function startOidcProvider(): Promise<OidcProvider> {
  const pki = makeTestPki('idp');
  let key = await newKey();
  let fetches = 0;
  let issuer = '';

  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      return send(200, { issuer, jwks_uri: `${issuer}/oauth/discovery/keys`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (req.url === '/oauth/discovery/keys') {
      fetches++;
      const jwk = await exportJWK(key.publicKey);
      return send(200, { keys: [{ ...jwk, kid: key.kid, use: 'sig', alg: key.alg }] });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/oauth/discovery/keys`,
    caPem: pki.caPem,
    get jwksFetches() {
      return fetches;
    },
    get current() {
      return key;
    },
    rotate: async (alg) => {
      key = await newKey(alg);
    },
    newKey,
    sign: (claims, opts = {}) => {
      const k = opts.key ?? key;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, nbf: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT', ...opts.header })
        .sign(k.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
