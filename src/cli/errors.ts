/**
 * Failures of a command's calls, worded as the vault CLI words them ("Error creating token: <message>") and
 * carrying their exit code; main.ts prints them as they are.
 */
import { UsageError } from '../shared/flags.js';
import { FieldMissingError } from './output.js';

/** A failure already worded for stderr; `code` is the exit code (2 unless the command's contract says otherwise). */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly code = 2,
  ) {
    super(message);
  }
}

/**
 * What to throw when a step fails: `PREFIX: message` with the exit code. Usage, missing-field and already
 * worded failures pass through unchanged, so nesting never prefixes twice or loses the help text.
 */
export function failure(prefix: string, e: unknown, code = 2): unknown {
  if (e instanceof UsageError || e instanceof FieldMissingError || e instanceof CommandFailure) return e;
  return new CommandFailure(`${prefix}: ${e instanceof Error ? e.message : String(e)}`, code);
}

/** Runs a step (usually a call to the server) and words its failure with `prefix`. */
export async function api<T>(prefix: string, step: () => Promise<T>, code = 2): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw failure(prefix, e, code);
  }
}
