/**
 * Errors that cross the HTTP boundary. Only the messages of a CofferError reach a client; any other exception
 * becomes a generic 500 so that internal details (file paths, SQL, stack traces) never leak.
 */
export class CofferError extends Error {
  readonly status: number;
  readonly errors: string[];
  /** Extra envelope fields some Vault errors carry (KV v2 answers 404 with the version metadata). */
  readonly body?: Record<string, unknown>;

  constructor(status: number, errors: string | string[], body?: Record<string, unknown>) {
    const list = Array.isArray(errors) ? errors : [errors];
    super(list.join('; '));
    this.status = status;
    this.errors = list;
    this.body = body;
  }
}

export const badRequest = (msg: string) => new CofferError(400, msg);
export const permissionDenied = () => new CofferError(403, 'permission denied');
export const notFound = (msg: string[] | string = []) => new CofferError(404, msg);
export const unsupportedPath = () => new CofferError(404, 'unsupported path');
export const unsupportedOperation = () => new CofferError(405, 'unsupported operation');
export const sealedError = () => new CofferError(503, 'Vault is sealed');

/**
 * An error as it may be logged: a CofferError's messages (written for clients, so free of secrets), else the
 * exception's name and message with quoted fragments dropped (parsers quote what they choke on, which can be
 * input data).
 */
export function loggableMessage(err: unknown): string {
  if (err instanceof CofferError) return err.errors.join('; ');
  return err instanceof Error ? `${err.name}: ${err.message.replace(/(["'`]).*?\1/g, '$1…$1').slice(0, 200)}` : 'unknown';
}
