/**
 * Output as the vault CLI prints it: `table` (columnize's layout, Go-style value rendering), `json` (the exact
 * response), `yaml`; and `-field=NAME` (one value, raw, no newline added). Every command renders through
 * here, so that the same response prints the same way whichever command fetched it.
 */
import type { Envelope, WrapInfo } from '../client/client.js';
import { formatGoDuration } from '../shared/duration.js';
import { UsageError } from '../shared/flags.js';

export type Format = 'table' | 'json' | 'yaml';

export function parseFormat(raw: string | undefined): Format {
  const f = (raw || process.env.COFFER_FORMAT || process.env.VAULT_FORMAT || 'table').toLowerCase();
  if (f !== 'table' && f !== 'json' && f !== 'yaml') throw new UsageError(`invalid value "${f}" for -format: expected table, json or yaml`);
  return f;
}

/** Writes to stdout and resolves once flushed (so the exit code never races the output). */
export function out(text: string): Promise<void> {
  return new Promise((resolve) => (text ? process.stdout.write(text, () => resolve()) : resolve()));
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

// --- values ---------------------------------------------------------------------------------------------

/** Go's %v rendering, which the vault CLI uses for table cells. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.keys(v as object).sort().map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`);
    return `map[${entries.join(' ')}]`;
  }
  return String(v);
}

/** Go's `%q` of a []string (`["a" "b"]`), as the vault CLI prints policy lists. */
function goQuotedList(list: unknown): string {
  if (!Array.isArray(list)) return '[]';
  return `[${list.map((p) => JSON.stringify(String(p))).join(' ')}]`;
}

/** Go's `%v` of a map[string]string: a nil map prints as `map[]`, not `<nil>`. */
export const goMap = (m: unknown) => (m && typeof m === 'object' && Object.keys(m).length ? goValue(m) : 'map[]');

/** The vault CLI's humanDuration: Go's duration without its zero minutes and seconds (`768h`, `1h30m`, `30s`). */
function humanDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  let text = formatGoDuration(seconds);
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  return text.replace('h0m', 'h');
}

const looksLikeDuration = (k: string) =>
  k === 'period' || k.endsWith('_period') || k === 'ttl' || k.endsWith('_ttl') || k === 'duration' || k.endsWith('_duration') || k === 'lease_max' || k === 'ttl_max';

/** One table value: Go's %v, except that TTL-like keys holding whole seconds print as durations (`768h`, `0s`). */
function cell(key: string, value: unknown): string {
  if (looksLikeDuration(key) && typeof value === 'number' && Number.isInteger(value)) return humanDuration(value);
  return goValue(value);
}

// --- tables ---------------------------------------------------------------------------------------------

/**
 * Rows laid out as columnize lays them out for the vault CLI: cells trimmed, empty cells `n/a`, columns as
 * wide as their widest cell in characters (not UTF-16 units), four spaces between, the last column unpadded.
 */
export function columns(rows: string[][]): string {
  if (rows.length === 0) return '';
  const cells = rows.map((r) => r.map((c) => c.trim() || 'n/a'));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - [...c].length))).join('    ')).join('\n') + '\n';
}

/** A table with a header and its dashed underline (the vault CLI's tableOutput). */
export function table(header: string[], rows: string[][]): string {
  return columns([header, header.map((h) => '-'.repeat(h.length)), ...rows]);
}

/** A map as a Key/Value table, keys sorted (the vault CLI's OutputMap); nothing for an empty map. */
export function mapTable(data: Record<string, unknown>): string {
  const keys = Object.keys(data).sort();
  return keys.length ? table(['Key', 'Value'], keys.map((k) => [k, cell(k, data[k])])) : '';
}

/** A one-column list (`Keys` / `----`). */
export function list(keys: string[], header = 'Keys'): string {
  return table([header], keys.map((k) => [k]));
}

/** The rows of the vault CLI's table for a response (lease, auth, data), or [] when there is nothing. */
function secretRows(res: Partial<Envelope>): string[][] {
  const rows: string[][] = [];
  if (res.lease_duration && res.lease_duration > 0) {
    if (res.lease_id) {
      rows.push(['lease_id', res.lease_id]);
      rows.push(['lease_duration', humanDuration(res.lease_duration)]);
      rows.push(['lease_renewable', String(res.renewable ?? false)]);
    } else {
      rows.push(['refresh_interval', humanDuration(res.lease_duration)]);
    }
  }
  const auth = res.auth as Record<string, any> | null | undefined;
  if (auth) {
    rows.push(['token', String(auth.client_token ?? '')]);
    rows.push(['token_accessor', String(auth.accessor ?? '')]);
    rows.push(['token_duration', auth.lease_duration ? humanDuration(auth.lease_duration) : '∞']);
    rows.push(['token_renewable', String(auth.renewable ?? false)]);
    rows.push(['token_policies', goQuotedList(auth.token_policies ?? auth.policies)]);
    rows.push(['identity_policies', goQuotedList(auth.identity_policies)]);
    rows.push(['policies', goQuotedList(auth.policies)]);
    const meta = (auth.metadata ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(meta).sort()) rows.push([`token_meta_${k}`, goValue(meta[k])]);
  }
  const data = (res.data ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(data).sort()) rows.push([k, cell(k, data[k])]);
  if (res.wrap_info) for (const [k, v] of Object.entries(wrapFields(res.wrap_info))) if (v !== undefined) rows.push([`${k}:`, String(v)]);
  return rows;
}

/** A wrapped response's fields as the vault CLI names them (table rows, with a colon, and -field names). */
function wrapFields(info: WrapInfo): Record<string, string | undefined> {
  return {
    wrapping_token: info.token,
    wrapping_accessor: info.accessor,
    wrapping_token_ttl: humanDuration(info.ttl),
    wrapping_token_creation_time: info.creation_time,
    wrapping_token_creation_path: info.creation_path,
    wrapped_accessor: info.wrapped_accessor || undefined,
  };
}

// --- text -----------------------------------------------------------------------------------------------

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

/** A response's warnings, worded and indented like the vault CLI's (for stderr). */
export function warningsText(warnings: string[] | null | undefined): string {
  if (!warnings?.length) return '';
  return 'WARNING! The following warnings were returned from coffer:\n\n' + warnings.map((w) => `${wrapAtLength(`* ${w}`, 2)}\n\n`).join('');
}

// --- machine formats ------------------------------------------------------------------------------------

/** Recursively sorted keys: the vault CLI's YAML goes through a Go map, so its keys come out sorted. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

async function yaml(value: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(sortKeys(value));
}

/** Serialises in the chosen machine format; `table` is the caller's job. */
export async function structured(value: unknown, format: Exclude<Format, 'table'>): Promise<string> {
  return format === 'json' ? json(value) : yaml(value);
}

// --- -field ---------------------------------------------------------------------------------------------

export class FieldMissingError extends Error {
  constructor(field: string) {
    super(`Field "${field}" not present in secret`);
  }
}

/**
 * One field, raw, as the vault CLI's -field prints it: strings as they are, lists in Go's %v (`[a b]`), maps
 * as JSON, other values as text. A null value counts as missing, as vault's nil does.
 */
export function fieldValue(source: Record<string, unknown>, field: string): string {
  const value = Object.hasOwn(source, field) ? source[field] : undefined;
  if (value === null || value === undefined) throw new FieldMissingError(field);
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return goValue(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `-field=token` and friends on token responses, as the vault CLI names them. */
function flattenAuth(auth: Record<string, any>): Record<string, unknown> {
  return {
    token: auth.client_token,
    token_accessor: auth.accessor,
    token_duration: auth.lease_duration,
    token_renewable: auth.renewable,
    token_policies: auth.token_policies,
    policies: auth.policies,
  };
}

/** Where -field looks in a response: the wrapping token's fields, the token fields of `auth`, then `data`. */
function fieldSource(res: Envelope): Record<string, unknown> {
  if (res.wrap_info) return wrapFields(res.wrap_info);
  const data = (res.data ?? {}) as Record<string, unknown>;
  if (!res.auth) return data;
  return { ...data, ...flattenAuth(res.auth), identity_policies: (res.auth as { identity_policies?: unknown }).identity_policies ?? [] };
}

interface OutputOptions {
  format: Format;
  field: string | undefined;
}

/**
 * A response printed as `-field` or `-format=json|yaml` asked for (the whole envelope, whatever the command);
 * false when neither was asked for and the table is the caller's to print.
 */
export async function printFieldOrFormat(ctx: OutputOptions, res: Envelope): Promise<boolean> {
  if (ctx.field) {
    await out(fieldValue(fieldSource(res), ctx.field));
    return true;
  }
  if (ctx.format === 'table') {
    if (!res.wrap_info) return false;
    // A wrapped response has nothing but the wrapping token to show, whatever the command prints otherwise.
    process.stderr.write(warningsText(res.warnings));
    await out(table(['Key', 'Value'], secretRows(res)));
    return true;
  }
  await out(await structured(res, ctx.format));
  return true;
}

/**
 * A response as the vault CLI prints it: `-field`, then json/yaml, else the warnings on stderr and the table;
 * `emptyText` is printed when the table has no rows.
 */
export async function printSecret(ctx: OutputOptions, res: Envelope | null, emptyText = ''): Promise<number> {
  if (!res) {
    if (ctx.field) throw new FieldMissingError(ctx.field);
    return 0;
  }
  if (await printFieldOrFormat(ctx, res)) return 0;
  process.stderr.write(warningsText(res.warnings));
  const rows = secretRows(res);
  await out(rows.length ? table(['Key', 'Value'], rows) : emptyText);
  return 0;
}
