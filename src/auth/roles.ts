/**
 * The `role/` family every auth method has (list, read, create/update, delete), declared once. A method gives
 * its field schema, how a write turns into a stored role, and how a role reads back; storage is `role/<name>`.
 */
import type { z } from 'zod';
import type { PathSpec, Request } from '../sdk/backend.js';
import { badRequest } from '../sdk/errors.js';
import { NAME, recordPaths } from '../sdk/records.js';
import { presentRole, type TokenParams } from './tokenutil.js';

export const ROLE_NAME = NAME('name');

export const roleKey = (name: string) => `role/${name}`;

export function readRole<R>(req: Request<unknown>, name: string): Promise<R | null> {
  return req.storage.getJSON<R>(roleKey(name));
}

export interface RolePathOptions<R, F extends z.ZodType> {
  fields: F;
  /** Builds the stored role from a write; `existing` is null on create. Throws 400s for invalid combinations. */
  build(name: string, data: z.infer<F>, existing: R | null, req: Request<z.infer<F>>): Promise<R> | R;
  /** The role as `read` returns it (default: its fields plus the token fields in Vault's shape). */
  present?(role: R): Record<string, unknown>;
  /** Extra clean-up when a role is deleted (AppRole's secret IDs). */
  onDelete?(req: Request<z.infer<F>>, name: string, role: R): Promise<void>;
  help: string;
}

export function rolePaths<R extends TokenParams, F extends z.ZodType>(opts: RolePathOptions<R, F>): PathSpec[] {
  return recordPaths<R, F>({
    segment: 'role',
    prefix: 'role/',
    fields: opts.fields,
    build: opts.build,
    present: opts.present ?? presentRole,
    onDelete: opts.onDelete,
    listHelp: 'List the roles.',
    help: opts.help,
  });
}

const ROLE_NAME_RE = new RegExp(`^${ROLE_NAME}$`);

/** The role a login names; a malformed or unknown name is a 400 with Vault's message (`message(name)`). */
export async function loginRole<R>(req: Request<unknown>, name: string, message: (name: string) => string): Promise<R> {
  const role = ROLE_NAME_RE.test(name) ? await readRole<R>(req, name) : null;
  if (!role) throw badRequest(message(name.slice(0, 128)));
  return role;
}
