/**
 * Go's text/template, written from the package documentation: the one template interpreter of the project
 * (database username templates now, the agent's templates later).
 *
 *   const t = Template.parse('name', '{{ .user | printf "%q" }}', { funcs: { secret: async (path) => ... } });
 *   await t.execute(data);      // any function may return a Promise
 *   t.executeSync(data);        // all functions synchronous (a Promise is refused)
 *
 * Differences from Go, forced by JavaScript: one number type (integral numbers act as int, others as float64, so
 * `printf "%d" 1.0` prints 1); no methods or struct fields (data is maps, slices and scalars); `call` is refused.
 */
import { BUILTINS } from './builtins.js';
import { TemplateError } from './errors.js';
import { DEFAULT_LIMITS, Execution, runAsync, runSync, type FuncMap, type Limits } from './exec.js';
import { parseTemplate, type ParsedTemplate } from './parse.js';

export { TemplateError, TemplateExecError, TemplateParseError } from './errors.js';
export type { FuncMap, Limits, TemplateFunction } from './exec.js';
export { DEFAULT_LIMITS } from './exec.js';
export { sprintf } from './fmt.js';
export { formatValue } from './values.js';

export interface TemplateOptions {
  funcs?: FuncMap;
  /** Go's Delims; default `{{` and `}}`. */
  delims?: { left: string; right: string };
  /** Go's Option("missingkey=error"): a missing map key fails execution instead of printing `<no value>`. */
  errorOnMissingKey?: boolean;
  limits?: Partial<Limits>;
}

export class Template {
  private constructor(
    private readonly parsed: ParsedTemplate,
    private readonly funcs: FuncMap,
    private readonly errorOnMissingKey: boolean,
    private readonly limits: Limits,
  ) {}

  /** Parses `source`; throws a TemplateError (`template: NAME:LINE: ...`) on bad syntax or unknown names. */
  static parse(name: string, source: string, options: TemplateOptions = {}): Template {
    const funcs = options.funcs ?? {};
    for (const fname of Object.keys(funcs)) {
      if (!/^[\p{L}_][\p{L}\p{N}_]*$/u.test(fname)) throw new TemplateError(`template: function name "${fname}" is not a valid identifier`, 'bad function name');
    }
    const parsed = parseTemplate(name, source, {
      delims: options.delims ?? { left: '{{', right: '}}' },
      hasFunction: (fname) => Object.hasOwn(funcs, fname) || Object.hasOwn(BUILTINS, fname),
    });
    return new Template(parsed, funcs, options.errorOnMissingKey ?? false, { ...DEFAULT_LIMITS, ...options.limits });
  }

  get name(): string {
    return this.parsed.parseName;
  }

  /** The names of the templates this source defines (itself included). */
  templateNames(): string[] {
    return [...this.parsed.defines.keys()];
  }

  /** Renders the template (or the `define`d template `name`), awaiting functions that return Promises. */
  execute(data: unknown, name = this.name): Promise<string> {
    return runAsync(this.execution(data).run(name, data));
  }

  /** Renders synchronously; fails if a function returns a Promise. */
  executeSync(data: unknown, name = this.name): string {
    return runSync(this.execution(data).run(name, data));
  }

  private execution(data: unknown): Execution {
    return new Execution(this.parsed, { funcs: this.funcs, errorOnMissingKey: this.errorOnMissingKey, limits: this.limits }, data);
  }
}
