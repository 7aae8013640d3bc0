/** `coffer_kv_secrets_list_v2`: the names under a folder of a KV v2 mount (as vault_kv_secrets_list_v2). */
import type { ObjectValue } from '../protocol/codec.js';
import type { DataSource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { declare } from '../declaration.js';
import { parseConfig, validateKnown } from '../values.js';
import { folderName, kvPath, mountName } from './paths.js';

const declared = declare({
  description: 'Lists the secret names under a folder of a KV version 2 mount (folders end with /).',
  attributes: {
    mount: { type: 'string', required: true, check: mountName, description: 'Path of the KV v2 mount.' },
    name: { type: 'string', optional: true, check: folderName, description: 'Folder to list; the mount root when unset.' },
    path: { type: 'string', computed: true, description: 'Full API path listed (mount/metadata/name).' },
    names: { type: ['list', 'string'], computed: true, sensitive: true, description: 'Names found, sorted; empty when there are none.' },
  },
});

export const kvSecretsListV2: DataSource<Session> = {
  typeName: 'coffer_kv_secrets_list_v2',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async read(raw, session): Promise<ObjectValue> {
    const c = parseConfig(declared.config, raw);
    const path = kvPath(c.mount, 'metadata', c.name ?? '');
    const res = await session.run({ op: 'list', path }, (client) => client.list(path));
    const keys = (res?.data?.keys ?? []).filter((k): k is string => typeof k === 'string');
    return declared.state({ path, names: [...keys].sort() });
  },
};
