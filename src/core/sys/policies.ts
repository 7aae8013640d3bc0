/** sys/policies/acl/:name, the legacy sys/policy/:name, sys/capabilities, sys/capabilities-self, -accessor. */
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { stringList } from '../../sdk/fields.js';

const policyBody = z.object({ policy: z.string().optional(), rules: z.string().optional() });

const capabilitiesFields = z.object({
  path: stringList().optional(),
  paths: stringList().optional(),
  token: z.string().optional(),
  accessor: z.string().optional(),
});
type CapabilitiesFields = z.infer<typeof capabilitiesFields>;

export function policyPaths(core: Core): PathSpec[] {
  const writePolicy = async (req: Request<z.infer<typeof policyBody>>) => {
    const text = req.data.policy ?? req.data.rules;
    if (!text) throw badRequest("'policy' parameter not supplied or empty");
    await core.policies.write(req.params.name, text);
    return null;
  };
  const deletePolicy = async (req: Request) => {
    await core.policies.delete(req.params.name);
    return null;
  };
  const names = async () => (await core.policies.list());

  async function capabilities(req: Request<CapabilitiesFields>, policies: string[]) {
    const paths = [...(req.data.paths ?? []), ...(req.data.path ?? [])];
    if (paths.length === 0) throw badRequest("'paths' must be specified");
    const acl = await core.policies.aclFor(policies);
    const data: Record<string, string[]> = {};
    for (const p of paths) data[p.replace(/^\/+/, '')] = acl.capabilities(p.replace(/^\/+/, ''));
    // With one path Vault also returns the list under `capabilities`.
    const all = [...new Set(Object.values(data).flat())].sort();
    return { data: { ...data, capabilities: all }, legacyTopLevel: true };
  }

  return [
    {
      pattern: 'policies/acl/?',
      operations: { list: async () => ({ data: { keys: await names(), policies: await names() } }) },
    },
    {
      pattern: 'policies/acl/(?<name>[^/]+)',
      fields: policyBody,
      operations: {
        read: async (req) => {
          const p = await core.policies.read(req.params.name);
          if (!p) throw new CofferError(404, []);
          return { data: { name: p.name, policy: p.policy } };
        },
        update: writePolicy,
        delete: deletePolicy,
      },
    },
    {
      pattern: 'policy/?',
      operations: {
        read: async () => ({ data: { keys: await names(), policies: await names() }, legacyTopLevel: true }),
        list: async () => ({ data: { keys: await names(), policies: await names() }, legacyTopLevel: true }),
      },
    },
    {
      pattern: 'policy/(?<name>[^/]+)',
      fields: policyBody,
      operations: {
        read: async (req) => {
          const p = await core.policies.read(req.params.name);
          if (!p) throw new CofferError(404, []);
          return { data: { name: p.name, rules: p.policy }, legacyTopLevel: true };
        },
        update: writePolicy,
        delete: deletePolicy,
      },
    },
    {
      pattern: 'capabilities-self',
      fields: capabilitiesFields,
      operations: { update: async (req: Request<CapabilitiesFields>) => capabilities(req, req.caller.policies) },
    },
    {
      pattern: 'capabilities',
      fields: capabilitiesFields,
      operations: {
        update: async (req: Request<CapabilitiesFields>) => {
          if (!req.data.token) throw badRequest("'token' must be specified");
          const entry = await core.tokens.lookup(req.data.token);
          return capabilities(req, entry?.policies ?? []);
        },
      },
    },
    {
      pattern: 'capabilities-accessor',
      fields: capabilitiesFields,
      operations: {
        update: async (req: Request<CapabilitiesFields>) => {
          if (!req.data.accessor) throw badRequest("'accessor' must be specified");
          const entry = await core.tokens.lookupByAccessor(req.data.accessor);
          if (!entry) throw badRequest('invalid accessor');
          return capabilities(req, entry.policies);
        },
      },
    },
  ];
}
