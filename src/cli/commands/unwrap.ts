/** `coffer unwrap [TOKEN]`: the response a wrapping token holds, printed like `coffer read` prints it. */
import { expectArgs } from '../args.js';
import { commandContext, CONNECTION_HELP, OUTPUT_HELP } from '../context.js';
import { printSecret } from '../output.js';

export const help = `Usage: coffer unwrap [options] [TOKEN]

  Unwraps a response-wrapping token and prints the response it holds, as "coffer read" prints a response.
  Without TOKEN the client token itself (COFFER_TOKEN / VAULT_TOKEN) is the wrapping token. A wrapping token
  works once: a second unwrap fails with "wrapping token is not valid or does not exist".

  $ coffer read -wrap-ttl=5m secret/data/app        # prints wrapping_token
  $ coffer unwrap cfs.XXXXXXXX
  $ VAULT_TOKEN=cfs.XXXXXXXX coffer unwrap -field=secret_id

${OUTPUT_HELP}
${CONNECTION_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  const [token] = expectArgs(ctx.args.positional, 0, 1);
  const client = await ctx.client();
  const res = await client.unwrap(token);
  return printSecret(ctx, res, 'Successfully unwrapped. There was no data in the wrapped secret.\n');
}
