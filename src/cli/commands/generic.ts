/** `read`, `write`, `delete`, `list`, `patch` on any API path, like the vault CLI's generic commands. */
import { expectArgs } from '../args.js';
import { commandContext, CONNECTION_HELP, OUTPUT_HELP, type CommandContext } from '../context.js';
import { UsageError } from '../../shared/flags.js';
import { parseKeyValues } from '../kvargs.js';
import { list as listOutput, out, printSecret, structured } from '../output.js';
import type { Envelope } from '../../client/client.js';

export const readHelp = `Usage: coffer read [options] PATH [KEY=VALUE ...]

  Reads data from coffer at the given path. Extra KEY=VALUE pairs are sent as query parameters.

  $ coffer read secret/data/my-api/config
  $ coffer read -field=password secret/data/my-api/config
  $ coffer read -format=json sys/mounts

${OUTPUT_HELP}
${CONNECTION_HELP}`;

export const writeHelp = `Usage: coffer write [options] PATH [KEY=VALUE ...]

  Writes data to the given path. KEY=@FILE reads a value from a file, KEY=- from stdin, and a lone "-"
  reads a JSON object from stdin as the whole request body. A key given twice becomes a list.

  $ coffer write secret/my-app password="s3cr3t pass"
  $ coffer write auth/token/create policies=default policies=dev ttl=1h
  $ echo '{"data":{"a":"b"}}' | coffer write secret/data/app -

Options:
  -force                 Allow a write with no data.
${OUTPUT_HELP}
${CONNECTION_HELP}`;

export const deleteHelp = `Usage: coffer delete [options] PATH [KEY=VALUE ...]

  Deletes data at the given path.

  $ coffer delete secret/my-app

${CONNECTION_HELP}`;

export const listHelp = `Usage: coffer list [options] PATH

  Lists the keys under a path.

  $ coffer list secret/metadata/

${OUTPUT_HELP}
${CONNECTION_HELP}`;

export const patchHelp = `Usage: coffer patch [options] PATH [KEY=VALUE ...]

  Patches data at the given path with a JSON merge patch (the server must support PATCH for the path).

  $ coffer patch secret/data/app data=-  <<< '{"a":"new"}'

${OUTPUT_HELP}
${CONNECTION_HELP}`;

/** Prints a response in the requested format; `emptyMessage` stands in for a response with nothing to show. */
async function printResponse(ctx: CommandContext, res: Envelope | null, emptyMessage: string): Promise<number> {
  const empty = emptyMessage ? `${emptyMessage}\n` : '';
  if (!res) {
    if (ctx.field) throw new UsageError('-field was given but the response had no data');
    await out(empty);
    return 0;
  }
  return printSecret(ctx, res, empty);
}

/** The PATH argument (without leading slashes) and the KEY=VALUE arguments after it. */
function onePath(ctx: CommandContext, max = Infinity): [string, string[]] {
  const [path, ...rest] = expectArgs(ctx.args.positional, 1, max);
  return [path.replace(/^\/+/, ''), rest];
}

export async function runRead(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  const [path, rest] = onePath(ctx);
  const query = Object.fromEntries(Object.entries(await parseKeyValues(rest)).map(([k, v]) => [k, String(v)]));
  const client = await ctx.client();
  const res = await client.read(path, query);
  if (!res) {
    process.stderr.write(`No value found at ${path}\n`);
    return 2;
  }
  return printResponse(ctx, res, '');
}

export async function runWrite(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'force', kind: 'bool' }, { name: 'f', kind: 'bool' }]);
  const [path, rest] = onePath(ctx);
  const data = await parseKeyValues(rest);
  const force = ctx.args.flags.force === true || ctx.args.flags.f === true;
  if (Object.keys(data).length === 0 && !force) throw new UsageError('must supply data or use -force');
  const res = await (await ctx.client()).write(path, data);
  return printResponse(ctx, res, `Success! Data written to: ${path}`);
}

export async function runDelete(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  const [path, rest] = onePath(ctx);
  const query = Object.fromEntries(Object.entries(await parseKeyValues(rest)).map(([k, v]) => [k, String(v)]));
  await (await ctx.client()).delete(path, query);
  await out(`Success! Data deleted (if it existed) at: ${path}\n`);
  return 0;
}

export async function runList(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  const [path] = onePath(ctx, 1);
  const res = await (await ctx.client()).list(path);
  const keys = res?.data?.keys ?? [];
  if (!res || keys.length === 0) {
    process.stderr.write(`No value found at ${path.endsWith('/') ? path : `${path}/`}\n`);
    return 2;
  }
  if (ctx.format !== 'table') await out(await structured(keys, ctx.format));
  else await out(listOutput(keys));
  return 0;
}

export async function runPatch(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  const [path, rest] = onePath(ctx);
  const data = await parseKeyValues(rest);
  if (Object.keys(data).length === 0) throw new UsageError('must supply data');
  const res = await (await ctx.client()).patch(path, data);
  return printResponse(ctx, res, `Success! Data patched at: ${path}`);
}
