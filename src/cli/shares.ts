/**
 * The key share of one `operator generate-root` or `operator rekey` step, and the operation's nonce, taken as
 * the vault CLI takes them: KEY as an argument (nonce from -nonce), `-` to read KEY from stdin (nonce from
 * -nonce), or no KEY to be prompted for it without echo, or to read one line of stdin when it is not a
 * terminal (the nonce then defaults to the one of the operation in progress).
 */
import type { CommandContext } from './context.js';
import { CommandFailure } from './errors.js';
import { readStdin } from './kvargs.js';
import { err, out, structured } from './output.js';
import { readSecret } from './commands/login.js';

export async function shareAndNonce(ctx: CommandContext, arg: string | undefined, currentNonce: string, nonceLabel: string) {
  const flagNonce = typeof ctx.args.flags.nonce === 'string' ? ctx.args.flags.nonce : '';
  let key: string;
  let nonce = flagNonce;
  if (arg === '-') key = await readStdin();
  else if (arg !== undefined) key = arg;
  else {
    nonce ||= currentNonce;
    if (process.stdin.isTTY) err(`${nonceLabel}: ${currentNonce}`);
    key = await readSecret(ctx, 'Unseal Key (will be hidden): ').catch((e: Error) => {
      throw new CommandFailure(`An error occurred attempting to ask for the unseal key. The raw error was: ${e.message}`, 1);
    });
  }
  key = key.trim();
  if (!key) throw new CommandFailure('Error: no unseal key was given (as an argument, at the prompt, or on stdin)', 1);
  if (!nonce) throw new CommandFailure('Missing nonce value: specify it via the -nonce flag', 1);
  return { key, nonce };
}

/** What the vault CLI prints for these operations: the server's body as JSON/YAML, or the command's own text. */
export async function printAs(ctx: CommandContext, value: object, text: () => string): Promise<number> {
  await out(ctx.format === 'table' ? text() : await structured(value, ctx.format));
  return 0;
}
