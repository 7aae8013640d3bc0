/**
 * `coffer operator generate-root`: a quorum of unseal key holders creates a new root token, with the vault
 * CLI's flags (-init, -otp, -generate-otp, -decode, -status, -cancel, -nonce), output and exit codes. The
 * token comes back XORed with a one-time password; -decode turns it back into the token, locally.
 */
import { expectArgs } from '../args.js';
import { commandContext, type CommandContext } from '../context.js';
import { api, CommandFailure } from '../errors.js';
import type { FlagSpec } from '../../shared/flags.js';
import { columns, err, out, wrapAtLength } from '../output.js';
import { printAs, shareAndNonce } from '../shares.js';
import { decodeToken, randomBase62 } from '../../shared/otp.js';
import type { CofferClient } from '../../client/client.js';

const GENERATE_ROOT_FLAGS: FlagSpec[] = [
  { name: 'init', kind: 'bool' },
  { name: 'cancel', kind: 'bool' },
  { name: 'status', kind: 'bool' },
  { name: 'generate-otp', kind: 'bool' },
  { name: 'decode', kind: 'string' },
  { name: 'otp', kind: 'string' },
  { name: 'pgp-key', kind: 'string' },
  { name: 'nonce', kind: 'string' },
];

interface RootStatus {
  nonce: string;
  started: boolean;
  progress: number;
  required: number;
  complete: boolean;
  encoded_token: string;
  encoded_root_token: string;
  pgp_fingerprint: string;
  otp: string;
  otp_length: number;
}

const ATTEMPT = 'sys/generate-root/attempt';
const STATUS_FAILED = 'Error getting root generation status';

async function readStatus(client: CofferClient): Promise<RootStatus> {
  return (await api(STATUS_FAILED, () => client.call('GET', ATTEMPT, { noToken: true }))).json as RootStatus;
}

function printStatus(ctx: CommandContext, status: RootStatus): Promise<number> {
  return printAs(ctx, status, () => {
    const rows = [
      ['Nonce', status.nonce],
      ['Started', String(status.started)],
      ['Progress', `${status.progress}/${status.required}`],
      ['Complete', String(status.complete)],
    ];
    if (status.pgp_fingerprint) rows.push(['PGP Fingerprint', status.pgp_fingerprint]);
    if (status.encoded_token) rows.push(['Encoded Token', status.encoded_token]);
    if (status.otp) {
      err(wrapAtLength('A One-Time-Password has been generated for you and is shown in the OTP field. You will need this value to decode the resulting root token, so keep it safe.'));
      rows.push(['OTP', status.otp]);
    }
    if (status.otp_length) rows.push(['OTP Length', String(status.otp_length)]);
    return columns(rows);
  });
}

/** Token characters only: what a right OTP gives back, and what a wrong one almost never does. */
const TOKEN_SHAPE = /^[A-Za-z0-9._-]+$/;

async function decode(ctx: CommandContext, encoded: string): Promise<number> {
  const otp = typeof ctx.args.flags.otp === 'string' ? ctx.args.flags.otp : '';
  if (!encoded) throw new CommandFailure('Missing encoded value: use -decode=<string> to supply it', 1);
  if (!otp) throw new CommandFailure('Missing otp: use -otp to supply it', 1);
  let token: string;
  try {
    token = decodeToken(encoded.trim(), otp.trim());
  } catch (e) {
    throw new CommandFailure(`Error xoring token: ${(e as Error).message}`, 1);
  }
  if (!TOKEN_SHAPE.test(token)) {
    throw new CommandFailure('Error decoding token: the result is not a valid token; the OTP is not the one this token was encoded with', 1);
  }
  return printAs(ctx, { token }, () => `${token}\n`);
}

async function generateOtp(ctx: CommandContext, client: CofferClient): Promise<number> {
  const { otp_length: length } = await readStatus(client);
  if (!length) throw new CommandFailure(`${STATUS_FAILED}: the server did not tell the OTP length`);
  const otp = randomBase62(length);
  return printAs(ctx, { otp, otp_length: otp.length }, () => `${otp}\n`);
}

async function start(ctx: CommandContext, client: CofferClient): Promise<number> {
  const otp = ctx.args.flags.otp as string | undefined;
  const pgpKey = ctx.args.flags['pgp-key'] as string | undefined;
  if (otp && pgpKey) throw new CommandFailure('Error initializing: cannot specify both -otp and -pgp-key', 1);
  const res = await api('Error initializing root generation', () => client.call('PUT', ATTEMPT, { body: { otp, pgp_key: pgpKey }, noToken: true }));
  return printStatus(ctx, res.json as RootStatus);
}

async function provide(ctx: CommandContext, client: CofferClient, arg: string | undefined): Promise<number> {
  const status = await readStatus(client);
  if (!status.started) {
    err(wrapAtLength('No root generation is in progress. Start a root generation by running "coffer operator generate-root -init".'));
    err(wrapAtLength(`If starting root generation using the OTP method and generating your own OTP, the length of the OTP string needs to be ${status.otp_length} characters in length.`));
    return 1;
  }
  const { key, nonce } = await shareAndNonce(ctx, arg, status.nonce, 'Operation nonce');
  const res = await api('Error posting unseal key', () => client.call('PUT', 'sys/generate-root/update', { body: { key, nonce }, noToken: true }));
  return printStatus(ctx, res.json as RootStatus);
}

export async function generateRoot(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, GENERATE_ROOT_FLAGS);
  const [arg] = expectArgs(ctx.args.positional, 0, 1);
  const f = ctx.args.flags;
  if (typeof f.decode === 'string') return decode(ctx, f.decode);
  const client = await ctx.client();
  if (f['generate-otp'] === true) return generateOtp(ctx, client);
  if (f.cancel === true) {
    await api('Error canceling root token generation', () => client.call('DELETE', ATTEMPT, { noToken: true }));
    await out('Success! Root token generation canceled (if it was started)\n');
    return 0;
  }
  if (f.init === true) return start(ctx, client);
  if (f.status === true) return printStatus(ctx, await readStatus(client));
  return provide(ctx, client, arg);
}
