/** `coffer secrets enable|disable|list|tune|move`, like `vault secrets`. */
import { expectArgs, inlineWording, runSubcommand } from '../args.js';
import { CONNECTION_HELP, commandContext } from '../context.js';
import { ENABLE_HELP, SECRETS, TUNE_HELP, mountPath, mountSubcommands } from '../mounts.js';
import { out } from '../output.js';

export const help = `Usage: coffer secrets <subcommand> [options] [args]

  Interacts with secrets engines: enables, disables, lists, tunes and moves them.

Subcommands:
    enable     Enable a secrets engine (at TYPE/ unless -path is given)
    disable    Disable a secrets engine and delete its data
    list       List enabled secrets engines
    tune       Tune a secrets engine's configuration
    move       Move a secrets engine to a new path, keeping its data

coffer secrets enable [options] TYPE
  $ coffer secrets enable -path=kv -version=2 kv
  Success! Enabled the kv secrets engine at: kv/
  $ coffer secrets enable -path=team -description="team secrets" -max-lease-ttl=24h kv-v2
  $ coffer secrets enable -path=pki_int pki
  Engine types: kv (-version=1|2), kv-v2, database, pki.

${ENABLE_HELP}

coffer secrets disable PATH
  $ coffer secrets disable kv/
  Success! Disabled the secrets engine (if it existed) at: kv/

coffer secrets list [-detailed]
  $ coffer secrets list
  $ coffer secrets list -detailed
  $ coffer secrets list -format=json

  -detailed                Also print TTLs, options, replication and UUIDs.
  -format=FORMAT           table (default), json or yaml.

coffer secrets tune [options] PATH
  $ coffer secrets tune -default-lease-ttl=1h -max-lease-ttl=24h kv/
  Success! Tuned the secrets engine at: kv/
  $ coffer secrets tune -max-lease-ttl=87600h pki     (a mount's max may exceed the system max, as in Vault)

${TUNE_HELP}

coffer secrets move SOURCE DESTINATION
  $ coffer secrets move kv/ archive/
  Success! Moved secrets engine kv/ to: archive/

${CONNECTION_HELP}`;

async function move(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 2);
  const [from, to] = ctx.args.positional.map(mountPath);
  const client = await ctx.client();
  const res = await client.write<{ migration_id?: string }>('sys/remount', { from, to });
  const id = res?.data?.migration_id;
  if (!id) {
    // coffer moves a mount synchronously (no migration to wait for), as Vault did before 1.10.
    await out(`Success! Moved secrets engine ${from} to: ${to}\n`);
    return 0;
  }
  // A server that migrates asynchronously (Vault 1.10+): poll the migration like the vault CLI does.
  await out(`Started moving secrets engine ${from} to ${to}, with migration ID ${id}\n`);
  for (;;) {
    const status = await client.read<{ migration_info?: { status?: string } }>(`sys/remount/status/${id}`);
    const state = status?.data?.migration_info?.status;
    if (state === 'success') {
      await out(`Success! Finished moving secrets engine ${from} to ${to}, with migration ID ${id}\n`);
      return 0;
    }
    if (state === 'failure') {
      process.stderr.write(`Failure! Error encountered moving secrets engine ${from} to ${to}, with migration ID ${id}\n`);
      return 2;
    }
    await out(`Waiting for terminal status in migration of secrets engine ${from} to ${to}, with migration ID ${id}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, { ...mountSubcommands(SECRETS), move }, inlineWording('secrets'));
}
