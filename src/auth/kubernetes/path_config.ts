/**
 * `auth/kubernetes/config`: where the cluster's API server is and how to trust it. Writing it never contacts
 * the cluster. `pem_keys` and `issuer` are stored and read back but, as in Vault, play no part in a TokenReview
 * login (the API server is the one verifying the token). The reviewer JWT is never read back.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { bool, stringList } from '../../sdk/fields.js';
import { checkCaPem, checkHttpUrl } from '../http.js';

export interface KubernetesConfig {
  kubernetes_host: string;
  kubernetes_ca_cert: string;
  token_reviewer_jwt: string;
  pem_keys: string[];
  issuer: string;
  disable_iss_validation: boolean;
  disable_local_ca_jwt: boolean;
}

const configFields = z.object({
  kubernetes_host: z.string().optional(),
  kubernetes_ca_cert: z.string().optional(),
  token_reviewer_jwt: z.string().optional(),
  pem_keys: stringList().optional(),
  issuer: z.string().optional(),
  disable_iss_validation: bool().optional(),
  disable_local_ca_jwt: bool().optional(),
});

export const CONFIG_KEY = 'config';

export const readConfig = (req: Request) => req.storage.getJSON<KubernetesConfig>(CONFIG_KEY);

/** PEM blocks of public keys or certificates, each of which must parse. */
function checkPemKeys(keys: string[]): void {
  keys.forEach((pem, i) => {
    try {
      createPublicKey(pem);
    } catch {
      throw badRequest(`pem_keys[${i}]: not a PEM public key or certificate`);
    }
  });
}

export const configPaths: PathSpec[] = [
  {
    pattern: 'config',
    fields: configFields,
    operations: {
      read: async (req) => {
        const c = await readConfig(req);
        if (!c) return null;
        const { token_reviewer_jwt, ...shown } = c;
        return { data: { ...shown, token_reviewer_jwt_set: token_reviewer_jwt !== '' } };
      },
      update: async (req: Request<z.infer<typeof configFields>>) => {
        const d = req.data;
        const existing = await readConfig(req);
        const host = (d.kubernetes_host ?? existing?.kubernetes_host ?? '').replace(/\/+$/, '');
        if (!host) throw badRequest('no host provided');
        checkHttpUrl('kubernetes_host', host);
        checkCaPem('kubernetes_ca_cert', d.kubernetes_ca_cert);
        const pemKeys = d.pem_keys ?? existing?.pem_keys ?? [];
        checkPemKeys(pemKeys);
        const config: KubernetesConfig = {
          kubernetes_host: host,
          kubernetes_ca_cert: d.kubernetes_ca_cert ?? existing?.kubernetes_ca_cert ?? '',
          token_reviewer_jwt: d.token_reviewer_jwt ?? existing?.token_reviewer_jwt ?? '',
          pem_keys: pemKeys,
          issuer: d.issuer ?? existing?.issuer ?? '',
          disable_iss_validation: d.disable_iss_validation ?? existing?.disable_iss_validation ?? true,
          disable_local_ca_jwt: d.disable_local_ca_jwt ?? existing?.disable_local_ca_jwt ?? false,
        };
        await req.storage.putJSON(CONFIG_KEY, config);
        return null;
      },
    },
    help: 'Configure the Kubernetes API server the TokenReview calls go to.',
  },
];
