/** `auth/kubernetes/role/:name`: which service accounts (names and namespaces, `*` and globs) may log in. */
import { z } from 'zod';
import { badRequest } from '../../sdk/errors.js';
import { stringList } from '../../sdk/fields.js';
import { rolePaths } from '../roles.js';
import { parseTokenParams, tokenFieldShape, type TokenParams } from '../tokenutil.js';

export interface KubernetesRole extends TokenParams {
  bound_service_account_names: string[];
  bound_service_account_namespaces: string[];
  audience: string;
  alias_name_source: 'serviceaccount_uid' | 'serviceaccount_name';
}

const roleFields = z.object({
  ...tokenFieldShape,
  bound_service_account_names: stringList().optional(),
  bound_service_account_namespaces: stringList().optional(),
  audience: z.string().optional(),
  alias_name_source: z.enum(['serviceaccount_uid', 'serviceaccount_name'], { message: 'must be "serviceaccount_uid" or "serviceaccount_name"' }).optional(),
});

export const rolePathSpecs = rolePaths<KubernetesRole, typeof roleFields>({
  fields: roleFields,
  build: (_name, d, existing) => {
    const names = d.bound_service_account_names ?? existing?.bound_service_account_names ?? [];
    const namespaces = d.bound_service_account_namespaces ?? existing?.bound_service_account_namespaces ?? [];
    if (names.length === 0) throw badRequest('"bound_service_account_names" can not be empty');
    if (namespaces.length === 0) throw badRequest('"bound_service_account_namespaces" can not be empty');
    if (names.length === 1 && names[0] === '*' && namespaces.length === 1 && namespaces[0] === '*') {
      throw badRequest('service_account_names and service_account_namespaces can not both be "*"');
    }
    return {
      ...parseTokenParams(d, existing ?? undefined),
      bound_service_account_names: names,
      bound_service_account_namespaces: namespaces,
      audience: d.audience ?? existing?.audience ?? '',
      alias_name_source: d.alias_name_source ?? existing?.alias_name_source ?? 'serviceaccount_uid',
    };
  },
  help: 'Bind service account names and namespaces to policies and token settings.',
});
