/**
 * `coffer lease renew|revoke|lookup`, like the vault CLI, against Vault's sys/leases API
 * (sys/leases/renew, revoke, revoke-prefix/:prefix, revoke-force/:prefix, lookup).
 */
import { durationFlag, expectArgs, listedWording, runSubcommand } from '../args.js';
import { commandContext, CONNECTION_HELP, OUTPUT_HELP, type CommandContext } from '../context.js';
import { api } from '../errors.js';
import { UsageError } from '../../shared/flags.js';
import { out, printSecret, wrapAtLength } from '../output.js';
import type { CofferClient, Envelope } from '../../client/client.js';

export const help = `Usage: coffer lease <subcommand> [options] ID

  Interacts with the leases of dynamic secrets: renew them, revoke them (one, or all under a prefix), and
  look them up. Leases of tokens are handled by "coffer token".

      $ coffer lease renew -increment=1h database/creds/readonly/2f6a614c
      $ coffer lease revoke database/creds/readonly/2f6a614c
      $ coffer lease revoke -prefix database/creds/readonly
      $ coffer lease revoke -force -prefix database/creds/readonly
      $ coffer lease lookup database/creds/readonly/2f6a614c

Subcommands:
    renew     Renew a lease, optionally asking for an increment
    revoke    Revoke a lease, or every lease under a prefix
    lookup    Show a lease's issue time, expiry and TTL

Options:
  -increment=DURATION    (renew) Requested extension of the lease (e.g. 30m, 1h); also -i.
  -prefix                (revoke) Treat ID as a prefix and revoke every lease under it.
  -force                 (revoke) With -prefix: remove the leases even if revoking the secrets fails; also -f.
  -sync                  (revoke) Revoke synchronously instead of queueing the revocation.

${OUTPUT_HELP}
${CONNECTION_HELP}`;

/** Every sys/leases call goes out as a PUT, as the vault CLI sends them (the method shows in error messages). */
async function put(client: CofferClient, path: string, body: Record<string, unknown>): Promise<Envelope | null> {
  return ((await client.call('PUT', path, { body })).json ?? null) as Envelope | null;
}

function leaseId(ctx: CommandContext): string {
  const args = ctx.args.positional;
  if (args.length === 0) throw new UsageError('Missing ID!');
  return expectArgs(args, 1)[0].trim();
}

async function renew(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    { name: 'increment', kind: 'string' },
    { name: 'i', kind: 'string' },
  ]);
  const id = leaseId(ctx);
  const increment = durationFlag(ctx, 'increment') ?? durationFlag(ctx, 'i') ?? 0;
  const res = await api(`Error renewing ${id}`, async () => put(await ctx.client(), 'sys/leases/renew', { lease_id: id, increment }));
  return printSecret(ctx, res);
}

async function revoke(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, [
    { name: 'prefix', kind: 'bool' },
    { name: 'force', kind: 'bool' },
    { name: 'f', kind: 'bool' },
    { name: 'sync', kind: 'bool' },
  ]);
  const id = leaseId(ctx);
  const f = ctx.args.flags;
  const prefix = f.prefix === true;
  const force = f.force === true || f.f === true;
  const sync = f.sync === true;
  if (force && !prefix) throw new UsageError('Specifying -force requires also specifying -prefix');
  const client = await ctx.client();
  const prefixPath = id.replace(/^\/+/, '');
  if (force) {
    process.stderr.write(wrapAtLength('Warning! Force-removing leases can cause coffer to become out of sync with secret engines!') + '\n');
    await api(`Error force revoking leases with prefix ${id}`, () => put(client, `sys/leases/revoke-force/${prefixPath}`, {}));
    await out(`Success! Force revoked any leases with prefix: ${id}\n`);
    return 0;
  }
  if (prefix) {
    await api(`Error revoking leases with prefix ${id}`, () => put(client, `sys/leases/revoke-prefix/${prefixPath}`, { sync }));
    await out(sync ? `Success! Revoked any leases with prefix: ${id}\n` : 'All revocation operations queued successfully!\n');
    return 0;
  }
  await api(`Error revoking lease ${id}`, () => put(client, 'sys/leases/revoke', { lease_id: id, sync }));
  await out(sync ? `Success! Revoked lease: ${id}\n` : 'All revocation operations queued successfully!\n');
  return 0;
}

async function lookup(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  const id = leaseId(ctx);
  const res = await api(`error looking up lease id ${id}`, async () => put(await ctx.client(), 'sys/leases/lookup', { lease_id: id }));
  return printSecret(ctx, res);
}

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, { renew, revoke, lookup }, listedWording('lease'));
}
