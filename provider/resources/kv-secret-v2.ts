/**
 * `coffer_kv_secret_v2`: a secret in a KV version 2 mount (as vault_kv_secret_v2). The data comes either from
 * `data_json`, stored in state like any argument, or from the write-only `data_json_wo`, which Terraform hands
 * over in the configuration only: it is written when `data_json_wo_version` changes and never kept, so neither
 * the state nor a saved plan holds it. `terraform import coffer_kv_secret_v2.x MOUNT/data/NAME`.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { ObjectValue, Value } from '../protocol/codec.js';
import { DiagnosticsError, error, type Diagnostic, type Resource } from '../protocol/types.js';
import { CofferApiError } from '../../src/client/index.js';
import type { Session } from '../session.js';
import { kvPath, mountName, secretName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { parseConfig, stringMap, timeOrNull, validateKnown } from '../values.js';
import { changed, deleteAt, goSeconds, known, unknownAfterApply } from './shared.js';

/** A JSON object; the message never quotes the text, which is secret. */
const jsonObject = z.string().refine((s) => {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}, 'must be a JSON object, e.g. jsonencode({ key = "value" })');

const whole = (what: string) => z.number().int(`must be a whole number${what}`).nonnegative('must not be negative').nullable();

const customMetadata = declare({
  description: 'Settings and custom metadata of the secret (all versions).',
  attributes: {
    max_versions: { type: 'number', optional: true, check: whole(''), description: 'Versions to keep (0: the mount setting).' },
    cas_required: { type: 'bool', optional: true, check: z.boolean(), description: 'Require check-and-set on every write.' },
    delete_version_after: { type: 'number', optional: true, check: whole(' of seconds'), description: 'Seconds after which a version is deleted (0: never).' },
    data: { type: ['map', 'string'], optional: true, check: z.record(z.string(), z.string()), description: 'Custom metadata, key to value.' },
  },
});

const declared = declare({
  description: 'A secret in a KV version 2 mount. Import with MOUNT/data/NAME.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The API path of the secret (mount/data/name).' },
    mount: { type: 'string', required: true, check: mountName, description: 'Path of the KV v2 mount; changing it replaces the secret.' },
    name: { type: 'string', required: true, check: secretName, description: 'Name of the secret within the mount; changing it replaces the secret.' },
    path: { type: 'string', computed: true, description: 'Full API path of the secret (mount/data/name).' },
    data_json: {
      type: 'string',
      optional: true,
      sensitive: true,
      check: jsonObject,
      description: 'The secret data as a JSON object (stored in state). Conflicts with data_json_wo.',
    },
    data_json_wo: {
      type: 'string',
      optional: true,
      sensitive: true,
      writeOnly: true,
      check: jsonObject,
      description: 'The secret data as a JSON object, write-only (Terraform 1.11+): never stored in state or plan.',
    },
    data_json_wo_version: { type: 'number', optional: true, check: whole(''), description: 'Version of data_json_wo; changing it writes the write-only value.' },
    cas: { type: 'number', optional: true, check: whole(''), description: 'Check-and-set: the version the write expects to replace (0: only if the secret does not exist).' },
    delete_all_versions: {
      type: 'bool',
      optional: true,
      computed: true,
      check: z.boolean(),
      description: 'On destroy, delete every version and the metadata instead of only the latest version.',
    },
    disable_read: { type: 'bool', optional: true, computed: true, check: z.boolean(), description: 'Do not read the secret back (no drift detection), for tokens that may only write.' },
    data: {
      type: ['map', 'string'],
      computed: true,
      sensitive: true,
      description: 'The secret data read back (null for a write-only secret); non-string values are JSON-encoded.',
    },
    metadata: { type: ['map', 'string'], computed: true, description: 'Metadata of the current version: created_time, deletion_time, destroyed, version, custom_metadata.' },
  },
  blocks: {
    // Fields left out of a block (not only set to null) are accepted: partial().
    custom_metadata: { nesting: 'list', maxItems: 1, block: customMetadata, check: z.array(customMetadata.config.partial()).max(1).nullable() },
  },
});
const config = declared.config;
type Config = z.infer<typeof config>;

/** Checks between attributes, on what is known: one source of data, and a version to go with the write-only one. */
function crossCheck(c: ObjectValue): Diagnostic[] {
  const set = (k: string) => c[k] !== null && c[k] !== undefined;
  if (set('data_json') && set('data_json_wo')) return [error('Conflicting data', 'Set either data_json or data_json_wo, not both.', ['data_json_wo'])];
  if (!set('data_json') && !set('data_json_wo')) return [error('Missing data', 'Set data_json, or data_json_wo with data_json_wo_version.', ['data_json'])];
  if (set('data_json_wo') && !set('data_json_wo_version')) {
    return [error('Missing data_json_wo_version', 'A write-only value is written only when data_json_wo_version changes: set it, and raise it to write a new value.', ['data_json_wo_version'])];
  }
  return [];
}

const paths = (s: ObjectValue) => {
  const mount = String(s.mount);
  const name = String(s.name);
  return { data: kvPath(mount, 'data', name), metadata: kvPath(mount, 'metadata', name) };
};

/** Whether the state is of a write-only secret: its data is not the provider's to show or compare. */
const writeOnly = (s: ObjectValue) => s.data_json === null && s.data_json_wo_version !== null && s.data_json_wo_version !== undefined;

interface VersionMeta {
  created_time?: string;
  deletion_time?: string;
  destroyed?: boolean;
  version?: number;
  custom_metadata?: Record<string, string> | null;
}

/** The `metadata` map as vault_kv_secret_v2 shows it: every value a string. */
function metadataMap(meta: VersionMeta): Record<string, Value> {
  return {
    created_time: timeOrNull(meta.created_time) ?? '',
    deletion_time: timeOrNull(meta.deletion_time) ?? '',
    destroyed: String(!!meta.destroyed),
    version: String(meta.version ?? 0),
    custom_metadata: JSON.stringify(meta.custom_metadata ?? null),
  };
}

/** The configured custom_metadata block refreshed from the server: only the fields the configuration sets. */
async function readCustomMetadata(state: ObjectValue, session: Session): Promise<Value> {
  const blocks = Array.isArray(state.custom_metadata) ? (state.custom_metadata as ObjectValue[]) : [];
  if (blocks.length === 0) return [];
  const res = await session.read(paths(state).metadata);
  const m = (res?.data ?? {}) as { max_versions?: number; cas_required?: boolean; delete_version_after?: string; custom_metadata?: Record<string, string> | null };
  const prior = blocks[0];
  const keep = (k: string, v: Value) => (prior[k] === null || prior[k] === undefined ? null : v);
  return [
    customMetadata.state({
      max_versions: keep('max_versions', m.max_versions ?? 0),
      cas_required: keep('cas_required', !!m.cas_required),
      delete_version_after: keep('delete_version_after', goSeconds(m.delete_version_after)),
      data: keep('data', stringMap(m.custom_metadata ?? {})),
    }),
  ];
}

/** The secret as it is on the server, or null when it (or its latest version) is gone. */
async function readSecret(state: ObjectValue, session: Session): Promise<ObjectValue | null> {
  const path = paths(state).data;
  let res;
  try {
    res = await session.client.read(path);
  } catch (err) {
    // A deleted or destroyed latest version answers 404 with its metadata: the secret is gone for Terraform.
    if (err instanceof CofferApiError && err.status === 404) return null;
    throw await session.failure(err, { op: 'read', path });
  }
  const body = res?.data as { data?: Record<string, unknown> | null; metadata?: VersionMeta } | null;
  if (!body?.data) return null;
  const out = declared.state({
    id: path,
    path,
    delete_all_versions: state.delete_all_versions ?? false,
    disable_read: state.disable_read ?? false,
    metadata: metadataMap(body.metadata ?? {}),
    custom_metadata: await readCustomMetadata(state, session),
  });
  if (writeOnly(state)) return { ...out, data_json: null, data: null };
  // The configuration's own JSON text stays when it says the same thing (key order, spacing).
  let same = false;
  if (typeof state.data_json === 'string') {
    try {
      same = isDeepStrictEqual(JSON.parse(state.data_json), body.data);
    } catch {
      same = false;
    }
  }
  return { ...out, data_json: same ? state.data_json : JSON.stringify(body.data), data: stringMap(body.data) };
}

async function writeData(c: Config, session: Session): Promise<VersionMeta> {
  const path = kvPath(c.mount, 'data', c.name);
  const json = c.data_json ?? c.data_json_wo;
  if (json === null) throw new DiagnosticsError(error('Missing data', 'Set data_json, or data_json_wo with data_json_wo_version.', ['data_json']));
  const res = await session.write('update', path, { data: JSON.parse(json), options: c.cas === null ? {} : { cas: c.cas } });
  return (res?.data ?? {}) as VersionMeta;
}

/** Writes the custom_metadata block; a removed block resets the secret's settings to the mount's defaults. */
async function writeMetadata(c: Config, session: Session): Promise<void> {
  const block = c.custom_metadata?.[0];
  const body: Record<string, unknown> = block
    ? {
        ...(block.max_versions != null && { max_versions: block.max_versions }),
        ...(block.cas_required != null && { cas_required: block.cas_required }),
        ...(block.delete_version_after != null && { delete_version_after: `${block.delete_version_after}s` }),
        custom_metadata: block.data ?? {},
      }
    : { max_versions: 0, cas_required: false, delete_version_after: '0s', custom_metadata: {} };
  await session.write('update', kvPath(c.mount, 'metadata', c.name), body, ['custom_metadata']);
}

/** The applied object: read back, or (with disable_read) built from the write's answer. */
async function result(c: Config, planned: ObjectValue, written: VersionMeta | null, session: Session): Promise<ObjectValue> {
  const state = { ...planned, delete_all_versions: c.delete_all_versions ?? false, disable_read: c.disable_read ?? false };
  if (c.disable_read) {
    const path = kvPath(c.mount, 'data', c.name);
    const data = c.data_json === null ? null : stringMap(JSON.parse(c.data_json));
    const metadata = written ? metadataMap(written) : (planned.metadata ?? null);
    return { ...state, id: path, path, data, metadata: typeof metadata === 'symbol' ? null : metadata };
  }
  const found = await readSecret(state, session);
  if (!found) throw new DiagnosticsError(error(`secret ${kvPath(c.mount, 'data', c.name)} is missing right after it was written`, 'Another client may have deleted it.'));
  return { ...state, ...found };
}

/** Arguments from the plan, the write-only value from the configuration (the plan holds null for it). */
const parse = (planned: ObjectValue, cfg: ObjectValue): Config => parseConfig(config, { ...known(planned), data_json_wo: cfg.data_json_wo ?? null });

export const kvSecretV2Resource: Resource<Session> = {
  typeName: 'coffer_kv_secret_v2',
  schema: declared.schema,
  replaceOn: ['mount', 'name'],
  validate: (c) => [...validateKnown(config, c), ...crossCheck(c)],
  planUpdate(planned, prior) {
    // A new write makes a new version: its metadata (and the data read back) are known after apply.
    if (!changed(planned, prior, ['data_json', 'data_json_wo_version', 'custom_metadata'])) return planned;
    const next = unknownAfterApply(planned, ['metadata']);
    return changed(planned, prior, ['data_json', 'data_json_wo_version']) ? { ...next, data: planned.data_json === null ? null : unknownAfterApply(planned, ['data']).data } : next;
  },
  async create(planned, session, cfg) {
    const c = parse(planned, cfg);
    const written = await writeData(c, session);
    if (c.custom_metadata?.length) await writeMetadata(c, session);
    return result(c, planned, written, session);
  },
  async update(planned, prior, session, cfg) {
    const c = parse(planned, cfg);
    const written = changed(planned, prior, ['data_json', 'data_json_wo_version']) ? await writeData(c, session) : null;
    if (changed(planned, prior, ['custom_metadata'])) await writeMetadata(c, session);
    return result(c, planned, written, session);
  },
  read: (state, session) => (state.disable_read === true ? Promise.resolve({}) : readSecret(state, session)),
  async delete(prior, session) {
    const p = paths(prior);
    await deleteAt(prior.delete_all_versions === true ? p.metadata : p.data, session);
  },
  async importState(id, session) {
    const path = id.replace(/^\/+|\/+$/g, '');
    // The mount may itself hold "/data/": the split is the first one at a mounted path.
    const splits = [...path.matchAll(/\/data\//g)].map((m) => m.index);
    for (const at of splits) {
      const mount = path.slice(0, at);
      const name = path.slice(at + '/data/'.length);
      const res = await session.client.read(`sys/mounts/${mount}`).catch(() => null);
      if (res?.data && name) return declared.state({ id: path, path, mount, name, custom_metadata: [] });
    }
    throw new DiagnosticsError(
      error(`cannot import ${JSON.stringify(id)}`, 'Give the secret as MOUNT/data/NAME, e.g. secret/data/app, where MOUNT is a mounted KV version 2 engine.'),
    );
  },
};
