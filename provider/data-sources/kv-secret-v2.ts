/** `coffer_kv_secret_v2`: one version of a KV v2 secret (attributes as in vault_kv_secret_v2). */
import type { ObjectValue } from '../protocol/codec.js';
import type { DataSource } from '../protocol/types.js';
import { notFound } from '../errors.js';
import type { Session } from '../session.js';
import { declare } from '../declaration.js';
import { parseConfig, stringMap, timeOrNull, validateKnown } from '../values.js';
import { kvPath, mountName, secretName, secretVersion } from './paths.js';

const declared = declare({
  description: 'Reads a secret from a KV version 2 mount. Its values are stored in the Terraform state; use the ephemeral resource of the same name to keep them out.',
  attributes: {
    mount: { type: 'string', required: true, check: mountName, description: 'Path of the KV v2 mount, e.g. secret.' },
    name: { type: 'string', required: true, check: secretName, description: 'Name of the secret within the mount.' },
    version: { type: 'number', optional: true, check: secretVersion, description: 'Version to read; the latest when unset or 0.' },
    path: { type: 'string', computed: true, description: 'Full API path read (mount/data/name).' },
    data: { type: ['map', 'string'], computed: true, sensitive: true, description: 'The secret data; non-string values are JSON-encoded.' },
    data_json: { type: 'string', computed: true, sensitive: true, description: 'The secret data as a JSON object.' },
    custom_metadata: { type: ['map', 'string'], computed: true, description: 'Custom metadata of the secret.' },
    created_time: { type: 'string', computed: true, description: 'When this version was written (RFC 3339).' },
    deletion_time: { type: 'string', computed: true, description: 'When this version was deleted, if it was.' },
    destroyed: { type: 'bool', computed: true, description: 'Whether this version was destroyed.' },
  },
});

export const kvSecretV2Data: DataSource<Session> = {
  typeName: 'coffer_kv_secret_v2',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async read(raw, session): Promise<ObjectValue> {
    const c = parseConfig(declared.config, raw);
    const path = kvPath(c.mount, 'data', c.name);
    const res = await session.read(path, { version: c.version || undefined });
    const body = res?.data as { data?: Record<string, unknown> | null; metadata?: Record<string, any> } | null;
    if (!body?.data) throw notFound(path, session.address);
    const meta = body.metadata ?? {};
    return declared.state({
      path,
      data: stringMap(body.data),
      data_json: JSON.stringify(body.data),
      custom_metadata: stringMap(meta.custom_metadata),
      created_time: timeOrNull(meta.created_time),
      deletion_time: timeOrNull(meta.deletion_time),
      destroyed: !!meta.destroyed,
    });
  },
};
