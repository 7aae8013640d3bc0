/**
 * Go-style flags as the vault CLI takes them: `-name=value`, `-name value`, `--name=value`, `-bool`, flags
 * before or between positional arguments, and `--` ending flags. Written here because commander and yargs
 * treat `-name` as a cluster of short options, which would break every runbook written for `vault`.
 */
export interface FlagSpec {
  name: string;
  kind: 'string' | 'bool';
  /** Repeatable string flags collect every value. */
  multiple?: boolean;
}

export class UsageError extends Error {}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[]>;
  positional: string[];
}

export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: ParsedArgs['flags'] = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`flag provided but not defined: -${name}`);
    let value: string | boolean;
    if (spec.kind === 'bool') {
      const raw = eq === -1 ? 'true' : body.slice(eq + 1).toLowerCase();
      if (!['true', 'false', '1', '0', 't', 'f'].includes(raw)) throw new UsageError(`invalid boolean value "${raw}" for -${name}`);
      value = ['true', '1', 't'].includes(raw);
    } else if (eq !== -1) {
      value = body.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i];
    }
    if (spec.multiple) flags[name] = [...((flags[name] as string[] | undefined) ?? []), value as string];
    else flags[name] = value;
  }
  return { flags, positional };
}
