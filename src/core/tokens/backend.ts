/**
 * The `token` auth method's paths (`auth/token/...`), Vault-compatible. Always mounted; cannot be disabled.
 */
import { z } from 'zod';
import { declarePath, type AuthResult, type Backend, type PathSpec, type Request, type Response } from '../../sdk/backend.js';
import { CofferError, badRequest, permissionDenied } from '../../sdk/errors.js';
import { aliased, bool, duration, int, normalizePolicies, stringList, stringMap, unsupported } from '../../sdk/fields.js';
import { buildRole, minLimit, presentRole, roleDisallows, roleFields, rolePolicies, withDefaults, type RoleFields, type TokenRole } from './roles.js';
import { TokenStore, type TokenEntry } from './store.js';

const createFields = z.object({
  id: z.string().optional(),
  policies: stringList().optional(),
  meta: stringMap().nullable().optional(),
  no_parent: bool().optional(),
  no_default_policy: bool().optional(),
  renewable: bool().optional(),
  ttl: duration().optional(),
  type: z.string().optional(),
  explicit_max_ttl: duration().optional(),
  display_name: z.string().max(256).optional(),
  num_uses: int().optional(),
  period: duration().optional(),
  /** Deprecated alias of `ttl`. */
  lease: duration().optional(),
  // Vault's Go client always sends `"entity_alias": ""`; entity aliases need the identity store coffer lacks.
  entity_alias: unsupported(),
});
type CreateFields = z.infer<typeof createFields>;

const tokenField = z.object({ token: z.string({ message: 'missing token' }).min(1, 'missing token') });
const accessorField = z.object({ accessor: z.string({ message: 'missing accessor' }).min(1, 'missing accessor') });
const renewField = z.object({ token: z.string().optional(), increment: duration().optional() });

export function authResult(token: string, entry: TokenEntry): AuthResult {
  const policies = entry.policies;
  return {
    client_token: token,
    accessor: entry.accessor,
    policies,
    token_policies: policies,
    metadata: entry.meta,
    lease_duration: ttlLeft(entry),
    renewable: entry.renewable && entry.expire_at !== null,
    entity_id: '',
    token_type: entry.type,
    orphan: entry.parent === '',
    num_uses: Math.max(0, entry.num_uses),
    mfa_requirement: null,
  };
}

const ttlLeft = (entry: TokenEntry) =>
  entry.expire_at === null ? 0 : Math.max(0, Math.round((entry.expire_at - Date.now()) / 1000));

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function lookupData(entry: TokenEntry, token: string) {
  return {
    accessor: entry.accessor,
    bound_cidrs: entry.bound_cidrs,
    creation_time: entry.creation_time,
    creation_ttl: entry.creation_ttl,
    display_name: entry.display_name,
    entity_id: '',
    expire_time: iso(entry.expire_at),
    explicit_max_ttl: entry.explicit_max_ttl,
    id: token,
    issue_time: new Date(entry.creation_time * 1000).toISOString(),
    meta: entry.meta,
    num_uses: Math.max(0, entry.num_uses),
    orphan: entry.parent === '',
    path: entry.path,
    period: entry.period || undefined,
    policies: entry.policies,
    renewable: entry.renewable,
    role: entry.role || undefined,
    ttl: ttlLeft(entry),
    type: entry.type,
  };
}

export function tokenBackend(store: TokenStore): Backend {
  async function callerEntry(req: Request): Promise<TokenEntry> {
    const entry = req.caller.tokenId ? await store.lookupById(req.caller.tokenId, true) : null;
    if (!entry) throw permissionDenied();
    return entry;
  }

  async function readRole(req: Request, name: string): Promise<TokenRole | null> {
    const stored = await req.storage.getJSON<TokenRole>(`roles/${name.toLowerCase()}`);
    return stored && withDefaults(stored);
  }

  /** The policies of a new token: a role's rules, or a subset of the parent's (any, for a root parent). */
  function policiesFor(d: CreateFields, parent: TokenEntry, role: TokenRole | undefined): string[] {
    if (role) return rolePolicies(role, d.policies, parent);
    const policies = normalizePolicies(d.policies ?? parent.policies).filter((p) => p !== 'default');
    if (!parent.policies.includes('root') && policies.some((p) => !parent.policies.includes(p))) throw badRequest('child policies must be subset of parent');
    return policies;
  }

  async function create(req: Request<CreateFields>, options: { orphan: boolean; role?: TokenRole }): Promise<Response> {
    const parent = await callerEntry(req);
    const d = req.data;
    const parentIsRoot = parent.policies.includes('root');
    const role = options.role;
    if (d.type && d.type !== 'service' && d.type !== 'default') throw badRequest(`token type "${d.type}" is not supported; only "service"`);
    if (d.id !== undefined && !parentIsRoot) throw badRequest('root or sudo privileges required to specify token id');
    if (d.num_uses !== undefined && d.num_uses < 0) throw badRequest('number of uses cannot be negative');
    if (d.no_parent && !parentIsRoot && !req.caller.sudo && !options.orphan) {
      throw badRequest('root or sudo privileges required to create orphan token');
    }

    const policies = policiesFor(d, parent, role);
    const noDefault = d.no_default_policy ?? role?.token_no_default_policy ?? false;
    if (!noDefault && !policies.includes('root') && !(role && roleDisallows(role, 'default'))) policies.push('default');
    policies.sort();
    if (policies.length === 0) throw badRequest('token must have at least one policy');

    const isRootToken = policies.includes('root');
    const ttl = aliased<number>(d, 'ttl', 'lease') || role?.token_ttl || (isRootToken ? 0 : req.system.defaultLeaseTTL());
    const name = d.display_name ? `token-${d.display_name.replace(/[^a-zA-Z0-9-_.]/g, '-')}` : 'token';
    const orphan = options.orphan || d.no_parent === true || role?.orphan === true;
    const { token, entry } = await store.create({
      issuer: { kind: 'token', policies: parent.policies },
      id: d.id,
      parent: orphan ? '' : parent.id,
      policies,
      meta: d.meta,
      displayName: name,
      // A role's limits only ever tighten what the request asks for.
      numUses: minLimit(d.num_uses ?? 0, role?.token_num_uses ?? 0),
      ttl: role?.token_max_ttl ? Math.min(ttl, role.token_max_ttl) : ttl,
      explicitMaxTTL: minLimit(d.explicit_max_ttl ?? 0, role?.token_explicit_max_ttl ?? 0),
      period: role?.token_period || d.period || 0,
      renewable: (d.renewable ?? true) && (role?.renewable ?? true),
      path: role ? ['auth/token/create', role.name, role.path_suffix].filter(Boolean).join('/') : options.orphan ? 'auth/token/create-orphan' : 'auth/token/create',
      role: role?.name,
      mountMaxTTL: minLimit(req.system.maxLeaseTTL(), role?.token_max_ttl ?? 0),
      boundCidrs: role?.token_bound_cidrs,
    });
    return { auth: authResult(token, entry) };
  }

  async function byToken(token: string): Promise<TokenEntry> {
    const entry = await store.lookup(token);
    if (!entry) throw badRequest('bad token');
    return entry;
  }

  async function byAccessor(accessor: string): Promise<TokenEntry> {
    const entry = await store.lookupByAccessor(accessor);
    if (!entry) throw badRequest('invalid accessor');
    return entry;
  }

  async function renew(entry: TokenEntry, token: string, increment: number | undefined): Promise<Response> {
    const { entry: renewed, warnings } = await store.renew(entry, increment ?? 0);
    return { auth: authResult(token, renewed), warnings: warnings.length ? warnings : undefined };
  }

  const paths: PathSpec[] = [
    declarePath({
      pattern: 'create',
      fields: createFields,
      operations: { update: (req) => create(req, { orphan: false }) },
      help: 'Create a token as a child of the calling token.',
    }),
    declarePath({
      pattern: 'create-orphan',
      fields: createFields,
      operations: { update: (req) => create(req, { orphan: true }) },
      help: 'Create a token with no parent.',
    }),
    declarePath({
      pattern: 'create/(?<role>[\\w.-]+)',
      fields: createFields,
      operations: {
        update: async (req) => {
          const role = await readRole(req, req.params.role);
          if (!role) throw badRequest(`unknown role ${req.params.role}`);
          return create(req, { orphan: role.orphan, role });
        },
      },
      help: 'Create a token against a token role.',
    }),
    {
      pattern: 'lookup-self',
      operations: {
        read: async (req) => ({ data: lookupData(await callerEntry(req), req.caller.clientToken ?? '') }),
      },
    },
    declarePath({
      pattern: 'lookup',
      fields: tokenField,
      operations: {
        update: async (req) => ({ data: lookupData(await byToken(req.data.token), req.data.token) }),
      },
    }),
    declarePath({
      pattern: 'lookup-accessor',
      fields: accessorField,
      operations: {
        update: async (req) => ({ data: lookupData(await byAccessor(req.data.accessor), '') }),
      },
    }),
    declarePath({
      pattern: 'renew-self',
      fields: renewField,
      operations: {
        update: async (req) =>
          renew(await callerEntry(req), req.caller.clientToken ?? '', req.data.increment),
      },
    }),
    declarePath({
      pattern: 'renew',
      fields: renewField.extend({ token: tokenField.shape.token }),
      operations: {
        update: async (req) => renew(await byToken(req.data.token), req.data.token, req.data.increment),
      },
    }),
    declarePath({
      pattern: 'renew-accessor',
      fields: renewField.extend({ accessor: accessorField.shape.accessor }),
      operations: {
        update: async (req) => {
          const res = await renew(await byAccessor(req.data.accessor), '', req.data.increment);
          return res;
        },
      },
    }),
    {
      pattern: 'revoke-self',
      operations: {
        update: async (req) => {
          await store.revokeTree((await callerEntry(req)).id);
          return null;
        },
      },
    },
    declarePath({
      pattern: 'revoke',
      fields: tokenField,
      operations: {
        update: async (req) => {
          const entry = await store.lookup(req.data.token);
          if (entry) await store.revokeTree(entry.id);
          return null;
        },
      },
    }),
    declarePath({
      pattern: 'revoke-accessor',
      fields: accessorField,
      operations: {
        update: async (req) => {
          await store.revokeTree((await byAccessor(req.data.accessor)).id);
          return null;
        },
      },
    }),
    declarePath({
      pattern: 'revoke-orphan',
      fields: tokenField,
      sudo: true,
      operations: {
        update: async (req) => {
          await store.revokeOrphan((await byToken(req.data.token)).id);
          return null;
        },
      },
    }),
    {
      pattern: 'tidy',
      operations: {
        update: async () => {
          // Vault answers 202 and tidies in the background; coffer has finished by the time it answers, so it can
          // also say what it removed.
          const removed = await store.tidy();
          return { status: 202, data: { ...removed }, warnings: ['Tidy operation successfully completed; the entries removed are counted in data.'] };
        },
      },
      help: 'Clean up token store entries left behind by interrupted revocations.',
    },
    {
      pattern: 'accessors/?',
      sudo: true,
      operations: { list: async () => ({ data: { keys: await store.listAccessors() } }) },
    },
    {
      pattern: 'roles/?',
      operations: {
        list: async (req) => {
          const keys = await req.storage.list('roles/');
          if (!keys.length) throw new CofferError(404, []);
          return { data: { keys } };
        },
      },
    },
    declarePath({
      pattern: 'roles/(?<role>[\\w.-]+)',
      fields: roleFields,
      existenceCheck: async (req) => (await readRole(req, req.params.role)) !== null,
      operations: {
        read: async (req) => {
          const role = await readRole(req, req.params.role);
          return role ? { data: presentRole(role) } : null;
        },
        update: async (req: Request<RoleFields>) => {
          const role = buildRole(req.params.role.toLowerCase(), req.data, await readRole(req, req.params.role));
          await req.storage.putJSON(`roles/${role.name}`, role);
          return null;
        },
        delete: async (req) => {
          await req.storage.delete(`roles/${req.params.role.toLowerCase()}`);
          return null;
        },
      },
    }),
  ];
  return { paths };
}
