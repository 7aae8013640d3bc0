/**
 * Outbound HTTPS for auth methods (Kubernetes TokenReview, JWKS, OIDC discovery): undici with the method's own
 * CA bundle when one is configured (and the system roots otherwise), a timeout, a cap on the body size, and
 * failures turned into messages that name the peer but never carry a credential.
 */
import { X509Certificate } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { CofferError, badRequest } from '../sdk/errors.js';

const TIMEOUT_MS = 10_000;
const MAX_BODY = 1024 * 1024;
const agents = new Map<string, Agent>();

function agentFor(ca: string | undefined): Dispatcher | undefined {
  if (!ca) return undefined;
  let agent = agents.get(ca);
  if (!agent) {
    agent = new Agent({ connect: { ca, timeout: TIMEOUT_MS }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    if (agents.size >= 64) {
      const [oldCa, old] = agents.entries().next().value!;
      agents.delete(oldCa);
      void old.close();
    }
    agents.set(ca, agent);
  }
  return agent;
}

/** Refuses a CA field that is not one or more PEM certificates (so a typo fails at config time, not login). */
export function checkCaPem(field: string, pem: string | undefined): void {
  if (!pem) return;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw badRequest(`${field}: no PEM certificate found`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw badRequest(`${field}: invalid PEM certificate`);
    }
  }
}

export function checkHttpUrl(field: string, value: string | undefined): void {
  if (!value) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(`${field}: invalid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badRequest(`${field}: must be an http or https URL`);
}

export interface FetchResult {
  status: number;
  json: unknown;
}

/** One JSON call to a peer; `what` names the peer in errors ("kubernetes TokenReview", "JWKS"). */
export async function fetchJson(
  what: string,
  url: string,
  opts: { ca?: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown } = {},
): Promise<FetchResult> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: opts.method ?? 'GET',
      headers: { accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      dispatcher: agentFor(opts.ca),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    const code = e.code ?? e.cause?.code ?? e.name;
    throw new CofferError(500, `${what} request to ${new URL(url).host} failed: ${code}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) {
      res.body.destroy();
      throw new CofferError(500, `${what} response from ${new URL(url).host} is larger than ${MAX_BODY} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  let json: unknown = null;
  try {
    json = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
  } catch {
    throw new CofferError(500, `${what} response from ${new URL(url).host} is not JSON (HTTP ${res.statusCode})`);
  }
  return { status: res.statusCode, json };
}
