/**
 * The Kubernetes JSONPath template language (kubectl's `-o jsonpath=`), which AVP's `jsonPath` modifier takes:
 * text with `{...}` actions — fields `.a.b`, `['key']`, indexes and slices `[1]`, `[-1]`, `[0:-1:2]`, `[*]`,
 * unions `[0,2]`, wildcards `.*`, recursive descent `..name`, filters `[?(@.k == 'v')]`, literals `{'text'}`,
 * and `{range EXPR}...{end}` blocks. Results print as kubectl prints them: several values separated by a space,
 * maps and lists as JSON, scalars as Go prints them.
 *
 * Written here because no maintained npm package implements this template syntax: the JSONPath packages on npm
 * (jsonpath, jsonpath-plus, jsonpath-rfc9535, nimma, ...) evaluate a single `$.a.b` query and know nothing of
 * `{}` actions, surrounding text, `range`/`end` or kubectl's printing rules.
 *
 * Where kubectl's implementation has known defects, this one does the evident thing instead: `['a.b']` is the
 * single key `a.b`, map wildcards visit keys in sorted order (Go's map order is random), `{.}` is the current
 * value, and filters compare numbers with numbers whatever their origin.
 *
 * `=~` filters search with Go's regexp semantics (RE2 syntax, as kubectl and AVP do) through re2js, a port of
 * RE2 that matches in time linear in the input: a pattern such as `^(a+)+$`, which a backtracking engine like
 * JavaScript's RegExp takes exponential time on, cannot stall a render. Patterns may come from a secret, so an
 * invalid one is reported by the kind of its error only, never by its text.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { JsonNumber, type Value, goJsonMarshal, goPrint, goTypeName, isMap } from './values.js';

export class JsonPathError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Syntax
// ---------------------------------------------------------------------------------------------------------------

interface Slice {
  start: number | null;
  end: number | null;
  step: number | null;
  /** `[n]`: the end is n+1, and an end of 0 then means "to the end". */
  single: boolean;
}

type Step =
  | { t: 'field'; name: string }
  | { t: 'wildcard' }
  | { t: 'recursive' }
  | { t: 'slice'; slice: Slice }
  | { t: 'union'; parts: Step[][] }
  | { t: 'filter'; left: Step[]; op: string; right: Step[] }
  | { t: 'literal'; value: Value }
  | { t: 'identifier'; name: string };

type Segment = { t: 'text'; text: string } | { t: 'action'; steps: Step[] } | { t: 'range'; steps: Step[]; body: Segment[] };

const TERMINATORS = new Set([' ', '\t', '\r', '\n', '.', ',', '[', ']', '$', '@', '{', '}']);

class ActionParser {
  pos = 0;
  constructor(private readonly s: string) {}

  private fail(msg: string): never {
    throw new JsonPathError(msg);
  }

  /** Steps up to the closing `}` (or the end of the string, for filter operands). */
  steps(closing: boolean): Step[] {
    const s = this.s;
    const steps: Step[] = [];
    for (;;) {
      if (this.pos >= s.length) {
        if (closing) this.fail('unclosed action');
        return steps;
      }
      if (closing && s[this.pos] === '}') {
        this.pos++;
        return steps;
      }
      if (s.startsWith('[?(', this.pos)) {
        steps.push(this.filter());
        continue;
      }
      if (s.startsWith('..', this.pos)) {
        if (steps.at(-1)?.t === 'recursive') this.fail('invalid multiple recursive descent');
        this.pos += 2;
        steps.push({ t: 'recursive' });
        if (/[\p{L}\p{Nd}_]/u.test(s[this.pos] ?? '')) steps.push(this.field());
        continue;
      }
      const c = s[this.pos];
      if (c === '\r' || c === '\n') this.fail('unclosed action');
      if (c === ' ' || c === '@' || c === '$') {
        this.pos++;
      } else if (c === '[') {
        steps.push(...this.bracket());
      } else if (c === '"' || c === "'") {
        steps.push({ t: 'literal', value: this.quoted(c) });
      } else if (c === '.') {
        this.pos++;
        steps.push(this.field());
      } else if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
        steps.push(this.number());
      } else if (/[\p{L}\p{Nd}_]/u.test(c)) {
        const word = this.word();
        steps.push(word === 'true' || word === 'false' ? { t: 'literal', value: word === 'true' } : { t: 'identifier', name: word });
      } else {
        this.fail(`unrecognized character in action: ${JSON.stringify(c)}`);
      }
    }
  }

  private word(): string {
    const start = this.pos;
    while (this.pos < this.s.length && !TERMINATORS.has(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private field(): Step {
    let name = '';
    while (this.pos < this.s.length) {
      const c = this.s[this.pos];
      if (c === '\\' && this.pos + 1 < this.s.length) {
        name += this.s[this.pos + 1];
        this.pos += 2;
      } else if (TERMINATORS.has(c)) break;
      else {
        name += c;
        this.pos++;
      }
    }
    return name === '*' ? { t: 'wildcard' } : { t: 'field', name };
  }

  private number(): Step {
    const m = /^[+-]?[0-9.]*/.exec(this.s.slice(this.pos))![0];
    this.pos += m.length;
    if (/^[+-]?\d+$/.test(m)) return { t: 'literal', value: Number(m) };
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(m)) return { t: 'literal', value: Number(m) };
    this.fail(`cannot parse number ${m}`);
  }

  private quoted(quote: string): string {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined || c === '\n') this.fail('unterminated quoted string');
      if (c === '\\') this.pos += 2;
      else if (c === quote) {
        this.pos++;
        break;
      } else this.pos++;
    }
    return unquote(this.s.slice(start + 1, this.pos - 1));
  }

  private bracket(): Step[] {
    const close = this.s.indexOf(']', this.pos);
    const nl = this.s.indexOf('\n', this.pos);
    if (close === -1 || (nl !== -1 && nl < close)) this.fail('unterminated array');
    let text = this.s.slice(this.pos + 1, close);
    this.pos = close + 1;
    if (text === '*') text = ':';
    const parts = text.split(',');
    if (parts.length > 1) return [{ t: 'union', parts: parts.map((p) => new ActionParser(`[${p.trim()}]`).steps(false)) }];
    const key = /^'([^']*)'$/.exec(text);
    if (key) return [{ t: 'field', name: key[1].replace(/\\(.)/g, '$1') }];
    const m = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/.exec(text);
    if (!m) this.fail(`invalid array index ${text}`);
    const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
    const start = num(m[1]);
    const end = m[2] === undefined ? null : num(m[2].slice(1));
    const step = m[3] === undefined ? null : num(m[3].slice(1));
    const single = m[2] === undefined && m[3] === undefined && start !== null;
    return [{ t: 'slice', slice: { start, end: single ? start! + 1 : end, step, single } }];
  }

  private filter(): Step {
    this.pos += 3;
    const start = this.pos;
    let quote: string | null = null;
    for (;;) {
      const c = this.s[this.pos];
      if (c === undefined || c === '\n') this.fail('unterminated filter');
      if (quote) {
        if (c === quote && this.s[this.pos - 1] !== '\\') quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === ')') break;
      this.pos++;
    }
    const text = this.s.slice(start, this.pos);
    this.pos++;
    if (this.s[this.pos] !== ']') this.fail('unclosed array expect ]');
    this.pos++;
    const m = /^([^!<>=]+)([!<>=~]+)(.+?)$/.exec(text);
    if (!m) return { t: 'filter', left: new ActionParser(text).steps(false), op: 'exists', right: [] };
    return { t: 'filter', left: new ActionParser(m[1]).steps(false), op: m[2], right: new ActionParser(m[3]).steps(false) };
  }
}

/** Go's quoted-string escapes (strconv.UnquoteChar), accepting either quote character. */
function unquote(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|[abfnrtv\\'"])/g, (_, e: string) => {
    switch (e[0]) {
      case 'x':
      case 'u':
      case 'U':
        return String.fromCodePoint(parseInt(e.slice(1), 16));
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      default:
        return /^[0-7]{3}$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : e;
    }
  });
}

/** Parses a whole template into text, actions and range blocks. */
export function parseTemplate(template: string): Segment[] {
  const root: Segment[] = [];
  const stack: { body: Segment[] }[] = [{ body: root }];
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf('{', pos);
    if (open === -1) {
      stack.at(-1)!.body.push({ t: 'text', text: template.slice(pos) });
      break;
    }
    if (open > pos) stack.at(-1)!.body.push({ t: 'text', text: template.slice(pos, open) });
    const parser = new ActionParser(template.slice(open + 1));
    const steps = parser.steps(true);
    pos = open + 1 + parser.pos;
    const first = steps.findIndex((s) => s.t === 'identifier');
    const ident = first === -1 ? undefined : (steps[first] as { name: string }).name;
    if (ident === 'range') {
      const block: Segment = { t: 'range', steps: steps.filter((_, i) => i !== first), body: [] };
      stack.at(-1)!.body.push(block);
      stack.push(block);
    } else if (ident === 'end') {
      if (stack.length === 1) throw new JsonPathError('not in range, nothing to end');
      stack.pop();
    } else if (ident !== undefined) {
      throw new JsonPathError(`unrecognized identifier ${ident}`);
    } else {
      stack.at(-1)!.body.push({ t: 'action', steps });
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------------------------

/** Runs `template` on `data` and returns the printed text. */
export function executeTemplate(template: string, data: Value): string {
  return run(parseTemplate(template), data);
}

function run(segments: Segment[], data: Value): string {
  let out = '';
  for (const seg of segments) {
    if (seg.t === 'text') out += seg.text;
    else if (seg.t === 'action') out += print(evalSteps(seg.steps, [data]));
    else for (const item of evalSteps(seg.steps, [data])) out += run(seg.body, item);
  }
  return out;
}

function print(values: Value[]): string {
  return values.map((v) => (Array.isArray(v) || isMap(v) ? goJsonMarshal(v) : goPrint(v))).join(' ');
}

function evalSteps(steps: Step[], input: Value[]): Value[] {
  let cur = input;
  for (const step of steps) cur = evalStep(step, cur);
  return cur;
}

function children(v: Value): Value[] {
  if (Array.isArray(v)) return v;
  if (isMap(v)) return Object.keys(v).sort().map((k) => v[k]);
  if (typeof v === 'string') return [...Buffer.from(v, 'utf8')];
  return [];
}

function evalStep(step: Step, input: Value[]): Value[] {
  switch (step.t) {
    case 'literal':
      return input.map(() => step.value);
    case 'identifier':
      throw new JsonPathError(`unrecognized identifier ${step.name}`);
    case 'field': {
      if (input.length === 0) return [];
      if (step.name === '') return input;
      const out: Value[] = [];
      for (const v of input) if (isMap(v) && Object.prototype.hasOwnProperty.call(v, step.name)) out.push(v[step.name]);
      if (out.length === 0) throw new JsonPathError(`${step.name} is not found`);
      return out;
    }
    case 'wildcard':
      return input.flatMap((v) => (v === null ? [] : children(v)));
    case 'recursive': {
      const out: Value[] = [];
      const visit = (v: Value) => {
        const c = v === null ? [] : children(v);
        if (c.length === 0) return;
        out.push(v);
        c.forEach(visit);
      };
      input.forEach(visit);
      return out;
    }
    case 'slice':
      return evalSlice(step.slice, input);
    case 'union':
      return step.parts.flatMap((p) => evalSteps(p, input));
    case 'filter':
      return evalFilter(step, input);
  }
}

function evalSlice(sl: Slice, input: Value[]): Value[] {
  const out: Value[] = [];
  for (const v of input) {
    if (v === null) continue;
    if (!Array.isArray(v)) throw new JsonPathError(`${goTypeName(v)} is not array or slice`);
    const len = v.length;
    let start = sl.start ?? 0;
    if (start < 0) start += len;
    let end = sl.end ?? len;
    if (end < 0 || (end === 0 && sl.single)) end += len;
    if (end === start) return out;
    if (start >= len || start < 0) throw new JsonPathError(`array index out of bounds: index ${start}, length ${len}`);
    if (end > len || end < 0) throw new JsonPathError(`array index out of bounds: index ${end - 1}, length ${len}`);
    if (start > end) throw new JsonPathError(`starting index ${start} is greater than ending index ${end}`);
    let step = 1;
    if (sl.step !== null) {
      if (sl.step <= 0) throw new JsonPathError('step must be > 0');
      step = sl.step;
    }
    for (let i = start; i < end; i += step) out.push(v[i]);
  }
  return out;
}

function evalFilter(step: Extract<Step, { t: 'filter' }>, input: Value[]): Value[] {
  const out: Value[] = [];
  const patterns: PatternCache = new Map();
  for (const v of input) {
    if (!Array.isArray(v)) throw new JsonPathError(`${goTypeName(v)} is not array or slice and cannot be filtered`);
    for (const item of v) {
      if (step.op === 'exists') {
        let found: Value[] = [];
        try {
          found = evalSteps(step.left, [item]);
        } catch {
          found = [];
        }
        if (found.length > 0) out.push(item);
        continue;
      }
      const lefts = evalSteps(step.left, [item]);
      if (lefts.length === 0) continue;
      if (lefts.length > 1) throw new JsonPathError('can only compare one element at a time');
      const rights = evalSteps(step.right, [item]);
      if (rights.length === 0) continue;
      if (rights.length > 1) throw new JsonPathError('can only compare one element at a time');
      if (compare(lefts[0], step.op, rights[0], patterns)) out.push(item);
    }
  }
  return out;
}

/** Compiled `=~` patterns of one filter, by their text (an operand often is the same for every item). */
type PatternCache = Map<string, RE2JS>;

/** Go's regexp.MatchString: true when the pattern matches anywhere in `text`. */
function reMatch(text: string, pattern: string, cache: PatternCache): boolean {
  let re = cache.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      // err.message quotes the offending part of the pattern, which may be a secret: keep only the kind.
      const kind = err instanceof RE2JSSyntaxException ? err.error : 'it cannot be compiled';
      throw new JsonPathError(`invalid regular expression in a =~ filter: ${kind} (RE2 syntax, as in Go and kubectl)`);
    }
    cache.set(pattern, re);
  }
  return re.test(text);
}

function compare(a: Value, op: string, b: Value, patterns: PatternCache): boolean {
  if (op === '=~') {
    if (typeof a !== 'string' || typeof b !== 'string') throw new JsonPathError('regexp search only supports strings');
    return reMatch(a, b, patterns);
  }
  const num = (v: Value) => (v instanceof JsonNumber || typeof v === 'number' ? Number(v) : undefined);
  let x: number | string | boolean;
  let y: number | string | boolean;
  if (num(a) !== undefined && num(b) !== undefined) [x, y] = [num(a)!, num(b)!];
  else if (typeof a === 'string' && typeof b === 'string') [x, y] = [a, b];
  else if (typeof a === 'boolean' && typeof b === 'boolean' && (op === '==' || op === '!=')) [x, y] = [a, b];
  else throw new JsonPathError('incompatible types for comparison');
  switch (op) {
    case '==': return x === y;
    case '!=': return x !== y;
    case '<': return x < y;
    case '>': return x > y;
    case '<=': return x <= y;
    case '>=': return x >= y;
  }
  throw new JsonPathError(`unrecognized filter operator ${op}`);
}
