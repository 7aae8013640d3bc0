/**
 * `username_template`: how a dynamic credential's username is built, in Vault's syntax.
 *
 * Vault renders these templates with Go's text/template plus its own helper functions (sdk/helper/template), so a
 * template copied from Vault's docs or from an existing Vault config reads `{{ printf "v-%s-%s" (.RoleName |
 * truncate 8) (random 20) | truncate 63 }}`. No npm package speaks Go template syntax (handlebars and friends differ
 * in pipes, parenthesised calls, `printf` and `.Field` access), and a username is a tiny, closed language, so this
 * is a small hand-written interpreter for the subset those templates use:
 * - text with `{{ action }}` blocks (and the `{{-` / `-}}` whitespace trimmers, `{{/* comments *\/}}`);
 * - operands: `.DisplayName`, `.RoleName`, `"strings"` (Go escapes), `` `raw strings` ``, integers, `( pipeline )`;
 * - pipelines `a | f x | g`, where the value on the left becomes the last argument of the call on the right;
 * - functions: `random N`, `truncate N`, `truncate_sha256 N`, `uppercase`, `lowercase`, `replace "a" "b"`,
 *   `sha256`, `base64`, `decode_base64`, `hex`, `decode_hex`, `unix_time`, `unix_time_millis`,
 *   `timestamp "<Go layout>"` (UTC), `uuid`, and Go's `printf` / `print`.
 * Anything outside that subset (if/range/with, variables) is rejected when the template is written, not at issue.
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';

export interface UsernameMetadata {
  DisplayName: string;
  RoleName: string;
}

type Value = string | number;

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline };

interface Pipeline {
  commands: Operand[][];
}

type Operand =
  | { kind: 'field'; name: string }
  | { kind: 'dot' }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'ident'; name: string }
  | { kind: 'pipeline'; pipeline: Pipeline };

export class TemplateError extends Error {}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Vault's `random`: base62 characters from a CSPRNG. */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(BASE62.length)];
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Lexing and parsing

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'ident'; v: string }
  | { t: 'field'; v: string }
  | { t: 'dot' }
  | { t: '(' }
  | { t: ')' }
  | { t: '|' };

function lexAction(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '|') {
      tokens.push({ t: c });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= src.length) throw new TemplateError('unterminated quoted string');
        const ch = src[j];
        if (ch === '"') break;
        if (ch === '\\') {
          const next = src[j + 1];
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };
          if (next === undefined || !(next in escapes)) throw new TemplateError(`invalid escape sequence in string`);
          value += escapes[next];
          j += 2;
          continue;
        }
        value += ch;
        j++;
      }
      tokens.push({ t: 'str', v: value });
      i = j + 1;
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end === -1) throw new TemplateError('unterminated raw quoted string');
      tokens.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+/.exec(src.slice(i));
      if (!m) throw new TemplateError(`unexpected "${c}" in command`);
      tokens.push({ t: 'num', v: parseInt(m[0], 10) });
      i += m[0].length;
    } else if (c === '.') {
      const m = /^\.([A-Za-z_][A-Za-z0-9_]*)?/.exec(src.slice(i))!;
      tokens.push(m[1] ? { t: 'field', v: m[1] } : { t: 'dot' });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      tokens.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    } else {
      throw new TemplateError(`unexpected "${c}" in command`);
    }
  }
  return tokens;
}

class ActionParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Pipeline {
    const pipeline = this.pipeline();
    if (this.pos !== this.tokens.length) throw new TemplateError('unexpected token in action');
    return pipeline;
  }

  private pipeline(): Pipeline {
    const commands: Operand[][] = [this.command()];
    while (this.tokens[this.pos]?.t === '|') {
      this.pos++;
      commands.push(this.command());
    }
    return { commands };
  }

  private command(): Operand[] {
    const operands: Operand[] = [];
    for (;;) {
      const tok = this.tokens[this.pos];
      if (!tok || tok.t === '|' || tok.t === ')') break;
      this.pos++;
      switch (tok.t) {
        case 'str': operands.push({ kind: 'string', value: tok.v }); break;
        case 'num': operands.push({ kind: 'number', value: tok.v }); break;
        case 'ident': operands.push({ kind: 'ident', name: tok.v }); break;
        case 'field': operands.push({ kind: 'field', name: tok.v }); break;
        case 'dot': operands.push({ kind: 'dot' }); break;
        case '(': {
          const inner = this.pipeline();
          if (this.tokens[this.pos]?.t !== ')') throw new TemplateError('unclosed left paren');
          this.pos++;
          operands.push({ kind: 'pipeline', pipeline: inner });
          break;
        }
      }
    }
    if (operands.length === 0) throw new TemplateError('missing value for command');
    return operands;
  }
}

const UNSUPPORTED_KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function parseTemplate(src: string): Node[] {
  const nodes: Node[] = [];
  let i = 0;
  let trimNextText = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open === -1 ? src.slice(i) : src.slice(i, open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    trimNextText = false;
    if (open === -1) {
      if (text) nodes.push({ kind: 'text', text });
      break;
    }
    let bodyStart = open + 2;
    if (src.startsWith('- ', bodyStart) || (src[bodyStart] === '-' && /\s/.test(src[bodyStart + 1] ?? ''))) {
      text = text.replace(/\s+$/, '');
      bodyStart += 1;
    }
    if (text) nodes.push({ kind: 'text', text });
    const close = src.indexOf('}}', bodyStart);
    if (close === -1) throw new TemplateError('unclosed action');
    let body = src.slice(bodyStart, close);
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNextText = true;
    }
    i = close + 2;
    const trimmed = body.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw new TemplateError('unclosed comment');
      continue;
    }
    if (trimmed === '') throw new TemplateError('missing value for command');
    const tokens = lexAction(trimmed);
    const first = tokens[0];
    if (first.t === 'ident' && UNSUPPORTED_KEYWORDS.has(first.v)) {
      throw new TemplateError(`"${first.v}" actions are not supported in username templates`);
    }
    if (tokens.some((t) => t.t === 'ident' && t.v.startsWith('$'))) throw new TemplateError('variables are not supported');
    nodes.push({ kind: 'action', pipeline: new ActionParser(tokens).parse() });
  }
  return nodes;
}

// ---------------------------------------------------------------------------------------------------------
// Functions

const asInt = (fn: string, v: Value | undefined): number => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return parseInt(v, 10);
  throw new TemplateError(`${fn}: expected an integer argument`);
};
const asString = (fn: string, v: Value | undefined): string => {
  if (v === undefined) throw new TemplateError(`${fn}: missing argument`);
  return String(v);
};

function arity(fn: string, args: Value[], n: number): void {
  if (args.length !== n) throw new TemplateError(`wrong number of args for ${fn}: want ${n} got ${args.length}`);
}

/** Go's fmt verbs for the cases templates use: %s %d %v %q %x %X %%, with flags `-`/`0` and a width. */
function goSprintf(format: string, args: Value[]): string {
  let argIndex = 0;
  let out = format.replace(/%([-0+ #]*)(\d*)(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width: string, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (argIndex >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[argIndex++];
    let s: string;
    switch (verb) {
      case 's':
      case 'v':
        s = String(arg);
        if (prec !== undefined && verb === 's') s = s.slice(0, parseInt(prec, 10));
        break;
      case 'd':
        s = typeof arg === 'number' ? String(Math.trunc(arg)) : `%!d(string=${arg})`;
        break;
      case 'q':
        s = JSON.stringify(String(arg));
        break;
      case 'x':
      case 'X': {
        s = typeof arg === 'number' ? arg.toString(16) : Buffer.from(String(arg), 'utf8').toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      default:
        s = `%!${verb}(${typeof arg === 'number' ? 'int' : 'string'}=${arg})`;
    }
    const w = width ? parseInt(width, 10) : 0;
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w, ' ');
      else if (flags.includes('0') && verb === 'd') s = s.startsWith('-') ? `-${s.slice(1).padStart(w - 1, '0')}` : s.padStart(w, '0');
      else s = s.padStart(w, ' ');
    }
    return s;
  });
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args.slice(argIndex).map((a) => `${typeof a === 'number' ? 'int' : 'string'}=${a}`).join(', ')})`;
  }
  return out;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Formats `date` (in UTC) with a Go reference-time layout (`2006-01-02T15:04:05Z07:00`). */
export function goTimeFormat(layout: string, date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const Y = date.getUTCFullYear();
  const M = date.getUTCMonth();
  const D = date.getUTCDate();
  const h = date.getUTCHours();
  const m = date.getUTCMinutes();
  const s = date.getUTCSeconds();
  const ms = date.getUTCMilliseconds();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const yday = Math.floor((Date.UTC(Y, M, D) - Date.UTC(Y, 0, 1)) / 86400000) + 1;
  // Longest tokens first, as Go's layout scanner does.
  const tokens: [string, () => string][] = [
    ['January', () => MONTHS[M]],
    ['Monday', () => DAYS[date.getUTCDay()]],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['Z0700', () => 'Z'],
    ['-0700', () => '+0000'],
    ['2006', () => pad(Y, 4)],
    ['.000000000', () => `.${pad(ms, 3)}000000`],
    ['.999999999', () => (ms ? `.${pad(ms, 3).replace(/0+$/, '')}` : '')],
    ['.000000', () => `.${pad(ms, 3)}000`],
    ['.999999', () => (ms ? `.${pad(ms, 3).replace(/0+$/, '')}` : '')],
    ['.000', () => `.${pad(ms, 3)}`],
    ['.999', () => (ms ? `.${pad(ms, 3).replace(/0+$/, '')}` : '')],
    ['Jan', () => MONTHS[M].slice(0, 3)],
    ['Mon', () => DAYS[date.getUTCDay()].slice(0, 3)],
    ['MST', () => 'UTC'],
    ['002', () => pad(yday, 3)],
    ['-07', () => '+00'],
    ['Z07', () => 'Z'],
    ['01', () => pad(M + 1)],
    ['02', () => pad(D)],
    ['_2', () => String(D).padStart(2, ' ')],
    ['06', () => pad(Y % 100)],
    ['15', () => pad(h)],
    ['03', () => pad(h12)],
    ['04', () => pad(m)],
    ['05', () => pad(s)],
    ['PM', () => (h >= 12 ? 'PM' : 'AM')],
    ['pm', () => (h >= 12 ? 'pm' : 'am')],
    ['1', () => String(M + 1)],
    ['2', () => String(D)],
    ['3', () => String(h12)],
    ['4', () => String(m)],
    ['5', () => String(s)],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [tok, fn] of tokens) {
      if (layout.startsWith(tok, i)) {
        out += fn();
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i++];
  }
  return out;
}

type Fn = (args: Value[]) => Value;

const FUNCTIONS: Record<string, Fn> = {
  random: (args) => {
    arity('random', args, 1);
    const n = asInt('random', args[0]);
    if (n <= 0) throw new TemplateError('random: length must be > 0');
    return randomBase62(n);
  },
  truncate: (args) => {
    arity('truncate', args, 2);
    const n = asInt('truncate', args[0]);
    if (n <= 0) throw new TemplateError(`max length must be > 0 but was ${n}`);
    const s = asString('truncate', args[1]);
    return s.length > n ? s.slice(0, n) : s;
  },
  truncate_sha256: (args) => {
    arity('truncate_sha256', args, 2);
    const n = asInt('truncate_sha256', args[0]);
    if (n <= 8) throw new TemplateError(`max length must be > 8 but was ${n}`);
    const s = asString('truncate_sha256', args[1]);
    if (s.length <= n) return s;
    const cut = n - 8;
    return s.slice(0, cut) + createHash('sha256').update(s.slice(cut)).digest('hex').slice(0, 8);
  },
  uppercase: (args) => (arity('uppercase', args, 1), asString('uppercase', args[0]).toUpperCase()),
  lowercase: (args) => (arity('lowercase', args, 1), asString('lowercase', args[0]).toLowerCase()),
  replace: (args) => {
    arity('replace', args, 3);
    return asString('replace', args[2]).split(asString('replace', args[0])).join(asString('replace', args[1]));
  },
  sha256: (args) => (arity('sha256', args, 1), createHash('sha256').update(asString('sha256', args[0])).digest('hex')),
  base64: (args) => (arity('base64', args, 1), Buffer.from(asString('base64', args[0]), 'utf8').toString('base64')),
  decode_base64: (args) => (arity('decode_base64', args, 1), Buffer.from(asString('decode_base64', args[0]), 'base64').toString('utf8')),
  hex: (args) => (arity('hex', args, 1), Buffer.from(asString('hex', args[0]), 'utf8').toString('hex')),
  decode_hex: (args) => (arity('decode_hex', args, 1), Buffer.from(asString('decode_hex', args[0]), 'hex').toString('utf8')),
  unix_time: (args) => (arity('unix_time', args, 0), String(Math.floor(Date.now() / 1000))),
  unix_time_millis: (args) => (arity('unix_time_millis', args, 0), String(Date.now())),
  timestamp: (args) => (arity('timestamp', args, 1), goTimeFormat(asString('timestamp', args[0]), new Date())),
  uuid: (args) => (arity('uuid', args, 0), randomUUID()),
  printf: (args) => {
    if (args.length === 0) throw new TemplateError('wrong number of args for printf: want at least 1 got 0');
    return goSprintf(asString('printf', args[0]), args.slice(1));
  },
  print: (args) => {
    // Go's fmt.Sprint: a space between operands when neither side is a string.
    let out = '';
    args.forEach((a, i) => {
      if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
      out += String(a);
    });
    return out;
  },
};

// ---------------------------------------------------------------------------------------------------------
// Evaluation

function evalOperand(op: Operand, data: UsernameMetadata): Value {
  switch (op.kind) {
    case 'string': return op.value;
    case 'number': return op.value;
    case 'dot': throw new TemplateError('the template data cannot be printed as a whole; use .DisplayName or .RoleName');
    case 'field': {
      if (op.name !== 'DisplayName' && op.name !== 'RoleName') {
        throw new TemplateError(`can't evaluate field ${op.name}`);
      }
      return data[op.name];
    }
    case 'ident': return callFunction(op.name, [], data);
    case 'pipeline': return evalPipeline(op.pipeline, data);
  }
}

function callFunction(name: string, args: Value[], _data: UsernameMetadata): Value {
  const fn = Object.prototype.hasOwnProperty.call(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
  if (!fn) throw new TemplateError(`function "${name}" not defined`);
  return fn(args);
}

function evalPipeline(pipeline: Pipeline, data: UsernameMetadata): Value {
  let piped: Value | undefined;
  pipeline.commands.forEach((command, index) => {
    const [head, ...rest] = command;
    if (head.kind === 'ident') {
      const args = rest.map((op) => evalOperand(op, data));
      if (index > 0) args.push(piped as Value);
      piped = callFunction(head.name, args, data);
      return;
    }
    if (rest.length > 0) throw new TemplateError("can't give argument to non-function");
    if (index > 0) throw new TemplateError("can't give argument to non-function");
    piped = evalOperand(head, data);
  });
  return piped as Value;
}

/** Checks the names used in a parsed template, so that an unknown function fails at write time. */
function checkNames(nodes: Node[]): void {
  const visit = (p: Pipeline): void => {
    for (const command of p.commands) {
      for (const op of command) {
        if (op.kind === 'ident' && !Object.prototype.hasOwnProperty.call(FUNCTIONS, op.name)) {
          throw new TemplateError(`function "${op.name}" not defined`);
        }
        if (op.kind === 'field' && op.name !== 'DisplayName' && op.name !== 'RoleName') {
          throw new TemplateError(`can't evaluate field ${op.name}`);
        }
        if (op.kind === 'pipeline') visit(op.pipeline);
      }
    }
  };
  for (const node of nodes) if (node.kind === 'action') visit(node.pipeline);
}

export class UsernameTemplate {
  private readonly nodes: Node[];

  /** Parses `source`; throws a TemplateError naming the problem ("unable to parse template: ..."). */
  constructor(readonly source: string) {
    if (source === '') throw new TemplateError('missing template');
    try {
      this.nodes = parseTemplate(source);
      checkNames(this.nodes);
    } catch (err) {
      throw new TemplateError(`unable to parse template: ${(err as Error).message}`);
    }
  }

  generate(data: UsernameMetadata): string {
    let out = '';
    try {
      for (const node of this.nodes) out += node.kind === 'text' ? node.text : String(evalPipeline(node.pipeline, data));
    } catch (err) {
      throw new TemplateError(`unable to apply template: ${(err as Error).message}`);
    }
    return out;
  }
}

/** Parses and dry-runs a template (as Vault does when a connection is configured). */
export function validateUsernameTemplate(source: string): UsernameTemplate {
  const tpl = new UsernameTemplate(source);
  tpl.generate({ DisplayName: '', RoleName: '' });
  return tpl;
}

/**
 * A generated username goes into SQL/ACL statements unescaped (as in Vault), so it must not carry characters
 * that could end a quoted identifier or literal. Display names come from tokens, which callers can influence.
 */
export function checkGeneratedUsername(username: string): void {
  if (username === '') throw new TemplateError('the username template produced an empty username');
  if (/["'`\\;\x00-\x1f\x7f]/.test(username)) {
    throw new TemplateError('the username template produced a username with quotes, backslashes, semicolons or control characters');
  }
}
