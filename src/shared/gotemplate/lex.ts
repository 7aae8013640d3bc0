/**
 * Lexer for Go's text/template: text between delimiters, and the tokens inside an action. Trim markers (`{{- ` and
 * ` -}}`) are applied here, as Go's lexer does, so the parser never sees the trimmed whitespace.
 */
import { TemplateParseError } from './errors.js';

export type TokenType =
  | 'text' | 'left' | 'right' | 'comment' | 'space' | 'eof'
  | 'field' | 'variable' | 'identifier' | 'keyword' | 'dot' | 'string' | 'rawString' | 'char' | 'number'
  | 'bool' | 'nil' | 'pipe' | 'leftParen' | 'rightParen' | 'declare' | 'assign' | 'comma';

export interface Token {
  type: TokenType;
  /** The token's source text (for strings: with quotes; for text: after trimming). */
  value: string;
  /** Byte-free offset into the template source (JS string index), used for line/column in errors. */
  pos: number;
}

export const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

const TRIM_SPACE = /[ \t\r\n]/;

export interface Delimiters {
  left: string;
  right: string;
}

export function lex(name: string, src: string, delims: Delimiters): Token[] {
  const tokens: Token[] = [];
  const fail = (pos: number, msg: string): never => {
    throw new TemplateParseError(name, src, pos, msg);
  };
  let pos = 0;
  let trimLeadingSpace = false;
  while (pos <= src.length) {
    const open = src.indexOf(delims.left, pos);
    let textEnd = open === -1 ? src.length : open;
    let actionStart = open + delims.left.length;
    // `{{- ` trims the text before the action; the hyphen must be followed by whitespace to tell it from `{{-3}}`.
    const trimsBefore = open !== -1 && src[actionStart] === '-' && TRIM_SPACE.test(src[actionStart + 1] ?? '');
    let textStart = pos;
    if (trimLeadingSpace) while (textStart < textEnd && TRIM_SPACE.test(src[textStart]!)) textStart++;
    if (trimsBefore) {
      while (textEnd > textStart && TRIM_SPACE.test(src[textEnd - 1]!)) textEnd--;
      actionStart += 2; // the marker is `-` and one whitespace character
    }
    if (textEnd > textStart) tokens.push({ type: 'text', value: src.slice(textStart, textEnd), pos: textStart });
    if (open === -1) break;
    tokens.push({ type: 'left', value: delims.left, pos: open });
    const inside = lexAction(src, actionStart, delims.right, fail, tokens);
    trimLeadingSpace = inside.trimAfter;
    pos = inside.next;
  }
  tokens.push({ type: 'eof', value: '', pos: src.length });
  return tokens;
}

/** Lexes one action's body starting at `start`; returns where the text after the right delimiter begins. */
function lexAction(
  src: string,
  start: number,
  right: string,
  fail: (pos: number, msg: string) => never,
  tokens: Token[],
): { next: number; trimAfter: boolean } {
  const atRight = (i: number): { len: number; trim: boolean } | undefined => {
    if (TRIM_SPACE.test(src[i] ?? '') && src.startsWith(`-${right}`, i + 1)) return { len: right.length + 2, trim: true };
    if (src.startsWith(right, i)) return { len: right.length, trim: false };
    return undefined;
  };
  let i = start;
  // A comment fills the whole action: `{{/* ... */}}` (or `{{- /* ... */ -}}`), closing right at the delimiter.
  if (src.startsWith('/*', i)) {
    const close = src.indexOf('*/', i + 2);
    if (close === -1) fail(i, 'unclosed comment');
    const end = atRight(close + 2);
    if (!end) fail(i, 'comment ends before closing delimiter');
    tokens.push({ type: 'comment', value: src.slice(i, close + 2), pos: i });
    tokens.push({ type: 'right', value: right, pos: close + 2 });
    return { next: close + 2 + end!.len, trimAfter: end!.trim };
  }
  let parens = 0;
  for (;;) {
    const end = atRight(i);
    if (end) {
      if (parens > 0) fail(i, 'unclosed left paren');
      tokens.push({ type: 'right', value: right, pos: i });
      return { next: i + end.len, trimAfter: end.trim };
    }
    if (i >= src.length) fail(i, 'unclosed action');
    const c = src[i]!;
    const from = i;
    const push = (type: TokenType, to: number) => {
      tokens.push({ type, value: src.slice(from, to), pos: from });
      i = to;
    };
    if (TRIM_SPACE.test(c)) {
      while (i < src.length && TRIM_SPACE.test(src[i]!) && !atRight(i)) i++;
      tokens.push({ type: 'space', value: ' ', pos: from });
    } else if (c === '|') push('pipe', i + 1);
    else if (c === ',') push('comma', i + 1);
    else if (c === '=') push('assign', i + 1);
    else if (c === ':') {
      if (src[i + 1] !== '=') fail(i, 'expected :=');
      push('declare', i + 2);
    } else if (c === '(') {
      parens++;
      push('leftParen', i + 1);
    } else if (c === ')') {
      if (--parens < 0) fail(i, `unexpected right paren U+0029 ')'`);
      push('rightParen', i + 1);
    } else if (c === '"') push('string', scanQuoted(src, i, '"', 'unterminated quoted string', fail));
    else if (c === "'") push('char', scanQuoted(src, i, "'", 'unterminated character constant', fail));
    else if (c === '`') {
      const close = src.indexOf('`', i + 1);
      if (close === -1) fail(i, 'unterminated raw quoted string');
      push('rawString', close + 1);
    } else if (c === '$') push('variable', i + 1 + identLength(src, i + 1));
    else if (c === '.') {
      const n = identLength(src, i + 1);
      if (n === 0 && /[0-9]/.test(src[i + 1] ?? '')) push('number', scanNumber(src, i));
      else push(n === 0 ? 'dot' : 'field', i + 1 + n);
    } else if (/[0-9+-]/.test(c)) push('number', scanNumber(src, i));
    else if (/[\p{L}_]/u.test(c)) {
      push('identifier', i + identLength(src, i));
      const tok = tokens[tokens.length - 1]!;
      if (KEYWORDS.has(tok.value)) tok.type = 'keyword';
      else if (tok.value === 'true' || tok.value === 'false') tok.type = 'bool';
      else if (tok.value === 'nil') tok.type = 'nil';
    } else {
      const cp = c.codePointAt(0)!;
      fail(i, `unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`);
    }
  }
}

function identLength(src: string, from: number): number {
  const m = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(src.slice(from, from + 256));
  return m ? m[0].length : 0;
}

function scanQuoted(src: string, from: number, quote: string, msg: string, fail: (pos: number, msg: string) => never): number {
  for (let j = from + 1; j < src.length; j++) {
    const ch = src[j];
    if (ch === '\\') j++;
    else if (ch === '\n') break;
    else if (ch === quote) return j + 1;
  }
  return fail(from, msg);
}

/** Go number literals: optional sign, decimal/hex/octal/binary integers with `_`, floats with exponents. */
function scanNumber(src: string, from: number): number {
  const m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)/.exec(src.slice(from, from + 128));
  const length = m ? m[0].length : 0;
  // Go reads the whole alphanumeric run and then rejects it if it is not a number ("bad number syntax").
  let end = from + length;
  while (end < src.length && /[\p{L}\p{N}_.]/u.test(src[end]!)) end++;
  return Math.max(end, from + 1);
}
