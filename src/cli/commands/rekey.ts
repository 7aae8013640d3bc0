/**
 * `coffer operator rekey`: a quorum of unseal key holders replaces the unseal key, optionally with a new
 * number of shares and threshold, with the vault CLI's flags (-init, -key-shares/-n, -key-threshold/-t,
 * -status, -cancel, -nonce, -verify), output and exit codes. With `-init -verify` the new shares take effect
 * only once a threshold of them has been given back with `-verify`.
 */
import { countFlag, expectArgs, listFlag } from '../args.js';
import { commandContext, type CommandContext } from '../context.js';
import { api, CommandFailure } from '../errors.js';
import type { FlagSpec } from '../../shared/flags.js';
import { err, out, structured, table, wrapAtLength } from '../output.js';
import { printAs, shareAndNonce } from '../shares.js';
import type { CofferClient } from '../../client/client.js';

const REKEY_FLAGS: FlagSpec[] = [
  { name: 'init', kind: 'bool' },
  { name: 'cancel', kind: 'bool' },
  { name: 'status', kind: 'bool' },
  { name: 'verify', kind: 'bool' },
  { name: 'key-shares', kind: 'string' },
  { name: 'n', kind: 'string' },
  { name: 'key-threshold', kind: 'string' },
  { name: 't', kind: 'string' },
  { name: 'nonce', kind: 'string' },
  { name: 'target', kind: 'string' },
  { name: 'pgp-keys', kind: 'string', multiple: true },
  { name: 'backup', kind: 'bool' },
];

interface RekeyStatus {
  nonce: string;
  started: boolean;
  t: number;
  n: number;
  progress: number;
  required?: number;
  verification_required?: boolean;
}

interface RekeyResult {
  nonce: string;
  complete: boolean;
  keys?: string[];
  keys_base64?: string[];
  verification_required?: boolean;
  verification_nonce?: string;
}

/** The status and update paths of the rekey itself, or of its verification (-verify). */
const paths = (verify: boolean) => (verify ? { status: 'sys/rekey/verify', update: 'sys/rekey/verify' } : { status: 'sys/rekey/init', update: 'sys/rekey/update' });

async function readStatus(ctx: CommandContext, client: CofferClient, verify: boolean, prefix = 'Error reading rekey status'): Promise<RekeyStatus> {
  return (await api(prefix, () => client.call('GET', paths(verify).status, { noToken: true }))).json as RekeyStatus;
}

function printStatus(ctx: CommandContext, status: RekeyStatus, verify: boolean): Promise<number> {
  return printAs(ctx, status, () => {
    const rows = [
      ['Nonce', status.nonce],
      ['Started', String(status.started)],
    ];
    if (verify) {
      rows.push(['New Shares', String(status.n)], ['New Threshold', String(status.t)], ['Verification Progress', `${status.progress}/${status.t}`]);
    } else if (status.started) {
      rows.push(
        ['Rekey Progress', `${status.progress}/${status.required}`],
        ['New Shares', String(status.n)],
        ['New Threshold', String(status.t)],
        ['Verification Required', String(status.verification_required === true)],
      );
    }
    return table(['Key', 'Value'], rows);
  });
}

async function start(ctx: CommandContext, client: CofferClient): Promise<number> {
  const body = {
    secret_shares: countFlag(ctx, ['key-shares', 'n'], 5),
    secret_threshold: countFlag(ctx, ['key-threshold', 't'], 3),
    pgp_keys: listFlag(ctx, 'pgp-keys'),
    backup: ctx.args.flags.backup === true,
    require_verification: ctx.args.flags.verify === true,
  };
  const res = await api('Error initializing rekey', () => client.call('PUT', 'sys/rekey/init', { body, noToken: true }));
  if (ctx.format === 'table') {
    err(wrapAtLength('WARNING! If you lose the keys after they are returned, there is no recovery. Keep them safe before you seal, restart or stop the server.') + '\n');
  }
  return printStatus(ctx, res.json as RekeyStatus, false);
}

/** The new shares, worded as the vault CLI words them; with verification pending, its status follows. */
async function printNewKeys(ctx: CommandContext, client: CofferClient, status: RekeyStatus, result: RekeyResult): Promise<number> {
  if (ctx.format !== 'table') {
    await out(await structured(result, ctx.format));
    return 0;
  }
  const keys = result.keys_base64 ?? result.keys ?? [];
  const lines = ['', ...keys.map((k, i) => `Key ${i + 1}: ${k}`), '', `Operation nonce: ${result.nonce}`, ''];
  if (!result.verification_required) {
    lines.push(
      wrapAtLength(
        `Coffer rekeyed with ${status.n} key shares and a key threshold of ${status.t}. Please securely distribute the key shares printed above. ` +
          `When coffer is re-sealed, restarted, or stopped, you must supply at least ${status.t} of these keys to unseal it before it can start servicing requests.`,
      ),
    );
    await out(lines.join('\n') + '\n');
    return 0;
  }
  lines.push(
    wrapAtLength(
      `Coffer has created a new key, split into ${status.n} key shares and a key threshold of ${status.t}. These will not be active until after verification is complete. ` +
        `Please securely distribute the key shares printed above. When coffer is re-sealed, restarted, or stopped, you must supply at least ${status.t} of these keys to unseal it before it can start servicing requests.`,
    ),
    '',
  );
  await out(lines.join('\n') + '\n');
  err(
    wrapAtLength(
      'Again, these key shares are _not_ valid until verification is performed. Do not lose or discard your current key shares until after verification is complete or you will be unable to unseal coffer. ' +
        'If you cancel the rekey process or seal coffer before verification is complete the new shares will be discarded and the current shares will remain valid.',
    ) + '\n',
  );
  err(wrapAtLength('The current verification status, including initial nonce, is shown below.') + '\n');
  return printStatus(ctx, await readStatus(ctx, client, true), true);
}

async function provide(ctx: CommandContext, client: CofferClient, arg: string | undefined, verify: boolean): Promise<number> {
  const status = await readStatus(ctx, client, verify, 'Error getting rekey status');
  if (!status.started) {
    err(wrapAtLength('No rekey is in progress. Start a rekey process by running "coffer operator rekey -init".'));
    return 1;
  }
  const { key, nonce } = await shareAndNonce(ctx, arg, status.nonce, 'Rekey operation nonce');
  const res = await api('Error posting unseal key', () => client.call('PUT', paths(verify).update, { body: { key, nonce }, noToken: true }));
  const result = res.json as RekeyResult;
  if (!result.complete) return printStatus(ctx, await readStatus(ctx, client, verify), verify);
  if (!verify) return printNewKeys(ctx, client, status, result);
  return printAs(ctx, result, () => 'Rekey verification successful. The new key shares are in force; the old ones no longer unseal.\n');
}

export async function rekey(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, REKEY_FLAGS);
  const [arg] = expectArgs(ctx.args.positional, 0, 1);
  const target = typeof ctx.args.flags.target === 'string' ? ctx.args.flags.target.trim().toLowerCase() : 'barrier';
  if (target !== 'barrier') throw new CommandFailure(`Unknown target: ${ctx.args.flags.target} (coffer has no recovery keys; only "barrier" can be rekeyed)`, 1);
  const verify = ctx.args.flags.verify === true;
  const client = await ctx.client();
  if (ctx.args.flags.cancel === true) {
    await api('Error canceling rekey', () => client.call('DELETE', paths(verify).status, { noToken: true }));
    await out('Success! Canceled rekeying (if it was started)\n');
    return 0;
  }
  if (ctx.args.flags.init === true) return start(ctx, client);
  if (ctx.args.flags.status === true) return printStatus(ctx, await readStatus(ctx, client, verify), verify);
  return provide(ctx, client, arg, verify);
}
