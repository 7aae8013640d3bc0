/** sys/init, unseal, seal, seal-status, health, leader, rotate, key-status. */
import { z } from 'zod';
import { bareJson, type PathSpec, type Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, int } from '../../sdk/fields.js';
import type { SealConfig } from '../seal.js';

const BUILD_DATE = '2026-11-27T00:00:00Z';

export async function sealStatus(core: Core) {
  const config = await core.seal.config();
  return {
    type: 'shamir',
    initialized: config !== null,
    sealed: core.sealed,
    t: config?.secret_threshold ?? 0,
    n: config?.secret_shares ?? 0,
    progress: core.seal.progress,
    nonce: core.seal.nonce,
    version: core.version,
    build_date: BUILD_DATE,
    migration: false,
    recovery_seal: false,
    storage_type: core.storageType,
    cluster_name: core.sealed ? undefined : 'coffer-cluster',
    cluster_id: core.sealed ? undefined : (core.clusterId ?? undefined),
  };
}

/** The seal configuration, or Vault's 400 for a server not initialized yet (root generation and rekey need one). */
export async function initializedConfig(core: Core): Promise<SealConfig> {
  const config = await core.seal.config();
  if (!config) throw badRequest('server is not yet initialized');
  return config;
}

/** Accepts a share as hex or base64, as the vault CLI and API do. */
export function decodeShare(key: string): Buffer {
  const trimmed = key.trim();
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]+=*$/.test(trimmed)) return Buffer.from(trimmed, 'base64');
  throw badRequest("'key' must be a valid hex or base64 string");
}

const initFields = z.object({
  secret_shares: int().optional(),
  secret_threshold: int().optional(),
  pgp_keys: z.unknown().optional(),
  root_token_pgp_key: z.unknown().optional(),
});

const unsealFields = z.object({ key: z.string().optional(), reset: bool().optional() });

/**
 * `?standbyok=`, `?sealedcode=` etc. override the status codes, as Vault's health endpoint allows. Only final
 * statuses (200-599): a 1xx would be sent as an interim response and leave the client waiting for the real one.
 */
const HEALTH_CODES = ['activecode', 'standbycode', 'sealedcode', 'uninitcode', 'drsecondarycode', 'performancestandbycode', 'haunhealthycode', 'removedcode'];

function healthCode(query: Record<string, string>, name: string, fallback: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const code = Number(raw);
  if (!Number.isInteger(code) || code < 200 || code > 599) throw badRequest(`invalid value for "${name}": must be an HTTP status code from 200 to 599`);
  return code;
}

export function sealPaths(core: Core): PathSpec[] {
  return [
    {
      pattern: 'init',
      unauthenticated: true,
      servedSealed: true,
      fields: initFields,
      operations: {
        read: async () => bareJson({ initialized: await core.initialized() }),
        update: async (req: Request<z.infer<typeof initFields>>) => {
          if (req.data.pgp_keys || req.data.root_token_pgp_key) throw badRequest('PGP-encrypted key shares are not supported');
          const shares = req.data.secret_shares;
          const threshold = req.data.secret_threshold;
          if (shares === undefined || threshold === undefined) throw badRequest('secret_shares and secret_threshold are required');
          const { keys, rootToken } = await core.initialize(shares, threshold);
          return bareJson({
            keys: keys.map((k) => k.toString('hex')),
            keys_base64: keys.map((k) => k.toString('base64')),
            root_token: rootToken,
          });
        },
      },
    },
    {
      pattern: 'seal-status',
      unauthenticated: true,
      servedSealed: true,
      operations: { read: async () => bareJson(await sealStatus(core)) },
    },
    {
      pattern: 'unseal',
      unauthenticated: true,
      servedSealed: true,
      fields: unsealFields,
      operations: {
        update: async (req: Request<z.infer<typeof unsealFields>>) => {
          if (!(await core.initialized())) throw badRequest('Vault is not initialized');
          if (req.data.reset) core.seal.resetProgress();
          else if (!req.data.key) throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
          else await core.submitUnsealShare(decodeShare(req.data.key));
          return bareJson(await sealStatus(core));
        },
      },
    },
    {
      pattern: 'seal',
      sudo: true,
      operations: {
        update: async () => {
          await core.sealCore();
          return null;
        },
      },
    },
    {
      pattern: 'health',
      unauthenticated: true,
      servedSealed: true,
      operations: {
        read: async (req) => {
          const q = req.query;
          // Every override is checked, not only the one for the current state: a bad one is a bad request.
          for (const name of HEALTH_CODES) healthCode(q, name, 0);
          const initialized = await core.initialized();
          const status = !initialized
            ? healthCode(q, 'uninitcode', 501)
            : core.sealed
              ? healthCode(q, 'sealedcode', 503)
              : healthCode(q, 'activecode', 200);
          return bareJson(
            {
              initialized,
              sealed: core.sealed,
              standby: false,
              performance_standby: false,
              replication_performance_mode: 'disabled',
              replication_dr_mode: 'disabled',
              server_time_utc: Math.floor(Date.now() / 1000),
              version: core.version,
              // Only once unsealed, as Vault reports them.
              cluster_name: core.sealed ? undefined : 'coffer-cluster',
              cluster_id: core.sealed ? undefined : (core.clusterId ?? undefined),
            },
            status,
          );
        },
      },
    },
    {
      pattern: 'leader',
      unauthenticated: true,
      servedSealed: true,
      operations: {
        read: async () =>
          bareJson({
            ha_enabled: false,
            is_self: false,
            active_time: core.activeSince ?? '0001-01-01T00:00:00Z',
            leader_address: '',
            leader_cluster_address: '',
            performance_standby: false,
            performance_standby_last_remote_wal: 0,
          }),
      },
    },
    {
      pattern: 'rotate',
      sudo: true,
      operations: {
        update: async () => {
          await core.seal.rotate();
          return null;
        },
      },
    },
    {
      pattern: 'key-status',
      sudo: true,
      operations: {
        read: async () => {
          const active = core.barrier.currentKeyring().active;
          return { data: { term: active.term, install_time: active.install_time }, legacyTopLevel: true };
        },
      },
    },
  ];
}
