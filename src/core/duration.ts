import { badRequest } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses Vault's duration forms into whole seconds: a number of seconds (number or numeric string) or a Go
 * duration string such as `30s`, `15m`, `1h30m`, `768h` (plus `d`, which Vault also accepts).
 * Returns undefined for undefined/empty input; throws a 400 naming `field` for anything else it cannot read.
 */
export function parseDuration(value: unknown, field = 'duration'): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw badRequest(`invalid duration for field "${field}"`);
    return Math.floor(value);
  }
  if (typeof value !== 'string') throw badRequest(`invalid duration for field "${field}"`);
  const text = value.trim();
  if (/^\d+$/.test(text)) return parseInt(text, 10);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    total += parseFloat(match[1]) * UNIT_SECONDS[match[2]];
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw badRequest(`invalid duration for field "${field}": "${text.slice(0, 40)}"`);
  return Math.floor(total);
}

/** Formats seconds the way Go's time.Duration prints them (`768h0m0s`, `30s`, `0s`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
