/** `coffer audit enable|disable|list`, like `vault audit`. */
import { expectArgs, inlineWording, runSubcommand } from '../args.js';
import { CONNECTION_HELP, commandContext } from '../context.js';
import { UsageError } from '../../shared/flags.js';
import { parseKeyValues } from '../kvargs.js';
import { ensureTrailingSlash, mountPath } from '../mounts.js';
import { out, structured, table } from '../output.js';

export const help = `Usage: coffer audit <subcommand> [options] [args]

  Interacts with audit devices. coffer has the "file" device: every request and response is written
  to it as one JSON line, with secrets and tokens HMAC'd.

Subcommands:
    enable     Enable an audit device
    disable    Disable an audit device
    list       List enabled audit devices

coffer audit enable [options] TYPE [K=V ...]
  $ coffer audit enable file file_path=/var/log/coffer/audit.log
  Success! Enabled the file audit device at: file/
  $ coffer audit enable -path=stdout-audit -description="to stdout" file file_path=stdout

  -path=PATH               Where to enable it (default: the TYPE).
  -description=TEXT        Human-friendly description.
  -local                   Mark the device local-only (not replicated).
  K=V                      Device options, e.g. file_path=..., mode=0600, hmac_accessor=false,
                           log_raw=false, skip_test=true; K=@FILE reads a value from a file.
                           A test entry is written first: a device that cannot write is refused.

coffer audit disable PATH
  $ coffer audit disable file/
  Success! Disabled audit device (if it was enabled) at: file/
  Works even when no device can record the request (a full disk), so a broken device can be removed.

coffer audit list [-detailed]
  $ coffer audit list
  $ coffer audit list -detailed
  $ coffer audit list -format=json

  -detailed                Also print replication and options.
  -format=FORMAT           table (default), json or yaml.

${CONNECTION_HELP}`;

async function enable(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    { name: 'path', kind: 'string' },
    { name: 'description', kind: 'string' },
    { name: 'local', kind: 'bool' },
  ]);
  const [rawType, ...pairs] = ctx.args.positional;
  const type = rawType?.trim();
  if (!type) throw new UsageError(`audit type missing (expected TYPE [K=V ...]; coffer has the "file" device)`);
  const f = ctx.args.flags;
  const path = ensureTrailingSlash(((f.path as string | undefined) || type).trim().replace(/^\/+/, ''));
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(await parseKeyValues(pairs))) {
    if (Array.isArray(v)) throw new UsageError(`Failed to parse K=V data: option "${k}" given more than once`);
    options[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  await (await ctx.client()).write(`sys/audit/${path}`, {
    type,
    description: (f.description as string | undefined) ?? '',
    options,
    local: f.local === true,
  });
  await out(`Success! Enabled the ${type} audit device at: ${path}\n`);
  return 0;
}

async function disable(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 1);
  const path = mountPath(ctx.args.positional[0]);
  await (await ctx.client()).delete(`sys/audit/${path}`);
  await out(`Success! Disabled audit device (if it was enabled) at: ${path}\n`);
  return 0;
}

async function list(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'detailed', kind: 'bool' }]);
  expectArgs(ctx.args.positional, 0);
  const res = await (await ctx.client()).read('sys/audit');
  const data = (res?.data ?? {}) as Record<string, Record<string, any>>;
  const paths = Object.keys(data).sort();
  // The vault API client's Audit struct, in its field order.
  const devices = Object.fromEntries(
    paths.map((p) => {
      const d = data[p];
      return [p, { type: d.type ?? '', description: d.description ?? '', options: d.options ?? null, local: d.local ?? false, path: d.path ?? p }];
    }),
  );
  if (ctx.format !== 'table') {
    await out(await structured(devices, ctx.format));
    return 0;
  }
  if (paths.length === 0) {
    await out('No audit devices are enabled.\n');
    return 2;
  }
  if (ctx.args.flags.detailed === true) {
    const rows = paths.map((p) => {
      const d = devices[p];
      const opts = Object.keys(d.options ?? {}).sort().map((k) => `${k}=${(d.options as Record<string, string>)[k]}`);
      return [p, d.type, d.description, d.local ? 'local' : 'replicated', opts.join(' ')];
    });
    await out(table(['Path', 'Type', 'Description', 'Replication', 'Options'], rows));
    return 0;
  }
  await out(table(['Path', 'Type', 'Description'], paths.map((p) => [devices[p].path, devices[p].type, devices[p].description])));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, { enable, disable, list }, inlineWording('audit'));
}
