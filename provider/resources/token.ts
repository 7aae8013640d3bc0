/**
 * `coffer_token`: a token kept in state (as vault_token). Every argument replaces the token. Since the provider
 * runs with a child token revoked at the end of each run, a token created under it would die with the run: it
 * must be an orphan (`no_parent = true`) unless the provider uses its token directly (`skip_child_token`).
 * Read looks the token up by accessor, so a revoked or expired token is planned for creation again.
 * `terraform import coffer_token.x ACCESSOR` (the token itself cannot be recovered: client_token stays null).
 */
import { z } from 'zod';
import { DiagnosticsError, error, type Resource } from '../protocol/types.js';
import { CofferApiError } from '../../src/client/index.js';
import type { Session } from '../session.js';
import { tokenAttributes } from '../ephemeral/token.js';
import { declare } from '../declaration.js';
import { parseConfig, validateKnown } from '../values.js';
import { known, shortDuration } from './shared.js';

const declared = declare({
  description: 'A token kept in the Terraform state (its client_token is stored there, marked sensitive). Import with its accessor.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The token accessor.' },
    ...tokenAttributes,
    no_parent: { type: 'bool', optional: true, check: z.boolean(), description: 'Create an orphan token; required while the provider runs with its own child token.' },
    renewable: { type: 'bool', optional: true, computed: true, check: z.boolean(), description: 'Whether the token can be renewed (default true).' },
    client_token: { type: 'string', computed: true, sensitive: true, description: 'The token (null after an import).' },
    lease_started: { type: 'string', computed: true, description: 'When the token was created (RFC 3339).' },
  },
});
const config = declared.config;

const ARGUMENTS = Object.keys(config.shape);

async function lookup(accessor: string, session: Session): Promise<Record<string, unknown> | null> {
  try {
    const res = await session.client.write('auth/token/lookup-accessor', { accessor });
    return (res?.data ?? null) as Record<string, unknown> | null;
  } catch (err) {
    // A revoked or expired token's accessor is unknown to the server.
    if (err instanceof CofferApiError && err.status === 400 && err.errors.some((e) => /invalid accessor/.test(e))) return null;
    // lookup-accessor is a POST: the policy must grant update on it.
    throw await session.failure(err, { op: 'read', path: 'auth/token/lookup-accessor', subject: `the token with accessor ${accessor}`, capability: 'update' });
  }
}

const positive = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);
const ttlOrNull = (v: unknown): string | null => {
  const n = positive(v);
  return n === null ? null : shortDuration(n);
};

/** The arguments of an existing token, in the forms a configuration would give them. */
function importedArguments(d: Record<string, unknown>) {
  const policies = Array.isArray(d.policies) ? d.policies.map(String) : [];
  const displayName = typeof d.display_name === 'string' ? d.display_name.replace(/^token-?/, '') : '';
  const meta = (d.meta ?? {}) as Record<string, string>;
  return declared.state({
    policies: policies.filter((p) => p !== 'default'),
    no_default_policy: policies.includes('default') ? null : true,
    ttl: ttlOrNull(d.creation_ttl),
    explicit_max_ttl: ttlOrNull(d.explicit_max_ttl),
    period: ttlOrNull(d.period),
    display_name: displayName || null,
    num_uses: positive(d.num_uses),
    metadata: Object.keys(meta).length ? meta : null,
    no_parent: d.orphan === true ? true : null,
    lease_duration: typeof d.ttl === 'number' ? d.ttl : null,
    client_token: null,
  });
}

export const tokenResource: Resource<Session> = {
  typeName: 'coffer_token',
  schema: declared.schema,
  replaceOn: ARGUMENTS,
  validate: (c) => validateKnown(config, c),
  async create(planned, session) {
    const c = parseConfig(config, Object.fromEntries(ARGUMENTS.map((k) => [k, known(planned)[k] ?? null])));
    if (session.runsWithChildToken && c.no_parent !== true) {
      throw new DiagnosticsError(
        error(
          'the token would be revoked at the end of this run',
          'The provider runs with a child token that is revoked when Terraform finishes, and with it every token created under it. Set no_parent = true, or skip_child_token = true in the provider block.',
          ['no_parent'],
        ),
      );
    }
    const body = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null));
    const res = await session.write('create', 'auth/token/create', body);
    const auth = res?.auth;
    if (!auth?.client_token) throw new DiagnosticsError(error('auth/token/create answered without a token'));
    const found = await lookup(auth.accessor, session);
    return declared.state({
      id: auth.accessor,
      accessor: auth.accessor,
      client_token: auth.client_token,
      lease_duration: auth.lease_duration,
      renewable: auth.renewable,
      lease_started: typeof found?.issue_time === 'string' ? found.issue_time : null,
    });
  },
  // Every argument replaces the token: an update only ever carries computed values forward.
  update: async () => ({}),
  async read(state, session) {
    const accessor = String(state.accessor ?? state.id);
    const d = await lookup(accessor, session);
    if (!d) return null;
    const current = declared.state({ id: accessor, accessor, renewable: d.renewable === true, lease_started: typeof d.issue_time === 'string' ? d.issue_time : null });
    // The arguments are the configuration's (the server keeps its own forms of them, e.g. "token-ci" for
    // display_name); only an imported token, which has none yet, takes them from the server.
    return state.lease_started === null || state.lease_started === undefined ? { ...current, ...importedArguments(d) } : current;
  },
  async delete(prior, session) {
    const accessor = String(prior.accessor ?? prior.id);
    if ((await lookup(accessor, session)) === null) return;
    await session.write('revoke', 'auth/token/revoke-accessor', { accessor });
  },
  async importState(id) {
    return declared.state({ id, accessor: id });
  },
};
