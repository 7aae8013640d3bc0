/**
 * `auth/jwt/config`: exactly one key source (`jwt_validation_pubkeys`, `jwks_url`, `oidc_discovery_url`), the
 * CA for the remote ones, `bound_issuer`, the accepted algorithms and the default role. A discovery URL is
 * checked when written (as Vault does); a JWKS URL is fetched at the first login.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { stringList } from '../../sdk/fields.js';
import { checkCaPem, checkHttpUrl } from '../http.js';
import { discover, RemoteKeySet, StaticKeys, type KeySource } from './keys.js';

/**
 * Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public key forge tokens. With
 * `jwt_supported_algs` unset a JWT role accepts all of them, as Vault does (only Vault's browser OIDC roles,
 * which coffer does not implement, default to RS256).
 */
export const SUPPORTED_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface JwtConfig {
  oidc_discovery_url: string;
  oidc_discovery_ca_pem: string;
  jwks_url: string;
  jwks_ca_pem: string;
  jwt_validation_pubkeys: string[];
  bound_issuer: string;
  /** Empty = every algorithm of SUPPORTED_ALGS. */
  jwt_supported_algs: string[];
  default_role: string;
}

const configFields = z.object({
  oidc_discovery_url: z.string().optional(),
  oidc_discovery_ca_pem: z.string().optional(),
  jwks_url: z.string().optional(),
  jwks_ca_pem: z.string().optional(),
  jwt_validation_pubkeys: stringList().optional(),
  bound_issuer: z.string().optional(),
  jwt_supported_algs: stringList().optional(),
  default_role: z.string().optional(),
});

const CONFIG_KEY = 'config';

export const readConfig = (req: Request) => req.storage.getJSON<JwtConfig>(CONFIG_KEY);

/** The algorithms a login may be signed with under this config. */
export const acceptedAlgs = (config: JwtConfig): string[] => (config.jwt_supported_algs.length ? config.jwt_supported_algs : SUPPORTED_ALGS);

/** The key source a config names. Remote sets keep their cache for as long as the config is unchanged. */
export function keySourceFor(config: JwtConfig): KeySource {
  if (config.jwt_validation_pubkeys.length) return new StaticKeys(config.jwt_validation_pubkeys);
  if (config.jwks_url) return new RemoteKeySet(async () => config.jwks_url, config.jwks_ca_pem || undefined);
  let jwksUri: Promise<string> | null = null;
  const ca = config.oidc_discovery_ca_pem || undefined;
  return new RemoteKeySet(() => {
    jwksUri ??= discover(config.oidc_discovery_url, ca).then((d) => d.jwksUri, (err) => {
      jwksUri = null;
      throw err;
    });
    return jwksUri;
  }, ca);
}

/** Config paths; `onChange` lets the backend drop its cached key source. */
export function configPaths(onChange: () => void): PathSpec[] {
  return [
    {
      pattern: 'config',
      fields: configFields,
      operations: {
        read: async (req) => {
          const c = await readConfig(req);
          return c ? { data: { ...c } } : null;
        },
        update: async (req: Request<z.infer<typeof configFields>>) => {
          const d = req.data;
          const config: JwtConfig = {
            oidc_discovery_url: d.oidc_discovery_url ?? '',
            oidc_discovery_ca_pem: d.oidc_discovery_ca_pem ?? '',
            jwks_url: d.jwks_url ?? '',
            jwks_ca_pem: d.jwks_ca_pem ?? '',
            jwt_validation_pubkeys: d.jwt_validation_pubkeys ?? [],
            bound_issuer: d.bound_issuer ?? '',
            jwt_supported_algs: d.jwt_supported_algs ?? [],
            default_role: d.default_role ?? '',
          };
          const sources = [config.jwt_validation_pubkeys.length > 0, config.jwks_url !== '', config.oidc_discovery_url !== ''];
          if (sources.filter(Boolean).length !== 1) {
            throw badRequest("exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set");
          }
          const badAlg = config.jwt_supported_algs.find((a) => !SUPPORTED_ALGS.includes(a));
          if (badAlg) throw badRequest(`invalid jwt_supported_algs: "${badAlg.slice(0, 16)}" is not supported (one of ${SUPPORTED_ALGS.join(', ')})`);
          if (config.jwks_ca_pem && !config.jwks_url) throw badRequest('jwks_ca_pem requires jwks_url');
          if (config.oidc_discovery_ca_pem && !config.oidc_discovery_url) throw badRequest('oidc_discovery_ca_pem requires oidc_discovery_url');
          checkHttpUrl('jwks_url', config.jwks_url);
          checkHttpUrl('oidc_discovery_url', config.oidc_discovery_url);
          checkCaPem('jwks_ca_pem', config.jwks_ca_pem);
          checkCaPem('oidc_discovery_ca_pem', config.oidc_discovery_ca_pem);
          config.jwt_validation_pubkeys.forEach((pem, i) => {
            try {
              createPublicKey(pem);
            } catch {
              throw badRequest(`jwt_validation_pubkeys[${i}]: not a PEM public key or certificate`);
            }
          });
          if (config.oidc_discovery_url) await discover(config.oidc_discovery_url, config.oidc_discovery_ca_pem || undefined);
          await req.storage.putJSON(CONFIG_KEY, config);
          onChange();
          return null;
        },
      },
      help: 'Configure the keys JWTs are verified with.',
    },
  ];
}
