/**
 * The provider's checks before its first authenticated call: an address that can work at all, and a server
 * that answers as coffer or Vault within a short time. A wrong address otherwise shows as a misleading error
 * later, and a server that accepts connections but never answers would leave Terraform silent for minutes
 * (the client's patient timeout and retries are meant for real calls to a server known to be there).
 */
import { CofferConnectionError, type CofferClient } from '../src/client/index.js';
import { parseGoDuration } from '../src/shared/duration.js';
import { DiagnosticsError, error } from './protocol/types.js';
import { transportCause, unreachable } from './errors.js';

export const DEFAULT_STARTUP_TIMEOUT_SECONDS = 10;
export const STARTUP_TIMEOUT_ENV = 'COFFER_STARTUP_TIMEOUT';

/** What is wrong with an address the client cannot use as a base URL, with the fix for the usual slips; null if nothing. */
export function addressProblem(address: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return `the coffer address "${address}" has no scheme: write https://${address} (or http:// for a dev server)`;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return `the coffer address "${address}" is not a URL: write it as https://host:8200`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the coffer address "${address}" must start with http:// or https://`;
  if (/\/v1\/*$/.test(url.pathname)) return `the coffer address "${address}" ends in /v1: drop the /v1 (the provider adds /v1/ to every request, as Vault clients do)`;
  return null;
}

/** The same check for an address from the environment (the provider block's is checked with its schema). */
export function checkEnvAddress(address: string, variable: string): void {
  const problem = addressProblem(address);
  if (problem) throw new DiagnosticsError(error(`invalid ${variable}`, `${problem}. It comes from ${variable} in the environment.`));
}

/** The start-up timeout in seconds: the provider block's value, else the environment's (seconds or a duration such as 5s). */
export function startupTimeoutSeconds(configured: number | null, env: NodeJS.ProcessEnv): number {
  if (configured !== null) return configured;
  const text = env[STARTUP_TIMEOUT_ENV];
  if (text === undefined || text === '') return DEFAULT_STARTUP_TIMEOUT_SECONDS;
  const seconds = parseGoDuration(/^\d+$/.test(text) ? `${text}s` : text);
  if (seconds === null || seconds <= 0) {
    throw new DiagnosticsError(error(`invalid ${STARTUP_TIMEOUT_ENV}`, `It must be a positive number of seconds or a duration such as 30s, got "${text.slice(0, 40)}".`));
  }
  return seconds;
}

/**
 * One unauthenticated request (`sys/seal-status`, which every coffer and Vault server answers) with the short
 * timeout and no retry: the server is there, speaks the Vault API, and is unsealed.
 */
export async function checkServer(client: CofferClient, timeoutSeconds: number): Promise<void> {
  const address = client.address;
  let res;
  try {
    res = await client.raw('GET', 'sys/seal-status', { noToken: true, timeoutMs: timeoutSeconds * 1000, maxRetries: 0 });
  } catch (err) {
    if (!(err instanceof CofferConnectionError)) throw err;
    if (transportCause(err) !== 'timed out') throw unreachable(err);
    throw new DiagnosticsError(
      error(
        `the coffer server at ${address} did not answer within ${timeoutSeconds} s`,
        `It accepts connections but sent no answer to GET /v1/sys/seal-status: check that the address is coffer's API listener and that the server is not stuck. ` +
          `For a slow server, raise startup_timeout_seconds in the provider block (or ${STARTUP_TIMEOUT_ENV}).`,
        ['address'],
      ),
    );
  }
  const body = res.json as { sealed?: unknown; initialized?: unknown } | undefined;
  if (res.status !== 200 || typeof body?.sealed !== 'boolean' || typeof body.initialized !== 'boolean') {
    const type = String(res.headers['content-type'] ?? 'no content type').split(';')[0];
    throw new DiagnosticsError(
      error(
        `the server at ${address} is not coffer or Vault`,
        `GET /v1/sys/seal-status answered ${res.status} (${type}) instead of the seal status every coffer and Vault server gives. Check the address: the host, the port (coffer listens on 8200 by default) and any path after it.`,
        ['address'],
      ),
    );
  }
  if (!body.initialized) {
    throw new DiagnosticsError(error(`the coffer server at ${address} is not initialized`, 'Initialize it (coffer operator init), unseal it and run again.', ['address']));
  }
  if (body.sealed) {
    throw new DiagnosticsError(error(`the coffer server at ${address} is sealed`, 'Unseal it (coffer operator unseal) and run again.', ['address']));
  }
}
