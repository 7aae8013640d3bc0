/**
 * Executes a parsed template with Go's semantics (text/template's exec.go).
 *
 * Why generators: the caller's functions may be async (the agent's `secret` fetches over HTTP), yet username
 * templates render inside synchronous code. Every evaluation step is a generator that `yield`s a Promise only when a
 * function returned one; `runAsync` awaits each and resumes, `runSync` refuses one. So one evaluator serves both,
 * and a synchronous template pays no Promise per node.
 */
import { BUILTINS } from './builtins.js';
import { TemplateError, TemplateExecError } from './errors.js';
import type { Arg, Command, ControlNode, Node, ParsedTemplate, Pipe } from './parse.js';
import { formatValue, goTypeName, isInt, isMap, isTrue, mapGet, sortedEntries, type GoValue } from './values.js';

export type TemplateFunction = (...args: any[]) => unknown;
export type FuncMap = Record<string, TemplateFunction>;

export interface Limits {
  /** Most bytes (UTF-8) one execution may write. */
  maxOutputBytes: number;
  /** Deepest nesting of `{{template}}` calls. */
  maxTemplateDepth: number;
  /** Most iterations of all `range` loops in one execution together. */
  maxRangeIterations: number;
}

export const DEFAULT_LIMITS: Limits = { maxOutputBytes: 1 << 20, maxTemplateDepth: 100, maxRangeIterations: 100_000 };

export interface ExecOptions {
  funcs: FuncMap;
  errorOnMissingKey: boolean;
  limits: Limits;
}

type Step<T> = Generator<PromiseLike<unknown>, T, unknown>;

/** No final (piped) value, as distinct from a piped `undefined`. */
const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}

/** A function's own error, before it is placed (Go: `error calling NAME: ...`). */
class CallError extends Error {}

interface Variable {
  name: string;
  value: GoValue;
}

export class Execution {
  private readonly out: string[] = [];
  private bytes = 0;
  private iterations = 0;
  private vars: Variable[];
  private depth = 0;
  private templateName: string;
  /** The node being evaluated: Go's s.at(node), for the position and text an error shows. */
  private node: { pos: number; text: string } = { pos: 0, text: '' };

  constructor(
    private readonly parsed: ParsedTemplate,
    private readonly options: ExecOptions,
    data: GoValue,
  ) {
    this.vars = [{ name: '$', value: data }];
    this.templateName = parsed.parseName;
  }

  *run(name: string, data: GoValue): Step<string> {
    const root = this.parsed.defines.get(name);
    if (!root) throw new TemplateError(`template: no template "${name}" associated with template "${this.parsed.parseName}"`, `no template "${name}"`);
    this.templateName = name;
    yield* this.walkList(data, root);
    return this.out.join('');
  }

  private fail(reason: string): never {
    const p = this.parsed;
    throw new TemplateExecError(p.parseName, p.src, this.node.pos, this.templateName, this.node.text, reason);
  }

  private write(s: string): void {
    this.bytes += Buffer.byteLength(s, 'utf8');
    if (this.bytes > this.options.limits.maxOutputBytes) {
      this.fail(`template output exceeds the limit of ${this.options.limits.maxOutputBytes} bytes`);
    }
    this.out.push(s);
  }

  // --- walking -------------------------------------------------------------------------------------------------

  private *walkList(dot: GoValue, list: Node[]): Step<void> {
    for (const node of list) yield* this.walk(dot, node);
  }

  private *walk(dot: GoValue, node: Node): Step<void> {
    switch (node.kind) {
      case 'text':
        this.node = node;
        this.write(node.value);
        return;
      case 'action': {
        const value = yield* this.evalPipeline(dot, node.pipe);
        this.node = node;
        // A missing value and nil both print as <no value> at the top level (Go unwraps the nil interface).
        if (node.pipe.decl.length === 0) this.write(value === null ? '<no value>' : formatValue(value));
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const value = yield* this.evalPipeline(dot, node.pipe);
        if (isTrue(value)) yield* this.walkList(node.kind === 'with' ? value : dot, node.list);
        else yield* this.walkList(dot, node.elseList);
        this.vars.length = mark;
        return;
      }
      case 'range':
        return yield* this.walkRange(dot, node);
      case 'template':
        return yield* this.walkTemplate(dot, node);
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
    }
  }

  private *walkRange(dot: GoValue, node: ControlNode): Step<void> {
    this.node = node;
    const mark = this.vars.length;
    const value = yield* this.evalCommands(dot, node.pipe);
    const items = this.rangeItems(value, node.pipe.decl.length);
    let empty = true;
    for (const [key, elem] of items) {
      empty = false;
      if (++this.iterations > this.options.limits.maxRangeIterations) {
        this.node = node;
        this.fail(`range exceeds the limit of ${this.options.limits.maxRangeIterations} iterations`);
      }
      this.vars.length = mark;
      this.declare(node.pipe, node.pipe.decl.length === 2 ? [key, elem] : [elem]);
      try {
        yield* this.walkList(elem, node.list);
      } catch (err) {
        if (err instanceof BreakSignal) break;
        if (!(err instanceof ContinueSignal)) throw err;
      }
    }
    this.vars.length = mark;
    if (empty) yield* this.walkList(dot, node.elseList);
  }

  /** What range iterates: a slice's (index, element), a map's (key, value) by sorted key, an int's 0..n-1. */
  private *rangeItems(value: GoValue, declared: number): Generator<[GoValue, GoValue]> {
    if (value === undefined || value === null) return; // Go: a nil value ranges zero times
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) yield [i, value[i]];
    } else if (isMap(value)) {
      yield* sortedEntries(value);
    } else if (isInt(value)) {
      if (declared > 1) this.fail(`can't use ${value} to iterate over more than one variable`);
      for (let i = 0; i < value; i++) yield [i, i];
    } else {
      this.fail(`range can't iterate over ${formatValue(value)}`);
    }
  }

  private *walkTemplate(dot: GoValue, node: Extract<Node, { kind: 'template' }>): Step<void> {
    this.node = node;
    const list = this.parsed.defines.get(node.name);
    if (!list) this.fail(`template "${node.name}" not defined`);
    if (this.depth >= this.options.limits.maxTemplateDepth) {
      this.fail(`exceeded maximum template depth (${this.options.limits.maxTemplateDepth})`);
    }
    const newDot = node.pipe ? yield* this.evalPipeline(dot, node.pipe) : undefined;
    // No dynamic scoping: the called template sees only `$`, set to its dot.
    const saved = { vars: this.vars, name: this.templateName };
    this.vars = [{ name: '$', value: newDot }];
    this.templateName = node.name;
    this.depth++;
    try {
      yield* this.walkList(newDot, list!);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.templateName = saved.name;
    }
  }

  // --- pipelines and commands --------------------------------------------------------------------------------

  private *evalPipeline(dot: GoValue, pipe: Pipe): Step<GoValue> {
    const value = yield* this.evalCommands(dot, pipe);
    this.declare(pipe, pipe.decl.map(() => value));
    return value;
  }

  private *evalCommands(dot: GoValue, pipe: Pipe): Step<GoValue> {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = yield* this.evalCommand(dot, cmd, value);
    return value === MISSING ? undefined : value;
  }

  private declare(pipe: Pipe, values: GoValue[]): void {
    pipe.decl.forEach((name, i) => {
      if (!pipe.isAssign) {
        this.vars.push({ name, value: values[i] });
        return;
      }
      const v = this.lookup(name);
      if (!v) this.fail(`undefined variable: ${name}`);
      v!.value = values[i];
    });
  }

  private *evalCommand(dot: GoValue, cmd: Command, final: Final): Step<GoValue> {
    const head = cmd.args[0]!;
    this.node = cmd;
    switch (head.kind) {
      case 'field':
        return this.evalFieldChain(dot, dot, head, head.fields, cmd.args, final);
      case 'chain': {
        const receiver = yield* this.evalArg(dot, head.node);
        return this.evalFieldChain(dot, receiver, head, head.fields, cmd.args, final);
      }
      case 'variable':
        return this.evalVariable(head, cmd.args, final);
      case 'function':
        return yield* this.evalFunction(dot, head.name, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return yield* this.evalPipeline(dot, head.pipe);
      case 'nil':
        this.node = head;
        return this.fail('nil is not a command');
      default:
        this.notAFunction(cmd.args, final);
        return yield* this.evalArg(dot, head);
    }
  }

  private notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.fail(`can't give argument to non-function ${args[0]!.text}`);
  }

  private *evalArg(dot: GoValue, arg: Arg): Step<GoValue> {
    this.node = arg;
    switch (arg.kind) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'number':
      case 'string':
        return arg.value;
      case 'field':
        return this.evalFieldChain(dot, dot, arg, arg.fields, [arg], MISSING);
      case 'variable':
        return this.evalVariable(arg, [arg], MISSING);
      case 'pipe':
        return yield* this.evalPipeline(dot, arg.pipe);
      case 'function':
        return yield* this.evalFunction(dot, arg.name, arg, [arg], MISSING);
      case 'chain': {
        const receiver = yield* this.evalArg(dot, arg.node);
        return this.evalFieldChain(dot, receiver, arg, arg.fields, [arg], MISSING);
      }
    }
  }

  /** The innermost variable of that name. */
  private lookup(name: string): Variable | undefined {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i];
    return undefined;
  }

  private evalVariable(node: Extract<Arg, { kind: 'variable' }>, args: Arg[], final: Final): GoValue {
    const v = this.lookup(node.name);
    if (!v) {
      this.node = node;
      this.fail(`undefined variable: ${node.name}`);
    }
    if (node.fields.length === 0) {
      this.notAFunction(args, final);
      return v!.value;
    }
    return this.evalFieldChain(undefined, v!.value, node, node.fields, args, final);
  }

  private evalFieldChain(_dot: GoValue, receiver: GoValue, node: Arg, fields: string[], args: Arg[], final: Final): GoValue {
    this.node = node;
    let value = receiver;
    fields.forEach((name, i) => {
      const last = i === fields.length - 1;
      value = this.evalField(name, value, last ? args.length > 1 || final !== MISSING : false);
    });
    return value;
  }

  /** Method-less field access: map keys only. */
  private evalField(name: string, receiver: GoValue, hasArgs: boolean): GoValue {
    if (receiver === undefined) {
      if (this.options.errorOnMissingKey) this.fail(`nil data; no entry for key "${name}"`);
      return undefined;
    }
    if (isMap(receiver)) {
      if (hasArgs) this.fail(`${name} is not a method but has arguments`);
      const { found, value } = mapGet(receiver, name);
      if (!found && this.options.errorOnMissingKey) this.fail(`map has no entry for key "${name}"`);
      return value;
    }
    if (receiver === null) this.fail(`nil pointer evaluating interface {}.${name}`);
    return this.fail(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  private *evalFunction(dot: GoValue, name: string, cmd: { pos: number; text: string }, args: Arg[], final: Final): Step<GoValue> {
    const builtin = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
    const argCount = args.length - 1 + (final === MISSING ? 0 : 1);
    if (builtin && (argCount < builtin.min || argCount > builtin.max)) {
      this.node = cmd;
      const want = builtin.min === builtin.max ? `${builtin.min}` : `at least ${builtin.min}`;
      this.fail(`wrong number of args for ${name}: want ${want} got ${argCount}`);
    }
    if (name === 'and' || name === 'or') return yield* this.evalAndOr(dot, name, args, final);
    const values: GoValue[] = [];
    for (const arg of args.slice(1)) values.push(yield* this.evalArg(dot, arg));
    if (final !== MISSING) values.push(final);
    // A missing value passed where Go expects an interface{} becomes nil; Go's reflect.Value builtins see it as is.
    const passed = builtin?.raw ? values : values.map((v) => (v === undefined ? null : v));
    this.node = cmd;
    try {
      let result = builtin ? builtin.fn(passed) : this.options.funcs[name]!(...passed);
      if (isThenable(result)) result = yield result;
      return result;
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      this.node = cmd;
      return this.fail(`error calling ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** `and`/`or` evaluate their arguments in order and stop at the first that decides (Go 1.18+). */
  private *evalAndOr(dot: GoValue, name: 'and' | 'or', args: Arg[], final: Final): Step<GoValue> {
    let value: GoValue;
    for (const arg of args.slice(1)) {
      value = yield* this.evalArg(dot, arg);
      if (isTrue(value) === (name === 'or')) return value;
    }
    return final === MISSING ? value : final;
  }
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';

/** Runs a step that must not wait: a function returning a Promise is an error naming the way out. */
export function runSync<T>(step: Step<T>): T {
  const r = step.next();
  if (!r.done) {
    step.return(undefined as T);
    throw new TemplateError('template: a function returned a Promise; use execute() for async functions', 'async function in synchronous execution');
  }
  return r.value;
}

export async function runAsync<T>(step: Step<T>): Promise<T> {
  let r = step.next();
  while (!r.done) {
    let resolved: unknown;
    try {
      resolved = await r.value;
    } catch (err) {
      r = step.throw(err instanceof Error ? err : new CallError(String(err)));
      continue;
    }
    r = step.next(resolved);
  }
  return r.value;
}
