/**
 * `coffer_database_credentials`: a new database user from a role of a database mount. As a data source the
 * password lands in the state and the lease ends with the provider's child token at the end of the run;
 * the ephemeral resource of the same name is the way to use such credentials.
 */
import type { ObjectValue } from '../protocol/codec.js';
import type { DataSource } from '../protocol/types.js';
import { notFound } from '../errors.js';
import type { Session } from '../session.js';
import { declare } from '../declaration.js';
import { parseConfig, validateKnown } from '../values.js';
import { mountName, secretName } from './paths.js';

const declared = declare({
  description: 'Issues database credentials from a role (database/creds/ROLE).',
  attributes: {
    mount: { type: 'string', required: true, check: mountName, description: 'Path of the database mount, e.g. database.' },
    role: { type: 'string', required: true, check: secretName, description: 'Name of the role to issue credentials from.' },
    username: { type: 'string', computed: true, description: 'The database user created.' },
    password: { type: 'string', computed: true, sensitive: true, description: 'Its password.' },
    lease_id: { type: 'string', computed: true, description: 'Lease under which the user exists.' },
    lease_duration: { type: 'number', computed: true, description: 'Seconds the lease lasts.' },
    lease_renewable: { type: 'bool', computed: true, description: 'Whether the lease can be renewed.' },
  },
});

export const databaseCredentialsData: DataSource<Session> = {
  typeName: 'coffer_database_credentials',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async read(raw, session): Promise<ObjectValue> {
    const c = parseConfig(declared.config, raw);
    const path = `${c.mount}/creds/${c.role}`;
    const res = await session.read(path);
    const data = res?.data as { username?: unknown; password?: unknown } | null;
    if (!res || typeof data?.username !== 'string' || typeof data.password !== 'string') throw notFound(path, session.address);
    return declared.state({
      username: data.username,
      password: data.password,
      lease_id: res.lease_id ?? '',
      lease_duration: res.lease_duration ?? 0,
      lease_renewable: !!res.renewable,
    });
  },
};
