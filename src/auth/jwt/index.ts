/**
 * The `jwt` auth method (also mounted as `oidc`, as in Vault): CI jobs and workloads log in with a JWT signed
 * by their issuer. Paths: `config`, `role/:name`, `login`. The backend keeps one key source per mount, built
 * from the stored config and dropped when the config changes, so a JWKS is fetched once and then cached.
 */
import type { Backend, BackendFactory } from '../../sdk/backend.js';
import type { KeySource } from './keys.js';
import { configPaths, keySourceFor, type JwtConfig } from './path_config.js';
import { loginPaths } from './path_login.js';
import { rolePathSpecs } from './path_role.js';

function jwtBackend(): Backend {
  let cached: { config: string; source: KeySource } | null = null;
  // Keyed by the config's contents, so a config written through another node is picked up too.
  const keySource = (config: JwtConfig) => {
    const key = JSON.stringify(config);
    if (cached?.config !== key) cached = { config: key, source: keySourceFor(config) };
    return cached.source;
  };
  return {
    paths: [...configPaths(() => (cached = null)), ...rolePathSpecs, ...loginPaths(keySource)],
    cleanup: async () => {
      cached = null;
    },
  };
}

export const jwtFactory: BackendFactory = { type: 'jwt', create: jwtBackend };
export const oidcFactory: BackendFactory = { type: 'oidc', create: jwtBackend };
