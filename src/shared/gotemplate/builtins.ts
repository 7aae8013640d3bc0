/**
 * Go's predefined template functions. `and` and `or` are listed for the parser but evaluated lazily by the
 * executor (Go 1.18+ stops at the first argument that decides the result). `call` is refused at parse time: a
 * template here cannot hold function values.
 */
import { sprint, sprintln, isMap, isTrue, mapGet, mapSize, isInt, type GoValue } from './values.js';
import { sprintf } from './fmt.js';

export interface Builtin {
  /** Fewest and most arguments (Go's "wrong number of args for NAME: want N got M"). */
  min: number;
  max: number;
  /** Receives missing values as `undefined` (Go's reflect.Value parameters); others see them as nil. */
  raw: boolean;
  fn: (args: GoValue[]) => GoValue;
}

const ANY = Number.POSITIVE_INFINITY;

export class ComparisonError extends Error {}

type Kind = 'bool' | 'number' | 'string' | 'invalid' | 'other';

function basicKind(v: GoValue): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'other';
}

/** eq: arg1 == arg2 || arg1 == arg3 ...; comparing different basic kinds is an error unless one side is missing. */
function eq(args: GoValue[]): boolean {
  const [first, ...rest] = args;
  const k1 = basicKind(first);
  if (k1 === 'other') throw new ComparisonError('invalid type for comparison');
  return rest.some((arg) => {
    const k2 = basicKind(arg);
    if (k2 === 'other') throw new ComparisonError('invalid type for comparison');
    if (k1 !== k2) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new ComparisonError('incompatible types for comparison');
      return false;
    }
    return first === arg || (k1 === 'invalid' && k2 === 'invalid');
  });
}

function lt(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 !== 'number' && k1 !== 'string') throw new ComparisonError('invalid type for comparison');
  if (k1 !== k2) throw new ComparisonError('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
}

function length(v: GoValue): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8'); // Go's len counts bytes
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return mapSize(v);
  if (v === undefined || v === null) throw new Error('len of nil pointer');
  throw new Error(`len of type ${typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float64') : typeof v}`);
}

function indexOne(item: GoValue, key: GoValue): GoValue {
  if (item === undefined || item === null) throw new Error('index of untyped nil');
  if (isMap(item)) {
    if (key === undefined || key === null) throw new Error('value is nil; should be of type string');
    return mapGet(item, key).value; // a missing key gives the element's zero value: nil here
  }
  if (typeof item === 'string' || Array.isArray(item)) {
    if (!isInt(key)) throw new Error(`cannot index slice/array with type ${key === null || key === undefined ? 'nil' : typeof key}`);
    const size = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
    if (key < 0 || key >= size) throw new Error(`index out of range: ${key}`);
    return typeof item === 'string' ? Buffer.from(item, 'utf8')[key] : item[key];
  }
  throw new Error(`can't index item of type ${typeof item}`);
}

function slice(args: GoValue[]): GoValue {
  const [item, ...idx] = args;
  if (item === undefined || item === null) throw new Error('slice of untyped nil');
  if (typeof item !== 'string' && !Array.isArray(item)) throw new Error(`can't slice item of type ${typeof item}`);
  if (idx.length > 2) throw new Error(`too many slice indexes: ${idx.length}`);
  const size = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
  const bounds = idx.map((i) => {
    if (!isInt(i)) throw new Error('cannot index slice/array with nil');
    if (i < 0 || i > size) throw new Error(`index out of range: ${i}`);
    return i;
  });
  const [from = 0, to = size] = bounds;
  if (from > to) throw new Error(`invalid slice index: ${from} > ${to}`);
  return typeof item === 'string' ? Buffer.from(item, 'utf8').subarray(from, to).toString('utf8') : item.slice(from, to);
}

const HTML_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };

/** template.JSEscapeString. */
function jsEscape(s: string): string {
  return s.replace(/[\\'"<>&=\x00-\x1f\u2028\u2029]/g, (c) => {
    if (c === '\\' || c === "'" || c === '"') return `\\${c}`;
    return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/** url.QueryEscape: unreserved characters kept, space as `+`, the rest percent-encoded (upper-case hex). */
function queryEscape(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c)) return c;
      if (c === ' ') return '+';
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const bool2 = (f: (a: GoValue, b: GoValue) => boolean): Builtin => ({ min: 2, max: 2, raw: true, fn: ([a, b]) => f(a, b) });

export const BUILTINS: Record<string, Builtin> = {
  and: { min: 1, max: ANY, raw: true, fn: () => undefined },
  or: { min: 1, max: ANY, raw: true, fn: () => undefined },
  not: { min: 1, max: 1, raw: true, fn: ([a]) => !isTrue(a) },
  len: { min: 1, max: 1, raw: true, fn: ([a]) => length(a) },
  index: { min: 1, max: ANY, raw: true, fn: ([item, ...keys]) => keys.reduce(indexOne, item) },
  slice: { min: 1, max: ANY, raw: true, fn: slice },
  print: { min: 0, max: ANY, raw: false, fn: sprint },
  printf: { min: 1, max: ANY, raw: false, fn: ([format, ...rest]) => sprintf(String(format ?? ''), rest) },
  println: { min: 0, max: ANY, raw: false, fn: sprintln },
  html: { min: 0, max: ANY, raw: false, fn: (args) => sprint(args).replace(/[<>&'"\0]/g, (c) => HTML_ESCAPES[c]!) },
  js: { min: 0, max: ANY, raw: false, fn: (args) => jsEscape(sprint(args)) },
  urlquery: { min: 0, max: ANY, raw: false, fn: (args) => queryEscape(sprint(args)) },
  eq: { min: 1, max: ANY, raw: true, fn: (args) => {
    if (args.length < 2) throw new ComparisonError('missing argument for comparison');
    return eq(args);
  } },
  ne: bool2((a, b) => !eq([a, b])),
  lt: bool2(lt),
  le: bool2((a, b) => lt(a, b) || eq([a, b])),
  gt: bool2((a, b) => !lt(a, b) && !eq([a, b])),
  ge: bool2((a, b) => !lt(a, b)),
};
