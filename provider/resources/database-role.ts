/**
 * `coffer_database_role`: a dynamic-credentials role of a database mount (as vault_database_secret_backend_role).
 * `terraform import coffer_database_role.x BACKEND/roles/NAME`.
 */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import type { Resource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { mountName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { parseConfig } from '../values.js';
import { importPath, known, objectName, seconds, stringList, wholeObject } from './shared.js';

const statements = z.array(z.string().min(1, 'must not be empty'));

const declared = declare({
  description: 'A role issuing dynamic database credentials. Import with BACKEND/roles/NAME.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The API path (backend/roles/name).' },
    backend: { type: 'string', required: true, check: mountName, description: 'Path of the database mount; changing it replaces the role.' },
    name: { type: 'string', required: true, check: objectName, description: 'Name of the role; changing it replaces the role.' },
    db_name: { type: 'string', required: true, check: objectName, description: 'The connection (coffer_database_connection name) the role uses.' },
    creation_statements: {
      type: ['list', 'string'],
      required: true,
      check: statements.min(1, 'at least one statement is required'),
      description: 'Statements creating a user, with {{name}}, {{password}} and {{expiration}}.',
    },
    revocation_statements: { type: ['list', 'string'], optional: true, computed: true, check: statements, description: 'Statements dropping the user (default: the plugin\'s).' },
    rollback_statements: { type: ['list', 'string'], optional: true, computed: true, check: statements, description: 'Statements undoing a failed creation.' },
    renew_statements: { type: ['list', 'string'], optional: true, computed: true, check: statements, description: 'Statements run when a lease is renewed.' },
    default_ttl: { type: 'number', optional: true, computed: true, check: seconds, description: 'Default lease TTL in seconds (0: the mount default).' },
    max_ttl: { type: 'number', optional: true, computed: true, check: seconds, description: 'Maximum lease TTL in seconds (0: the mount maximum).' },
  },
});
const config = declared.config;

const pathOf = (s: { backend?: unknown; name?: unknown }) => `${String(s.backend)}/roles/${String(s.name)}`;

async function write(planned: ObjectValue, session: Session, op: 'create' | 'update'): Promise<ObjectValue> {
  const c = parseConfig(config, known(planned));
  const path = pathOf(c);
  await session.write(op, path, {
    db_name: c.db_name,
    creation_statements: c.creation_statements,
    revocation_statements: c.revocation_statements ?? [],
    rollback_statements: c.rollback_statements ?? [],
    renew_statements: c.renew_statements ?? [],
    default_ttl: c.default_ttl ?? 0,
    max_ttl: c.max_ttl ?? 0,
  });
  const found = await read(planned, session);
  return { ...(found ?? {}), id: path };
}

async function read(state: ObjectValue, session: Session): Promise<ObjectValue | null> {
  const path = pathOf(state);
  const res = await session.read(path);
  const d = res?.data as Record<string, unknown> | null;
  if (!d || typeof d.db_name !== 'string') return null;
  return declared.state({
    id: path,
    db_name: d.db_name,
    creation_statements: stringList(d.creation_statements),
    revocation_statements: stringList(d.revocation_statements),
    rollback_statements: stringList(d.rollback_statements),
    renew_statements: stringList(d.renew_statements),
    default_ttl: typeof d.default_ttl === 'number' ? d.default_ttl : 0,
    max_ttl: typeof d.max_ttl === 'number' ? d.max_ttl : 0,
  });
}

export const databaseRoleResource: Resource<Session> = {
  typeName: 'coffer_database_role',
  schema: declared.schema,
  replaceOn: ['backend', 'name'],
  ...wholeObject({ config, pathOf, write, read }),
  async importState(id) {
    const { mount, name } = importPath(id, 'roles', 'BACKEND/roles/NAME');
    return declared.state({ id: `${mount}/roles/${name}`, backend: mount, name });
  },
};
