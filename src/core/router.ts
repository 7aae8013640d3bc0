/**
 * Matches a mount-relative path against an engine's declarations and runs the handler for an operation.
 * Everything that is the same for every engine lives here: anchoring, create-vs-update by existence, field
 * validation, 404/405 answers.
 */
import type { Backend, Handler, Operation, PathSpec, Request, Response } from '../sdk/backend.js';
import { unsupportedOperation, unsupportedPath } from '../sdk/errors.js';
import { validateRequestData } from '../sdk/fields.js';

interface CompiledPath {
  spec: PathSpec;
  regex: RegExp;
  /** Literal text every match starts with: a cheap test that skips most patterns before running the regex. */
  prefix: string;
}

/** The pattern's leading literal characters; none when an alternation could make a match start otherwise. */
function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  const meta = pattern.search(/[\\^$.?*+()[\]{}]/);
  if (meta === -1) return pattern;
  // A quantifier applies to the character before it, which is then not certain to be there.
  return pattern.slice(0, '?*+{'.includes(pattern[meta]) ? meta - 1 : meta);
}

const compiled = new WeakMap<Backend, CompiledPath[]>();

function compile(backend: Backend): CompiledPath[] {
  let paths = compiled.get(backend);
  if (!paths) {
    paths = backend.paths.map((spec) => ({
      spec,
      regex: new RegExp(`^(?:${spec.pattern})$`),
      prefix: literalPrefix(spec.pattern),
    }));
    compiled.set(backend, paths);
  }
  return paths;
}

export interface RouteMatch {
  spec: PathSpec;
  params: Record<string, string>;
}

export function matchPath(backend: Backend, path: string): RouteMatch | null {
  for (const { spec, regex, prefix } of compile(backend)) {
    if (!path.startsWith(prefix)) continue;
    const m = regex.exec(path);
    if (m) return { spec, params: { ...(m.groups ?? {}) } };
  }
  return null;
}

/** Resolves the handler; `create` falls back to the `update` handler as Vault's engines declare both alike. */
export function handlerFor(spec: PathSpec, op: Operation): Handler | undefined {
  if (op === 'create') return spec.operations.create ?? spec.operations.update;
  return spec.operations[op];
}

/**
 * For POST/PUT: Vault calls the path's existence check and turns the request into `create` when the target
 * does not exist. Paths without an existence check are always `update`.
 */
export async function resolveWriteOperation(spec: PathSpec, req: Request): Promise<Operation> {
  if (!spec.existenceCheck) return 'update';
  return (await spec.existenceCheck(req)) ? 'update' : 'create';
}

export async function dispatch(spec: PathSpec, req: Request): Promise<Response | null> {
  const handler = handlerFor(spec, req.operation);
  if (!handler) throw unsupportedOperation();
  if (!spec.freeForm) req.data = validateRequestData(spec.fields, req.data, req.operation, req.mount.path + req.path) as Record<string, unknown>;
  return (await handler(req)) ?? null;
}

/** Match + operation check in one step, for callers that only have a path. */
export function route(backend: Backend, path: string): RouteMatch {
  const match = matchPath(backend, path);
  if (!match) throw unsupportedPath();
  return match;
}
