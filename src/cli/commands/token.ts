/** `coffer token create|lookup|renew|revoke|capabilities`, with the vault CLI's flags, output and messages. */
import { durationFlag, expectArgs, intFlag, listedWording, listFlag, runSubcommand } from '../args.js';
import { commandContext, CONNECTION_HELP, OUTPUT_HELP } from '../context.js';
import { api } from '../errors.js';
import { type FlagSpec, UsageError } from '../../shared/flags.js';
import { out, printSecret, structured } from '../output.js';

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
  expectArgs(ctx.args.positional, 0);
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
  const res = await api('Error creating token', async () => (await ctx.client()).write(path, body));
  return printSecret(ctx, res);
}

async function lookup(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'accessor', kind: 'bool' }]);
  const args = ctx.args.positional;
  const accessor = ctx.args.flags.accessor === true;
  expectArgs(args, accessor ? 1 : 0, 1);
  const token = args[0]?.trim() ?? '';
  const res = await api('Error looking up token', async () => {
    const client = await ctx.client();
    if (accessor) return client.write('auth/token/lookup-accessor', { accessor: token });
    if (token === '') return (await client.call('GET', 'auth/token/lookup-self')).json ?? null;
    return client.write('auth/token/lookup', { token });
  });
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
  expectArgs(args, accessor ? 1 : 0, 1);
  const token = args[0]?.trim() ?? '';
  const increment = durationFlag(ctx, 'increment') ?? durationFlag(ctx, 'i') ?? 0;
  const res = await api('Error renewing token', async () => {
    const client = await ctx.client();
    if (accessor) return client.write('auth/token/renew-accessor', { accessor: token, increment });
    if (token === '') return client.write('auth/token/renew-self', { increment });
    return client.write('auth/token/renew', { token, increment });
  });
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
  await api('Error revoking token', async () => {
    const client = await ctx.client();
    if (self) await client.write('auth/token/revoke-self', {});
    else if (accessor) await client.write('auth/token/revoke-accessor', { accessor: token });
    else if (mode === 'orphan') await client.write('auth/token/revoke-orphan', { token });
    else if (mode === 'path') await client.call('PUT', `sys/leases/revoke-prefix/${token.replace(/^\/+/, '')}`, { body: {} }); // a PUT, as vault sends it
    else await client.write('auth/token/revoke', { token });
  });
  await out('Success! Revoked token (if it existed)\n');
  return 0;
}

async function capabilities(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'accessor', kind: 'bool' }]);
  const args = ctx.args.positional;
  expectArgs(args, 1, 2);
  const [token, path] = args.length === 2 ? [args[0].trim(), args[1]] : ['', args[0]];
  const accessor = ctx.args.flags.accessor === true;
  if (accessor && token === '') throw new UsageError('Not enough arguments (expected 2 with -accessor, got 1)');
  const key = path.replace(/^\/+/, '');
  const res = await api('Error listing capabilities', async () => {
    const client = await ctx.client();
    if (token === '') return client.write('sys/capabilities-self', { paths: [path] });
    if (accessor) return client.write('sys/capabilities-accessor', { accessor: token, paths: [path] });
    return client.write('sys/capabilities', { token, paths: [path] });
  });
  const data = (res?.data ?? {}) as Record<string, unknown>;
  const forPath = Array.isArray(data[key]) ? (data[key] as string[]) : undefined;
  const caps = forPath?.length ? forPath : Array.isArray(data.capabilities) ? (data.capabilities as string[]) : forPath;
  if (!caps) {
    process.stderr.write('No capabilities found\n');
    return 1;
  }
  if (ctx.format !== 'table') await out(await structured(caps, ctx.format));
  else await out(`${[...caps].sort().join(', ')}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, { create, lookup, renew, revoke, capabilities }, listedWording('token'));
}
