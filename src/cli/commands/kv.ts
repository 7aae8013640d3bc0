/**
 * `coffer kv get|put|patch|delete|undelete|destroy|list|metadata get|put|delete`, as the vault CLI has them.
 *
 * Every subcommand first asks `sys/internal/ui/mounts/:path` which mount serves the path and whether it is
 * KV version 1 or 2; on v2 it inserts the API prefix (`data/`, `metadata/`, `delete/`, `undelete/`,
 * `destroy/`) after the mount path, so `coffer kv get secret/my-api/config` reads `secret/data/my-api/config`.
 * Paths, messages, headers and exit codes follow the vault CLI's `kv` commands.
 */
import { durationFlag, expectArgs, helpWording, intFlag, listFlag, runSubcommand, type Subcommands } from '../args.js';
import { commandContext, CONNECTION_HELP, OUTPUT_HELP, type CommandContext } from '../context.js';
import { api, CommandFailure, failure } from '../errors.js';
import { type FlagSpec, UsageError } from '../../shared/flags.js';
import { parseKeyValues } from '../kvargs.js';
import { fieldValue, list as listOutput, mapTable, out, printFieldOrFormat, printSecret, structured, warningsText } from '../output.js';
import type { CofferClient, Envelope } from '../../client/client.js';
import { CofferApiError } from '../../client/errors.js';

export const help = `Usage: coffer kv <subcommand> [options] [args]

  Interacts with the key/value secrets engine, version 1 or 2. The version of the mount is detected, so
  the same commands work on both; on a version 2 mount the API prefix (data/, metadata/, ...) is added
  after the mount path. The path may include the mount (secret/my-api/config) or the mount may be given
  with -mount (-mount=secret my-api/config).

Subcommands:
    get         Retrieves data from the KV store
    put         Sets or updates data in the KV store (a new version on v2)
    patch       Sets or updates data in the KV store without overwriting (v2 only)
    delete      Deletes versions in the KV store
    undelete    Undeletes versions in the KV store (v2 only)
    destroy     Permanently removes one or more versions in the KV store (v2 only)
    list        List data or secrets
    metadata    Interact with key metadata: get, put, delete (v2 only)

kv get [options] KEY
  Reads the latest version, or the one given by -version.

      $ coffer kv get secret/my-api/config
      $ coffer kv get -mount=secret -version=1 my-api/config
      $ coffer kv get -field=password secret/my-api/config > password.txt

  -version=N             The version to read (default: the latest).

kv put [options] KEY K=V...
  Writes the data (replacing all of it). K=@FILE reads a value from a file, K=- from stdin, a lone "-"
  reads a JSON object from stdin; a key given twice becomes a list.

      $ coffer kv put secret/my-api/config user=admin password="s3cr3t pass"
      $ coffer kv put -mount=secret -cas=1 my-api/config password=@password.txt
      $ echo '{"user":"admin"}' | coffer kv put secret/my-api/config -

  -cas=N                 Check-and-set: write only if the current version is N (0: only if absent).

kv patch [options] KEY K=V...
  Updates the given keys of the latest version, keeping the others (writes a new version).

      $ coffer kv patch secret/my-api/config password=n3w
      $ coffer kv patch -method=rw -remove-data=old_key secret/my-api/config user=root

  -cas=N                 Check-and-set: patch only if the current version is N.
  -method=patch|rw       "patch" sends an HTTP PATCH; "rw" reads, merges locally and writes back.
                         Default: PATCH, falling back to "rw" when the server or policy refuses PATCH.
  -remove-data=KEY       Remove this key from the data (repeatable).

kv delete [options] KEY
  Deletes the latest version (v2: a soft delete, see undelete), or the versions given by -versions.

      $ coffer kv delete secret/my-api/config
      $ coffer kv delete -versions=1,2 secret/my-api/config

  -versions=N,M          Versions to delete (repeatable, comma-separated).

kv undelete -versions=N,M [options] KEY
  Restores deleted versions.

      $ coffer kv undelete -versions=2 secret/my-api/config

kv destroy -versions=N,M [options] KEY
  Permanently removes the data of the given versions.

      $ coffer kv destroy -versions=1 secret/my-api/config

kv list [options] PATH
  Lists the keys under a path (folders end in "/").

      $ coffer kv list secret/my-api
      $ coffer kv list -mount=secret

kv metadata get [options] KEY
  Shows a key's settings and the history of its versions.

      $ coffer kv metadata get secret/my-api/config

kv metadata put [options] KEY
  Changes a key's settings.

      $ coffer kv metadata put -max-versions=5 -cas-required secret/my-api/config
      $ coffer kv metadata put -custom-metadata=owner=ops -custom-metadata="team=platform a" secret/my-api/config

  -max-versions=N        Versions to keep (0: the mount's setting).
  -cas-required          Require -cas on every write to this key (-cas-required=false to clear).
  -delete-version-after=DURATION
                         Delete each version this long after it is written (e.g. 768h; 0s: never).
  -custom-metadata=K=V   Custom metadata (repeatable; replaces all custom metadata).

kv metadata delete [options] KEY
  Permanently deletes the key, its metadata and all its versions.

      $ coffer kv metadata delete secret/my-api/config

Common options:
  -mount=PATH            The mount of the KV engine; the argument is then the path inside the mount.

${OUTPUT_HELP}
${CONNECTION_HELP}`;

const MOUNT: FlagSpec = { name: 'mount', kind: 'string' };
const VERSIONS: FlagSpec = { name: 'versions', kind: 'string', multiple: true };

const SUBCOMMANDS: Subcommands = {
  get: kvGet,
  put: kvPut,
  patch: kvPatch,
  delete: kvDelete,
  undelete: (argv) => kvVersions(argv, 'undelete'),
  destroy: (argv) => kvVersions(argv, 'destroy'),
  list: kvList,
  metadata: kvMetadata,
};

const METADATA_SUBCOMMANDS: Subcommands = {
  get: metadataGet,
  put: metadataPut,
  delete: metadataDelete,
};

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, SUBCOMMANDS, helpWording('kv'));
}

// ---------------------------------------------------------------------------------------------------------
// Paths, as the vault CLI's kv helpers build them.

/** Go's path.Clean of a relative or rooted slash path. */
function cleanPath(p: string): string {
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const joined = (rooted ? '/' : '') + parts.join('/');
  return joined || (rooted ? '/' : '.');
}

/** Go's path.Join: the non-empty elements joined with "/" and cleaned ("" when all are empty). */
function joinPath(...elems: string[]): string {
  const nonEmpty = elems.filter((e) => e !== '');
  return nonEmpty.length ? cleanPath(nonEmpty.join('/')) : '';
}

/** No leading or trailing slashes. */
function sanitizePath(p: string): string {
  return p.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Inserts the API prefix after the mount path: `secret/foo` on mount `secret/` → `secret/data/foo`. */
function addPrefixToKVPath(p: string, mountPath: string, apiPrefix: string): string {
  if (p === mountPath || p === mountPath.replace(/\/$/, '')) return joinPath(mountPath, apiPrefix);
  let mount = mountPath;
  let suffix = p.startsWith(mount) ? p.slice(mount.length) : p;
  // When the argument does not start with the whole mount path (only possible with nested mount paths the
  // server reports differently), drop leading segments of the mount path until it does, like Vault.
  while (suffix === p) {
    const slash = mount.indexOf('/');
    if (slash === -1 || slash === mount.length - 1) break;
    mount = mount.slice(slash + 1).replace(/\/$/, '');
    if (suffix.startsWith(mount)) suffix = suffix.slice(mount.length);
  }
  return joinPath(mount, apiPrefix, suffix);
}

interface Target {
  /** The path as given (sanitized), joined to the mount path when -mount was used on a v2 mount. */
  partial: string;
  /** The mount's path as the server reports it (`secret/`); '' when the server does not say. */
  mountPath: string;
  v2: boolean;
  mountFlag: boolean;
}

/** The mount serving a path and its KV version, from `sys/internal/ui/mounts/:path` (404: assume v1). */
async function preflight(client: CofferClient, lookup: string): Promise<{ mountPath: string; v2: boolean }> {
  let info: Awaited<ReturnType<CofferClient['mountInfo']>>;
  try {
    info = await client.mountInfo(lookup);
  } catch (err) {
    // Like the vault CLI, the preflight's error is printed as it is.
    if (err instanceof CofferApiError) throw new CommandFailure(err.message);
    throw err;
  }
  if (!info) return { mountPath: '', v2: false };
  const version = info.options?.version ?? '';
  // A `kv-v2` mount type is always versioned (Vault reports it with options.version "2" anyway).
  return { mountPath: info.path ?? '', v2: version === '2' || info.type === 'kv-v2' };
}

/**
 * Resolves the KEY argument. `trimAll` strips every leading and trailing slash (most commands); `kv get`
 * trims only one leading slash, like Vault.
 */
async function resolveTarget(ctx: CommandContext, client: CofferClient, arg: string, trimAll = true): Promise<Target> {
  const mountFlagValue = ctx.args.flags.mount;
  const mountFlag = typeof mountFlagValue === 'string' && mountFlagValue !== '';
  let partial = trimAll ? sanitizePath(arg) : arg.replace(/^\//, '');
  if (mountFlag) {
    const mount = sanitizePath(mountFlagValue as string);
    const { mountPath, v2 } = await preflight(client, mount);
    // A server that does not report the mount's path: keep the one the user named.
    const effectiveMount = mountPath || `${mount}/`;
    if (v2) partial = joinPath(effectiveMount, partial);
    return { partial, mountPath: effectiveMount, v2, mountFlag };
  }
  const { mountPath, v2 } = await preflight(client, partial);
  return { partial, mountPath, v2, mountFlag };
}

/** The v1 API path: the argument itself, or mount + argument with -mount. */
function v1Path(t: Target): string {
  return t.mountFlag ? joinPath(t.mountPath, t.partial) : t.partial;
}

// ---------------------------------------------------------------------------------------------------------
// Output helpers matching the vault CLI's table formatter.

/** Go's padEqualSigns: `== Title ==` spanning about `totalLen` characters. */
function padEqualSigns(header: string, totalLen: number): string {
  let signs = totalLen - (Buffer.byteLength(header) + 2);
  if (signs <= 0) signs = 4;
  if (signs % 2 !== 0) signs += 1;
  const side = '='.repeat(signs / 2);
  return `${side} ${header} ${side}`;
}

/** The header Vault prints above a Key/Value table of `data`: as wide as the longest key plus "    Value". */
function headerForMap(header: string, data: Record<string, unknown>): string {
  const maxKey = Math.max(0, ...Object.keys(data).map((k) => Buffer.byteLength(k)));
  return padEqualSigns(header, maxKey + 4 + 5);
}

/** `== Secret Path ==` and the path, then a blank line. */
function pathBlock(title: string, path: string): string {
  return `${padEqualSigns(title, Buffer.byteLength(path))}\n${path}\n\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `data` of a response, as -field and the tables read it (a list or a string counts as no data). */
const dataOf = (res: Envelope): Record<string, unknown> => (isObject(res.data) ? res.data : {});

/**
 * A KV read as the vault CLI does it: a 404 that still carries data or warnings (a deleted or destroyed
 * v2 version answers 404 with its metadata) is a response; a bare 404 is "no value".
 */
async function kvRead(client: CofferClient, path: string, query?: Record<string, string>): Promise<Envelope | null> {
  try {
    return ((await client.call('GET', path, { query })).json ?? null) as Envelope | null;
  } catch (err) {
    if (err instanceof CofferApiError && err.status === 404) {
      const body = err.body as Envelope | undefined;
      const hasData = isObject(body?.data) && Object.keys(body!.data!).length > 0;
      return body && (hasData || (body.warnings?.length ?? 0) > 0) ? body : null;
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Subcommands.

async function kvGet(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [MOUNT, { name: 'version', kind: 'string' }]);
  const [arg] = expectArgs(ctx.args.positional, 1);
  const version = intFlag(ctx, 'version');
  const client = await ctx.client();
  const t = await resolveTarget(ctx, client, arg, false);
  const fullPath = t.v2 ? addPrefixToKVPath(t.partial, t.mountPath, 'data') : v1Path(t);
  const query = t.v2 && version !== undefined && version > 0 ? { version: String(version) } : undefined;
  const res = await api(`Error reading ${fullPath}`, () => kvRead(client, fullPath, query));
  if (!res) throw new CommandFailure(`No value found at ${fullPath}`);
  if (res.wrap_info) return printSecret(ctx, res);
  const body = dataOf(res);

  if (ctx.field !== undefined && ctx.field !== '') {
    if (!t.v2) {
      await out(fieldValue(body, ctx.field));
      return 0;
    }
    const data = body.data;
    if (!isObject(data)) throw new CommandFailure(`No data found at ${fullPath}`);
    // A literal "data" field: the secret's own "data" key when it has one, else the whole data block.
    await out(ctx.field === 'data' && !Object.hasOwn(data, 'data') ? fieldValue(body, 'data') : fieldValue(data, ctx.field));
    return 0;
  }
  if (ctx.format !== 'table') {
    await out(await structured(res, ctx.format));
    return 0;
  }

  process.stderr.write(warningsText(res.warnings));
  let text = t.v2 ? pathBlock('Secret Path', fullPath) : '';
  const metadata = body.metadata;
  if (t.v2 && isObject(metadata)) text += `${headerForMap('Metadata', metadata)}\n${mapTable(metadata)}\n`;
  const data = t.v2 ? body.data : res.data;
  if (isObject(data)) text += `${headerForMap('Data', data)}\n${mapTable(data)}`;
  await out(text);
  return 0;
}

/** A change's answer: vault's success line when the server answered 204 (in table format only), else the response. */
async function printResult(ctx: CommandContext, res: Envelope | null, success: string): Promise<number> {
  if (res) return printSecret(ctx, res);
  if (ctx.format === 'table') await out(`${success}\n`);
  return 0;
}

/** Output of a v2 write (put, patch): the path and the new version's metadata, like Vault. */
async function printWritten(ctx: CommandContext, res: Envelope | null, fullPath: string): Promise<number> {
  if (!res) return printResult(ctx, res, `Success! Data written to: ${fullPath}`);
  if (await printFieldOrFormat(ctx, res)) return 0;
  const metadata = dataOf(res);
  await out(`${pathBlock('Secret Path', fullPath)}${headerForMap('Metadata', metadata)}\n${mapTable(metadata)}`);
  return 0;
}

async function kvPut(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [MOUNT, { name: 'cas', kind: 'string' }]);
  const args = ctx.args.positional;
  if (args.length < 1) throw new UsageError(`Not enough arguments (expected >1, got ${args.length})`);
  if (args.length === 1) throw new UsageError('Must supply data');
  const cas = intFlag(ctx, 'cas');
  const data = await parseKeyValues(args.slice(1));
  const client = await ctx.client();
  const t = await resolveTarget(ctx, client, args[0]);
  let fullPath: string;
  let body: Record<string, unknown>;
  if (t.v2) {
    fullPath = addPrefixToKVPath(t.partial, t.mountPath, 'data');
    body = { data, options: cas !== undefined && cas > -1 ? { cas } : {} };
  } else {
    fullPath = v1Path(t);
    body = data;
  }
  const res = await api(`Error writing data to ${fullPath}`, () => client.write(fullPath, body));
  // A v1 write answers 204; anything else is printed as a plain secret.
  if (!t.v2 && res) return printSecret(ctx, res);
  return printWritten(ctx, res, fullPath);
}

async function kvPatch(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    MOUNT,
    { name: 'cas', kind: 'string' },
    { name: 'method', kind: 'string' },
    { name: 'remove-data', kind: 'string', multiple: true },
  ]);
  const args = ctx.args.positional;
  const removeData = (ctx.args.flags['remove-data'] as string[] | undefined) ?? [];
  if (args.length < 1) throw new UsageError(`Not enough arguments (expected >1, got ${args.length})`);
  if (removeData.length === 0 && args.length === 1) throw new UsageError('Must supply data');
  const cas = intFlag(ctx, 'cas') ?? 0;
  const method = (ctx.args.flags.method as string | undefined) ?? '';
  const newData = await parseKeyValues(args.slice(1));
  const client = await ctx.client();
  const t = await resolveTarget(ctx, client, args[0]);
  if (!t.v2) throw new CommandFailure('KV engine mount must be version 2 for patch support');
  const fullPath = addPrefixToKVPath(t.partial, t.mountPath, 'data');
  // A null in a JSON merge patch removes the key.
  for (const key of removeData) newData[key] = null;

  let res: Envelope | null;
  if (method === 'rw') {
    res = await readThenWrite(client, fullPath, newData);
  } else if (method === 'patch' || method === '') {
    const fallback = method === '';
    try {
      res = await client.patch(fullPath, { data: newData, options: cas > 0 ? { cas } : {} });
    } catch (err) {
      const status = err instanceof CofferApiError ? err.status : 0;
      if (fallback && status === 405) {
        res = await readThenWrite(client, fullPath, newData);
      } else if (fallback && status === 403) {
        process.stderr.write(
          `Data was written to ${fullPath} but we recommend that you add the "patch" capability to your ACL policy in order to use HTTP PATCH in the future.\n`,
        );
        res = await readThenWrite(client, fullPath, newData);
      } else {
        throw failure(`Error writing data to ${fullPath}`, err);
      }
    }
  } else {
    throw new CommandFailure(`Unsupported method provided to -method flag: ${method}`);
  }
  return printWritten(ctx, res, fullPath);
}

/** `kv patch -method=rw`: read the latest version, merge the new keys in, write back with cas = its version. */
async function readThenWrite(client: CofferClient, fullPath: string, newData: Record<string, unknown>): Promise<Envelope | null> {
  const current = await api(`Error doing pre-read at ${fullPath}`, () => kvRead(client, fullPath));
  if (!current || !current.data) throw new CommandFailure(`No value found at ${fullPath}`);
  const meta = current.data.metadata;
  if (!isObject(meta)) throw new CommandFailure(`No metadata found at ${fullPath}; patch only works on existing data`);
  const data = current.data.data;
  if (!isObject(data)) throw new CommandFailure(`No data found at ${fullPath}; patch only works on existing data`);
  const merged: Record<string, unknown> = { ...data };
  for (const [k, v] of Object.entries(newData)) {
    if (v === null) delete merged[k];
    else merged[k] = v;
  }
  return api(`Error writing data to ${fullPath}`, () => client.write(fullPath, { data: merged, options: { cas: meta.version } }));
}

async function kvDelete(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [MOUNT, VERSIONS]);
  const [arg] = expectArgs(ctx.args.positional, 1);
  const versions = listFlag(ctx, 'versions') ?? [];
  const client = await ctx.client();
  const t = await resolveTarget(ctx, client, arg);
  let fullPath: string;
  let res: Envelope | null;
  if (t.v2) {
    fullPath = addPrefixToKVPath(t.partial, t.mountPath, 'data');
    res = await api(`Error deleting ${fullPath}`, () =>
      versions.length > 0
        ? client.write(addPrefixToKVPath(t.partial, t.mountPath, 'delete'), { versions })
        : client.delete(fullPath),
    );
  } else {
    fullPath = v1Path(t);
    res = await api(`Error deleting ${fullPath}`, () => client.delete(fullPath));
  }
  return printResult(ctx, res, `Success! Data deleted (if it existed) at: ${fullPath}`);
}

/** `kv undelete` and `kv destroy`: the given versions of a v2 key. */
async function kvVersions(argv: string[], action: 'undelete' | 'destroy'): Promise<number> {
  const ctx = commandContext(argv, [MOUNT, VERSIONS]);
  const [arg] = expectArgs(ctx.args.positional, 1);
  const versions = listFlag(ctx, 'versions') ?? [];
  if (versions.length === 0) throw new UsageError(`No versions provided, use the "-versions" flag to specify the version to ${action}.`);
  const client = await ctx.client();
  const t = await resolveTarget(ctx, client, arg);
  if (!t.v2) throw new CommandFailure(`${action === 'undelete' ? 'Undelete' : 'Destroy'} not supported on KV Version 1`, 1);
  const fullPath = addPrefixToKVPath(t.partial, t.mountPath, action);
  const res = await api(`Error writing data to ${fullPath}`, () => client.write(fullPath, { versions }));
  return printResult(ctx, res, `Success! Data written to: ${fullPath}`);
}

async function kvList(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [MOUNT]);
  // With -mount the path may be left out: the mount's root.
  const given = ctx.args.positional.length === 0 && ctx.args.flags.mount ? [''] : ctx.args.positional;
  const [arg] = expectArgs(given, 1);
  const client = await ctx.client();
  const t = await resolveTarget(ctx, client, arg);
  const fullPath = t.v2 ? addPrefixToKVPath(t.partial, t.mountPath, 'metadata') : v1Path(t);
  const res = await api(`Error listing ${fullPath}`, () => client.list(fullPath));
  const keys = res?.data?.keys;
  const ok = Array.isArray(keys);
  if (ctx.format !== 'table' && (!res || !res.data || !ok)) {
    await out(await structured({}, ctx.format));
    return 2;
  }
  if (!res || !res.data) throw new CommandFailure(`No value found at ${fullPath}`);
  if (!ok) throw new CommandFailure(`No entries found at ${fullPath}`);
  const sorted = [...keys].sort();
  if (ctx.format !== 'table') {
    await out(await structured(sorted, ctx.format));
    return 0;
  }
  process.stderr.write(warningsText(res.warnings));
  await out(listOutput(sorted));
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// kv metadata get|put|delete

async function kvMetadata(argv: string[]): Promise<number> {
  return runSubcommand(argv, METADATA_SUBCOMMANDS, helpWording('kv metadata'));
}

/** Resolves a metadata command's path: v2 only (Vault exits 1 on a v1 mount). */
async function metadataTarget(ctx: CommandContext, client: CofferClient, arg: string): Promise<string> {
  const t = await resolveTarget(ctx, client, arg);
  if (!t.v2) throw new CommandFailure('Metadata not supported on KV Version 1', 1);
  return addPrefixToKVPath(t.partial, t.mountPath, 'metadata');
}

async function metadataGet(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [MOUNT]);
  const [arg] = expectArgs(ctx.args.positional, 1);
  const client = await ctx.client();
  const fullPath = await metadataTarget(ctx, client, arg);
  const res = await api(`Error reading ${fullPath}`, () => client.read(fullPath));
  if (!res) throw new CommandFailure(`No value found at ${fullPath}`);
  if (await printFieldOrFormat(ctx, res)) return 0;
  const data = { ...dataOf(res) };
  const versions = data.versions;
  if (!isObject(versions)) {
    process.stderr.write(`No value found at ${fullPath}\n`);
    await printSecret(ctx, res);
    return 2;
  }
  delete data.versions;
  process.stderr.write(warningsText(res.warnings));
  let text = `${pathBlock('Metadata Path', fullPath)}${headerForMap('Metadata', data)}\n${mapTable(data)}`;
  const numbers = Object.keys(versions).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  for (const n of numbers) {
    const vm = versions[String(n)];
    const entry = isObject(vm) ? vm : {};
    text += `\n${headerForMap(`Version ${n}`, entry)}\n${mapTable(entry)}`;
  }
  await out(text);
  return 0;
}

async function metadataPut(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    MOUNT,
    { name: 'max-versions', kind: 'string' },
    { name: 'cas-required', kind: 'bool' },
    { name: 'delete-version-after', kind: 'string' },
    { name: 'custom-metadata', kind: 'string', multiple: true },
  ]);
  const [arg] = expectArgs(ctx.args.positional, 1);
  const body: Record<string, unknown> = {};
  const maxVersions = intFlag(ctx, 'max-versions');
  if (maxVersions !== undefined && maxVersions >= 0) body.max_versions = maxVersions;
  const casRequired = ctx.args.flags['cas-required'];
  if (typeof casRequired === 'boolean') body.cas_required = casRequired;
  const deleteAfter = durationFlag(ctx, 'delete-version-after');
  if (deleteAfter !== undefined) body.delete_version_after = `${deleteAfter}s`;
  const custom = (ctx.args.flags['custom-metadata'] as string[] | undefined) ?? [];
  if (custom.length > 0) {
    const parsed = await parseKeyValues(custom);
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw new UsageError(`custom-metadata key "${k}" was given more than once`);
    }
    body.custom_metadata = parsed;
  }
  const client = await ctx.client();
  const fullPath = await metadataTarget(ctx, client, arg);
  const res = await api(`Error writing data to ${fullPath}`, () => client.write(fullPath, body));
  return printResult(ctx, res, `Success! Data written to: ${fullPath}`);
}

async function metadataDelete(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [MOUNT]);
  const [arg] = expectArgs(ctx.args.positional, 1);
  const client = await ctx.client();
  const fullPath = await metadataTarget(ctx, client, arg);
  await api(`Error deleting ${fullPath}`, () => client.delete(fullPath));
  await out(`Success! Data deleted (if it existed) at: ${fullPath}\n`);
  return 0;
}
