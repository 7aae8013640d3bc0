/**
 * Client settings from the environment as the vault CLI reads them (COFFER_* first, then VAULT_*), and the
 * token helper file `~/.coffer-token` that `coffer login` writes.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { ClientOptions } from './client.js';

export function tokenHelperPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.HOME || homedir(), '.coffer-token');
}

export function readTokenHelper(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const token = readFileSync(tokenHelperPath(env), 'utf8').trim();
    return token || undefined;
  } catch {
    return undefined;
  }
}

export function writeTokenHelper(token: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = tokenHelperPath(env);
  writeFileSync(file, token, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its old mode on write
}

export function eraseTokenHelper(env: NodeJS.ProcessEnv = process.env): void {
  rmSync(tokenHelperPath(env), { force: true });
}

const pick = (env: NodeJS.ProcessEnv, name: string) => env[`COFFER_${name}`] || env[`VAULT_${name}`] || undefined;

const truthy = (v: string | undefined) => v !== undefined && ['1', 'true', 't', 'yes'].includes(v.toLowerCase());

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientOptions {
  return {
    address: pick(env, 'ADDR'),
    token: pick(env, 'TOKEN') ?? readTokenHelper(env),
    caCertFile: pick(env, 'CACERT'),
    skipVerify: truthy(pick(env, 'SKIP_VERIFY')),
    clientCertFile: pick(env, 'CLIENT_CERT'),
    clientKeyFile: pick(env, 'CLIENT_KEY'),
    timeoutMs: pick(env, 'CLIENT_TIMEOUT') ? Number(pick(env, 'CLIENT_TIMEOUT')) * 1000 : undefined,
    maxRetries: pick(env, 'MAX_RETRIES') ? Number(pick(env, 'MAX_RETRIES')) : undefined,
    wrapTTL: pick(env, 'WRAP_TTL'),
  };
}
