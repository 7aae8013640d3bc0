/** sys/audit (list), sys/audit/:path (enable, disable), sys/audit-hash/:path. */
import { z } from 'zod';
import { declarePath, type PathSpec, type Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { CofferError, badRequest } from '../../sdk/errors.js';
import { bool, optionsMap } from '../../sdk/fields.js';

const enableFields = z.object({
  // Optional in the schema because the path's delete validates the same fields; enable checks it.
  type: z.string().optional(),
  description: z.string().max(1024).optional(),
  options: optionsMap().nullable().optional(),
  local: bool().optional(),
});

const hashFields = z.object({ input: z.string({ message: 'missing input' }) });

export function auditPaths(core: Core): PathSpec[] {
  const broker = () => {
    if (!core.audit) throw new CofferError(503, 'Vault is sealed');
    return core.audit;
  };
  return [
    {
      pattern: 'audit',
      sudo: true,
      operations: { read: async () => ({ data: broker().list(), legacyTopLevel: true }) },
    },
    declarePath({
      pattern: 'audit/(?<path>.+)',
      sudo: true,
      fields: enableFields,
      operations: {
        update: async (req) => {
          const d = req.data;
          if (!d.type) throw badRequest('invalid request data: field "type": missing type');
          await broker().enable(req.params.path, d.type, d.description ?? '', d.options ?? {}, d.local ?? false);
          return null;
        },
        delete: async (req) => {
          await broker().disable(req.params.path);
          return null;
        },
      },
    }),
    declarePath({
      pattern: 'audit-hash/(?<path>.+)',
      fields: hashFields,
      operations: {
        update: async (req) => {
          if (!req.data.input && req.data.input !== '') throw badRequest('missing input');
          return { data: { hash: broker().hash(req.params.path, req.data.input) }, legacyTopLevel: true };
        },
      },
    }),
  ];
}
