/**
 * The values a manifest holds while it is rendered, and the number formats of the Go programs whose output the
 * plugin reproduces (argocd-vault-plugin is written in Go; its output goes through encoding/json and yaml.v2).
 *
 * Numbers come in two kinds, as they do in AVP: those read from the server keep the text the server sent (Go's
 * `json.Number`), those produced by parsing a string (`jsonParse`, `yamlParse`, the automatic parse of
 * `jsonPath`) are float64. The difference shows when a template prints them: `1000000` from the server prints as
 * `1000000`, the same number parsed from a string prints as `1e+06`.
 */

/** A number as the server sent it (Go's json.Number). */
export class JsonNumber {
  constructor(readonly text: string) {}
  valueOf(): number {
    return Number(this.text);
  }
  toJSON(): number {
    return Number(this.text);
  }
}

export type Value = null | boolean | number | JsonNumber | string | Value[] | ValueMap;
export interface ValueMap {
  [key: string]: Value;
}

export function isMap(v: unknown): v is ValueMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/** A map with no prototype, so that keys such as `__proto__` or `constructor` are plain keys. */
export function newMap(): ValueMap {
  return Object.create(null) as ValueMap;
}

/** A JSON.parse result as a Value (objects get a null prototype), numbers mapped by `num`. */
function fromJson(v: unknown, num: (n: number) => Value): Value {
  if (typeof v === 'number') return num(v);
  if (Array.isArray(v)) return v.map((x) => fromJson(x, num));
  if (typeof v === 'object' && v !== null) {
    const out = newMap();
    for (const [k, x] of Object.entries(v)) out[k] = fromJson(x, num);
    return out;
  }
  return v as Value;
}

/** Numbers inside a parsed server answer become JsonNumber, keeping the server's text. */
export const fromServer = (v: unknown): Value => fromJson(v, (n) => new JsonNumber(JSON.stringify(n)));

/** A parsed JSON string (numbers are float64, as Go's json.Unmarshal makes them). */
export const fromParsed = (v: unknown): Value => fromJson(v, (n) => n);

/** The Go type AVP would see for a value, for error messages. */
export function goTypeName(v: Value): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof JsonNumber) return 'json.Number';
  if (typeof v === 'number') return 'float64';
  return Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}';
}

/**
 * Go's strconv.FormatFloat(f, 'g', -1, 64): the shortest digits that read back as f, in exponent form when the
 * decimal exponent is below -4 or at least 6 (yaml.v2 prints floats this way; fmt's %v too).
 */
export function goFormatG(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa, expText] = f.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  return String(f); // JavaScript prints fixed notation in this range, with the same shortest digits
}

/** The text Go's encoding/json writes for a float64 (JavaScript's own shortest form matches it). */
export function goJsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new Error(`unsupported value: ${f}`);
  return Object.is(f, -0) ? '-0' : String(f);
}

/** The JSON text of a number of either kind. */
export function numberText(n: number | JsonNumber): string {
  return n instanceof JsonNumber ? n.text : goJsonFloat(n);
}

/** How Go's fmt prints a scalar with %v (strings as they are, float64 in 'g' form, json.Number as its text). */
export function goPrint(v: Value): string {
  if (typeof v === 'string') return v;
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'number') return goFormatG(v);
  if (v === null) return '<nil>';
  return String(v);
}

/**
 * Go's json.Marshal: map keys sorted, `<`, `>` and `&` escaped (as Go does by default), U+2028/2029 escaped.
 */
export function goJsonMarshal(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' || v instanceof JsonNumber) return numberText(v);
  if (typeof v === 'string') return goJsonString(v);
  if (Array.isArray(v)) return `[${v.map(goJsonMarshal).join(',')}]`;
  const keys = Object.keys(v).sort(byteOrder);
  return `{${keys.map((k) => `${goJsonString(k)}:${goJsonMarshal(v[k])}`).join(',')}}`;
}

function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go compares strings by their UTF-8 bytes; for sorting map keys, comparing code points gives the same order. */
export function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}
