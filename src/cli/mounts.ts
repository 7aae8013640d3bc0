/**
 * What `coffer secrets` and `coffer auth` share: enabling, disabling, listing and tuning mounts through
 * `sys/mounts` and `sys/auth`, with the vault CLI's flags, messages and tables; and the mount path rules that
 * `audit` uses for its device paths too.
 */
import { durationFlag, expectArgs, intFlag, type Subcommands } from './args.js';
import { commandContext, type CommandContext } from './context.js';
import { type FlagSpec, UsageError } from '../shared/flags.js';
import { goMap, out, structured, table } from './output.js';

export const ensureTrailingSlash = (p: string) => (p.endsWith('/') ? p : `${p}/`);

/** Vault's sanitizePath then ensureTrailingSlash: `/kv/` and `kv` both become `kv/`. */
export const mountPath = (raw: string) => ensureTrailingSlash(raw.trim().replace(/^\/+/, '').replace(/\/+$/, ''));

/**
 * The TTL flags, refused here when invalid (a usage error, as vault's duration flags are) and otherwise sent
 * as typed: the server reads the same duration grammar.
 */
function ttlFlags(ctx: CommandContext): Record<string, string> {
  const ttls: Record<string, string> = {};
  for (const [flag, field] of [['default-lease-ttl', 'default_lease_ttl'], ['max-lease-ttl', 'max_lease_ttl']] as const) {
    if (durationFlag(ctx, flag) !== undefined) ttls[field] = String(ctx.args.flags[flag]).trim();
  }
  return ttls;
}

/** Repeatable `-options=k=v` flags, plus `-version=N` as vault folds it in (`options.version`). */
function optionsFlag(ctx: CommandContext): Record<string, string> | undefined {
  const raw = (ctx.args.flags.options as string[] | undefined) ?? [];
  let options: Record<string, string> | undefined;
  for (const pair of raw) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid value "${pair}" for flag -options: missing = in KV pair: "${pair}"`);
    (options ??= {})[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const version = intFlag(ctx, 'version');
  if (version !== undefined && version > 0) (options ??= {}).version = String(version);
  return options;
}

// --- mounts -----------------------------------------------------------------------------------------------

export interface MountKind {
  /** `sys/mounts` or `sys/auth`. */
  api: 'sys/mounts' | 'sys/auth';
  noun: 'secrets engine' | 'auth method';
  enabled(type: string, path: string): string;
}

export const SECRETS: MountKind = {
  api: 'sys/mounts',
  noun: 'secrets engine',
  enabled: (type, path) => `Success! Enabled the ${type} secrets engine at: ${path}`,
};

export const AUTH: MountKind = {
  api: 'sys/auth',
  noun: 'auth method',
  enabled: (type, path) => `Success! Enabled ${type} auth method at: ${path}`,
};

const ENABLE_FLAGS: FlagSpec[] = [
  { name: 'path', kind: 'string' },
  { name: 'description', kind: 'string' },
  { name: 'default-lease-ttl', kind: 'string' },
  { name: 'max-lease-ttl', kind: 'string' },
  { name: 'options', kind: 'string', multiple: true },
  { name: 'version', kind: 'string' },
];

/** Tuning takes the enable flags except the path, which names the mount instead. */
const TUNE_FLAGS = ENABLE_FLAGS.filter((f) => f.name !== 'path');

export const ENABLE_HELP = `  -path=PATH               Where to enable it (default: the TYPE).
  -description=TEXT        Human-friendly description.
  -default-lease-ttl=TTL   Default lease TTL (e.g. 1h, 30m, 3600); default: the system's.
  -max-lease-ttl=TTL       Maximum lease TTL (may exceed the system's); default: the system's.
  -options=K=V             Mount option (repeatable), e.g. -options=version=2.
  -version=N               Version of the engine to run (kv: 1 or 2); same as -options=version=N.`;

export const TUNE_HELP = `  -description=TEXT        New description.
  -default-lease-ttl=TTL   New default lease TTL.
  -max-lease-ttl=TTL       New maximum lease TTL (may exceed the system's).
  -options=K=V             Mount option (repeatable).`;

/** The subcommands `coffer secrets` and `coffer auth` both have, in their help's order. */
export function mountSubcommands(kind: MountKind): Subcommands {
  return {
    enable: (argv) => enableMount(kind, argv),
    disable: (argv) => disableMount(kind, argv),
    list: (argv) => listMounts(kind, argv),
    tune: (argv) => tuneMount(kind, argv),
  };
}

async function enableMount(kind: MountKind, argv: string[]): Promise<number> {
  const ctx = commandContext(argv, ENABLE_FLAGS);
  expectArgs(ctx.args.positional, 1);
  const f = ctx.args.flags;
  const type = ctx.args.positional[0].trim();
  if (!type) throw new UsageError('TYPE must not be empty');
  const path = ensureTrailingSlash(((f.path as string | undefined) || type).trim().replace(/^\/+/, ''));
  const body: Record<string, unknown> = { type, description: (f.description as string | undefined) ?? '', config: ttlFlags(ctx) };
  const options = optionsFlag(ctx);
  if (options) body.options = options;
  await (await ctx.client()).write(`${kind.api}/${path}`, body);
  await out(`${kind.enabled(type, path)}\n`);
  return 0;
}

async function disableMount(kind: MountKind, argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 1);
  const path = mountPath(ctx.args.positional[0]);
  await (await ctx.client()).delete(`${kind.api}/${path}`);
  await out(`Success! Disabled the ${kind.noun} (if it existed) at: ${path}\n`);
  return 0;
}

async function tuneMount(kind: MountKind, argv: string[]): Promise<number> {
  const ctx = commandContext(argv, TUNE_FLAGS);
  expectArgs(ctx.args.positional, 1);
  const f = ctx.args.flags;
  const path = mountPath(ctx.args.positional[0]);
  const body: Record<string, unknown> = ttlFlags(ctx);
  if (typeof f.description === 'string') body.description = f.description;
  const options = optionsFlag(ctx);
  if (options) body.options = options;
  await (await ctx.client()).write(`${kind.api}/${path}tune`, body);
  await out(`Success! Tuned the ${kind.noun} at: ${path}\n`);
  return 0;
}

/** One mount in the shape (and field order) of the vault API client's MountOutput / AuthMount. */
function mountOutput(kind: MountKind, m: Record<string, any>): Record<string, unknown> {
  const cfg = (m.config ?? {}) as Record<string, unknown>;
  const config: Record<string, unknown> = { default_lease_ttl: cfg.default_lease_ttl ?? 0, max_lease_ttl: cfg.max_lease_ttl ?? 0 };
  if (kind === SECRETS) config.force_no_cache = cfg.force_no_cache ?? false;
  for (const [k, v] of Object.entries(cfg)) if (!(k in config) && !(kind === AUTH && k === 'force_no_cache')) config[k] = v;
  const common = {
    uuid: m.uuid ?? '',
    type: m.type ?? '',
    description: m.description ?? '',
    accessor: m.accessor ?? '',
    config,
  };
  const tail = {
    plugin_version: m.plugin_version ?? '',
    running_plugin_version: m.running_plugin_version ?? '',
    running_sha256: m.running_sha256 ?? '',
    deprecation_status: m.deprecation_status ?? '',
  };
  const flags = { local: m.local ?? false, seal_wrap: m.seal_wrap ?? false, external_entropy_access: m.external_entropy_access ?? false };
  return kind === SECRETS
    ? { ...common, options: m.options ?? null, ...flags, ...tail }
    : { ...common, ...flags, options: m.options ?? null, ...tail };
}

/** Vault's calcTTL: no TTL for system/cubbyhole, `system` for 0 (the system default), else seconds. */
function ttlCell(type: string, ttl: unknown): string {
  if (type === 'system' || type === 'cubbyhole') return '';
  return ttl ? String(ttl) : 'system';
}

async function listMounts(kind: MountKind, argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'detailed', kind: 'bool' }]);
  expectArgs(ctx.args.positional, 0);
  const res = await (await ctx.client()).read(kind.api);
  const data = (res?.data ?? {}) as Record<string, Record<string, any>>;
  const paths = Object.keys(data).sort();
  const mounts = Object.fromEntries(paths.map((p) => [p, mountOutput(kind, data[p])]));
  if (ctx.format !== 'table') {
    await out(await structured(mounts, ctx.format));
    return 0;
  }
  const m = (p: string) => mounts[p] as Record<string, any>;
  if (ctx.args.flags.detailed !== true) {
    const header = kind === SECRETS ? ['Path', 'Type', 'Accessor', 'Description'] : ['Path', 'Type', 'Accessor', 'Description', 'Version'];
    const rows = paths.map((p) => {
      const row = [p, m(p).type, m(p).accessor, m(p).description];
      return kind === SECRETS ? row : [...row, m(p).plugin_version];
    });
    await out(table(header, rows));
    return 0;
  }
  const header = [
    'Path', 'Plugin', 'Accessor', 'Default TTL', 'Max TTL', kind === SECRETS ? 'Force No Cache' : 'Token Type', 'Replication',
    'Seal Wrap', 'External Entropy Access', 'Options', 'Description', 'UUID', 'Version', 'Running Version', 'Running SHA256',
    'Deprecation Status',
  ];
  const rows = paths.map((p) => {
    const x = m(p);
    return [
      p,
      x.type,
      x.accessor,
      ttlCell(x.type, x.config.default_lease_ttl),
      ttlCell(x.type, x.config.max_lease_ttl),
      kind === SECRETS ? String(x.config.force_no_cache) : (x.config.token_type ?? 'default-service'),
      x.local ? 'local' : 'replicated',
      String(x.seal_wrap),
      String(x.external_entropy_access),
      goMap(x.options),
      x.description,
      x.uuid,
      x.plugin_version,
      x.running_plugin_version,
      x.running_sha256,
      x.deprecation_status,
    ];
  });
  await out(table(header, rows));
  return 0;
}
