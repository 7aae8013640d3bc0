/**
 * Server and transport failures in the words of a Terraform user: what was being done to which path, and why
 * it failed. Messages name paths, addresses and policy names, never a secret value or a token.
 */
import { CofferApiError, CofferConnectionError } from '../src/client/index.js';
import { DiagnosticsError, error, type AttributePath } from './protocol/types.js';

export type Operation = 'read' | 'list' | 'create' | 'update' | 'delete' | 'renew' | 'revoke';

const VERB: Record<Operation, string> = {
  read: 'reading',
  list: 'listing',
  create: 'creating',
  update: 'writing',
  delete: 'deleting',
  renew: 'renewing',
  revoke: 'revoking',
};

export interface ErrorContext {
  address: string;
  /** The policies of the token the provider runs with, for permission errors. */
  policies: () => Promise<string[] | null>;
}

/** A DiagnosticsError describing `err`, raised while doing `op` on `path`. */
export async function describeFailure(
  err: unknown,
  op: Operation,
  path: string,
  ctx: ErrorContext,
  attribute?: AttributePath,
  /** A sentence on why the provider did this, added to the detail. */
  why?: string,
): Promise<DiagnosticsError> {
  const detail = (text: string) => (why ? `${why} ${text}` : text);
  if (err instanceof DiagnosticsError) return err;
  if (err instanceof CofferConnectionError) return unreachable(err);
  if (err instanceof CofferApiError) {
    if (err.status === 403) {
      const policies = await ctx.policies().catch(() => null);
      const held = policies ? `the token's policies (${policies.join(', ') || 'none'})` : "the token's policies";
      return new DiagnosticsError(
        error(`permission denied ${VERB[op]} ${path}: ${held} do not grant ${op}`, detail(`The server at ${ctx.address} answered 403. Grant "${op}" on "${path}" in a policy attached to the token.`), attribute),
      );
    }
    if (err.status === 404 && (op === 'read' || op === 'list')) return notFound(path, ctx.address, attribute);
    // A 404 on a write means no engine answers at that path, not a missing secret.
    const reasons = err.errors.length ? err.errors.join('; ') : err.status === 404 ? 'nothing is mounted there' : `status ${err.status}`;
    return new DiagnosticsError(error(`error ${VERB[op]} ${path}: ${reasons}`, detail(`The server at ${ctx.address} answered ${err.status}.`), attribute));
  }
  return new DiagnosticsError(error(`error ${VERB[op]} ${path}`, detail(err instanceof Error ? err.message : String(err)), attribute));
}

export function notFound(path: string, address: string, attribute?: AttributePath): DiagnosticsError {
  return new DiagnosticsError(error(`no secret found at ${path}`, `The server at ${address} has nothing at "${path}" (or that version was deleted).`, attribute));
}

export function unreachable(err: CofferConnectionError): DiagnosticsError {
  const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return new DiagnosticsError(
    error(`cannot reach the coffer server at ${err.address}`, `${cause ? `${cause}: ` : ''}check the provider's address (or COFFER_ADDR) and that the server is running.`, ['address']),
  );
}
