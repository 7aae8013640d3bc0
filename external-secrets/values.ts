/**
 * ESO's value rules, applied on coffer's side so that what a store's `result.jsonPath` selects survives them:
 * ESO formats a JSON number in `data[]` without decimals (1.5 → "2") and `dataFrom.extract` refuses anything but
 * string values. So every scalar is handed over as the string it reads as, and nested values as their JSON text.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One value as the text a Kubernetes Secret should hold: strings as-is, null as empty, the rest as JSON. */
export function secretString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value); // numbers and bools print as JSON does (1.5, 42, true); objects and arrays as JSON
}

/** All keys of an object, each value as a string: the flat map `dataFrom.extract` turns into Secret keys. */
export function flatten(object: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(object)) out[key] = secretString(value);
  return out;
}

/**
 * The value `property` names in a secret, as ESO's own Vault provider finds it: an exact top-level key first,
 * then a dotted path into nested objects and arrays (`db.hosts.0`; `\.` is a literal dot). Undefined when absent.
 */
export function selectProperty(data: Record<string, unknown>, property: string): unknown {
  if (Object.hasOwn(data, property)) return data[property];
  let current: unknown = data;
  for (const segment of property.split(/(?<!\\)\./).map((s) => s.replace(/\\\./g, '.'))) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (isPlainObject(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** What the read endpoint puts under `data`: objects as the flat map (usable by `extract`), anything else a string. */
export const shapeForEso = (value: unknown): string | Record<string, string> =>
  isPlainObject(value) ? flatten(value) : secretString(value);
