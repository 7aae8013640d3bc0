/**
 * `coffer login`, like `vault login`: authenticate with a token (verified through auth/token/lookup-self) or
 * with any auth method (`-method=NAME [-path=P] k=v...` posts to `auth/P/login`), then keep the token in the
 * token helper file `~/.coffer-token` (mode 0600) for later commands.
 *
 * Also shared with `operator unseal`: reading a secret from a prompt without echo, or from stdin.
 */
import { commandContext, CONNECTION_HELP, type CommandContext } from '../context.js';
import { api, CommandFailure } from '../errors.js';
import { UsageError } from '../../shared/flags.js';
import { parseKeyValues, readStdin } from '../kvargs.js';
import { err, out, printSecret, wrapAtLength } from '../output.js';
import type { CofferClient, Envelope } from '../../client/client.js';

export const help = `Usage: coffer login [options] [TOKEN | K=V...]

  Authenticates to coffer with the given arguments. On success the token is stored in the token helper
  (~/.coffer-token, mode 0600) and used by later commands when COFFER_TOKEN / VAULT_TOKEN are not set.

  The default auth method is "token". When TOKEN is omitted, coffer prompts for it without echoing it (or
  reads one line from stdin when stdin is not a terminal); when TOKEN is "-", it is read from stdin.

      $ coffer login cfs.4ZoXm...
      $ coffer login                         # prompts: Token (will be hidden):
      $ echo "$TOKEN" | coffer login -

  Other auth methods take K=V pairs, sent to auth/PATH/login (PATH defaults to the method's name; for
  userpass and ldap the username goes into the path and the password is prompted for when not given).
  K=@FILE reads a value from a file, K=- from stdin (so a token never shows in a process listing):

      $ coffer login -method=kubernetes role=my-api \\
          jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token
      $ printf %s "$CI_JOB_JWT" | coffer login -method=jwt -token-only role=ci jwt=-
      $ coffer login -method=approle -path=approle-ci role_id=... secret_id=...
      $ coffer login -method=userpass username=alice

Options:
  -method=TYPE           Auth method type (default "token").
  -path=PATH             Where the auth method is enabled (default: the method type).
  -no-store              Do not store the token in the token helper; only display it.
  -no-print              Do not display the token (it is still stored).
  -token-only            Print only the token, and do not store it (same as -field=token -no-store).
  -format=FORMAT         table (default), json or yaml.
  -field=NAME            Print only this field (e.g. token), raw.

${CONNECTION_HELP}`;

// --- reading secrets ------------------------------------------------------------------------------------

/**
 * Reads stdin up to the first newline (or its end), without the line ending, then closes stdin so that a
 * writer that keeps the pipe open does not keep this process alive.
 */
export function readLine(): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (value: string | Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      if (!stdin.isTTY) stdin.destroy();
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl !== -1) finish(buf.slice(0, nl).replace(/\r$/, ''));
    };
    const onEnd = () => finish(buf.replace(/\r?\n?$/, ''));
    const onError = (e: Error) => finish(e);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

export class PromptInterrupted extends Error {
  constructor() {
    super('user interrupted');
  }
}

/** Prompts on stderr and reads a line from the terminal with echo off (raw mode). */
function promptHidden(label: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // echo off before the prompt shows, so nothing typed after it is echoed
  process.stderr.write(label);
  return new Promise((resolve, reject) => {
    let value: string[] = [];
    const finish = (result: string | Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish(value.join(''));
        if (ch === '\u0003') return finish(new PromptInterrupted()); // Ctrl-C
        if (ch === '\u0004') {
          if (value.length === 0) return finish(''); // Ctrl-D on an empty line
          continue;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch === '\u0015') value = []; // Ctrl-U
        else if (ch >= ' ') value.push(ch);
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/**
 * A secret the user did not give as an argument: prompted for without echo when stdin is a terminal (and
 * -non-interactive was not given), otherwise one line read from stdin.
 */
export async function readSecret(ctx: CommandContext, label: string): Promise<string> {
  if (process.stdin.isTTY && ctx.args.flags['non-interactive'] !== true) return promptHidden(label);
  return readLine();
}

// --- login ----------------------------------------------------------------------------------------------

/** Methods whose CLI login puts the username into the path (`auth/userpass/login/alice`), as vault does. */
const USERNAME_IN_PATH = new Set(['userpass', 'ldap', 'okta', 'radius']);

const AUTH_FAILED = 'Error authenticating';

async function tokenLogin(ctx: CommandContext, client: CofferClient, config: Record<string, unknown>): Promise<Envelope> {
  const given = config.token === undefined ? await api(AUTH_FAILED, () => readSecret(ctx, 'Token (will be hidden): ')) : config.token;
  if (typeof given !== 'string') throw new CommandFailure(`${AUTH_FAILED}: the token must be a single string`);
  const token = given.trim();
  if (!token) throw new CommandFailure(`${AUTH_FAILED}: a token must be passed to auth, please view the help for more information`);
  const lookup = await api(`${AUTH_FAILED}: error looking up token`, async () => (await client.withToken(token).call('GET', 'auth/token/lookup-self')).json as Envelope);
  const d = (lookup?.data ?? {}) as Record<string, any>;
  // lookup-self answers in `data`; shape it like a login response's `auth`, as the vault CLI does.
  return {
    request_id: lookup?.request_id ?? '',
    lease_id: '',
    lease_duration: 0,
    renewable: false,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: {
      client_token: d.id ?? token,
      accessor: d.accessor ?? '',
      policies: d.policies ?? [],
      token_policies: d.policies ?? [],
      metadata: d.meta ?? null,
      lease_duration: typeof d.ttl === 'number' ? d.ttl : 0,
      renewable: d.renewable === true,
      orphan: d.orphan === true,
      num_uses: d.num_uses ?? 0,
      token_type: d.type ?? 'service',
      entity_id: d.entity_id ?? '',
    },
  };
}

async function methodLogin(ctx: CommandContext, client: CofferClient, method: string, mount: string, config: Record<string, unknown>): Promise<Envelope> {
  const data = { ...config };
  let path = `auth/${mount}/login`;
  if (USERNAME_IN_PATH.has(method)) {
    if (typeof data.username !== 'string' || data.username === '') throw new UsageError(`the ${method} method needs username=NAME`);
    path += `/${encodeURIComponent(data.username)}`;
    delete data.username;
    if (data.password === undefined) data.password = await api(AUTH_FAILED, () => readSecret(ctx, 'Password (will be hidden): '));
  }
  // The login itself is sent without any stored token, as the vault CLI does for non-token methods.
  const res = await api(AUTH_FAILED, () => client.withToken(undefined).write(path, data));
  if (!res?.auth) {
    throw new CommandFailure(
      wrapAtLength('coffer returned a secret, but the secret has no authentication information attached. This should never happen and is likely a bug.'),
    );
  }
  return res;
}

export async function run(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    { name: 'method', kind: 'string' },
    { name: 'path', kind: 'string' },
    { name: 'no-store', kind: 'bool' },
    { name: 'no-print', kind: 'bool' },
    { name: 'token-only', kind: 'bool' },
  ]);
  const f = ctx.args.flags;
  const tokenOnly = f['token-only'] === true;
  const noStore = tokenOnly || f['no-store'] === true;
  const noPrint = f['no-print'] === true;
  if (tokenOnly) ctx.field = 'token';
  if (noStore && noPrint) throw new UsageError('-no-store and -no-print cannot be used together');

  const method = String(f.method ?? 'token').replace(/^\/+|\/+$/g, '') || 'token';
  const mount = String(f.path ?? method).replace(/^\/+|\/+$/g, '') || method;
  let args = ctx.args.positional;
  // `coffer login TOKEN` and `coffer login -` mean token=TOKEN / token from stdin.
  if (method === 'token' && args.length > 0 && !args[0].includes('=')) args = [`token=${args[0]}`, ...args.slice(1)];
  const config = await parseKeyValues(args, async () => (await readStdin()).trim());

  const client = await ctx.client();
  const result = method === 'token' ? await tokenLogin(ctx, client, config) : await methodLogin(ctx, client, method, mount, config);
  const token = String(result.auth!.client_token);

  if (!noStore) {
    const { writeTokenHelper } = await import('../../client/env.js');
    try {
      writeTokenHelper(token);
    } catch (e) {
      err(`Error storing token: ${(e as Error).message}`);
      err(wrapAtLength('Authentication was successful, but the token was not persisted. The resulting token is shown below for your records.') + '\n\n');
      await printSecret({ ...ctx, field: undefined, format: 'table' }, result);
      return 2;
    }
    for (const name of ['COFFER_TOKEN', 'VAULT_TOKEN']) {
      if (process.env[name]) {
        err(
          wrapAtLength(
            `WARNING! The ${name} environment variable is set! The value of this variable will take precedence; if this is unwanted please unset ${name} or update its value accordingly.`,
          ) + '\n\n',
        );
        break;
      }
    }
  } else if (!tokenOnly) {
    err(
      wrapAtLength('The token was not stored in token helper. Set the COFFER_TOKEN environment variable or pass the token below with each request to coffer.') +
        '\n\n',
    );
  }

  if (noPrint) return 0;
  if (!ctx.field && ctx.format === 'table') {
    await out(
      wrapAtLength(
        'Success! You are now authenticated. The token information displayed below is already stored in the token helper. You do NOT need to run "coffer login" again. Future coffer requests will automatically use this token.',
      ) + '\n\n',
    );
  }
  return printSecret(ctx, result);
}
