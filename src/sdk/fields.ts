/**
 * Field types shared by path declarations. Vault accepts the same field as JSON in a body or as a string in a
 * query, so these accept both forms (`"true"`, `"10"`, `"a,b"`) and normalise them.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { badRequest } from './errors.js';

const parseBool = (v: unknown) => {
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['true', '1', 't'].includes(s)) return true;
    if (['false', '0', 'f', ''].includes(s)) return false;
  }
  if (typeof v === 'number') return v !== 0;
  return v;
};

export const bool = () => z.preprocess(parseBool, z.boolean());

export const int = () =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? parseInt(v, 10) : v), z.number().int());

/** Seconds; accepts integers and Go duration strings. */
export const duration = () =>
  z.preprocess((v, ctx) => {
    try {
      return parseDuration(v, String(ctx ?? ''));
    } catch {
      return Symbol('invalid');
    }
  }, z.number({ message: 'invalid duration' }).int().nonnegative());

/** A list given as an array or as a comma-separated string. */
export const stringList = () =>
  z.preprocess((v) => {
    if (typeof v === 'string') return v === '' ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
    return v;
  }, z.array(z.string()));

/** Vault's policy-name normalisation for a token: trimmed, lowercased, de-duplicated, sorted. */
export const normalizePolicies = (list: string[]) =>
  [...new Set(list.map((p) => p.trim().toLowerCase()).filter(Boolean))].sort();

export const stringMap = () => z.record(z.string(), z.string());

/**
 * Mount and audit `options`: strings, with numbers and booleans accepted as Vault's weak decoding of key-value
 * pairs does (`{"version": 2}` → "2", `{"log_raw": true}` → "1").
 */
export const optionsMap = () =>
  z.record(
    z.string(),
    z.union([z.string(), z.number().transform(String), z.boolean().transform((b) => (b ? '1' : '0'))]),
  );

/** Zero values as Vault's Go client sends them for fields it has no value for (no `omitempty`). */
const isZeroValue = (v: unknown) =>
  v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/**
 * A Vault field coffer does not implement. Clients send such fields at their zero value (`false`, `""`), which is
 * accepted; any real setting is refused, so a limit is never accepted and then silently dropped.
 */
export const unsupported = () =>
  z.unknown().refine(isZeroValue, { message: 'is not supported by coffer (only its empty value is accepted)' }).optional();

/** Operations whose data is a body the caller means to be stored or acted on (reads take query parameters). */
const WRITES = new Set(['create', 'update', 'patch']);

/** The field names an object schema declares; null when it takes any field (passthrough) or is not an object. */
function declaredFields(schema: z.ZodType): Set<string> | null {
  if (!(schema instanceof z.ZodObject)) return null;
  const catchall = schema._zod.def.catchall;
  if (catchall && !(catchall instanceof z.ZodNever)) return null;
  return new Set(Object.keys(schema.shape));
}

/**
 * Fields some Vault clients echo into the body from their URL templates (node-vault sends `mount_point`,
 * `role_name`, `name`). They carry nothing the path does not already say, so they are accepted when their value
 * names a part of the request's own path, and refused like any unknown field when it names something else.
 */
const TARGET_ECHOES = new Set(['mount_point', 'role_name', 'name', 'path']);

function echoesTarget(field: string, value: unknown, target: string): boolean {
  if (!TARGET_ECHOES.has(field) || typeof value !== 'string') return false;
  const named = value.replace(/^\/+|\/+$/g, '');
  return named !== '' && `/${target.replace(/\/+$/, '')}/`.includes(`/${named}/`);
}

/**
 * Request data as a path declaration receives it, the same way for every path:
 * - a top-level JSON `null` means "not set", as in Vault (merge-patch bodies keep theirs: there null means "remove");
 * - on writes, a field the path does not declare is refused with 400 naming it, never accepted and dropped (a
 *   path with no `schema` declares none; reads keep their query parameters unchecked);
 * - then the schema validates and normalises what is left.
 * Nested values are left alone (a null inside KV `data` is a value). `target` is the request's full path.
 */
export function validateRequestData(schema: z.ZodType | undefined, data: Record<string, unknown>, operation: string, target: string): unknown {
  let present = operation === 'patch' ? data : Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
  const declared = !WRITES.has(operation) ? null : schema ? declaredFields(schema) : new Set<string>();
  if (declared) {
    const undeclared = Object.keys(present).filter((k) => !declared.has(k));
    const unknown = undeclared.filter((k) => !echoesTarget(k, present[k], target));
    if (unknown.length) throw badRequest(`unknown field(s): ${unknown.map((k) => k.slice(0, 64)).sort().join(', ')}`);
    if (undeclared.length) present = Object.fromEntries(Object.entries(present).filter(([k]) => declared.has(k)));
  }
  return schema ? validate(schema, present) : present;
}

/** The new name, else its legacy alias; giving both with different values is refused rather than guessed. */
export function aliased<T>(data: object, name: string, legacy: string): T | undefined {
  const a = (data as Record<string, unknown>)[name] as T | undefined;
  const b = (data as Record<string, unknown>)[legacy] as T | undefined;
  if (a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
    throw badRequest(`cannot set both "${name}" and "${legacy}"; use "${name}"`);
  }
  return a ?? b;
}

/** Validates `data` against `schema`; a failure becomes a 400 whose message names each offending field. */
export function validate<T>(schema: z.ZodType<T>, data: unknown): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join('.') : '(body)';
    return `field "${field}": ${issue.message}`;
  });
  throw badRequest(`invalid request data: ${problems.join(', ')}`);
}
