/**
 * `coffer_generic_secret`: whatever a read of one API path answers (as vault_generic_secret). On a KV v2
 * mount the path is the secret's (without data/) and the secret's data is unwrapped, like the vault provider.
 */
import type { ObjectValue } from '../protocol/codec.js';
import type { DataSource } from '../protocol/types.js';
import { notFound } from '../errors.js';
import type { Session } from '../session.js';
import { declare } from '../declaration.js';
import { parseConfig, stringMap, validateKnown } from '../values.js';
import { apiPath, secretVersion } from './paths.js';

/** mount/data/rest when `path` lies on a KV v2 mount, else null. */
async function kvV2DataPath(path: string, session: Session): Promise<string | null> {
  // The lookup needs no more than some capability on the path; without it, read the path as given.
  const mount = await session.client.mountInfo(path).catch(() => null);
  if (!mount || mount.type !== 'kv' || mount.options?.version !== '2') return null;
  const prefix = mount.path.replace(/\/+$/, '');
  const rest = path.slice(prefix.length).replace(/^\/+/, '');
  return rest.startsWith('data/') ? `${prefix}/${rest}` : `${prefix}/data/${rest}`;
}

const declared = declare({
  description: 'Reads any API path. The answer is stored in the Terraform state; use the ephemeral resource of the same name to keep it out.',
  attributes: {
    path: { type: 'string', required: true, check: apiPath, description: 'API path to read, e.g. secret/my-app or database/creds/readonly.' },
    version: { type: 'number', optional: true, check: secretVersion, description: 'On a KV v2 mount, the version to read; the latest when unset or 0.' },
    data: { type: ['map', 'string'], computed: true, sensitive: true, description: 'The data read; non-string values are JSON-encoded.' },
    data_json: { type: 'string', computed: true, sensitive: true, description: 'The data read as a JSON object.' },
    lease_id: { type: 'string', computed: true, description: 'Lease of a dynamic secret; empty for static ones.' },
    lease_duration: { type: 'number', computed: true, description: 'Seconds the lease lasts.' },
    lease_renewable: { type: 'bool', computed: true, description: 'Whether the lease can be renewed.' },
  },
});

export const genericSecretData: DataSource<Session> = {
  typeName: 'coffer_generic_secret',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async read(raw, session): Promise<ObjectValue> {
    const c = parseConfig(declared.config, raw);
    const kvData = await kvV2DataPath(c.path, session);
    const path = kvData ?? c.path;
    const res = await session.read(path, kvData && c.version ? { version: c.version } : undefined);
    const data = (kvData ? (res?.data as { data?: Record<string, unknown> } | null)?.data : res?.data) ?? null;
    if (!res || !data) throw notFound(c.path, session.address);
    return declared.state({
      data: stringMap(data),
      data_json: JSON.stringify(data),
      lease_id: res.lease_id ?? '',
      lease_duration: res.lease_duration ?? 0,
      lease_renewable: !!res.renewable,
    });
  },
};
