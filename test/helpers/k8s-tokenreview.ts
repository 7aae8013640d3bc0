/**
 * The Kubernetes API server's side of TokenReview (authentication.k8s.io/v1), for tests and benchmarks: no
 * cluster can run on this machine, so this implements the endpoint from the Kubernetes documentation. It signs
 * projected service account tokens with a key pair it generated (jose), and on
 * `POST /apis/authentication.k8s.io/v1/tokenreviews`:
 *   - requires a bearer token that is itself a valid service account token of an account granted
 *     `system:auth-delegator` (else 401 / 403, as the API server answers);
 *   - verifies `spec.token`'s signature, issuer and expiry, and its audience against `spec.audiences` (default:
 *     the API server's own audience), answering `authenticated: false` with an error otherwise;
 *   - returns the user `system:serviceaccount:NS:NAME` with the account's uid, groups and audiences.
 * Served over HTTPS with a certificate from a test CA.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, jwtVerify, type CryptoKey } from 'jose';
import { makeTestPki } from './tls.js';

export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ServiceAccountToken {
  namespace: string;
  name: string;
  uid?: string;
  audiences?: string[];
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
}

export interface TokenReviewServer {
  url: string;
  caPem: string;
  /** Bodies of the reviews received, most recent last. */
  reviews: { token: string; audiences?: string[]; authorization: string }[];
  /** Accounts that may call TokenReview (`NS:NAME`). */
  delegators: Set<string>;
  /** A projected service account token signed by this cluster (or by `signer`, for a foreign key). */
  issue(sa: ServiceAccountToken, signer?: CryptoKey): Promise<string>;
  close(): Promise<void>;
}

export async function startTokenReviewServer(): Promise<TokenReviewServer> {
  const pki = makeTestPki('kubernetes');
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const uids = new Map<string, string>();
  const reviews: TokenReviewServer['reviews'] = [];
  const delegators = new Set<string>();

  const issue = async (sa: ServiceAccountToken, signer: CryptoKey = privateKey) => {
    const key = `${sa.namespace}:${sa.name}`;
    if (!uids.has(key)) uids.set(key, sa.uid ?? randomUUID());
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      'kubernetes.io': { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: uids.get(key)! }, pod: { name: `${sa.name}-7d9f8b6c5-x2v4q`, uid: randomUUID() } },
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k8s-test-key' })
      .setIssuer(ISSUER)
      .setSubject(`system:serviceaccount:${sa.namespace}:${sa.name}`)
      .setAudience(sa.audiences ?? [API_AUDIENCE])
      .setIssuedAt(now - 10)
      .setNotBefore(now - 10)
      .setExpirationTime(now + (sa.expiresIn ?? 3600))
      .sign(signer);
  };

  /** The account a token belongs to, or the reason it does not authenticate. */
  const authenticate = async (token: string, audiences: string[]) => {
    try {
      const { payload } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: audiences, algorithms: ['ES256'] });
      const k = payload['kubernetes.io'] as { namespace: string; serviceaccount: { name: string; uid: string } };
      return { ok: true as const, namespace: k.namespace, name: k.serviceaccount.name, uid: k.serviceaccount.uid, aud: payload.aud };
    } catch (err) {
      return { ok: false as const, error: `[invalid bearer token, ${(err as Error).message}]` };
    }
  };

  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') return send(res, 404, { kind: 'Status', status: 'Failure', code: 404 });
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const caller = await authenticate(bearer, [API_AUDIENCE]);
    if (!caller.ok) return send(res, 401, { kind: 'Status', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    if (!delegators.has(`${caller.namespace}:${caller.name}`)) {
      return send(res, 403, { kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: `tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:${caller.namespace}:${caller.name}" cannot create resource "tokenreviews"` });
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec?: { token?: string; audiences?: string[] } };
    const token = body.spec?.token ?? '';
    reviews.push({ token, audiences: body.spec?.audiences, authorization: bearer });
    const audiences = body.spec?.audiences?.length ? body.spec.audiences : [API_AUDIENCE];
    const who = await authenticate(token, audiences);
    const status = who.ok
      ? {
          authenticated: true,
          user: {
            username: `system:serviceaccount:${who.namespace}:${who.name}`,
            uid: who.uid,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${who.namespace}`, 'system:authenticated'],
          },
          audiences: audiences.filter((a) => (Array.isArray(who.aud) ? who.aud : [who.aud]).includes(a)),
        }
      : { user: {}, error: who.error };
    send(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: body.spec, status });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: pki.caPem,
    reviews,
    delegators,
    issue,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
