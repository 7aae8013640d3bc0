/**
 * Durations as Vault reads and prints them. Shared by the server (request fields, config) and the CLI (flags)
 * so that a value one accepts the other accepts too; pure, so the CLI can use it without loading the server.
 */

const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Whole seconds from integer seconds (`90`) or a Go duration string (`30s`, `1h30m`, `1.5h`, `.5h`, plus `d`,
 * which Vault also takes); surrounding white space is ignored. Null when the text is neither.
 */
export function parseGoDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return parseInt(trimmed, 10);
  const unit = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = unit.exec(trimmed)) !== null) {
    total += parseFloat(match[1]) * UNIT_SECONDS[match[2]];
    consumed = unit.lastIndex;
  }
  if (consumed === 0 || consumed !== trimmed.length) return null;
  return Math.floor(total);
}

/** Seconds as Go's time.Duration prints them (`768h0m0s`, `1m30s`, `0s`), which is what Vault's API returns. */
export function formatGoDuration(seconds: number): string {
  if (seconds < 0) return `-${formatGoDuration(-seconds)}`;
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
