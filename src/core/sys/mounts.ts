/** sys/mounts, sys/auth, sys/remount, sys/mounts/:path/tune, sys/internal/ui/mounts/:path. */
import { z } from 'zod';
import { declarePath, type PathSpec, type Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { bool, duration, int, optionsMap, unsupported } from '../../sdk/fields.js';
import { effectiveLockout } from '../login/lockout.js';
import { MountTable, type MountEntry, type MountKind } from '../mounts.js';

/**
 * A TTL as the Vault API client sends it: its MountConfigInput has no omitempty, so `vault secrets tune` sends
 * "" for every TTL it does not change; "system" means back to the system default.
 */
const ttl = () => z.preprocess((v) => (v === '' ? undefined : v === 'system' ? 0 : v), duration().optional()).optional();

/**
 * Vault's MountConfigInput. The Go client sends every field without `omitempty` (`force_no_cache: false`, `""` TTLs)
 * on each enable and tune, so the ones coffer does not implement are accepted at their empty value only.
 */
const mountConfigShape = {
  default_lease_ttl: ttl(),
  max_lease_ttl: ttl(),
  force_no_cache: unsupported(),
  audit_non_hmac_request_keys: unsupported(),
  audit_non_hmac_response_keys: unsupported(),
  listing_visibility: unsupported(),
  passthrough_request_headers: unsupported(),
  allowed_response_headers: unsupported(),
  token_type: unsupported(),
  allowed_managed_keys: unsupported(),
  plugin_version: unsupported(),
  plugin_name: unsupported(),
  user_lockout_config: unsupported(), // implemented by tune (tuneFields overrides it), not at enable
  delegated_auth_accessors: unsupported(),
  identity_token_key: unsupported(),
};

const enableFields = z.object({
  // Optional in the schema because the path's read and delete validate the same fields; enable checks it.
  type: z.string().max(128).optional(),
  description: z.string().max(1024).optional(),
  config: z.object(mountConfigShape).strict().optional(),
  options: optionsMap().nullable().optional(),
  // Replication and seal wrapping do not exist in coffer (every value is already encrypted by the barrier).
  local: unsupported(),
  seal_wrap: unsupported(),
  external_entropy_access: unsupported(),
  plugin_name: unsupported(),
  plugin_version: unsupported(),
});

/** Vault's `user_lockout_config` of an auth mount's tune: strings (`"10"`, `"15m"`) as its client sends them. */
const lockoutFields = z
  .object({
    lockout_threshold: z.preprocess((v) => (v === '' ? undefined : v), int().refine((n) => n >= 0, 'must not be negative').optional()),
    lockout_duration: ttl(),
    lockout_counter_reset: ttl(),
    lockout_disable: bool().optional(),
  })
  .strict();

const tuneFields = z.object({
  ...mountConfigShape,
  description: z.string().max(1024).optional(),
  options: optionsMap().nullable().optional(),
  user_lockout_config: lockoutFields.optional(),
});

const remountFields = z.object({
  from: z.string({ message: 'missing from' }).min(1),
  to: z.string({ message: 'missing to' }).min(1),
});

function describe(entry: MountEntry) {
  return {
    accessor: entry.accessor,
    config: {
      default_lease_ttl: entry.config.default_lease_ttl || 0,
      max_lease_ttl: entry.config.max_lease_ttl || 0,
      force_no_cache: false,
    },
    description: entry.description,
    external_entropy_access: false,
    local: entry.local,
    options: Object.keys(entry.options).length ? entry.options : null,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    seal_wrap: entry.seal_wrap,
    type: entry.type,
    uuid: entry.uuid,
  };
}

function tuneData(core: Core, entry: MountEntry) {
  const view = core.systemView(entry);
  return {
    default_lease_ttl: view.defaultLeaseTTL(),
    max_lease_ttl: view.maxLeaseTTL(),
    force_no_cache: false,
    description: entry.description,
    options: Object.keys(entry.options).length ? entry.options : undefined,
    ...(entry.kind === 'auth' ? lockoutData(core, entry) : {}),
  };
}

/** The effective lockout of an auth mount, under the names Vault's tune read uses (seconds). */
function lockoutData(core: Core, entry: MountEntry) {
  const l = effectiveLockout(core.lockoutStanzas, entry.type, entry.config.user_lockout_config);
  return {
    user_lockout_threshold: l.threshold,
    user_lockout_duration: l.durationMs / 1000,
    user_lockout_counter_reset_duration: l.counterResetMs / 1000,
    user_lockout_disable: l.disabled,
  };
}

const definedOnly = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export function mountPaths(core: Core): PathSpec[] {
  const list = (kind: MountKind) => async () => {
    const data: Record<string, unknown> = {};
    for (const entry of core.mounts.list(kind)) data[kind === 'auth' ? entry.path.slice(5) : entry.path] = describe(entry);
    return { data, legacyTopLevel: true };
  };

  const table = (kind: MountKind): PathSpec[] => {
    const base = kind === 'auth' ? 'auth' : 'mounts';
    const fullPath = (req: Request) => MountTable.normalize(kind, req.params.path);
    return [
      { pattern: base, operations: { read: list(kind) } },
      declarePath({
        pattern: `${base}/(?<path>.+)/tune`,
        sudo: kind === 'auth', // Vault's root path `sys/auth/*`
        fields: tuneFields,
        operations: {
          read: async (req) => {
            const mount = core.mounts.find(fullPath(req));
            if (!mount) throw badRequest(`cannot fetch sysview for path "${req.params.path}"`);
            return { data: tuneData(core, mount.entry), legacyTopLevel: true };
          },
          update: async (req) => {
            const path = fullPath(req);
            const mount = core.mounts.find(path);
            if (!mount) throw badRequest(`cannot tune "${req.params.path}": no mount at that path`);
            const d = req.data;
            if (d.options?.version && d.options.version !== (mount.entry.options.version ?? '1')) {
              throw badRequest('changing the kv version of an existing mount is not supported; enable a new mount instead');
            }
            if (d.user_lockout_config && mount.entry.kind !== 'auth') throw badRequest('user_lockout_config is only supported on auth mounts');
            const otherOptions = Object.keys(d.options ?? {}).filter((k) => k !== 'version');
            if (otherOptions.length) throw badRequest(`unknown field(s): ${otherOptions.map((k) => `options.${k.slice(0, 64)}`).sort().join(', ')}`);
            const config = {
              default_lease_ttl: d.default_lease_ttl ?? mount.entry.config.default_lease_ttl,
              max_lease_ttl: d.max_lease_ttl ?? mount.entry.config.max_lease_ttl,
              // Fields left out keep their tuned value (Vault merges the map the same way).
              ...(d.user_lockout_config ? { user_lockout_config: { ...mount.entry.config.user_lockout_config, ...definedOnly(d.user_lockout_config) } } : {}),
            };
            const effectiveMax = config.max_lease_ttl || core.maxLeaseTTL;
            // A mount's max may exceed the system max (Vault allows it: a PKI mount tuned to 87600h for its root).
            if (config.default_lease_ttl > effectiveMax) throw badRequest('default_lease_ttl cannot be greater than max_lease_ttl');
            await core.mounts.tune(path, { config, description: d.description });
            return null;
          },
        },
      }),
      declarePath({
        pattern: `${base}/(?<path>.+)`,
        sudo: kind === 'auth',
        fields: enableFields,
        operations: {
          read: async (req) => {
            const mount = core.mounts.find(fullPath(req));
            if (!mount) throw new CofferError(400, `no mount at "${req.params.path}"`);
            return { data: describe(mount.entry) };
          },
          update: async (req) => {
            const d = req.data;
            if (!d.type) throw badRequest('invalid request data: field "type": missing type');
            const { type, options } = core.mounts.validateMount(kind, d.type, { ...(d.options ?? {}) });
            if (kind === 'auth' && type === 'token') throw badRequest('token credential backend cannot be instantiated');
            const cfg = { default_lease_ttl: d.config?.default_lease_ttl ?? 0, max_lease_ttl: d.config?.max_lease_ttl ?? 0 };
            if (cfg.default_lease_ttl > (cfg.max_lease_ttl || core.maxLeaseTTL)) {
              throw badRequest('default_lease_ttl cannot be greater than max_lease_ttl');
            }
            await core.mounts.enable(kind, fullPath(req), type, d.description ?? '', cfg, options);
            return null;
          },
          delete: async (req) => {
            await core.mounts.disable(fullPath(req), async (entry) => {
              await core.leases.revokeMount(entry.uuid);
              // As in Vault, disabling an auth method revokes every token its logins issued.
              if (entry.kind === 'auth') await core.tokens.revokeByPathPrefix(entry.path);
            });
            return null;
          },
        },
      }),
    ];
  };

  return [
    ...table('secret'),
    ...table('auth'),
    declarePath({
      pattern: 'remount',
      sudo: true,
      fields: remountFields,
      operations: {
        update: async (req) => {
          const from = MountTable.normalize('secret', req.data.from);
          const to = MountTable.normalize('secret', req.data.to);
          await core.mounts.move(from, to);
          return { data: { migration_id: '' } };
        },
      },
    }),
    {
      // The vault and coffer `kv` commands ask this to learn a mount's kv version. Like Vault, it answers only
      // when the caller's policies grant something under the mount.
      pattern: 'internal/ui/mounts/(?<path>.+)',
      aclInHandler: true,
      operations: {
        read: async (req) => {
          const path = req.params.path.replace(/^\/+/, '');
          const resolved = core.mounts.resolve(path.endsWith('/') ? path : `${path}/`) ?? core.mounts.resolve(path);
          // Like Vault, an unknown mount is a 403 too, so this path cannot be used to enumerate mounts; the
          // message is Vault's, which the vault and coffer `kv` commands print as is.
          const denied = () =>
            new CofferError(403, `preflight capability check returned 403, please ensure client's policies grant access to path "${path.endsWith('/') ? path : `${path}/`}"`);
          if (!resolved) throw denied();
          const entry = resolved.mount.entry;
          const acl = await core.policies.aclFor(req.caller.policies);
          if (!acl.hasAccessUnder(entry.path)) throw denied();
          return {
            data: {
              ...describe(entry),
              path: entry.kind === 'auth' ? entry.path.slice(5) : entry.path,
            },
          };
        },
      },
    },
  ];
}
