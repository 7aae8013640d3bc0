/**
 * `coffer_database_connection`: a database secrets engine connection (as
 * vault_database_secret_backend_connection), with the plugin's settings in a `postgresql` block. The password is
 * either `password` (kept in state) or the write-only `password_wo`, sent when `password_wo_version` changes and
 * otherwise left as the server holds it: the server never returns a password, so neither is compared for drift.
 * `terraform import coffer_database_connection.x BACKEND/config/NAME`.
 */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import { error, type Diagnostic, type Resource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { mountName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { parseConfig, validateKnown } from '../values.js';
import { changed, deleteAt, importPath, known, objectName, stringList } from './shared.js';

const PLUGIN = 'postgresql-database-plugin';

const postgresql = declare({
  description: 'PostgreSQL connection settings.',
  attributes: {
    connection_url: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'Connection URL, with {{username}} and {{password}} placeholders.' },
    username: { type: 'string', optional: true, check: z.string(), description: 'Root user name for the placeholders.' },
    password: { type: 'string', optional: true, sensitive: true, check: z.string(), description: 'Root password (kept in state). Conflicts with password_wo.' },
    password_wo: {
      type: 'string',
      optional: true,
      sensitive: true,
      writeOnly: true,
      check: z.string(),
      description: 'Root password, write-only (Terraform 1.11+): never stored in state or plan.',
    },
    password_wo_version: {
      type: 'number',
      optional: true,
      check: z.number().int('must be a whole number').nonnegative('must not be negative'),
      description: 'Version of password_wo; changing it sends the password.',
    },
  },
});

const declared = declare({
  description: 'A database secrets engine connection (PostgreSQL). Import with BACKEND/config/NAME.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The API path (backend/config/name).' },
    backend: { type: 'string', required: true, check: mountName, description: 'Path of the database mount; changing it replaces the connection.' },
    name: { type: 'string', required: true, check: objectName, description: 'Name of the connection; changing it replaces the connection.' },
    plugin_name: { type: 'string', computed: true, description: 'The database plugin (postgresql-database-plugin).' },
    verify_connection: { type: 'bool', optional: true, computed: true, check: z.boolean(), description: 'Connect to the database when writing the configuration (default true).' },
    allowed_roles: {
      type: ['list', 'string'],
      optional: true,
      computed: true,
      check: z.array(z.string().min(1, 'must not be empty')),
      description: 'Roles allowed to use this connection (globs; empty allows none).',
    },
    root_rotation_statements: { type: ['list', 'string'], optional: true, computed: true, check: z.array(z.string()), description: 'Statements run to rotate the root password.' },
  },
  blocks: {
    postgresql: {
      nesting: 'list',
      minItems: 1,
      maxItems: 1,
      block: postgresql,
      check: z.array(postgresql.config).length(1, 'exactly one postgresql block is required'),
    },
  },
});
const config = declared.config;
type Config = z.infer<typeof config>;

function crossCheck(c: ObjectValue): Diagnostic[] {
  const blocks = Array.isArray(c.postgresql) ? (c.postgresql as ObjectValue[]) : [];
  const b = blocks[0];
  if (!b) return [];
  const set = (k: string) => b[k] !== null && b[k] !== undefined;
  if (set('password') && set('password_wo')) return [error('Conflicting passwords', 'Set either password or password_wo, not both.', ['postgresql', 0, 'password_wo'])];
  if (set('password_wo') && !set('password_wo_version')) {
    return [error('Missing password_wo_version', 'A write-only password is sent only when password_wo_version changes: set it, and raise it to send a new password.', ['postgresql', 0, 'password_wo_version'])];
  }
  return [];
}

const pathOf = (s: { backend?: unknown; name?: unknown }) => `${String(s.backend)}/config/${String(s.name)}`;

/** The request body: the password only on create or when it changed (the server keeps the one it has). */
function body(c: Config, sendPassword: boolean, writeOnlyPassword: string | null): Record<string, unknown> {
  const pg = c.postgresql[0];
  const password = pg.password ?? writeOnlyPassword;
  return {
    plugin_name: PLUGIN,
    connection_url: pg.connection_url,
    ...(pg.username !== null && { username: pg.username }),
    ...(sendPassword && password !== null && { password }),
    verify_connection: c.verify_connection ?? true,
    allowed_roles: c.allowed_roles ?? [],
    root_rotation_statements: c.root_rotation_statements ?? [],
  };
}

async function read(state: ObjectValue, session: Session): Promise<ObjectValue | null> {
  const path = pathOf(state);
  const res = await session.read(path);
  const d = res?.data as
    | { plugin_name?: string; connection_details?: Record<string, unknown>; allowed_roles?: string[]; verify_connection?: boolean; root_credentials_rotate_statements?: string[] }
    | null;
  if (!d?.plugin_name) return null;
  const prior = (Array.isArray(state.postgresql) ? (state.postgresql as ObjectValue[])[0] : undefined) ?? {};
  const details = d.connection_details ?? {};
  const pg = postgresql.state({
    connection_url: typeof details.connection_url === 'string' ? details.connection_url : null,
    username: typeof details.username === 'string' ? details.username : null,
    // Never returned by the server: what the state holds stands.
    password: prior.password ?? null,
    password_wo: null,
    password_wo_version: prior.password_wo_version ?? null,
  });
  return declared.state({
    id: path,
    plugin_name: d.plugin_name,
    verify_connection: d.verify_connection ?? true,
    allowed_roles: stringList(d.allowed_roles),
    root_rotation_statements: stringList(d.root_credentials_rotate_statements),
    // A connection of another plugin shows as an empty block list: the plan then puts the postgresql one back.
    postgresql: d.plugin_name === PLUGIN ? [pg] : [],
  });
}

async function write(planned: ObjectValue, prior: ObjectValue | null, session: Session, cfg: ObjectValue): Promise<ObjectValue> {
  const c = parseConfig(config, known(planned));
  const wo = ((cfg.postgresql as ObjectValue[] | null)?.[0]?.password_wo ?? null) as string | null;
  const plannedPg = (planned.postgresql as ObjectValue[])[0];
  const priorPg = (prior?.postgresql as ObjectValue[] | undefined)?.[0];
  const sendPassword = !prior || !priorPg || changed(plannedPg, priorPg, ['password', 'password_wo_version']);
  const path = pathOf(c);
  await session.write(prior ? 'update' : 'create', path, body(c, sendPassword, wo));
  const found = await read(planned, session);
  return { ...(found ?? {}), id: path, plugin_name: PLUGIN };
}

export const databaseConnectionResource: Resource<Session> = {
  typeName: 'coffer_database_connection',
  schema: declared.schema,
  replaceOn: ['backend', 'name'],
  validate: (c) => [...validateKnown(config, c), ...crossCheck(c)],
  create: (planned, session, cfg) => write(planned, null, session, cfg),
  update: (planned, prior, session, cfg) => write(planned, prior, session, cfg),
  read,
  delete: (prior, session) => deleteAt(pathOf(prior), session),
  async importState(id) {
    const { mount, name } = importPath(id, 'config', 'BACKEND/config/NAME');
    return declared.state({ id: `${mount}/config/${name}`, backend: mount, name, postgresql: [] });
  },
};
