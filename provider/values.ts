/** Conversions between server answers, zod checks and Terraform values shared by the data sources. */
import { z } from 'zod';
import { isWhollyKnown, type ObjectValue, type Value } from './protocol/codec.js';
import { DiagnosticsError, type Diagnostic } from './protocol/types.js';

/** One diagnostic per zod issue, pointing at the attribute (zod paths are attribute names and indexes). */
export function zodDiagnostics(err: z.ZodError): Diagnostic[] {
  return err.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    return { severity: 'error', summary: `Invalid value for ${path.length ? path.join('.') : 'the configuration'}`, detail: issue.message, path };
  });
}

/** Parses a wholly known config with a zod schema, raising diagnostics on the attributes at fault. */
export function parseConfig<S extends z.ZodType>(schema: S, config: ObjectValue): z.infer<S> {
  const parsed = schema.safeParse(config);
  if (!parsed.success) throw new DiagnosticsError(zodDiagnostics(parsed.error));
  return parsed.data;
}

/** Validation of a config that may still hold unknowns: only wholly known attributes are checked. */
export function validateKnown(schema: z.ZodObject, config: ObjectValue): Diagnostic[] {
  const known: Record<string, unknown> = {};
  const unknown: Record<string, true> = {};
  for (const [k, v] of Object.entries(config)) {
    if (isWhollyKnown(v)) known[k] = v;
    else unknown[k] = true;
  }
  const parsed = schema.omit(unknown as never).safeParse(known);
  return parsed.success ? [] : zodDiagnostics(parsed.error);
}

/**
 * A secret's data as the vault provider shows it in `data` (a map of strings): strings as they are, any
 * other JSON value as its JSON text.
 */
export function stringMap(data: Record<string, unknown> | null | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** The server's RFC 3339 time, or null for its zero/empty forms. */
export function timeOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' && !v.startsWith('0001-01-01') ? v : null;
}

/** A duration in Vault's short forms (seconds, or with s, m, h), optional. */
export const duration = z
  .string()
  .regex(/^\d+(s|m|h)?$/, 'must be a duration such as 30s, 15m or 1h')
  .nullable();
