/**
 * `coffer_kubernetes_auth_backend_role`: which Kubernetes service accounts may log in through a kubernetes auth
 * method, and the tokens they get (as vault_kubernetes_auth_backend_role).
 * `terraform import coffer_kubernetes_auth_backend_role.x auth/BACKEND/role/NAME`.
 */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import type { Resource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { mountName } from '../data-sources/paths.js';
import { declare } from '../declaration.js';
import { parseConfig } from '../values.js';
import { importPath, known, objectName, seconds, stringList, wholeObject } from './shared.js';

const names = z.array(z.string().min(1, 'must not be empty')).min(1, 'at least one is required');

const declared = declare({
  description: 'A role of a kubernetes auth method. Import with auth/BACKEND/role/NAME.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The API path (auth/backend/role/name).' },
    backend: { type: 'string', optional: true, computed: true, check: mountName, description: 'Path of the kubernetes auth method (default kubernetes); changing it replaces the role.' },
    role_name: { type: 'string', required: true, check: objectName, description: 'Name of the role; changing it replaces the role.' },
    bound_service_account_names: { type: ['set', 'string'], required: true, check: names, description: 'Service account names allowed to log in (globs; "*" for any).' },
    bound_service_account_namespaces: { type: ['set', 'string'], required: true, check: names, description: 'Namespaces allowed to log in (globs; "*" for any, not with names "*").' },
    audience: { type: 'string', optional: true, computed: true, check: z.string(), description: 'Audience the service account token must carry.' },
    token_policies: { type: ['set', 'string'], optional: true, computed: true, check: z.array(z.string().min(1, 'must not be empty')), description: 'Policies of the tokens issued at login.' },
    token_ttl: { type: 'number', optional: true, computed: true, check: seconds, description: 'TTL of the tokens issued, in seconds (0: the method default).' },
    token_max_ttl: { type: 'number', optional: true, computed: true, check: seconds, description: 'Maximum TTL of the tokens issued, in seconds.' },
  },
});
const config = declared.config;

const backendOf = (s: { backend?: unknown }) => (typeof s.backend === 'string' && s.backend ? s.backend : 'kubernetes');
const pathOf = (s: { backend?: unknown; role_name?: unknown }) => `auth/${backendOf(s)}/role/${String(s.role_name)}`;

async function read(state: ObjectValue, session: Session): Promise<ObjectValue | null> {
  const path = pathOf(state);
  const res = await session.read(path);
  const d = res?.data as Record<string, unknown> | null;
  if (!d || !Array.isArray(d.bound_service_account_names)) return null;
  return declared.state({
    id: path,
    backend: backendOf(state),
    bound_service_account_names: stringList(d.bound_service_account_names),
    bound_service_account_namespaces: stringList(d.bound_service_account_namespaces),
    audience: typeof d.audience === 'string' ? d.audience : '',
    token_policies: stringList(d.token_policies),
    token_ttl: typeof d.token_ttl === 'number' ? d.token_ttl : 0,
    token_max_ttl: typeof d.token_max_ttl === 'number' ? d.token_max_ttl : 0,
  });
}

async function write(planned: ObjectValue, session: Session, op: 'create' | 'update'): Promise<ObjectValue> {
  const c = parseConfig(config, known(planned));
  const path = pathOf(c);
  await session.write(op, path, {
    bound_service_account_names: c.bound_service_account_names,
    bound_service_account_namespaces: c.bound_service_account_namespaces,
    audience: c.audience ?? '',
    token_policies: c.token_policies ?? [],
    token_ttl: c.token_ttl ?? 0,
    token_max_ttl: c.token_max_ttl ?? 0,
  });
  return { ...((await read(planned, session)) ?? {}), id: path, backend: backendOf(c) };
}

export const kubernetesAuthBackendRoleResource: Resource<Session> = {
  typeName: 'coffer_kubernetes_auth_backend_role',
  schema: declared.schema,
  replaceOn: ['backend', 'role_name'],
  ...wholeObject({ config, pathOf, write, read }),
  async importState(id) {
    const { mount, name } = importPath(id, 'role', 'auth/BACKEND/role/NAME');
    const backend = mount.replace(/^auth\//, '');
    return declared.state({ id: `auth/${backend}/role/${name}`, backend, role_name: name });
  },
};
