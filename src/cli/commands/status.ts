/**
 * `coffer status`, like `vault status`: the seal status table, exit 0 when unsealed, 2 when sealed, 1 on error.
 *
 * This module also holds the pieces the operator, login, token and lease commands share with it: the vault
 * CLI's column layout (empty cells shown as `n/a`), its paragraph wrapping, the seal status output and the
 * "Error doing X: ..." reporting.
 */
import { commandContext, CONNECTION_HELP, err, out, type CommandContext } from '../context.js';
import { UsageError } from '../flags.js';
import { FieldMissingError, structured } from '../output.js';
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
  const extra = ctx.args.positional.length;
  if (extra > 0) throw new UsageError(`Too many arguments (expected 0, got ${extra})`);
  let client: CofferClient;
  let status: SealStatus;
  try {
    client = await ctx.client();
    status = await client.sealStatus();
  } catch (e) {
    // Exit code 2 means "sealed" here, so errors are 1 (as vault does).
    return failed('Error checking seal status', e, 1);
  }
  const code = await printSealStatus(ctx, client, status);
  return status.sealed ? 2 : code;
}

// --- shared by the ops commands -------------------------------------------------------------------------

/**
 * Reports a failed call the way the vault CLI does ("Error sealing: <message>") and answers the exit code
 * (2 unless told). Usage errors and missing fields keep their own handling in main.ts.
 */
export function failed(what: string, e: unknown, code = 2): number {
  if (e instanceof UsageError || e instanceof FieldMissingError) throw e;
  err(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  return code;
}

/** Rows laid out like the vault CLI's columnize: cells trimmed, empty cells `n/a`, four spaces between. */
export function columns(rows: [string, string][], header: [string, string] | null = ['Key', 'Value']): string {
  const all: [string, string][] = [];
  if (header) all.push(header, [header[0].replace(/./g, '-'), header[1].replace(/./g, '-')]);
  for (const [k, v] of rows) all.push([k.trim() || 'n/a', v.trim() || 'n/a']);
  if (all.length === 0) return '';
  const width = Math.max(...all.map(([k]) => [...k].length));
  return all.map(([k, v]) => `${k}${' '.repeat(width - [...k].length)}    ${v}`).join('\n') + '\n';
}

/**
 * Wraps a paragraph at 78 columns the way the vault CLI does (github.com/kr/text: the line breaks with the
 * least raggedness, not greedy filling), so advice texts break where vault's do.
 */
export function wrapAtLength(text: string, pad = 0): string {
  const limit = 78 - pad;
  const words = text.trim().replace(/\n/g, ' ').split(' ');
  const n = words.length;
  const lengthOf = (i: number, j: number) => {
    let total = j - i; // the spaces
    for (let k = i; k <= j; k++) total += words[k].length;
    return total;
  };
  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const next = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (lengthOf(i, n - 1) <= limit || i === n - 1) {
      cost[i] = 0;
      next[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const len = lengthOf(i, j - 1);
      const d = limit - len;
      let c = d * d + cost[j];
      if (len > limit) c += 100_000; // a word longer than the line
      if (c < cost[i]) {
        cost[i] = c;
        next[i] = j;
      }
    }
  }
  const lines: string[] = [];
  for (let i = 0; i < n; i = next[i]) lines.push(' '.repeat(pad) + words.slice(i, next[i]).join(' '));
  return lines.join('\n');
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
 * of sys/leader). Answers 0, or 1 when the leader status cannot be read.
 */
export async function printSealStatus(ctx: CommandContext, client: CofferClient, status: SealStatus): Promise<number> {
  let leader: LeaderStatus;
  try {
    leader = ((await client.call('GET', 'sys/leader', { noToken: true })).json ?? {}) as LeaderStatus;
  } catch (e) {
    // Vault masks "sealed" here: HA is enabled but the leader cannot be asked while sealed.
    if (e instanceof Error && /is sealed/.test(e.message)) leader = { ha_enabled: true };
    else return failed('Error checking leader status', e, 1);
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
  const rows: [string, string][] = [
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
  await out(columns(rows));
  return 0;
}
