/**
 * Go's view of the JavaScript values a template sees. `undefined` is Go's invalid reflect.Value (a missing map
 * key: prints `<no value>`), `null` is nil (prints `<nil>`), arrays are slices, plain objects and Maps are maps.
 * JavaScript has one number type: an integral number behaves as Go's int, any other as float64.
 */
export type GoValue = unknown;

export function isMap(v: GoValue): v is Record<string, unknown> | Map<unknown, unknown> {
  if (v instanceof Map) return true;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export const isInt = (v: GoValue): v is number => typeof v === 'number' && Number.isInteger(v);

/** Map entries with keys in Go's order (fmt and range sort keys: numbers numerically, strings bytewise). */
export function sortedEntries(m: Record<string, unknown> | Map<unknown, unknown>): [unknown, unknown][] {
  const entries: [unknown, unknown][] = m instanceof Map ? [...m.entries()] : Object.entries(m);
  return entries.sort(([a], [b]) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    const x = String(a);
    const y = String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function mapGet(m: Record<string, unknown> | Map<unknown, unknown>, key: unknown): { found: boolean; value: unknown } {
  if (m instanceof Map) return { found: m.has(key), value: m.get(key) };
  const k = String(key);
  return Object.hasOwn(m, k) ? { found: true, value: m[k] } : { found: false, value: undefined };
}

export function mapSize(m: Record<string, unknown> | Map<unknown, unknown>): number {
  return m instanceof Map ? m.size : Object.keys(m).length;
}

/** Go's truth: the zero value of its type is false, and so is a missing value. */
export function isTrue(v: GoValue): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return mapSize(v) > 0;
  return true;
}

/** The Go type name fmt prints in `%!d(string=x)`. */
export function goTypeName(v: GoValue): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  if (typeof v === 'function') return 'func';
  return 'interface {}';
}

/** strconv.FormatFloat(f, 'g', -1, 64): shortest digits, exponent form below 1e-4 or from 1e21, two-digit exponents. */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(f)));
  if (exp < -4 || exp >= 21) return goExponent(f.toExponential());
  return String(f);
}

/** JavaScript writes `1.5e-7`; Go writes `1.5e-07`. */
export function goExponent(js: string): string {
  return js.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** fmt's %v. */
export function formatValue(v: GoValue): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatNested).join(' ')}]`;
  if (isMap(v)) return `map[${sortedEntries(v).map(([k, x]) => `${formatNested(k)}:${formatNested(x)}`).join(' ')}]`;
  if (typeof v === 'function') return '<func>';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** Inside a slice or map a nil interface prints as `<nil>`, never `<no value>`. */
const formatNested = (v: GoValue): string => formatValue(v === undefined ? null : v);

/** fmt.Sprint: operands joined, with a space only between two operands that are both not strings. */
export function sprint(args: GoValue[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatNested(a);
  });
  return out;
}

/** fmt.Sprintln: operands always space-separated, then a newline. */
export function sprintln(args: GoValue[]): string {
  return `${args.map(formatNested).join(' ')}\n`;
}

/** strconv.Quote: Go escapes, printable Unicode kept as is. */
export function goQuote(s: string, quote = '"'): string {
  const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\' };
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote) out += `\\${quote}`;
    else if (named[ch]) out += named[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch)) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + quote;
}
