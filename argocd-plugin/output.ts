/**
 * Printing manifests exactly as argocd-vault-plugin does, so that Argo CD sees byte-identical output (and no
 * diff) when a repository moves from AVP to coffer.
 *
 * AVP prints each manifest with sigs.k8s.io/yaml, which marshals to JSON, reads that JSON back with yaml.v2
 * (numbers become int or float from their JSON text) and emits it with yaml.v2's emitter (a port of libyaml):
 * keys in yaml.v2's "natural" order, block style, sequences not indented under their key, strings quoted only
 * when they would otherwise read back as something else, multi-line strings as literal blocks, and long lines
 * folded at 80 columns. The `yaml` package prints differently in each of these respects, so this module
 * implements that emitter's rules (scalar analysis, style choice, indentation and line folding) itself.
 */
import { JsonNumber, byteOrder, goFormatG, numberText, type Value, type ValueMap, isMap } from './values.js';

const BEST_INDENT = 2;
const BEST_WIDTH = 80;

/** One manifest as YAML, ending with a newline (AVP then writes `---`). */
export function printDocument(doc: Value): string {
  const e = new Emitter();
  e.node(doc, { root: true, sequence: false, mapping: false, simpleKey: false });
  e.documentEnd();
  return e.text();
}

/** Every manifest followed by `---`, as `argocd-vault-plugin generate` prints them. */
export function printStream(docs: Value[]): string {
  let out = '';
  for (const d of docs) out += `${printDocument(d)}---\n`;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Scalars: what yaml.v2 would read a plain scalar as, and how it chooses a style
// ---------------------------------------------------------------------------------------------------------------

type Style = 'plain' | 'single' | 'double' | 'literal';

interface Scalar {
  text: string;
  /** The style the encoder asks for; the emitter may fall back to a quoted one. */
  style: Style;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const UINT64_MAX = 18446744073709551615n;

/** A number as yaml.v2 prints it after reading its JSON text back: integers as integers, the rest as floats. */
function numberScalar(n: number | JsonNumber): Scalar {
  const t = numberText(n);
  if (/^-?\d+$/.test(t)) {
    const big = BigInt(t);
    if ((big >= INT64_MIN && big <= INT64_MAX) || (big >= 0n && big <= UINT64_MAX)) return { text: big.toString(), style: 'plain' };
  }
  const f = Number(t);
  const s = goFormatG(f);
  return { text: s === '+Inf' ? '.inf' : s === '-Inf' ? '-.inf' : s === 'NaN' ? '.nan' : s, style: 'plain' };
}

function stringScalar(s: string): Scalar {
  if (s.includes('\n')) return { text: s, style: 'literal' };
  return { text: s, style: resolvesToString(s) && !isBase60Float(s) ? 'plain' : 'double' };
}

const YAML11_NON_STRINGS = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF',
  '', '~', 'null', 'Null', 'NULL', '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF',
  '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF', '<<',
]);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** True when yaml.v2 would read `s`, written plain, back as the same string (its resolve() table). */
export function resolvesToString(s: string): boolean {
  if (YAML11_NON_STRINGS.has(s)) return false;
  const c = s[0];
  if (c === '.') return !goParsesFloat(s);
  if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
    if (isTimestamp(s)) return false;
    const plain = s.replace(/_/g, '');
    if (goParsesInt(plain)) return false;
    if (YAML_FLOAT.test(plain)) return false;
    return true;
  }
  return true;
}

/** Go's strconv.ParseInt/ParseUint with base 0 (sign, 0x, 0o, 0b, leading-0 octal), within 64 bits. */
function goParsesInt(s: string): boolean {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return false;
  const body = m[2];
  let v: bigint;
  if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`);
  else if (/^0[0-7]+$/.test(body)) v = BigInt(`0o${body.slice(1)}`);
  else v = BigInt(body);
  if (m[1] === '-') v = -v;
  return (v >= INT64_MIN && v <= INT64_MAX) || (v >= 0n && v <= UINT64_MAX && m[1] !== '-');
}

/** strconv.ParseFloat on a string starting with '.'. */
function goParsesFloat(s: string): boolean {
  return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s);
}

/** The timestamp forms yaml.v2 recognises (so it quotes such strings when writing them). */
function isTimestamp(s: string): boolean {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(s);
  if (!m) return false;
  const [, , mo, d, sep, h, mi, se, , zone] = m;
  if (!validDate(Number(m[1]), Number(mo), Number(d))) return false;
  if (sep === undefined) return true;
  if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 59) return false;
  // "2006-1-2 15:4:5" takes no zone; the T forms require one.
  return sep === ' ' ? zone === undefined : zone !== undefined;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[m - 1];
}

function isBase60Float(s: string): boolean {
  return s.includes(':') && BASE60_FLOAT.test(s);
}

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

/** One word of characters that need no quoting anywhere in it and start no YAML indicator. */
const SIMPLE_PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9_./=+-]*$/;

const isBreak = (c: string | undefined) => c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isBlank = (c: string | undefined) => c === ' ' || c === '\t';

/** libyaml's printable set: LF, printable ASCII, U+00A0–U+D7FF and U+E000–U+FFFD except the BOM. */
function isPrintable(c: string): boolean {
  const cp = c.codePointAt(0)!;
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}

/** Which styles can represent `chars` (yaml_emitter_analyze_scalar). */
function analyze(chars: string[]): Analysis {
  if (chars.length === 0) return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  const head = chars.slice(0, 3).join('');
  if (head === '---' || head === '...') {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  const n = chars.length;
  for (let i = 0; i < n; i++) {
    const c = chars[i];
    const followedByWhitespace = i + 1 >= n || isBlank(chars[i + 1]) || isBreak(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) {
        flowIndicators = true;
        blockIndicators = true;
      } else if (c === '?' || c === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      } else if (c === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else if (',?[]{}'.includes(c)) {
      flowIndicators = true;
    } else if (c === ':') {
      flowIndicators = true;
      if (followedByWhitespace) blockIndicators = true;
    } else if (c === '#' && precededByWhitespace) {
      flowIndicators = true;
      blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === n - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === n - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlank(c) || isBreak(c);
  }
  const a: Analysis = { multiline: lineBreaks, flowPlain: true, blockPlain: true, singleQuoted: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.flowPlain = a.blockPlain = false;
  if (trailingSpace) a.block = false;
  if (breakSpace) a.flowPlain = a.blockPlain = a.singleQuoted = false;
  if (spaceBreak || special) a.flowPlain = a.blockPlain = a.singleQuoted = a.block = false;
  if (lineBreaks) a.flowPlain = a.blockPlain = false;
  if (flowIndicators) a.flowPlain = false;
  if (blockIndicators) a.blockPlain = false;
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Key order: yaml.v2 sorts string keys "naturally" (runs of digits by value, non-letters before letters)
// ---------------------------------------------------------------------------------------------------------------

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => c >= '0' && c <= '9';

const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

export function naturalLess(a: string, b: string): boolean {
  // Fast path: where the strings first differ, two ASCII letters compare by code, as in the full rule below.
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i < a.length && i < b.length && isAsciiLetter(a.charCodeAt(i)) && isAsciiLetter(b.charCodeAt(i))) return a.charCodeAt(i) < b.charCodeAt(i);
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai].charCodeAt(0) - 48);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi].charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
  }
  return ar.length < br.length;
}

// Plain keys (letters, digits, '-', '.', '/') are by far the most common: for them the natural order only
// differs from byte order where digits or non-letters meet letters, so the full comparison runs only then.
function sortKeys(m: ValueMap): string[] {
  const keys = Object.keys(m);
  return keys.length < 2 ? keys : keys.sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : byteOrder(a, b)));
}

// ---------------------------------------------------------------------------------------------------------------
// The emitter
// ---------------------------------------------------------------------------------------------------------------

interface Context {
  root: boolean;
  sequence: boolean;
  mapping: boolean;
  simpleKey: boolean;
}

class Emitter {
  private out = '';
  private column = 0;
  private whitespace = true;
  private indention = true;
  private openEnded = false;
  private indent = -1;
  private readonly indents: number[] = [];

  text(): string {
    return this.out;
  }

  private put(s: string): void {
    this.out += s;
    this.column += s.length;
  }

  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  /** Writes one character of a scalar (a line break other than LF is written as it is and resets the column). */
  private writeChar(c: string): void {
    this.out += c;
    this.column++;
  }

  private writeBreak(c: string): void {
    if (c === '\n') this.putBreak();
    else {
      this.out += c;
      this.column = 0;
    }
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (!indentless) this.indent += BEST_INDENT;
  }

  private popIndent(): void {
    this.indent = this.indents.pop()!;
  }

  private writeIndent(): void {
    const indent = Math.max(this.indent, 0);
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    if (this.column < indent) this.put(' '.repeat(indent - this.column));
    this.whitespace = true;
    this.indention = true;
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(indicator);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
    this.openEnded = false;
  }

  documentEnd(): void {
    this.writeIndent();
    // A document that is a bare plain scalar is closed explicitly, as libyaml does at the stream's end.
    if (this.openEnded) {
      this.writeIndicator('...', true, false, false);
      this.writeIndent();
    }
  }

  node(v: Value, ctx: Context): void {
    if (Array.isArray(v)) {
      if (v.length === 0) return this.emptyFlow('[', ']');
      return this.blockSequence(v, ctx);
    }
    if (isMap(v)) {
      const keys = sortKeys(v);
      if (keys.length === 0) return this.emptyFlow('{', '}');
      return this.blockMapping(v, keys);
    }
    this.scalar(toScalar(v), ctx);
  }

  private emptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true, false);
    this.writeIndicator(close, false, false, false);
  }

  private blockSequence(items: Value[], ctx: Context): void {
    this.increaseIndent(false, ctx.mapping && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, { root: false, sequence: true, mapping: false, simpleKey: false });
    }
    this.popIndent();
  }

  private blockMapping(m: ValueMap, keys: string[]): void {
    this.increaseIndent(false, false);
    for (const key of keys) {
      this.writeIndent();
      const k = stringScalar(key);
      const chars = k.style === 'plain' && SIMPLE_PLAIN.test(k.text) ? undefined : [...k.text];
      const simple = (!chars || !analyze(chars).multiline) && Buffer.byteLength(k.text) <= 128;
      if (simple) {
        this.scalar(k, { root: false, sequence: false, mapping: true, simpleKey: true }, chars);
        this.writeIndicator(':', false, false, false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.scalar(k, { root: false, sequence: false, mapping: true, simpleKey: false }, chars);
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(m[key], { root: false, sequence: false, mapping: true, simpleKey: false });
    }
    this.popIndent();
  }

  private scalar(s: Scalar, ctx: Context, given?: string[]): void {
    // Most scalars (names, numbers, base64) are one word of safe characters: plain, nothing to fold or escape.
    if (s.style === 'plain' && SIMPLE_PLAIN.test(s.text)) {
      if (!this.whitespace) this.put(' ');
      this.put(s.text);
      this.whitespace = false;
      this.indention = false;
      if (ctx.root) this.openEnded = true;
      return;
    }
    const chars = given ?? [...s.text];
    const a = analyze(chars);
    let style = s.style;
    if (ctx.simpleKey && a.multiline) style = 'double';
    if (style === 'plain') {
      if (!a.blockPlain || (chars.length === 0 && ctx.simpleKey)) style = 'single';
    }
    if (style === 'single' && !a.singleQuoted) style = 'double';
    if (style === 'literal' && (!a.block || ctx.simpleKey)) style = 'double';

    this.increaseIndent(true, false);
    const allowBreaks = !ctx.simpleKey;
    if (style === 'plain' || style === 'single') this.writeFlowText(chars, allowBreaks, style === 'single');
    else if (style === 'double') this.writeDouble(chars, allowBreaks);
    else this.writeLiteral(chars);
    if (style === 'plain' && ctx.root) this.openEnded = true;
    this.popIndent();
  }

  /**
   * Plain and single-quoted scalars: folded at a space once past the width, line breaks doubled; single quotes
   * double the quote character. (Plain scalars never start or end with a space, so the position checks that
   * single quotes need hold for them anyway.)
   */
  private writeFlowText(chars: string[], allowBreaks: boolean, quoted: boolean): void {
    if (quoted) this.writeIndicator("'", true, false, false);
    else if (!this.whitespace) this.put(' ');
    let spaces = false;
    let breaks = false;
    const last = chars.length - 1;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < last && chars[i + 1] !== ' ') this.writeIndent();
        else this.writeChar(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (quoted && c === "'") this.put("'");
        this.writeChar(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    if (quoted) this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeDouble(chars: string[], allowBreaks: boolean): void {
    let spaces = false;
    this.writeIndicator('"', true, false, false);
    const last = chars.length - 1;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (!isPrintable(c) || isBreak(c) || c === '"' || c === '\\' || c === '\ufeff') {
        this.put(escape(c));
        spaces = false;
      } else if (c === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < last) {
          this.writeIndent();
          if (chars[i + 1] === ' ') this.put('\\');
        } else this.writeChar(c);
        spaces = true;
      } else {
        this.writeChar(c);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeLiteral(chars: string[]): void {
    this.writeIndicator('|', true, false, false);
    // Block scalar hints: an indentation indicator when the text starts with a space or a break, and the chomping
    // indicator from how the text ends.
    if (chars[0] === ' ' || isBreak(chars[0])) this.writeIndicator(String(BEST_INDENT), false, false, false);
    const n = chars.length;
    const chomp = n === 0 || !isBreak(chars[n - 1]) ? '-' : n === 1 || isBreak(chars[n - 2]) ? '+' : '';
    if (chomp) this.writeIndicator(chomp, false, false, false);
    this.putBreak();
    this.indention = true;
    this.whitespace = true;
    let breaks = true;
    for (const c of chars) {
      if (isBreak(c)) {
        this.writeBreak(c);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.writeChar(c);
        this.indention = false;
        breaks = false;
      }
    }
  }
}

function escape(c: string): string {
  switch (c) {
    case '\0': return '\\0';
    case '\x07': return '\\a';
    case '\b': return '\\b';
    case '\t': return '\\t';
    case '\n': return '\\n';
    case '\x0b': return '\\v';
    case '\f': return '\\f';
    case '\r': return '\\r';
    case '\x1b': return '\\e';
    case '"': return '\\"';
    case '\\': return '\\\\';
    case '\u0085': return '\\N';
    case '\u00a0': return '\\_';
    case '\u2028': return '\\L';
    case '\u2029': return '\\P';
  }
  const cp = c.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

function toScalar(v: Value): Scalar {
  if (v === null) return { text: 'null', style: 'plain' };
  if (typeof v === 'boolean') return { text: v ? 'true' : 'false', style: 'plain' };
  if (typeof v === 'number' || v instanceof JsonNumber) return numberScalar(v);
  return stringScalar(v as string);
}
