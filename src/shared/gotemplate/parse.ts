/**
 * Parser for Go's text/template, following text/template/parse: a list of text and action nodes, control
 * structures with their else branches (`else if` / `else with` need only one `{{end}}`), `define`d and `block`
 * templates collected by name. Names are checked while parsing, as Go does: an unknown function or an undeclared
 * variable is a parse error, never an empty output at run time.
 */
import { TemplateParseError } from './errors.js';
import { lex, type Delimiters, type Token, type TokenType } from './lex.js';

/** Every node keeps its source offset and text: errors print `NAME:LINE:COL` and the action, as Go does. */
interface At {
  pos: number;
  text: string;
}

export type Arg = At &
  (
    | { kind: 'dot' }
    | { kind: 'nil' }
    | { kind: 'bool'; value: boolean }
    | { kind: 'number'; value: number }
    | { kind: 'string'; value: string }
    | { kind: 'field'; fields: string[] }
    | { kind: 'variable'; name: string; fields: string[] }
    | { kind: 'function'; name: string }
    | { kind: 'pipe'; pipe: Pipe }
    | { kind: 'chain'; node: Arg; fields: string[] }
  );

export interface Command extends At {
  args: Arg[];
}

export interface Pipe extends At {
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export type ControlNode = At & { kind: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] };

export type Node =
  | (At & { kind: 'text'; value: string })
  | (At & { kind: 'action'; pipe: Pipe })
  | ControlNode
  | (At & { kind: 'template'; name: string; pipe?: Pipe })
  | (At & { kind: 'break' | 'continue' });

export interface ParsedTemplate {
  /** The name errors show as the source ("template: NAME:LINE"). */
  parseName: string;
  src: string;
  root: Node[];
  /** Every template this source defines, the root one under parseName. */
  defines: Map<string, Node[]>;
}

export interface ParseOptions {
  delims: Delimiters;
  /** Whether a function name is known (builtins and the caller's map). */
  hasFunction(name: string): boolean;
}

type Stop = { kind: 'end' | 'else'; pos: number };

export function parseTemplate(name: string, src: string, options: ParseOptions): ParsedTemplate {
  return new Parser(name, src, options).parseAll();
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private vars: string[] = ['$'];
  private loopDepth = 0;
  /** Nesting of pipelines and control structures: the parser recurses, so a bound keeps the JS stack safe. */
  private depth = 0;
  private readonly defines = new Map<string, Node[]>();

  constructor(
    private readonly name: string,
    private readonly src: string,
    private readonly options: ParseOptions,
  ) {
    this.tokens = lex(name, src, options.delims);
  }

  parseAll(): ParsedTemplate {
    const root: Node[] = [];
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'left' && this.peekAfterLeft().value === 'define') {
        this.parseDefinition();
        continue;
      }
      const node = this.textOrAction();
      if ('kind' in node && (node.kind === 'end' || node.kind === 'else')) {
        this.fail(node.pos, `unexpected {{${node.kind}}}`);
      }
      root.push(node as Node);
    }
    this.addDefinition(this.name, root, 0);
    return { parseName: this.name, src: this.src, root, defines: this.defines };
  }

  // --- token helpers -------------------------------------------------------------------------------------------

  private fail(pos: number, msg: string): never {
    throw new TemplateParseError(this.name, this.src, pos, msg);
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Token {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }

  private peekAfterLeft(): Token {
    const save = this.i;
    this.next();
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }

  private expect(type: TokenType, context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  private unexpected(t: Token, context: string): never {
    const shown = t.type === 'eof' ? 'EOF' : t.type === 'keyword' ? `<${t.value}>` : t.type === 'right' ? '"}}"' : JSON.stringify(t.value);
    return this.fail(t.pos, t.type === 'eof' ? 'unexpected EOF' : `unexpected ${shown} in ${context}`);
  }

  private textFrom(pos: number): string {
    return this.src.slice(pos, this.tokens[this.i - 1]!.pos + this.tokens[this.i - 1]!.value.length);
  }

  // --- structure ----------------------------------------------------------------------------------------------

  /** Go's treeSet rule: an empty (whitespace-only) body never replaces a real one; two real ones conflict. */
  private addDefinition(name: string, list: Node[], pos: number): void {
    const isEmpty = (l: Node[]) => l.every((n) => n.kind === 'text' && n.value.trim() === '');
    const existing = this.defines.get(name);
    if (existing && !isEmpty(existing)) {
      if (!isEmpty(list)) this.fail(pos, `template: multiple definition of template "${name}"`);
      return;
    }
    this.defines.set(name, list);
  }

  private parseDefinition(): void {
    this.next(); // left delimiter
    this.nextNonSpace(); // define
    const nameToken = this.nextNonSpace();
    if (nameToken.type !== 'string' && nameToken.type !== 'rawString') this.unexpected(nameToken, 'define clause');
    this.expect('right', 'define clause');
    const saved = this.vars;
    this.vars = ['$'];
    const { list, stop } = this.itemList();
    if (stop.kind !== 'end') this.fail(stop.pos, `unexpected {{${stop.kind}}} in define clause`);
    this.vars = saved;
    this.addDefinition(this.unquote(nameToken), list, nameToken.pos);
  }

  /** Nodes up to the `{{end}}` or `{{else}}` that closes them. */
  private itemList(): { list: Node[]; stop: Stop } {
    const list: Node[] = [];
    while (this.peekNonSpace().type !== 'eof') {
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') return { list, stop: node as Stop };
      list.push(node as Node);
    }
    return this.fail(this.src.length, 'unexpected EOF');
  }

  private textOrAction(): Node | Stop {
    const t = this.nextNonSpace();
    if (t.type === 'text') return { kind: 'text', value: t.value, pos: t.pos, text: t.value };
    if (t.type === 'left') {
      if (this.peek().type === 'comment') {
        this.next();
        this.expect('right', 'comment');
        return { kind: 'text', value: '', pos: t.pos, text: '' };
      }
      return this.action(t.pos);
    }
    return this.unexpected(t, 'input');
  }

  private action(leftPos: number): Node | Stop {
    const t = this.peekNonSpace();
    if (t.type === 'keyword') {
      this.nextNonSpace();
      switch (t.value) {
        case 'if':
        case 'with':
        case 'range':
          return this.control(t.value, t.pos);
        case 'end':
        case 'else':
          return this.endOrElse(t);
        case 'template':
          return this.templateControl(leftPos);
        case 'block':
          return this.blockControl(leftPos);
        case 'break':
        case 'continue': {
          this.expect('right', `{{${t.value}}}`);
          if (this.loopDepth === 0) this.fail(t.pos, `{{${t.value}}} outside {{range}}`);
          return { kind: t.value, pos: t.pos, text: `{{${t.value}}}` };
        }
        default:
          return this.unexpected(t, 'command');
      }
    }
    const pipe = this.pipeline('command', 'right');
    return { kind: 'action', pipe, pos: pipe.pos, text: pipe.text };
  }

  private endOrElse(t: Token): Stop {
    // `{{else if ...}}` / `{{else with ...}}`: leave the keyword for control() to read as a nested structure.
    if (t.value === 'else') {
      const peek = this.peekNonSpace();
      if (peek.type === 'keyword' && (peek.value === 'if' || peek.value === 'with')) return { kind: 'else', pos: t.pos };
    }
    this.expect('right', t.value);
    return { kind: t.value as 'end' | 'else', pos: t.pos };
  }

  /** Runs `parse` one nesting level deeper; Go's parser stops at a fixed depth too ("max expression depth exceeded"). */
  private nested<T>(pos: number, parse: () => T): T {
    if (++this.depth > MAX_NESTING) this.fail(pos, 'max expression depth exceeded');
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    return this.nested(pos, () => this.controlBody(kind, pos));
  }

  private controlBody(kind: 'if' | 'with' | 'range', pos: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'right');
    if (kind === 'range') this.loopDepth++;
    let { list, stop } = this.itemList();
    if (kind === 'range') this.loopDepth--;
    let elseList: Node[] = [];
    if (stop.kind === 'else') {
      const peek = this.peekNonSpace();
      if (kind !== 'range' && peek.type === 'keyword' && peek.value === kind) {
        // `else if` / `else with`: one nested structure, closed by the same single {{end}}.
        this.nextNonSpace();
        elseList = [this.control(kind, peek.pos)];
      } else {
        ({ list: elseList, stop } = this.itemList());
        if (stop.kind !== 'end') this.fail(stop.pos, 'expected end; found {{else}}');
      }
    }
    this.vars.length = mark;
    return { kind, pipe, list, elseList, pos, text: `{{${kind} ${pipe.text}}}` };
  }

  /** The quoted name after `template` or `block`; Go places the node (and its errors) at this token. */
  private templateName(context: string): { name: string; pos: number } {
    const t = this.nextNonSpace();
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context);
    return { name: this.unquote(t), pos: t.pos };
  }

  private templateControl(leftPos: number): Node {
    const { name, pos } = this.templateName('template clause');
    let pipe: Pipe | undefined;
    if (this.peekNonSpace().type !== 'right') pipe = this.pipeline('template clause', 'right');
    else this.nextNonSpace();
    return { kind: 'template', name, pipe, pos, text: this.textFrom(leftPos) };
  }

  /** `{{block "name" pipeline}} T {{end}}` is `{{define "name"}} T {{end}}{{template "name" pipeline}}`. */
  private blockControl(leftPos: number): Node {
    const { name, pos } = this.templateName('block clause');
    const pipe = this.pipeline('block clause', 'right');
    const saved = this.vars;
    this.vars = ['$'];
    const { list, stop } = this.itemList();
    if (stop.kind !== 'end') this.fail(stop.pos, 'unexpected {{else}} in block clause');
    this.vars = saved;
    this.addDefinition(name, list, pos);
    return { kind: 'template', name, pipe, pos, text: this.src.slice(leftPos, pipe.pos + pipe.text.length) + '}}' };
  }

  // --- pipelines -----------------------------------------------------------------------------------------------

  private pipeline(context: string, end: 'right' | 'rightParen'): Pipe {
    return this.nested(this.peek().pos, () => this.pipelineBody(context, end));
  }

  private pipelineBody(context: string, end: 'right' | 'rightParen'): Pipe {
    const start = this.peekNonSpace().pos;
    const pipe: Pipe = { decl: [], isAssign: false, cmds: [], pos: start, text: '' };
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context, t.pos);
        pipe.text = this.src.slice(start, t.pos).trimEnd();
        return pipe;
      }
      if (!ARG_START.has(t.type)) this.unexpected(t, context);
      this.i--;
      pipe.cmds.push(this.command());
    }
  }

  /** `$x :=`, `$x =` and range's `$i, $v :=`. */
  private declarations(pipe: Pipe, context: string): void {
    const save = this.i;
    const first = this.nextNonSpace();
    if (first.type !== 'variable') {
      this.i = save;
      return;
    }
    const after = this.peekNonSpace();
    if (after.type === 'declare' || after.type === 'assign') {
      this.nextNonSpace();
      pipe.isAssign = after.type === 'assign';
      if (pipe.isAssign && !this.vars.includes(first.value)) this.fail(first.pos, `undefined variable "${first.value}"`);
      pipe.decl.push(first.value);
    } else if (after.type === 'comma' && context === 'range') {
      this.nextNonSpace();
      const second = this.nextNonSpace();
      if (second.type !== 'variable') this.fail(second.pos, 'range can only initialize variables');
      const op = this.nextNonSpace();
      if (op.type !== 'declare' && op.type !== 'assign') this.unexpected(op, 'range');
      pipe.isAssign = op.type === 'assign';
      pipe.decl.push(first.value, second.value);
    } else if (after.type === 'comma') {
      this.fail(after.pos, `too many declarations in ${context}`);
    } else {
      this.i = save;
      return;
    }
    // Declared names become visible after the pipeline, so `$x := $x` refers to an outer $x.
    for (const name of pipe.decl) if (!pipe.isAssign) this.vars.push(name);
  }

  private checkPipeline(pipe: Pipe, context: string, pos: number): void {
    if (pipe.cmds.length === 0) this.fail(pos, `missing value for ${context}`);
    pipe.cmds.slice(1).forEach((cmd, i) => {
      const head = cmd.args[0]!;
      if (['bool', 'dot', 'nil', 'number', 'string'].includes(head.kind)) {
        this.fail(head.pos, `non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): Command {
    const pos = this.peekNonSpace().pos;
    const args: Arg[] = [];
    for (;;) {
      this.peekNonSpace();
      while (this.peek().type === 'space') this.next();
      const operand = this.operand();
      if (operand) args.push(operand);
      const t = this.next();
      if (t.type === 'space') continue;
      if (t.type === 'right' || t.type === 'rightParen') this.i--;
      else if (t.type !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (args.length === 0) this.fail(pos, 'empty command');
    const last = args[args.length - 1]!;
    return { args, pos, text: this.src.slice(pos, last.pos + last.text.length) };
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().type !== 'field') return node;
    const fields: string[] = [];
    while (this.peek().type === 'field') fields.push(this.next().value.slice(1));
    const text = this.textFrom(node.pos);
    switch (node.kind) {
      case 'field':
        return { ...node, fields: [...node.fields, ...fields], text };
      case 'variable':
        return { ...node, fields: [...node.fields, ...fields], text };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return this.fail(node.pos, `unexpected . after term ${JSON.stringify(node.text)}`);
      default:
        return { kind: 'chain', node, fields, pos: node.pos, text };
    }
  }

  private term(): Arg | undefined {
    const t = this.nextNonSpace();
    const at = { pos: t.pos, text: t.value };
    switch (t.type) {
      case 'identifier':
        if (t.value === 'call' && !this.options.hasFunction(t.value)) {
          this.fail(t.pos, 'function "call" is not supported: template data holds no function values to call');
        }
        if (!this.options.hasFunction(t.value)) this.fail(t.pos, `function "${t.value}" not defined`);
        return { kind: 'function', name: t.value, ...at };
      case 'dot':
        return { kind: 'dot', ...at };
      case 'nil':
        return { kind: 'nil', ...at };
      case 'variable':
        if (!this.vars.includes(t.value)) this.fail(t.pos, `undefined variable "${t.value}"`);
        return { kind: 'variable', name: t.value, fields: [], ...at };
      case 'field':
        return { kind: 'field', fields: [t.value.slice(1)], ...at };
      case 'bool':
        return { kind: 'bool', value: t.value === 'true', ...at };
      case 'number':
      case 'char':
        return { kind: 'number', value: this.number(t), ...at };
      case 'string':
      case 'rawString':
        return { kind: 'string', value: this.unquote(t), ...at };
      case 'leftParen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rightParen');
        return { kind: 'pipe', pipe, pos: t.pos, text: this.textFrom(t.pos) };
      }
      default:
        this.i--;
        return undefined;
    }
  }

  private number(t: Token): number {
    if (t.type === 'char') {
      const s = unquoteGo(t.value.slice(1, -1), "'");
      if (s === undefined || [...s].length !== 1) this.fail(t.pos, `malformed character constant: ${t.value}`);
      return s.codePointAt(0)!;
    }
    const value = parseGoNumber(t.value);
    if (value === undefined) this.fail(t.pos, `bad number syntax: "${t.value}"`);
    return value;
  }

  private unquote(t: Token): string {
    if (t.type === 'rawString') return t.value.slice(1, -1).replace(/\r/g, '');
    const s = unquoteGo(t.value.slice(1, -1), '"');
    return s ?? this.fail(t.pos, 'invalid syntax');
  }
}

const MAX_NESTING = 1000;

const ARG_START = new Set<TokenType>(['bool', 'char', 'dot', 'field', 'identifier', 'number', 'nil', 'rawString', 'string', 'variable', 'leftParen']);

/** Go's integer and float literal syntax (decimal, 0x, 0o, 0b, leading-0 octal, `_` separators). */
function parseGoNumber(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  if (/(^_|_$|__)/.test(body)) return undefined;
  const digits = body.replace(/_/g, '');
  let m: RegExpExecArray | null;
  if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(digits))) return sign * parseInt(m[1]!, 16);
  if ((m = /^0[bB]([01]+)$/.exec(digits))) return sign * parseInt(m[1]!, 2);
  if ((m = /^0[oO]?([0-7]+)$/.exec(digits))) return sign * parseInt(m[1]!, 8);
  if (/^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(digits)) return sign * Number(digits);
  return undefined;
}

/** strconv.Unquote's escapes: \a \b \f \n \r \t \v \\ \' \" \xHH \ooo \uHHHH \UHHHHHHHH. */
export function unquoteGo(body: string, quote: string): string | undefined {
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === quote) return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) return undefined;
    if (simple[e]) out += simple[e];
    else if (e === quote) out += quote;
    else {
      const spec = e === 'x' ? { n: 2, radix: 16 } : e === 'u' ? { n: 4, radix: 16 } : e === 'U' ? { n: 8, radix: 16 } : /[0-7]/.test(e) ? { n: 3, radix: 8 } : undefined;
      if (!spec) return undefined;
      const start = spec.radix === 8 ? i : i + 1;
      const digits = body.slice(start, start + spec.n);
      if (digits.length !== spec.n || !(spec.radix === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/).test(digits)) return undefined;
      const code = parseInt(digits, spec.radix);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i = start + spec.n - 1;
    }
  }
  return out;
}
