/**
 * `key=value` arguments as the vault CLI reads them: `key=@file` reads a file, `key=-` reads stdin, a lone `-`
 * reads a JSON object from stdin as the whole body, repeated keys become lists.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../shared/flags.js';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function parseKeyValues(args: string[], stdin: () => Promise<string> = readStdin): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = {};
  let stdinUsed = false;
  const takeStdin = async () => {
    if (stdinUsed) throw new UsageError('stdin can only be read once');
    stdinUsed = true;
    return stdin();
  };
  for (const arg of args) {
    if (arg === '-') {
      const text = await takeStdin();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new UsageError('failed to parse JSON input from stdin: the input is not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('stdin must hold a JSON object');
      Object.assign(data, parsed);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid key/value pair "${arg.length > 40 ? `${arg.slice(0, 40)}…` : arg}": format must be key=value`);
    const key = arg.slice(0, eq);
    let value: string = arg.slice(eq + 1);
    if (value === '-') value = await takeStdin();
    else if (value.startsWith('@')) {
      try {
        value = await readFile(value.slice(1), 'utf8');
      } catch (err) {
        throw new UsageError(`error reading file "${value.slice(1)}" for key "${key}": ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    }
    if (Object.hasOwn(data, key)) {
      const prev = data[key];
      data[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    } else {
      data[key] = value;
    }
  }
  return data;
}
