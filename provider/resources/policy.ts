/** `coffer_policy`: an ACL policy (as vault_policy); `terraform import coffer_policy.x NAME`. */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import type { Resource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { parseConfig, validateKnown } from '../values.js';
import { deleteAt } from './shared.js';

const config = z.object({
  name: z
    .string()
    .min(1, 'must not be empty')
    .regex(/^[^/\s]+$/, 'must not contain slashes or spaces')
    .refine((n) => n !== 'root', 'the root policy cannot be managed'),
  policy: z.string().min(1, 'must not be empty'),
});

const pathOf = (name: string) => `sys/policies/acl/${encodeURIComponent(name)}`;

async function write(planned: ObjectValue, session: Session): Promise<ObjectValue> {
  const c = parseConfig(config, planned);
  await session.run({ op: 'update', path: pathOf(c.name) }, (client) => client.call('PUT', pathOf(c.name), { body: { policy: c.policy } }));
  return { id: c.name };
}

export const policyResource: Resource<Session> = {
  typeName: 'coffer_policy',
  schema: {
    block: {
      description: 'An ACL policy. Import with its name.',
      attributes: {
        id: { type: 'string', computed: true, description: 'The policy name.' },
        name: { type: 'string', required: true, description: 'Name of the policy; changing it replaces the policy.' },
        policy: { type: 'string', required: true, description: 'The policy document (HCL), e.g. from coffer_policy_document.' },
      },
    },
  },
  replaceOn: ['name'],
  validate: (c) => validateKnown(config, c),
  create: (planned, session) => write(planned, session),
  update: (planned, _prior, session) => write(planned, session),
  async read(state, session) {
    const name = String(state.id ?? state.name);
    const res = await session.read(pathOf(name));
    const policy = (res?.data as { policy?: unknown } | null)?.policy;
    if (typeof policy !== 'string') return null;
    return { id: name, name, policy };
  },
  async delete(prior, session) {
    await deleteAt(pathOf(String(prior.id ?? prior.name)), session);
  },
  async importState(id) {
    return { id, name: id, policy: null };
  },
};
