/**
 * `coffer_mount`: a secrets engine mount (as vault_mount). A new path moves the mount (sys/remount, data
 * kept); a new type or options replace it. `terraform import coffer_mount.x PATH`.
 */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import { DiagnosticsError, error, type Resource } from '../protocol/types.js';
import { CofferApiError } from '../../src/client/index.js';
import type { Session } from '../session.js';
import { mountName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { parseConfig, stringMap, validateKnown } from '../values.js';
import { deleteAt, known, seconds } from './shared.js';

const declared = declare({
  description: 'A secrets engine mount. Import with its path.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The mount path.' },
    path: { type: 'string', required: true, check: mountName, description: 'Where to mount, e.g. apps/kv.' },
    type: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'Engine type: kv, database, pki …; changing it replaces the mount.' },
    description: { type: 'string', optional: true, computed: true, check: z.string(), description: 'Human-readable description.' },
    default_lease_ttl_seconds: { type: 'number', optional: true, computed: true, check: seconds, description: 'Default lease TTL (0: the system default).' },
    max_lease_ttl_seconds: { type: 'number', optional: true, computed: true, check: seconds, description: 'Maximum lease TTL (0: the system maximum).' },
    options: {
      type: ['map', 'string'],
      optional: true,
      computed: true,
      check: z.record(z.string(), z.string()),
      description: 'Engine options, e.g. { version = "2" } for KV v2; changing them replaces the mount.',
    },
    accessor: { type: 'string', computed: true, description: 'The mount accessor.' },
  },
});
const config = declared.config;

const mountPath = (path: string) => `sys/mounts/${path}`;

/** The ttl settings to send: only those configured (unknown computed ones stay the server's). */
function ttlConfig(c: z.infer<typeof config>): Record<string, number> {
  const out: Record<string, number> = {};
  if (c.default_lease_ttl_seconds !== null) out.default_lease_ttl = c.default_lease_ttl_seconds;
  if (c.max_lease_ttl_seconds !== null) out.max_lease_ttl = c.max_lease_ttl_seconds;
  return out;
}

export interface MountDescription {
  type?: string;
  description?: string;
  accessor?: string;
  config?: Record<string, number>;
  options?: Record<string, string> | null;
}

/** A secrets engine (sys/mounts) or auth method (sys/auth) as the server describes it, or null when not mounted. */
export async function describeMount(base: 'sys/mounts' | 'sys/auth', path: string, session: Session): Promise<MountDescription | null> {
  let res;
  try {
    res = await session.client.read(`${base}/${path}`);
  } catch (err) {
    // The server answers 400 "no mount at" for a path that is not mounted.
    if (err instanceof CofferApiError && (err.status === 400 || err.status === 404) && err.errors.some((e) => /no mount/.test(e))) return null;
    throw await session.failure(err, { op: 'read', path: `${base}/${path}` });
  }
  const d = res?.data as MountDescription | null;
  return d?.type ? d : null;
}

async function readMount(path: string, session: Session): Promise<ObjectValue | null> {
  const d = await describeMount('sys/mounts', path, session);
  if (!d?.type) return null;
  return declared.state({
    id: path,
    path,
    type: d.type,
    description: d.description ?? '',
    default_lease_ttl_seconds: d.config?.default_lease_ttl ?? 0,
    max_lease_ttl_seconds: d.config?.max_lease_ttl ?? 0,
    options: stringMap(d.options ?? {}),
    accessor: d.accessor ?? '',
  });
}

async function mustRead(path: string, session: Session): Promise<ObjectValue> {
  const found = await readMount(path, session);
  if (!found) throw new DiagnosticsError(error(`mount ${path} is missing right after it was written`, 'Another client may have disabled it.'));
  return found;
}

export const mountResource: Resource<Session> = {
  typeName: 'coffer_mount',
  schema: declared.schema,
  replaceOn: ['type', 'options'],
  // The id is the path: a move changes it.
  planUpdate: (planned) => ({ ...planned, id: planned.path }),
  validate: (c) => validateKnown(config, c),
  async create(planned, session) {
    const c = parseConfig(config, known(planned));
    const body = { type: c.type, description: c.description ?? '', config: ttlConfig(c), options: c.options ?? {} };
    await session.write('create', mountPath(c.path), body);
    return mustRead(c.path, session);
  },
  async update(planned, prior, session) {
    const c = parseConfig(config, known(planned));
    const from = String(prior.path);
    if (from !== c.path) await session.write('update', 'sys/remount', { from, to: c.path });
    await session.write('update', `${mountPath(c.path)}/tune`, { description: c.description ?? '', ...ttlConfig(c) });
    return mustRead(c.path, session);
  },
  read: (state, session) => readMount(String(state.path ?? state.id), session),
  async delete(prior, session) {
    await deleteAt(mountPath(String(prior.path)), session);
  },
  async importState(id) {
    return declared.state({ id, path: id.replace(/^\/+|\/+$/g, '') });
  },
};
