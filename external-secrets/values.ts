/**
 * ESO's value rules, applied on coffer's side so that what a store's `result.jsonPath` selects survives them:
 * ESO formats a JSON number in `data[]` without decimals (1.5 → "2") and `dataFrom.extract` refuses anything but
 * string values. So every scalar is handed over as the string it reads as, and nested values as their JSON text,
 * written as ESO's own Vault provider writes it (Go's encoding/json), so a Secret gets the same bytes from either.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One value as the text a Kubernetes Secret should hold: strings as-is, null as empty, the rest as JSON. */
export function secretString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return goJson(value); // numbers and bools print as JSON does (1.5, 42, true); objects and arrays as JSON
}

/** Go's json.Marshal of decoded JSON: compact, map keys in sorted order, and <, >, &, U+2028, U+2029 escaped. */
export function goJson(value: unknown): string {
  return compactSorted(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function compactSorted(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(compactSorted).join(',')}]`;
  if (!isPlainObject(value)) return JSON.stringify(value ?? null);
  // Built by hand: a JS object would put integer-like keys first, while Go sorts all keys as strings.
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${compactSorted(value[k])}`).join(',')}}`;
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
