/**
 * The plugin's settings, read as AVP reads them: a config file (`-c`, YAML, JSON or KEY=VALUE lines), then the
 * environment over it, then Argo CD's `ARGOCD_ENV_*` variables (prefix stripped) over both. The server address,
 * token and TLS settings follow the client's rules (COFFER_* first, then VAULT_*).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type ClientOptions } from '../src/client/client.js';
import { optionsFromEnv } from '../src/client/env.js';

export class ConfigError extends Error {}

const DEFAULT_K8S_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const authSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('token') }),
  z.object({
    type: z.literal('approle'),
    roleId: z.string().min(1, 'AVP_ROLE_ID and AVP_SECRET_ID for approle authentication cannot be empty'),
    secretId: z.string().min(1, 'AVP_ROLE_ID and AVP_SECRET_ID for approle authentication cannot be empty'),
    mountPath: z.string().min(1),
  }),
  z.object({
    type: z.literal('k8s'),
    role: z.string().min(1, 'AVP_K8S_ROLE cannot be empty when using Kubernetes auth'),
    mountPath: z.string().min(1),
    tokenPath: z.string().min(1),
  }),
]);

export type AuthConfig = z.infer<typeof authSchema>;

export interface PluginConfig {
  client: ClientOptions;
  auth: AuthConfig;
  kvVersion: string;
  pathValidation?: RegExp;
  /** Where cached login tokens live; undefined when the cache is off. */
  tokenCacheDir?: string;
}

/** KEY=VALUE settings from a config file; keys upper-cased as viper matches them case-insensitively. */
export function readConfigFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const ext = path.extname(file).toLowerCase();
  let raw: unknown;
  if (ext === '.json' || ext === '.yaml' || ext === '.yml') {
    try {
      raw = ext === '.json' ? JSON.parse(text) : parseYaml(text);
    } catch {
      // The parsers quote the file in their messages, and the file may hold a token: say where, not what.
      throw new ConfigError(`the config file ${file} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}`);
    }
  } else {
    raw = Object.fromEntries(
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => {
          const eq = l.indexOf('=');
          if (eq < 1) throw new ConfigError(`the config file ${file} has a line that is not KEY=VALUE`);
          return [l.slice(0, eq).trim().replace(/^export\s+/, ''), l.slice(eq + 1).trim().replace(/^(['"])(.*)\1$/, '$2')];
        }),
    );
  }
  const parsed = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(`the config file ${file} must be a flat map of settings (KEY: value)`);
  return Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [k.toUpperCase(), String(v)]));
}

/** The effective settings: file < environment < ARGOCD_ENV_*. */
export function mergedSettings(env: NodeJS.ProcessEnv, file: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { ...file };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(env)) if (k.startsWith('ARGOCD_ENV_') && v !== undefined) out[k.slice('ARGOCD_ENV_'.length)] = v;
  return out;
}

export function loadConfig(settings: Record<string, string>, options: { disableTokenCache: boolean; home: string }): PluginConfig {
  const get = (k: string) => {
    const v = settings[k]?.trim();
    return v === '' ? undefined : v;
  };
  const type = get('AVP_TYPE') ?? 'vault';
  if (type !== 'vault') throw new ConfigError(`Must provide a supported Vault Type, received ${type} (coffer speaks the Vault API: set AVP_TYPE=vault)`);
  const client = optionsFromEnv(settings);
  const authType = get('AVP_AUTH_TYPE') ?? 'token';
  let auth: unknown;
  if (authType === 'token') {
    if (!client.token) throw new ConfigError('VAULT_TOKEN (or COFFER_TOKEN) for token authentication cannot be empty');
    auth = { type: 'token' };
  } else if (authType === 'approle') {
    auth = { type: 'approle', roleId: get('AVP_ROLE_ID') ?? '', secretId: get('AVP_SECRET_ID') ?? '', mountPath: get('AVP_MOUNT_PATH') ?? 'auth/approle' };
  } else if (authType === 'k8s') {
    auth = {
      type: 'k8s',
      role: get('AVP_K8S_ROLE') ?? '',
      // AVP prefers the Kubernetes-specific mount path, then the generic one.
      mountPath: get('AVP_K8S_MOUNT_PATH') ?? get('AVP_MOUNT_PATH') ?? 'auth/kubernetes',
      tokenPath: get('AVP_K8S_TOKEN_PATH') ?? DEFAULT_K8S_TOKEN_PATH,
    };
  } else {
    throw new ConfigError(`Must provide a supported Authentication Type, received ${authType} (token, approle or k8s)`);
  }
  const checked = authSchema.safeParse(auth);
  if (!checked.success) throw new ConfigError(checked.error.issues[0].message);
  let pathValidation: RegExp | undefined;
  const pattern = get('AVP_PATH_VALIDATION');
  if (pattern) {
    try {
      pathValidation = new RegExp(pattern);
    } catch {
      throw new ConfigError(`AVP_PATH_VALIDATION is not a valid regular expression: ${pattern}`);
    }
  }
  // With a static token there is no login, so nothing to cache.
  const cacheOff = options.disableTokenCache || checked.data.type === 'token';
  return {
    client: { ...client, token: checked.data.type === 'token' ? client.token : undefined },
    auth: checked.data,
    kvVersion: get('AVP_KV_VERSION') ?? '2',
    pathValidation,
    tokenCacheDir: cacheOff ? undefined : path.join(options.home, '.coffer-argocd', 'tokens'),
  };
}
