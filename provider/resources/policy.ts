/** `coffer_policy`: an ACL policy (as vault_policy); `terraform import coffer_policy.x NAME`. */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import type { Resource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { declare } from '../declaration.js';
import { parseConfig, validateKnown } from '../values.js';
import { deleteAt } from './shared.js';

const declared = declare({
  description: 'An ACL policy. Import with its name.',
  attributes: {
    id: { type: 'string', computed: true, description: 'The policy name.' },
    name: {
      type: 'string',
      required: true,
      check: z
        .string()
        .min(1, 'must not be empty')
        .regex(/^[^/\s]+$/, 'must not contain slashes or spaces')
        .refine((n) => n !== 'root', 'the root policy cannot be managed'),
      description: 'Name of the policy; changing it replaces the policy.',
    },
    policy: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'The policy document (HCL), e.g. from coffer_policy_document.' },
  },
});
const config = declared.config;

const pathOf = (name: string) => `sys/policies/acl/${encodeURIComponent(name)}`;

async function write(planned: ObjectValue, session: Session): Promise<ObjectValue> {
  const c = parseConfig(config, planned);
  await session.run({ op: 'update', path: pathOf(c.name) }, (client) => client.call('PUT', pathOf(c.name), { body: { policy: c.policy } }));
  return declared.state({ id: c.name });
}

export const policyResource: Resource<Session> = {
  typeName: 'coffer_policy',
  schema: declared.schema,
  replaceOn: ['name'],
  validate: (c) => validateKnown(config, c),
  create: (planned, session) => write(planned, session),
  update: (planned, _prior, session) => write(planned, session),
  async read(state, session) {
    const name = String(state.id ?? state.name);
    const res = await session.read(pathOf(name));
    const policy = (res?.data as { policy?: unknown } | null)?.policy;
    if (typeof policy !== 'string') return null;
    return declared.state({ id: name, name, policy });
  },
  async delete(prior, session) {
    await deleteAt(pathOf(String(prior.id ?? prior.name)), session);
  },
  async importState(id) {
    return declared.state({ id, name: id, policy: null });
  },
};
