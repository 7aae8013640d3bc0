import { formatGoDuration, parseGoDuration } from '../shared/duration.js';
import { badRequest } from './errors.js';

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
  const seconds = parseGoDuration(value);
  if (seconds === null) throw badRequest(`invalid duration for field "${field}": "${value.trim().slice(0, 40)}"`);
  return seconds;
}

/** Formats seconds the way Go's time.Duration prints them (`768h0m0s`, `30s`, `0s`). */
export const formatDuration = formatGoDuration;
