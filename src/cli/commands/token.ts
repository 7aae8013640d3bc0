/**
 * `coffer token create|lookup|renew|revoke|capabilities`, with the vault CLI's flags, output and messages.
 *
 * Also shared with `login` and `lease`: printing a response the way the vault CLI's OutputSecret does
 * (lease fields, token fields with Go-quoted policy lists, data keys sorted, TTL-like keys as durations)
 * and reading duration flags.
 */
import { commandContext, CONNECTION_HELP, OUTPUT_HELP, out, type CommandContext } from '../context.js';
import { type FlagSpec, UsageError } from '../flags.js';
import { FieldMissingError, fieldValue, formatSeconds, goValue, structured } from '../output.js';
import { flattenAuth } from './generic.js';
import { columns, failed, wrapAtLength } from './status.js';
import type { Envelope } from '../../client/client.js';

export const help = `Usage: coffer token <subcommand> [options] [args]

  Interacts with tokens: create, look up, renew and revoke them, and list their capabilities on a path.

  Create a token with two policies, a one-hour TTL and metadata, printing only the token:

      $ coffer token create -policy=app -policy=default -ttl=1h -metadata=team=payments -field=token

  Look up the calling token, another token, or a token by accessor:

      $ coffer token lookup
      $ coffer token lookup cfs.4ZoXm...
      $ coffer token lookup -accessor 9bq2lUK...

  Renew a token (or the calling one) for 30 minutes; revoke a token, its accessor, or the calling token:

      $ coffer token renew -increment=30m cfs.4ZoXm...
      $ coffer token revoke cfs.4ZoXm...
      $ coffer token revoke -accessor 9bq2lUK...
      $ coffer token revoke -self

  List the capabilities of a token (or the calling token) on a path:

      $ coffer token capabilities cfs.4ZoXm... secret/data/app/config
      $ coffer token capabilities secret/data/app/config

Subcommands:
    create          Create a new token
    lookup          Display information about a token
    renew           Renew a token
    revoke          Revoke a token and its children
    capabilities    Print the capabilities of a token on a path

Create options:
  -policy=NAME             Policy of the token; repeat (or separate with commas) for several.
  -ttl=DURATION            Initial TTL (e.g. 30m, 1h, 3600).
  -explicit-max-ttl=DUR    Hard limit the token can never be renewed past.
  -period=DURATION         Make a periodic token renewed by this period with no maximum TTL.
  -use-limit=N             Number of uses before the token is revoked (0 means unlimited).
  -orphan                  Create the token with no parent.
  -renewable=BOOL          Whether the token can be renewed (default true).
  -display-name=NAME       Name shown in the token's metadata.
  -metadata=KEY=VALUE      Metadata of the token; repeat for several.
  -role=NAME               Create the token against this token role.
  -no-default-policy       Do not attach the "default" policy.
  -id=ID                   Value of the token (root only).
  -type=TYPE               Token type (only "service").

Lookup, renew, revoke and capabilities options:
  -accessor                Treat the argument as a token accessor.
  -increment=DURATION      (renew) Requested TTL extension; also -i.
  -self                    (revoke) Revoke the calling token.
  -mode=MODE               (revoke) "orphan" keeps the children; "path" revokes every token created on a path.

${OUTPUT_HELP}
${CONNECTION_HELP}`;

// --- shared output --------------------------------------------------------------------------------------

/** Go's `%q` of a []string (`["a" "b"]`), as the vault CLI prints policy lists. */
export function goQuotedList(list: unknown): string {
  if (!Array.isArray(list)) return '[]';
  return `[${list.map((p) => JSON.stringify(String(p))).join(' ')}]`;
}

const looksLikeDuration = (k: string) =>
  k === 'period' || k.endsWith('_period') || k === 'ttl' || k.endsWith('_ttl') || k === 'duration' || k.endsWith('_duration') || k === 'lease_max' || k === 'ttl_max';

/** Go's %v of one table value; TTL-like keys with whole-second numbers print as durations (`768h`, `0s`). */
function cell(key: string, value: unknown): string {
  if (looksLikeDuration(key) && typeof value === 'number' && Number.isInteger(value)) return formatSeconds(value);
  return goValue(value);
}

/** The rows of the vault CLI's table for a response (lease, auth, data), or [] when there is nothing. */
export function secretRows(res: Partial<Envelope>): [string, string][] {
  const rows: [string, string][] = [];
  if (res.lease_duration && res.lease_duration > 0) {
    if (res.lease_id) {
      rows.push(['lease_id', res.lease_id]);
      rows.push(['lease_duration', formatSeconds(res.lease_duration)]);
      rows.push(['lease_renewable', String(res.renewable ?? false)]);
    } else {
      rows.push(['refresh_interval', formatSeconds(res.lease_duration)]);
    }
  }
  const auth = res.auth as Record<string, any> | null | undefined;
  if (auth) {
    rows.push(['token', String(auth.client_token ?? '')]);
    rows.push(['token_accessor', String(auth.accessor ?? '')]);
    rows.push(['token_duration', auth.lease_duration ? formatSeconds(auth.lease_duration) : '∞']);
    rows.push(['token_renewable', String(auth.renewable ?? false)]);
    rows.push(['token_policies', goQuotedList(auth.token_policies ?? auth.policies)]);
    rows.push(['identity_policies', goQuotedList(auth.identity_policies)]);
    rows.push(['policies', goQuotedList(auth.policies)]);
    const meta = (auth.metadata ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(meta).sort()) rows.push([`token_meta_${k}`, goValue(meta[k])]);
  }
  const data = (res.data ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(data).sort()) rows.push([k, cell(k, data[k])]);
  return rows;
}

/** Warnings on stderr, worded and indented like the vault CLI's. */
export function printWarnings(warnings: string[] | null | undefined): void {
  if (!warnings?.length) return;
  process.stderr.write(
    'WARNING! The following warnings were returned from coffer:\n\n' + warnings.map((w) => `${wrapAtLength(`* ${w}`, 2)}\n\n`).join(''),
  );
}

/** A response as the vault CLI prints it: `-field`, then json/yaml (the whole envelope), else the table. */
export async function printSecret(ctx: CommandContext, res: Envelope | null): Promise<number> {
  if (ctx.field) {
    if (!res) throw new FieldMissingError(ctx.field);
    const source = res.auth ? { ...(res.data ?? {}), ...flattenAuth(res.auth), identity_policies: (res.auth as any).identity_policies ?? [] } : (res.data ?? {});
    await out(fieldValue(source, ctx.field));
    return 0;
  }
  if (!res) return 0;
  if (ctx.format !== 'table') {
    await out(await structured(res, ctx.format));
    return 0;
  }
  printWarnings(res.warnings);
  const rows = secretRows(res);
  await out(rows.length ? columns(rows) : '');
  return 0;
}

// --- shared flag helpers --------------------------------------------------------------------------------

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/** A duration flag as the vault CLI reads it (`90`, `90s`, `1h30m`, `2d`), in whole seconds. */
export function durationFlag(ctx: CommandContext, name: string): number | undefined {
  const raw = ctx.args.flags[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (/^\d+$/.test(text)) return parseInt(text, 10);
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    total += parseFloat(match[1]) * UNIT_SECONDS[match[2]];
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw new UsageError(`invalid value "${text}" for flag -${name}: time: invalid duration "${text}"`);
  return Math.floor(total);
}

/** A whole-number flag (`-use-limit=3`). */
export function intFlag(ctx: CommandContext, name: string): number | undefined {
  const raw = ctx.args.flags[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (!/^-?\d+$/.test(text)) throw new UsageError(`invalid value "${text}" for flag -${name}: parse error`);
  return parseInt(text, 10);
}

/** Repeatable string flags, each value also split on commas (the vault CLI's string-slice flags). */
export function listFlag(ctx: CommandContext, name: string): string[] | undefined {
  const raw = ctx.args.flags[name] as string[] | undefined;
  if (raw === undefined) return undefined;
  return raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

function argCount(args: string[], min: number, max: number): void {
  const expected = min === max ? `${min}` : `${min}-${max}`;
  if (args.length < min) throw new UsageError(`Not enough arguments (expected ${expected}, got ${args.length})`);
  if (args.length > max) throw new UsageError(`Too many arguments (expected ${expected}, got ${args.length})`);
}

// --- subcommands ----------------------------------------------------------------------------------------

const CREATE_FLAGS: FlagSpec[] = [
  { name: 'id', kind: 'string' },
  { name: 'display-name', kind: 'string' },
  { name: 'ttl', kind: 'string' },
  { name: 'explicit-max-ttl', kind: 'string' },
  { name: 'period', kind: 'string' },
  { name: 'renewable', kind: 'bool' },
  { name: 'orphan', kind: 'bool' },
  { name: 'no-default-policy', kind: 'bool' },
  { name: 'use-limit', kind: 'string' },
  { name: 'role', kind: 'string' },
  { name: 'type', kind: 'string' },
  { name: 'policy', kind: 'string', multiple: true },
  { name: 'metadata', kind: 'string', multiple: true },
];

async function create(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, CREATE_FLAGS);
  argCount(ctx.args.positional, 0, 0);
  const f = ctx.args.flags;
  const body: Record<string, unknown> = {};
  const policies = listFlag(ctx, 'policy');
  if (policies) body.policies = policies;
  const meta = f.metadata as string[] | undefined;
  if (meta) {
    const map: Record<string, string> = {};
    for (const kv of meta) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid value "${kv}" for flag -metadata: must be key=value`);
      map[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    body.meta = map;
  }
  for (const [flag, field] of [['ttl', 'ttl'], ['explicit-max-ttl', 'explicit_max_ttl'], ['period', 'period']] as const) {
    const seconds = durationFlag(ctx, flag);
    if (seconds !== undefined) body[field] = `${seconds}s`;
  }
  const uses = intFlag(ctx, 'use-limit');
  if (uses !== undefined) body.num_uses = uses;
  if (f.orphan === true) body.no_parent = true;
  if (f['no-default-policy'] === true) body.no_default_policy = true;
  if (f.renewable !== undefined) body.renewable = f.renewable;
  if (typeof f['display-name'] === 'string') body.display_name = f['display-name'];
  if (typeof f.id === 'string') body.id = f.id;
  if (typeof f.type === 'string') body.type = f.type;
  const path =
    typeof f.role === 'string' && f.role !== ''
      ? `auth/token/create/${encodeURIComponent(f.role)}`
      : f.orphan === true
        ? 'auth/token/create-orphan'
        : 'auth/token/create';
  let res: Envelope | null;
  try {
    res = await (await ctx.client()).write(path, body);
  } catch (e) {
    return failed('Error creating token', e);
  }
  return printSecret(ctx, res);
}

async function lookup(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'accessor', kind: 'bool' }]);
  const args = ctx.args.positional;
  const accessor = ctx.args.flags.accessor === true;
  argCount(args, accessor ? 1 : 0, 1);
  const token = args[0]?.trim() ?? '';
  let res: Envelope | null;
  try {
    const client = await ctx.client();
    if (accessor) res = await client.write('auth/token/lookup-accessor', { accessor: token });
    else if (token === '') res = (await client.call('GET', 'auth/token/lookup-self')).json ?? null;
    else res = await client.write('auth/token/lookup', { token });
  } catch (e) {
    return failed('Error looking up token', e);
  }
  return printSecret(ctx, res);
}

async function renew(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    { name: 'increment', kind: 'string' },
    { name: 'i', kind: 'string' },
    { name: 'accessor', kind: 'bool' },
  ]);
  const args = ctx.args.positional;
  const accessor = ctx.args.flags.accessor === true;
  argCount(args, accessor ? 1 : 0, 1);
  const token = args[0]?.trim() ?? '';
  const increment = durationFlag(ctx, 'increment') ?? durationFlag(ctx, 'i') ?? 0;
  let res: Envelope | null;
  try {
    const client = await ctx.client();
    if (accessor) res = await client.write('auth/token/renew-accessor', { accessor: token, increment });
    else if (token === '') res = await client.write('auth/token/renew-self', { increment });
    else res = await client.write('auth/token/renew', { token, increment });
  } catch (e) {
    return failed('Error renewing token', e);
  }
  return printSecret(ctx, res);
}

async function revoke(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    { name: 'accessor', kind: 'bool' },
    { name: 'self', kind: 'bool' },
    { name: 'mode', kind: 'string' },
  ]);
  const args = ctx.args.positional;
  const accessor = ctx.args.flags.accessor === true;
  const self = ctx.args.flags.self === true;
  const mode = (ctx.args.flags.mode as string | undefined) ?? '';
  if (!['', 'orphan', 'path'].includes(mode)) throw new UsageError(`Invalid mode: ${mode}`);
  if (self && args.length > 0) throw new UsageError(`Too many arguments with -self (expected 0, got ${args.length})`);
  if (!self && args.length > 1) throw new UsageError(`Too many arguments (expected 1 or -self, got ${args.length})`);
  if (!self && args.length < 1) throw new UsageError(`Not enough arguments (expected 1 or -self, got ${args.length})`);
  if (self && accessor) throw new UsageError('Cannot use -self with -accessor!');
  if (self && mode) throw new UsageError('Cannot use -self with -mode!');
  if (accessor && mode) throw new UsageError(`Cannot use -accessor with -mode=${mode}!`);
  const token = args[0]?.trim() ?? '';
  try {
    const client = await ctx.client();
    if (self) await client.write('auth/token/revoke-self', {});
    else if (accessor) await client.write('auth/token/revoke-accessor', { accessor: token });
    else if (mode === 'orphan') await client.write('auth/token/revoke-orphan', { token });
    else if (mode === 'path') await client.write(`sys/leases/revoke-prefix/${token.replace(/^\/+/, '')}`, {});
    else await client.write('auth/token/revoke', { token });
  } catch (e) {
    return failed('Error revoking token', e);
  }
  await out('Success! Revoked token (if it existed)\n');
  return 0;
}

async function capabilities(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'accessor', kind: 'bool' }]);
  const args = ctx.args.positional;
  argCount(args, 1, 2);
  const [token, path] = args.length === 2 ? [args[0].trim(), args[1]] : ['', args[0]];
  const accessor = ctx.args.flags.accessor === true;
  if (accessor && token === '') throw new UsageError('Not enough arguments (expected 2 with -accessor, got 1)');
  const key = path.replace(/^\/+/, '');
  let caps: string[] | undefined;
  try {
    const client = await ctx.client();
    const res =
      token === ''
        ? await client.write('sys/capabilities-self', { paths: [path] })
        : accessor
          ? await client.write('sys/capabilities-accessor', { accessor: token, paths: [path] })
          : await client.write('sys/capabilities', { token, paths: [path] });
    const data = (res?.data ?? {}) as Record<string, unknown>;
    const forPath = Array.isArray(data[key]) ? (data[key] as string[]) : undefined;
    caps = forPath?.length ? forPath : Array.isArray(data.capabilities) ? (data.capabilities as string[]) : forPath;
  } catch (e) {
    return failed('Error listing capabilities', e);
  }
  if (!caps) {
    process.stderr.write('No capabilities found\n');
    return 1;
  }
  if (ctx.format !== 'table') await out(await structured(caps, ctx.format));
  else await out(`${[...caps].sort().join(', ')}\n`);
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { create, lookup, renew, revoke, capabilities };

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub) throw new UsageError('Missing subcommand: expected one of create, lookup, renew, revoke, capabilities');
  const handler = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!handler) throw new UsageError(`Unknown subcommand "token ${sub}"`);
  return handler(rest);
}
