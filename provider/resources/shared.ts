/** Steps the managed resources share: planned values without unknowns, change checks, Go durations. */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { UNKNOWN, type ObjectValue, type Value } from '../protocol/codec.js';
import { DiagnosticsError, error, type Resource } from '../protocol/types.js';
import { validateKnown } from '../values.js';
import type { Session } from '../session.js';

/** Planned values may hold unknowns for the computed attributes: those are left out of the request. */
export const known = (planned: ObjectValue): ObjectValue =>
  Object.fromEntries(Object.entries(planned).map(([k, v]) => [k, typeof v === 'symbol' ? null : v]));

/** Whether any of `names` differs between the planned and the prior object. */
export const changed = (planned: ObjectValue, prior: ObjectValue, names: string[]): boolean =>
  names.some((n) => !isDeepStrictEqual(planned[n], prior[n]));

/** The planned object with `names` marked known only after apply (a server-computed value that will move). */
export const unknownAfterApply = (planned: ObjectValue, names: string[]): ObjectValue => ({
  ...planned,
  ...Object.fromEntries(names.map((n) => [n, UNKNOWN])),
});

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 };

/** Seconds in a Go duration as the server prints it ("1h0m0s", "90s", "0s"); a bare number is seconds. */
export function goSeconds(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value === '') return 0;
  if (/^\d+$/.test(value)) return Number(value);
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]];
  return Math.round(total);
}

/** A name within a mount (connection, role): one path segment. */
export const objectName = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[^/\s]+$/, 'must not contain slashes or spaces');

/** A list of strings from the server (null or absent: empty). */
export const stringList = (v: unknown): Value[] => (Array.isArray(v) ? v.map(String) : []);

/** MOUNT and NAME from an import id MOUNT/KIND/NAME (NAME one segment, MOUNT possibly several). */
export function importPath(id: string, kind: string, form: string): { mount: string; name: string } {
  const path = id.replace(/^\/+|\/+$/g, '');
  const at = path.lastIndexOf(`/${kind}/`);
  const mount = at > 0 ? path.slice(0, at) : '';
  const name = at > 0 ? path.slice(at + kind.length + 2) : '';
  if (!mount || !name || name.includes('/')) {
    throw new DiagnosticsError(error(`cannot import ${JSON.stringify(id)}`, `Give it as ${form}.`));
  }
  return { mount, name };
}

/** A TTL argument in whole seconds, optional. */
export const seconds = z.number().int('must be a whole number of seconds').nonnegative('must not be negative').nullable();

/** Deletes the object at `path`, failures as diagnostics. */
export async function deleteAt(path: string, session: Session): Promise<void> {
  await session.run({ op: 'delete', path }, (client) => client.delete(path));
}

/** Seconds as the shortest of Vault's duration forms (1h, 15m, 90s): how an imported TTL is shown. */
export function shortDuration(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * The lifecycle of an object at one API path that is written whole on create and update and read back after
 * (roles): validation, create, update, read and delete in one place.
 */
export function wholeObject(o: {
  config: z.ZodObject;
  pathOf: (state: ObjectValue) => string;
  write: (planned: ObjectValue, session: Session, op: 'create' | 'update') => Promise<ObjectValue>;
  read: (state: ObjectValue, session: Session) => Promise<ObjectValue | null>;
}): Pick<Resource<Session>, 'validate' | 'create' | 'update' | 'read' | 'delete'> {
  return {
    validate: (c) => validateKnown(o.config, c),
    create: (planned, session) => o.write(planned, session, 'create'),
    update: (planned, _prior, session) => o.write(planned, session, 'update'),
    read: o.read,
    delete: (prior, session) => deleteAt(o.pathOf(prior), session),
  };
}
