/**
 * Reading a command's arguments the way the vault CLI does: typed flag values, argument counts and
 * subcommands, each failing with vault's usage message (exit 1 and the command's help, through main.ts).
 */
import { parseGoDuration } from '../shared/duration.js';
import { type ParsedArgs, UsageError } from '../shared/flags.js';

type WithArgs = { args: ParsedArgs };

/** Vault's "Not enough arguments (expected 1, got 0)" / "Too many arguments (expected 0-1, got 2)"; answers the arguments. */
export function expectArgs(args: string[], min: number, max = min): string[] {
  const expected = min === max || max === Infinity ? `${min}` : `${min}-${max}`;
  if (args.length < min) throw new UsageError(`Not enough arguments (expected ${expected}, got ${args.length})`);
  if (args.length > max) throw new UsageError(`Too many arguments (expected ${expected}, got ${args.length})`);
  return args;
}

/** A duration flag (`90`, `90s`, `1h30m`, `2d`), in whole seconds. */
export function durationFlag(ctx: WithArgs, name: string): number | undefined {
  const raw = ctx.args.flags[name];
  if (raw === undefined) return undefined;
  const seconds = parseGoDuration(String(raw));
  if (seconds === null) throw new UsageError(`invalid value "${raw}" for flag -${name}: time: invalid duration "${raw}"`);
  return seconds;
}

/** An integer flag as Go's flag package reads it (decimal, or 0x hex); anything else is a usage error. */
export function intFlag(ctx: WithArgs, name: string): number | undefined {
  const raw = ctx.args.flags[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  let value: number;
  if (/^[+-]?\d+$/.test(text)) value = parseInt(text, 10);
  else if (/^[+-]?0x[0-9a-f]+$/i.test(text)) value = parseInt(text, 16);
  else throw new UsageError(`invalid value "${raw}" for flag -${name}: parse error`);
  if (!Number.isSafeInteger(value)) throw new UsageError(`invalid value "${raw}" for flag -${name}: value out of range`);
  return value;
}

/** A count given under any of its names (`-key-shares` or `-n`); a count is never negative. */
export function countFlag(ctx: WithArgs, names: string[], fallback: number): number {
  for (const name of names) {
    const value = intFlag(ctx, name);
    if (value === undefined) continue;
    if (value < 0) throw new UsageError(`invalid value "${ctx.args.flags[name]}" for flag -${name}: parse error`);
    return value;
  }
  return fallback;
}

/** A repeatable string flag, each value also split on commas (the vault CLI's string-slice flags). */
export function listFlag(ctx: WithArgs, name: string): string[] | undefined {
  const raw = ctx.args.flags[name] as string[] | undefined;
  if (raw === undefined) return undefined;
  return raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

export type Subcommands = Record<string, (argv: string[]) => Promise<number>>;

/**
 * How a command words a missing or an unknown subcommand. Three wordings are in use, each pinned by the
 * command's tests; an empty message prints the help alone.
 */
export interface SubcommandWording {
  missing(names: string[]): string;
  unknown(name: string): string;
}

/** `missing subcommand: coffer secrets <enable|disable>` / `unknown subcommand "x" for coffer secrets`. */
export const inlineWording = (command: string): SubcommandWording => ({
  missing: (names) => `missing subcommand: coffer ${command} <${names.join('|')}>`,
  unknown: (name) => `unknown subcommand "${name}" for coffer ${command}`,
});

/** `Missing subcommand: expected one of create, lookup` / `Unknown subcommand "token x"`. */
export const listedWording = (command: string): SubcommandWording => ({
  missing: (names) => `Missing subcommand: expected one of ${names.join(', ')}`,
  unknown: (name) => `Unknown subcommand "${command} ${name}"`,
});

/** The help alone when no subcommand is given (as vault does) / `unknown subcommand "x" for "coffer kv"`. */
export const helpWording = (command: string): SubcommandWording => ({
  missing: () => '',
  unknown: (name) => `unknown subcommand "${name}" for "coffer ${command}"`,
});

/** Runs the subcommand named by the first argument with the rest; a flag there is not a subcommand. */
export function runSubcommand(argv: string[], subcommands: Subcommands, wording: SubcommandWording): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name.startsWith('-')) throw new UsageError(wording.missing(Object.keys(subcommands)));
  const handler = Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
  if (!handler) throw new UsageError(wording.unknown(name));
  return handler(rest);
}
