/**
 * Output as the vault CLI prints it: `table` (Key/Value columns, Go-style value rendering), `json` (the exact
 * response), `yaml`; and `-field=NAME` (one value, raw, no newline added).
 */
import { UsageError } from './flags.js';

export type Format = 'table' | 'json' | 'yaml';

export function parseFormat(raw: string | undefined): Format {
  const f = (raw || process.env.COFFER_FORMAT || process.env.VAULT_FORMAT || 'table').toLowerCase();
  if (f !== 'table' && f !== 'json' && f !== 'yaml') throw new UsageError(`invalid value "${f}" for -format: expected table, json or yaml`);
  return f;
}

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

/** A two-column table with a header, columns separated by four spaces like the vault CLI. */
export function table(rows: [string, unknown][], header: [string, string] = ['Key', 'Value']): string {
  if (rows.length === 0) return '';
  const all: [string, string][] = [header, [header[0].replace(/./g, '-'), header[1].replace(/./g, '-')], ...rows.map(([k, v]) => [k, goValue(v)] as [string, string])];
  const width = Math.max(...all.map(([k]) => k.length));
  return all.map(([k, v]) => `${k.padEnd(width)}    ${v}`.trimEnd()).join('\n') + '\n';
}

/** A one-column list (`Keys` / `----`). */
export function list(keys: string[], header = 'Keys'): string {
  return [header, header.replace(/./g, '-'), ...keys].join('\n') + '\n';
}

export async function yaml(value: unknown): Promise<string> {
  const { stringify } = await import('yaml');
  return stringify(value);
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** Serialises in the chosen machine format; `table` is the caller's job. */
export async function structured(value: unknown, format: Exclude<Format, 'table'>): Promise<string> {
  return format === 'json' ? json(value) : yaml(value);
}

export class FieldMissingError extends Error {
  constructor(field: string) {
    super(`Field "${field}" not present in secret`);
  }
}

/** The raw value of one field: strings as-is, other values as JSON (as the vault CLI prints them). */
export function fieldValue(source: Record<string, unknown>, field: string): string {
  if (!Object.hasOwn(source, field)) throw new FieldMissingError(field);
  const value = source[field];
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

interface EnvelopeLike {
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, unknown> | null;
  auth?: Record<string, any> | null;
  warnings?: string[] | null;
}

/** Rows for a generic secret: lease fields first when leased, then data keys sorted. */
export function secretRows(env: EnvelopeLike): [string, unknown][] {
  const rows: [string, unknown][] = [];
  if (env.auth) return authRows(env.auth);
  if (env.lease_duration && env.lease_duration > 0) {
    if (env.lease_id) {
      rows.push(['lease_id', env.lease_id]);
      rows.push(['lease_duration', formatSeconds(env.lease_duration)]);
      rows.push(['lease_renewable', env.renewable ?? false]);
    } else {
      rows.push(['refresh_interval', formatSeconds(env.lease_duration)]);
    }
  }
  const data = env.data ?? {};
  for (const key of Object.keys(data).sort()) rows.push([key, data[key]]);
  return rows;
}

/** Rows of a token / login response, as `vault token create` and `vault login` print them. */
export function authRows(auth: Record<string, any>): [string, unknown][] {
  return [
    ['token', auth.client_token],
    ['token_accessor', auth.accessor],
    ['token_duration', auth.lease_duration ? formatSeconds(auth.lease_duration) : '∞'],
    ['token_renewable', auth.renewable],
    ['token_policies', auth.token_policies ?? auth.policies],
    ['identity_policies', auth.identity_policies ?? []],
    ['policies', auth.policies],
    ...(auth.metadata ? Object.keys(auth.metadata).sort().map((k): [string, unknown] => [`token_meta_${k}`, auth.metadata[k]]) : []),
  ];
}

/** Go's duration rendering of seconds (`768h`, `1h30m`, `30s`), as the vault CLI shows TTLs. */
export function formatSeconds(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

export function warningsText(warnings: string[] | null | undefined): string {
  if (!warnings?.length) return '';
  return warnings.map((w) => `WARNING! The following warnings were returned from coffer:\n\n  * ${w}\n`).join('\n') + '\n';
}
