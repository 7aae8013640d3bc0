/**
 * Server and transport failures in the words of a Terraform user: what was being done to which path, and why
 * it failed. Messages name paths, addresses and policy names, never a secret value or a token.
 */
import { CofferApiError, CofferConnectionError } from '../src/client/index.js';
import { DiagnosticsError, error, type AttributePath, type Diagnostic } from './protocol/types.js';

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

/** The policy capability each request needs: renewing and revoking are writes (`update`) on their endpoints. */
const CAPABILITY: Record<Operation, string> = {
  read: 'read',
  list: 'list',
  create: 'create',
  update: 'update',
  delete: 'delete',
  renew: 'update',
  revoke: 'update',
};

/** One request of the provider: `path` is the API path it calls; `subject` what it acts on, when that is not the path. */
export interface Action {
  op: Operation;
  path: string;
  subject?: string;
  /** The capability, when the request's method is not what `op` suggests (a lookup sent as POST needs `update`). */
  capability?: string;
}

export interface ErrorContext {
  address: string;
  /** The policies of the token the provider runs with, for permission errors. */
  policies: () => Promise<string[] | null>;
  /** Whether the token still passes its own lookup (false: revoked or expired; null: cannot tell). */
  tokenValid?: () => Promise<boolean | null>;
}

/**
 * A failure that concerns every request of the run, not the one that met it (the server went away, the token
 * stopped working): reported in full once, then by `brief` (see Session.failure).
 */
export class RunWideFailure extends DiagnosticsError {
  constructor(
    readonly kind: 'unreachable' | 'token',
    full: Diagnostic,
    readonly brief: (action: Action, attribute?: AttributePath) => Diagnostic,
  ) {
    super(full);
  }
}

const subjectOf = (a: Action) => a.subject ?? a.path;

/** A DiagnosticsError describing `err`, raised while doing `action`. */
export async function describeFailure(
  err: unknown,
  action: Action,
  ctx: ErrorContext,
  attribute?: AttributePath,
  /** A sentence on why the provider did this, added to the detail. */
  why?: string,
): Promise<DiagnosticsError> {
  const detail = (text: string) => (why ? `${why} ${text}` : text);
  const { op, path } = action;
  if (err instanceof DiagnosticsError) return err;
  if (err instanceof CofferConnectionError) return unreachable(err);
  if (err instanceof CofferApiError) {
    if (err.status === 403) {
      // A token revoked or expired mid-run is refused everywhere: its policies are not what is wrong.
      if ((await ctx.tokenValid?.().catch(() => null)) === false) return tokenNoLongerValid(ctx.address, action, attribute);
      return permissionDenied(action, ctx.address, await ctx.policies().catch(() => null), attribute, why);
    }
    if (err.status === 404 && (op === 'read' || op === 'list')) return notFound(path, ctx.address, attribute);
    // A 404 on a write means no engine answers at that path, not a missing secret.
    const reasons = err.errors.length ? err.errors.join('; ') : err.status === 404 ? 'nothing is mounted there' : `status ${err.status}`;
    return new DiagnosticsError(error(`error ${VERB[op]} ${subjectOf(action)}: ${reasons}`, detail(`The server at ${ctx.address} answered ${err.status}.`), attribute));
  }
  return new DiagnosticsError(error(`error ${VERB[op]} ${subjectOf(action)}`, detail(err instanceof Error ? err.message : String(err)), attribute));
}

const capabilityOf = (action: Action) => action.capability ?? CAPABILITY[action.op];

/** What a policy must grant for `action`, in policy terms. */
export function requiredGrant(action: Action): string {
  return `"${capabilityOf(action)}" on "${action.path}"`;
}

function permissionDenied(action: Action, address: string, policies: string[] | null, attribute?: AttributePath, why?: string): DiagnosticsError {
  const held = policies ? `the token's policies (${policies.join(', ') || 'none'})` : "the token's policies";
  const text = `The server at ${address} answered 403. Grant ${requiredGrant(action)} in a policy attached to the token.`;
  return new DiagnosticsError(
    error(`permission denied ${VERB[action.op]} ${subjectOf(action)}: ${held} do not grant ${capabilityOf(action)}`, why ? `${why} ${text}` : text, attribute),
  );
}

/** Closing something the run's child token revokes anyway, without permission to revoke it earlier. */
export function revokedWithChildToken(action: Action, policies: string[] | null): Diagnostic {
  const held = policies ? `The token's policies (${policies.join(', ') || 'none'})` : "The token's policies";
  return {
    severity: 'warning',
    summary: `${subjectOf(action)} was not revoked at close: permission denied`,
    detail:
      `${held} do not grant ${requiredGrant(action)}. It is revoked anyway when the provider's child token is revoked at the end of the run, ` +
      `with everything issued under it. To revoke it as soon as Terraform closes it, grant ${requiredGrant(action)}.`,
  };
}

function tokenNoLongerValid(address: string, action: Action, attribute?: AttributePath): RunWideFailure {
  return new RunWideFailure(
    'token',
    error(
      `the provider's token was revoked or has expired (${VERB[action.op]} ${subjectOf(action)} was refused)`,
      `The server at ${address} answered 403 and no longer accepts the token for its own lookup (auth/token/lookup-self), so no policy is at fault. ` +
        'Revoking the token given to the provider also revokes the child token it runs with; the child token lasts max_lease_ttl_seconds unless renewed. Run again with a valid token.',
      attribute,
    ),
    (a, attr) => error(`${VERB[a.op]} ${subjectOf(a)} was refused: the provider's token was revoked or has expired (explained in full once in this run)`, undefined, attr),
  );
}

export function notFound(path: string, address: string, attribute?: AttributePath): DiagnosticsError {
  return new DiagnosticsError(error(`no secret found at ${path}`, `The server at ${address} has nothing at "${path}" (or that version was deleted).`, attribute));
}

/** The transport's reason (ECONNREFUSED, ENOTFOUND, …), or "timed out" for a request that got no answer in time. */
export function transportCause(err: CofferConnectionError): string | undefined {
  const cause = err.cause as { code?: unknown; name?: string } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return cause?.name === 'TimeoutError' ? 'timed out' : undefined;
}

export function unreachable(err: CofferConnectionError): RunWideFailure {
  const cause = transportCause(err);
  return new RunWideFailure(
    'unreachable',
    error(`cannot reach the coffer server at ${err.address}`, `${cause ? `${cause}: ` : ''}check the provider's address (or COFFER_ADDR) and that the server is running.`, ['address']),
    (a, attr) => error(`${VERB[a.op]} ${subjectOf(a)} failed: the coffer server at ${err.address} cannot be reached (explained in full once in this run)`, undefined, attr),
  );
}
