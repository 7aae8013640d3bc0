/**
 * Secret IDs of a role: generate (`role/:name/secret-id`), register a chosen one (`custom-secret-id`), list
 * their accessors, look up and destroy by value or by accessor. TTL and use limits may only be tightened per
 * secret ID, and its CIDR lists must lie inside the role's.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { declarePath, type PathSpec, type Request } from '../../sdk/backend.js';
import { cidrList, cidrWithin } from '../../sdk/cidr.js';
import { badRequest, notFound } from '../../sdk/errors.js';
import { duration, int } from '../../sdk/fields.js';
import { ROLE_NAME } from '../roles.js';
import { existingRole } from './path_role.js';
import { ZERO_TIME, type AppRoleRole, type AppRoleStore, type SecretIdEntry } from './store.js';

/** Vault takes `metadata` as a JSON string of string values; an object is accepted too. */
const metadataField = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  if (v.trim() === '') return {};
  try {
    return JSON.parse(v);
  } catch {
    return Symbol('invalid');
  }
}, z.record(z.string(), z.string({ message: 'must be a JSON object of string values' }), { message: 'must be a JSON object of string values' }));

const generateFields = z.object({
  metadata: metadataField.optional(),
  cidr_list: cidrList().optional(),
  token_bound_cidrs: cidrList().optional(),
  ttl: duration().optional(),
  num_uses: int().refine((n) => n >= 0, 'cannot be negative').optional(),
});
const customFields = generateFields.extend({ secret_id: z.string({ message: 'missing secret_id' }).min(1, 'missing secret_id').max(4096) });
const secretIdField = z.object({ secret_id: z.string({ message: 'missing secret_id' }).min(1, 'missing secret_id') });
const accessorField = z.object({ secret_id_accessor: z.string({ message: 'missing secret_id_accessor' }).min(1, 'missing secret_id_accessor') });

function newEntry(role: AppRoleRole, d: z.infer<typeof generateFields>): SecretIdEntry {
  const ttl = d.ttl ?? role.secret_id_ttl;
  if (role.secret_id_ttl > 0 && (ttl === 0 || ttl > role.secret_id_ttl)) throw badRequest('ttl must be greater than zero and no more than the role\'s "secret_id_ttl"');
  const uses = d.num_uses ?? role.secret_id_num_uses;
  if (role.secret_id_num_uses > 0 && (uses === 0 || uses > role.secret_id_num_uses)) {
    throw badRequest('num_uses must be greater than zero and no more than the role\'s "secret_id_num_uses"');
  }
  const cidrs = d.cidr_list ?? [];
  if (role.secret_id_bound_cidrs.length && cidrs.some((c) => !cidrWithin(c, role.secret_id_bound_cidrs))) {
    throw badRequest('failed to verify the CIDR restrictions set on the secret ID: cidr_list must be a subset of the role\'s "secret_id_bound_cidrs"');
  }
  const tokenCidrs = d.token_bound_cidrs ?? [];
  if (role.token_bound_cidrs.length && tokenCidrs.some((c) => !cidrWithin(c, role.token_bound_cidrs))) {
    throw badRequest('failed to verify the CIDR restrictions set on the secret ID: token_bound_cidrs must be a subset of the role\'s "token_bound_cidrs"');
  }
  const now = new Date();
  return {
    secret_id_accessor: randomUUID(),
    secret_id_num_uses: uses,
    secret_id_ttl: ttl,
    creation_time: now.toISOString(),
    expiration_time: ttl > 0 ? new Date(now.getTime() + ttl * 1000).toISOString() : ZERO_TIME,
    last_updated_time: now.toISOString(),
    metadata: d.metadata ?? {},
    cidr_list: cidrs,
    token_bound_cidrs: tokenCidrs,
  };
}

const issued = (secretId: string, e: SecretIdEntry) => ({
  data: { secret_id: secretId, secret_id_accessor: e.secret_id_accessor, secret_id_ttl: e.secret_id_ttl, secret_id_num_uses: e.secret_id_num_uses },
});

const shown = (e: SecretIdEntry | null) => (e ? { data: { ...e } } : null);

export function secretIdPaths(store: () => AppRoleStore): PathSpec[] {
  const issue = async (req: Request<z.infer<typeof generateFields>>, secretId: string) => {
    const role = await existingRole(req);
    if (!role.bind_secret_id) throw badRequest('bind_secret_id is not set on the role');
    const entry = newEntry(role, req.data);
    await store().createSecretId(req.params.name, secretId, entry);
    return issued(secretId, entry);
  };
  const base = `role/${ROLE_NAME}`;
  return [
    declarePath({
      pattern: `${base}/secret-id/?`,
      fields: generateFields,
      operations: {
        update: (req) => issue(req, randomUUID()),
        list: async (req) => {
          await existingRole(req);
          const keys = await store().accessors(req.params.name);
          if (!keys.length) throw notFound();
          return { data: { keys } };
        },
      },
      help: 'Generate a secret ID for the role, or list the accessors of its secret IDs.',
    }),
    declarePath({
      pattern: `${base}/custom-secret-id`,
      fields: customFields,
      operations: { update: (req) => issue(req, req.data.secret_id) },
      help: 'Register a secret ID of your choosing for the role.',
    }),
    declarePath({
      pattern: `${base}/secret-id/lookup`,
      fields: secretIdField,
      operations: {
        update: async (req) => {
          await existingRole(req);
          return shown(await store().lookup(req.params.name, req.data.secret_id));
        },
      },
    }),
    declarePath({
      pattern: `${base}/secret-id/destroy`,
      fields: secretIdField,
      operations: {
        update: async (req) => {
          await existingRole(req);
          await store().destroy(req.params.name, req.data.secret_id);
          return null;
        },
      },
    }),
    declarePath({
      pattern: `${base}/secret-id-accessor/lookup`,
      fields: accessorField,
      operations: {
        update: async (req) => {
          await existingRole(req);
          const entry = await store().lookupByAccessor(req.params.name, req.data.secret_id_accessor);
          if (!entry) throw badRequest(`failed to find accessor entry for secret_id_accessor: "${req.data.secret_id_accessor.slice(0, 64)}"`);
          return shown(entry);
        },
      },
    }),
    declarePath({
      pattern: `${base}/secret-id-accessor/destroy`,
      fields: accessorField,
      operations: {
        update: async (req) => {
          await existingRole(req);
          if (!(await store().destroyByAccessor(req.params.name, req.data.secret_id_accessor))) {
            throw badRequest(`failed to find accessor entry for secret_id_accessor: "${req.data.secret_id_accessor.slice(0, 64)}"`);
          }
          return null;
        },
      },
    }),
  ];
}
