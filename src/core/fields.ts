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
