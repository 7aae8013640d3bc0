/**
 * `config/urls`: the authority information access (`issuing_certificates`, `ocsp_servers`) and
 * `crl_distribution_points` URLs written into every certificate issued afterwards.
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { stringList } from '../../sdk/fields.js';
import { type PkiContext, URLS } from './backend.js';

const urlFields = z.object({
  issuing_certificates: stringList().optional(),
  crl_distribution_points: stringList().optional(),
  ocsp_servers: stringList().optional(),
  enable_templating: z.unknown().optional(),
});

function checkUrls(field: string, urls: string[]): void {
  for (const url of urls) {
    let ok = false;
    try {
      ok = ['http:', 'https:', 'ldap:'].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw badRequest(`invalid URL found in Authority Information Access (AIA) parameter ${field}: "${url.slice(0, 100)}"`);
  }
}

async function writeUrls(ctx: PkiContext, req: Request<z.infer<typeof urlFields>>): Promise<Response | null> {
  const urls = await ctx.readUrls(req.storage);
  for (const field of ['issuing_certificates', 'crl_distribution_points', 'ocsp_servers'] as const) {
    const value = req.data[field];
    if (value === undefined) continue;
    checkUrls(field, value);
    urls[field] = value;
  }
  await req.storage.putJSON(URLS, urls);
  return null;
}

export function pathConfigUrls(ctx: PkiContext): PathSpec[] {
  return [
    {
      pattern: 'config/urls',
      fields: urlFields,
      operations: {
        update: (req) => writeUrls(ctx, req),
        read: async (req) => ({ data: { ...(await ctx.readUrls(req.storage)), enable_templating: false } }),
      },
      help: 'Sets the issuing_certificates, crl_distribution_points and ocsp_servers URLs put into issued certificates.',
    },
  ];
}
