/**
 * `coffer operator init|unseal|seal|rotate|key-status|generate-root|rekey`, with the vault CLI's flags, output
 * and exit codes (generate-root and rekey in their own files).
 */
import { countFlag, expectArgs, listedWording, runSubcommand } from '../args.js';
import { commandContext, CONNECTION_HELP } from '../context.js';
import { api } from '../errors.js';
import type { FlagSpec } from '../../shared/flags.js';
import { generateRoot } from './generate-root.js';
import { rekey } from './rekey.js';
import { migrate } from './migrate.js';
import { columns, err, out, structured, wrapAtLength } from '../output.js';
import { readSecret } from './login.js';
import { printSealStatus } from './status.js';
import type { CofferClient } from '../../client/client.js';

export const help = `Usage: coffer operator <subcommand> [options] [args]

  Operator tasks: initializing the server, unsealing and sealing it, rotating the encryption key.

  Initialize a new server into 5 key shares, any 3 of which unseal it (the defaults):

      $ coffer operator init
      $ coffer operator init -key-shares=5 -key-threshold=3 -format=json > init.json
      $ coffer operator init -status          # exit 0 initialized, 2 not initialized, 1 error

  Unseal with one key share per call; without KEY, coffer prompts for it without echoing it (or reads one
  line from stdin when stdin is not a terminal):

      $ coffer operator unseal                # prompts: Unseal Key (will be hidden):
      $ coffer operator unseal -reset         # discard the shares given so far

  Seal the server (it stops serving requests until unsealed), rotate the data encryption key, and show the
  key's term and install time:

      $ coffer operator seal
      $ coffer operator rotate
      $ coffer operator key-status

  Generate a new root token with a quorum of unseal key holders: start an attempt (coffer makes the one-time
  password and shows it once), give one key share per call, then decode the encoded token with the OTP:

      $ coffer operator generate-root -init                  # or -init -otp=OTP from -generate-otp
      $ coffer operator generate-root -nonce=NONCE KEY       # KEY or "-" (stdin); no KEY: prompt
      $ coffer operator generate-root -decode=ENCODED -otp=OTP

  Replace the unseal key shares (and their number and threshold); with -verify the new shares take effect
  only once a threshold of them is given back with -verify:

      $ coffer operator rekey -init -key-shares=5 -key-threshold=3 [-verify]
      $ coffer operator rekey -nonce=NONCE KEY               # current shares, one per call
      $ coffer operator rekey -verify -nonce=VNONCE KEY      # new shares, when verification was asked for

  Copy every stored entry from one storage backend to another (SQLite, PostgreSQL), still encrypted: no
  unseal needed, and no server may run on either store meanwhile. The file has one storage_source and one
  storage_destination stanza, written like the server's storage stanza:

      $ coffer operator migrate -config=migrate.hcl
      $ coffer operator migrate -config=migrate.hcl -reset   # erase a non-empty destination first

Subcommands:
    init          Initialize a server
    unseal        Provide one unseal key share
    seal          Seal the server
    rotate        Rotate the data encryption key (a new key term)
    key-status    Show the current key term and install time
    generate-root Generate a new root token from a quorum of unseal keys
    rekey         Generate new unseal keys (new shares and threshold)
    migrate       Copy all stored data between storage backends (offline)

Init options:
  -key-shares=N          Number of key shares to split the root key into (default 5); also -n.
  -key-threshold=N       Number of shares needed to unseal (default 3); also -t.
  -status                Only report whether the server is initialized, through the exit code.

Unseal options:
  -reset                 Discard the key shares entered so far.

Generate-root options:
  -init                  Start a root token generation (one at a time).
  -otp=OTP               The OTP to encode the token with at -init (coffer makes one if left out), or to
                         decode with at -decode.
  -generate-otp          Print an OTP of the length the server wants (for -init -otp).
  -decode=ENCODED        Decode an encoded token with -otp, locally; fails if the result is not a token.
  -status                Print the status of the current attempt.
  -cancel                Cancel the attempt and discard the shares given.
  -nonce=NONCE           The attempt's nonce, needed with each key share given as an argument or "-".
  -pgp-key               Not supported (coffer refuses it): the token is returned OTP-encoded only.

Rekey options:
  -init                  Start a rekey; -key-shares (-n, default 5) and -key-threshold (-t, default 3) set
                         the new shares; with -verify the new shares must be verified before they count.
  -status                Print the status of the rekey (with -verify: of its verification).
  -cancel                Cancel the rekey (with -verify: restart its verification with a new nonce).
  -verify                With a key share: give a new share to verify the rekey.
  -nonce=NONCE           The operation's nonce, needed with each key share given as an argument or "-".
  -pgp-keys, -backup     Not supported (coffer refuses them): the new shares are returned unencrypted.

Migrate options:
  -config=FILE           The file with the storage_source and storage_destination stanzas (required).
  -reset                 Erase the destination before copying (a non-empty destination is refused without it;
                         unlike Vault's -reset, which only clears Vault's migration lock).
  -start=KEY             Copy only keys at or after KEY, into a destination that holds the earlier ones
                         (resuming an interrupted run, as in Vault).

Output options:
  -format=FORMAT         table (default), json or yaml.

${CONNECTION_HELP}`;

const INIT_FLAGS: FlagSpec[] = [
  { name: 'key-shares', kind: 'string' },
  { name: 'n', kind: 'string' },
  { name: 'key-threshold', kind: 'string' },
  { name: 't', kind: 'string' },
  { name: 'status', kind: 'bool' },
];

async function init(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, INIT_FLAGS);
  expectArgs(ctx.args.positional, 0);
  const shares = countFlag(ctx, ['key-shares', 'n'], 5);
  const threshold = countFlag(ctx, ['key-threshold', 't'], 3);
  const client = await ctx.client();

  if (ctx.args.flags.status === true) {
    // 2 means "not initialized" here, so errors are 1.
    const res = await api('Error checking init status', () => client.call('GET', 'sys/init', { noToken: true }), 1);
    const initialized = res.json?.initialized === true;
    if (ctx.format === 'table') await out(initialized ? 'Coffer is initialized\n' : 'Coffer is not initialized\n');
    else await out(await structured({ initialized }, ctx.format));
    return initialized ? 0 : 2;
  }

  const res = await api('Error initializing', () => client.init(shares, threshold));
  const keysHex = res.keys ?? [];
  const keysB64 = res.keys_base64 ?? [];
  if (ctx.format !== 'table') {
    await out(
      await structured(
        {
          unseal_keys_b64: keysB64,
          unseal_keys_hex: keysHex,
          unseal_shares: shares,
          unseal_threshold: threshold,
          recovery_keys_b64: [],
          recovery_keys_hex: [],
          recovery_keys_shares: 0,
          recovery_keys_threshold: 0,
          root_token: res.root_token,
        },
        ctx.format,
      ),
    );
    return 0;
  }
  const lines = keysHex.map((hex, i) => `Unseal Key ${i + 1}: ${keysB64.length === keysHex.length ? keysB64[i] : hex}`);
  lines.push('', `Initial Root Token: ${res.root_token}`, '');
  lines.push(
    wrapAtLength(
      `Coffer initialized with ${shares} key shares and a key threshold of ${threshold}. Please securely distribute the key shares printed above. ` +
        `When coffer is re-sealed, restarted, or stopped, you must supply at least ${threshold} of these keys to unseal it before it can start servicing requests.`,
    ),
    '',
    wrapAtLength(
      `Coffer does not store the generated root key. Without at least ${threshold} keys to reconstruct the root key, coffer will remain permanently sealed!`,
    ),
  );
  await out(lines.join('\n') + '\n');
  return 0;
}

async function unseal(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [{ name: 'reset', kind: 'bool' }]);
  const args = expectArgs(ctx.args.positional, 0, 1);
  const client = await ctx.client();
  if (ctx.args.flags.reset === true) {
    return printSealStatus(ctx, client, await api('Error resetting unseal process', () => client.unseal(null, true)));
  }
  let key = args[0];
  if (key === undefined) {
    try {
      key = await readSecret(ctx, 'Unseal Key (will be hidden): ');
    } catch (e) {
      err(
        wrapAtLength(
          `An error occurred attempting to ask for an unseal key. The unseal key can be provided as the first argument to the unseal command. The raw error was: ${(e as Error).message}`,
        ),
      );
      return 1;
    }
  }
  key = key.trim();
  if (!key) {
    err('Error unsealing: no unseal key was given (as an argument, at the prompt, or as a line on stdin)');
    return 1;
  }
  return printSealStatus(ctx, client, await api('Error unsealing', () => client.unseal(key)));
}

async function seal(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 0);
  await api('Error sealing', async () => (await ctx.client()).call('PUT', 'sys/seal'));
  await out('Success! Coffer is sealed.\n');
  return 0;
}

interface KeyStatus {
  term: number;
  install_time: string;
  encryptions?: number;
}

async function readKeyStatus(client: CofferClient): Promise<KeyStatus> {
  const body = (await client.call('GET', 'sys/key-status')).json ?? {};
  const data = (body.data ?? body) as Record<string, unknown>;
  const status: KeyStatus = { term: Number(data.term), install_time: String(data.install_time ?? '') };
  if (typeof data.encryptions === 'number') status.encryptions = data.encryptions;
  return status;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's time.RFC822 layout in UTC (`02 Jan 06 15:04 UTC`), as vault prints the install time. */
export function rfc822(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

function keyStatusText(ks: KeyStatus): string {
  const rows: string[][] = [
    ['Key Term', String(ks.term)],
    ['Install Time', rfc822(ks.install_time)],
  ];
  if (ks.encryptions && ks.encryptions > 0) rows.push(['Encryption Count', String(ks.encryptions)]);
  return columns(rows);
}

async function rotate(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 0);
  const client = await ctx.client();
  await api('Error rotating key', () => client.call('PUT', 'sys/rotate'));
  const ks = await api('Error reading key status', () => readKeyStatus(client));
  if (ctx.format !== 'table') await out(await structured(ks, ctx.format));
  else await out(`Success! Rotated key\n\n${keyStatusText(ks)}`);
  return 0;
}

async function keyStatus(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 0);
  const ks = await api('Error reading key status', async () => readKeyStatus(await ctx.client()));
  if (ctx.format !== 'table') await out(await structured(ks, ctx.format));
  else await out(keyStatusText(ks));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, { init, unseal, seal, rotate, 'key-status': keyStatus, 'generate-root': generateRoot, rekey, migrate }, listedWording('operator'));
}
