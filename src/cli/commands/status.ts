/**
 * `coffer status`, like `vault status`: the seal status table, exit 0 when unsealed, 2 when sealed, 1 on error.
 *
 * The seal status output is shared with `operator unseal`, which prints the same table.
 */
import { expectArgs } from '../args.js';
import { commandContext, CONNECTION_HELP, type CommandContext } from '../context.js';
import { api, failure } from '../errors.js';
import { out, structured, table } from '../output.js';
import type { CofferClient, SealStatus } from '../../client/client.js';

export const help = `Usage: coffer status [options]

  Prints the current state of coffer: whether it is initialized and sealed, the key shares and threshold,
  the unseal progress while sealed, the version and storage type. This works while the server is sealed.

  The exit code reflects the seal status:

      - 0 - unsealed
      - 1 - error
      - 2 - sealed

      $ coffer status
      $ coffer status -format=json

Output options:
  -format=FORMAT         table (default), json or yaml.

${CONNECTION_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 0);
  // Exit code 2 means "sealed" here, so errors are 1 (as vault does).
  const client = await api('Error checking seal status', () => ctx.client(), 1);
  const status = await api('Error checking seal status', () => client.sealStatus(), 1);
  // Sealed wins over a failure to read the HA fields, as in vault.
  await printSealStatus(ctx, client, status, status.sealed ? 2 : 1);
  return status.sealed ? 2 : 0;
}

interface LeaderStatus {
  ha_enabled?: boolean;
  is_self?: boolean;
  active_time?: string;
  leader_address?: string;
  leader_cluster_address?: string;
}

/**
 * The seal status as `vault status` and `vault operator unseal` print it (the seal status plus the HA fields
 * of sys/leader). Fails with `failCode` when the leader status cannot be read.
 */
export async function printSealStatus(ctx: CommandContext, client: CofferClient, status: SealStatus, failCode = 1): Promise<number> {
  let leader: LeaderStatus;
  try {
    leader = ((await client.call('GET', 'sys/leader', { noToken: true })).json ?? {}) as LeaderStatus;
  } catch (e) {
    // Vault masks "sealed" here: HA is enabled but the leader cannot be asked while sealed.
    if (e instanceof Error && /is sealed/.test(e.message)) leader = { ha_enabled: true };
    else throw failure('Error checking leader status', e, failCode);
  }
  const s = status as SealStatus & Record<string, any>;
  if (ctx.format !== 'table') {
    const output: Record<string, unknown> = { ...s, ha_enabled: leader.ha_enabled ?? false };
    if (leader.is_self) output.is_self = true;
    if (leader.active_time) output.active_time = leader.active_time;
    if (leader.leader_address) output.leader_address = leader.leader_address;
    if (leader.leader_cluster_address) output.leader_cluster_address = leader.leader_cluster_address;
    await out(await structured(output, ctx.format));
    return 0;
  }
  const prefix = s.recovery_seal ? 'Recovery ' : '';
  const rows: string[][] = [
    [`${prefix}Seal Type`, String(s.type ?? '')],
    ['Initialized', String(s.initialized)],
    ['Sealed', String(s.sealed)],
    [`Total ${prefix}Shares`, String(s.n ?? 0)],
    ['Threshold', String(s.t ?? 0)],
  ];
  if (s.sealed) {
    rows.push(['Unseal Progress', `${s.progress ?? 0}/${s.t ?? 0}`]);
    rows.push(['Unseal Nonce', String(s.nonce ?? '')]);
  }
  if (s.migration) rows.push(['Seal Migration in Progress', 'true']);
  rows.push(['Version', String(s.version ?? '')]);
  rows.push(['Build Date', String(s.build_date ?? '')]);
  rows.push(['Storage Type', String(s.storage_type ?? '')]);
  if (s.cluster_name && s.cluster_id) {
    rows.push(['Cluster Name', String(s.cluster_name)]);
    rows.push(['Cluster ID', String(s.cluster_id)]);
  }
  rows.push(['HA Enabled', String(leader.ha_enabled ?? false)]);
  if (leader.ha_enabled && !s.sealed) {
    rows.push(['HA Cluster', leader.leader_cluster_address ?? '']);
    rows.push(['HA Mode', leader.is_self ? 'active' : 'standby']);
    if (leader.is_self && leader.active_time && !leader.active_time.startsWith('0001-')) rows.push(['Active Since', leader.active_time]);
    if (!leader.is_self) rows.push(['Active Node Address', leader.leader_address || '<none>']);
  }
  await out(table(['Key', 'Value'], rows));
  return 0;
}
