/** `read`, `write`, `delete`, `list`, `patch` on any API path, like the vault CLI's generic commands. */
import { commandContext, CONNECTION_HELP, OUTPUT_HELP, out, type CommandContext } from '../context.js';
import { UsageError } from '../flags.js';
import { parseKeyValues } from '../kvargs.js';
import { fieldValue, list as listOutput, secretRows, structured, table, warningsText } from '../output.js';
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

/** Prints a response in the requested format; with -field, the field comes from data (or auth). */
export async function printResponse(ctx: CommandContext, res: Envelope | null, emptyMessage: string): Promise<number> {
  if (!res) {
    if (ctx.field) throw new UsageError('-field was given but the response had no data');
    await out(emptyMessage ? `${emptyMessage}\n` : '');
    return 0;
  }
  if (ctx.field) {
    const source = res.auth ? flattenAuth(res.auth) : (res.data ?? {});
    await out(fieldValue(source, ctx.field));
    return 0;
  }
  if (ctx.format !== 'table') {
    await out(await structured(res, ctx.format));
    return 0;
  }
  process.stderr.write(warningsText(res.warnings));
  const rows = secretRows(res);
  await out(rows.length ? table(rows) : emptyMessage ? `${emptyMessage}\n` : '');
  return 0;
}

/** `-field=token` and friends on token responses, as the vault CLI names them. */
export function flattenAuth(auth: Record<string, any>): Record<string, unknown> {
  return {
    token: auth.client_token,
    token_accessor: auth.accessor,
    token_duration: auth.lease_duration,
    token_renewable: auth.renewable,
    token_policies: auth.token_policies,
    policies: auth.policies,
  };
}

function onePath(ctx: CommandContext): [string, string[]] {
  const [path, ...rest] = ctx.args.positional;
  if (!path) throw new UsageError('missing PATH argument');
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
  const [path, rest] = onePath(ctx);
  if (rest.length) throw new UsageError(`too many arguments: list takes only a PATH`);
  const res = await (await ctx.client()).list(path);
  const keys = res?.data?.keys ?? [];
  if (!res || keys.length === 0) {
    process.stderr.write(`No value found at ${path.endsWith('/') ? path : `${path}/`}\n`);
    return 2;
  }
  if (ctx.format !== 'table') await out(await structured(ctx.format === 'json' ? keys : keys, ctx.format));
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
