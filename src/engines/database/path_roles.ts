/**
 * `roles/:name` (create/update, read, delete) and `roles/` (list): dynamic roles, each naming a connection
 * (`db_name`), the statements that create / revoke / roll back / renew a user, TTLs, and optionally its own
 * `username_template`.
 */
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { duration, unsupported } from '../../sdk/fields.js';
import { recordPaths } from '../../sdk/records.js';
import { type DatabaseContext, ROLE_PREFIX, type RoleEntry, STATIC_ROLE_PREFIX } from './backend.js';
import { statementList } from './fields.js';
import { statementTemplateError } from './statements.js';
import { validateUsernameTemplate } from './username.js';

const roleFields = z.object({
  db_name: z.string().optional(),
  creation_statements: statementList().optional(),
  revocation_statements: statementList().optional(),
  rollback_statements: statementList().optional(),
  renew_statements: statementList().optional(),
  default_ttl: duration().optional(),
  max_ttl: duration().optional(),
  username_template: z.string().optional(),
  credential_type: z.string().optional(),
  // Vault's password_policy lives here; coffer has no password policies, so only an empty object is accepted.
  credential_config: unsupported(),
});
type RoleBody = z.infer<typeof roleFields>;

/** Vault's credential types; coffer issues passwords only. */
export function checkCredentialType(type: string | undefined): void {
  if (type === undefined || type === 'password') return;
  if (type === 'rsa_private_key' || type === 'client_certificate') {
    throw badRequest(`unsupported credential_type: "${type}"`);
  }
  throw badRequest(`invalid credential_type "${type.slice(0, 40)}"`);
}

const removeEmpty = (list: string[]) => list.filter((s) => s.trim() !== '');

/** A role write on top of the stored role (under the role's lock, taken by the record family). */
async function buildRole(name: string, body: RoleBody, existing: RoleEntry | null, req: Request<RoleBody>): Promise<RoleEntry> {
  if ((await req.storage.get(STATIC_ROLE_PREFIX + name)) !== null) throw badRequest('Role and Static Role names must be unique');
  const role: RoleEntry = existing ?? {
    db_name: '',
    creation_statements: [],
    revocation_statements: [],
    rollback_statements: [],
    renew_statements: [],
    default_ttl: 0,
    max_ttl: 0,
    username_template: '',
    credential_type: 'password',
  };
  if (body.db_name !== undefined) role.db_name = body.db_name;
  if (!role.db_name) throw badRequest('database name is required');
  checkCredentialType(body.credential_type);
  if (body.creation_statements !== undefined) role.creation_statements = body.creation_statements;
  if (body.revocation_statements !== undefined) role.revocation_statements = body.revocation_statements;
  if (body.rollback_statements !== undefined) role.rollback_statements = body.rollback_statements;
  if (body.renew_statements !== undefined) role.renew_statements = body.renew_statements;
  role.revocation_statements = removeEmpty(role.revocation_statements);
  const templateError = statementTemplateError([
    ...role.creation_statements, ...role.revocation_statements, ...role.rollback_statements, ...role.renew_statements,
  ]);
  if (templateError) throw badRequest(templateError);
  if (body.default_ttl !== undefined) role.default_ttl = body.default_ttl;
  if (body.max_ttl !== undefined) role.max_ttl = body.max_ttl;
  if (body.username_template !== undefined) {
    if (body.username_template !== '') {
      try {
        validateUsernameTemplate(body.username_template);
      } catch (err) {
        throw badRequest(`unable to initialize username template: ${(err as Error).message}`);
      }
    }
    role.username_template = body.username_template;
  }
  return role;
}

function presentRole(role: RoleEntry): Record<string, unknown> {
  const data: Record<string, unknown> = {
    db_name: role.db_name,
    creation_statements: role.creation_statements,
    revocation_statements: role.revocation_statements,
    rollback_statements: role.rollback_statements,
    renew_statements: role.renew_statements,
    default_ttl: role.default_ttl,
    max_ttl: role.max_ttl,
    credential_type: role.credential_type,
  };
  if (role.username_template) data.username_template = role.username_template;
  return data;
}

export function pathRoles(ctx: DatabaseContext): PathSpec[] {
  return recordPaths({
    segment: 'roles',
    prefix: ROLE_PREFIX,
    fields: roleFields,
    build: buildRole,
    present: presentRole,
    lock: (key, fn) => ctx.locks.run(key, fn),
    listHelp: 'Lists the dynamic roles.',
    help: 'Manages dynamic roles: db_name (required), creation_statements, revocation_statements, '
      + 'rollback_statements, renew_statements (templates with {{name}}, {{username}}, {{password}}, '
      + '{{expiration}}; several statements may be separated by ";"), default_ttl, max_ttl, username_template.',
  });
}
