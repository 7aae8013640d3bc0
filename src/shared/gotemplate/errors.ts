/**
 * Errors in Go's wording: parse errors name the template and line (`template: NAME:LINE: msg`), execution errors
 * the line, column and the action being run (`template: NAME:LINE:COL: executing "NAME" at <ACTION>: msg`).
 * `reason` keeps the bare message for callers that wrap it in their own words.
 */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** 1-based line and Go's column: the offset from the start of the line, counted from 0. */
export function location(src: string, pos: number): { line: number; col: number } {
  const before = src.slice(0, pos);
  const line = 1 + (before.match(/\n/g)?.length ?? 0);
  const lastNewline = before.lastIndexOf('\n');
  return { line, col: lastNewline === -1 ? pos : pos - lastNewline - 1 };
}

export class TemplateParseError extends TemplateError {
  constructor(name: string, src: string, pos: number, reason: string) {
    super(`template: ${name}:${location(src, pos).line}: ${reason}`, reason);
  }
}

export class TemplateExecError extends TemplateError {
  constructor(parseName: string, src: string, pos: number, templateName: string, context: string, reason: string) {
    const { line, col } = location(src, pos);
    // Go cuts the action text at 20 bytes so the message stays one readable line.
    const shown = context.length > 20 ? `${context.slice(0, 20)}...` : context;
    super(`template: ${parseName}:${line}:${col}: executing "${templateName}" at <${shown}>: ${reason}`, reason);
  }
}
