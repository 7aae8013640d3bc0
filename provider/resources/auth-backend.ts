/**
 * `coffer_auth_backend`: an auth method (as vault_auth_backend). A new type or path replaces it (disabling an
 * auth method revokes the tokens its logins issued, so a move is never silent). `terraform import
 * coffer_auth_backend.x PATH`.
 */
import { z } from 'zod';
import type { ObjectValue, Value } from '../protocol/codec.js';
import { DiagnosticsError, error, type Resource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { mountName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { duration, parseConfig, validateKnown } from '../values.js';
import { describeMount, type MountDescription } from './mount.js';
import { deleteAt, goSeconds, known, shortDuration } from './shared.js';

const tune = declare({
  description: 'Lease settings of tokens issued by this method.',
  attributes: {
    default_lease_ttl: { type: 'string', optional: true, check: duration, description: 'Default token TTL, e.g. 1h (0: the system default).' },
    max_lease_ttl: { type: 'string', optional: true, check: duration, description: 'Maximum token TTL, e.g. 24h (0: the system maximum).' },
  },
});

const declared = declare({
  description: 'An auth method. Import with its path.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The auth method path.' },
    type: {
      type: 'string',
      required: true,
      check: z.string().min(1, 'must not be empty').refine((t) => t !== 'token', 'the token auth method is always there and cannot be enabled'),
      description: 'Auth method type: approle, kubernetes, userpass …; changing it replaces the method.',
    },
    path: { type: 'string', optional: true, computed: true, check: mountName, description: 'Where to enable it (default: the type); changing it replaces the method.' },
    description: { type: 'string', optional: true, computed: true, check: z.string(), description: 'Human-readable description.' },
    accessor: { type: 'string', computed: true, description: 'The auth method accessor.' },
  },
  blocks: {
    tune: { nesting: 'list', maxItems: 1, block: tune, check: z.array(tune.config).max(1).nullable() },
  },
});
const config = declared.config;
type Config = z.infer<typeof config>;

const authPath = (path: string) => `sys/auth/${path}`;
const pathOf = (c: { path: string | null; type: string }) => c.path ?? c.type;

/** The tune settings to send: only those configured. */
function tuneBody(c: Config): Record<string, number> {
  const t = c.tune?.[0];
  const out: Record<string, number> = {};
  if (t?.default_lease_ttl) out.default_lease_ttl = goSeconds(t.default_lease_ttl);
  if (t?.max_lease_ttl) out.max_lease_ttl = goSeconds(t.max_lease_ttl);
  return out;
}

/** The configured tune block refreshed: the configuration's text stays when it means the server's seconds. */
function tuneState(prior: Value | undefined, d: MountDescription, imported: boolean): Value {
  // An import (nothing known yet but the path) takes the server's non-default settings.
  if (imported) {
    const ttl = (k: 'default_lease_ttl' | 'max_lease_ttl') => (d.config?.[k] ? shortDuration(d.config[k]) : null);
    const imported = { default_lease_ttl: ttl('default_lease_ttl'), max_lease_ttl: ttl('max_lease_ttl') };
    return imported.default_lease_ttl || imported.max_lease_ttl ? [imported] : [];
  }
  const block = Array.isArray(prior) ? (prior[0] as ObjectValue | undefined) : undefined;
  if (!block) return [];
  const field = (k: 'default_lease_ttl' | 'max_lease_ttl'): Value => {
    const was = block[k];
    if (was === null || was === undefined) return null;
    const now = d.config?.[k] ?? 0;
    return goSeconds(was) === now ? was : `${now}s`;
  };
  return [{ default_lease_ttl: field('default_lease_ttl'), max_lease_ttl: field('max_lease_ttl') }];
}

async function read(state: ObjectValue, session: Session): Promise<ObjectValue | null> {
  const path = String(state.path ?? state.id);
  const d = await describeMount('sys/auth', path, session);
  if (!d?.type) return null;
  const imported = state.type === null || state.type === undefined;
  return declared.state({ id: path, path, type: d.type, description: d.description ?? '', accessor: d.accessor ?? '', tune: tuneState(state.tune, d, imported) });
}

async function mustRead(state: ObjectValue, session: Session): Promise<ObjectValue> {
  const found = await read(state, session);
  if (!found) throw new DiagnosticsError(error(`auth method ${String(state.path)} is missing right after it was written`, 'Another client may have disabled it.'));
  return found;
}

export const authBackendResource: Resource<Session> = {
  typeName: 'coffer_auth_backend',
  schema: declared.schema,
  replaceOn: ['type', 'path'],
  validate: (c) => validateKnown(config, c),
  async create(planned, session) {
    const c = parseConfig(config, known(planned));
    const path = pathOf(c);
    await session.write('create', authPath(path), { type: c.type, description: c.description ?? '', config: tuneBody(c) });
    return mustRead({ ...planned, path }, session);
  },
  async update(planned, _prior, session) {
    const c = parseConfig(config, known(planned));
    const path = pathOf(c);
    await session.write('update', `${authPath(path)}/tune`, { description: c.description ?? '', ...tuneBody(c) });
    return mustRead({ ...planned, path }, session);
  },
  read,
  delete: (prior, session) => deleteAt(authPath(String(prior.path)), session),
  async importState(id) {
    const path = id.replace(/^\/+|\/+$/g, '');
    return declared.state({ id: path, path, tune: [] });
  },
};
