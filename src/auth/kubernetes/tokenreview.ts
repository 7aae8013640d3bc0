/**
 * The Kubernetes TokenReview call (authentication.k8s.io/v1): the API server verifies a service account token
 * and answers who it belongs to. Authenticated with the reviewer JWT (or the caller's own JWT when none is
 * configured) and TLS-verified with `kubernetes_ca_cert`.
 */
import { z } from 'zod';
import { CofferError } from '../../sdk/errors.js';
import { fetchJson } from '../http.js';
import type { KubernetesConfig } from './path_config.js';

const reviewSchema = z.object({
  status: z
    .object({
      authenticated: z.boolean().optional(),
      user: z.object({ username: z.string().optional(), uid: z.string().optional() }).optional(),
      audiences: z.array(z.string()).optional(),
      error: z.string().optional(),
    })
    .optional(),
});

export interface ReviewedUser {
  authenticated: boolean;
  username: string;
  uid: string;
  audiences: string[];
}

export async function reviewToken(config: KubernetesConfig, jwt: string, audience: string): Promise<ReviewedUser> {
  const url = `${config.kubernetes_host}/apis/authentication.k8s.io/v1/tokenreviews`;
  const { status, json } = await fetchJson('kubernetes TokenReview', url, {
    method: 'POST',
    ca: config.kubernetes_ca_cert || undefined,
    headers: { authorization: `Bearer ${config.token_reviewer_jwt || jwt}` },
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: jwt, ...(audience ? { audiences: [audience] } : {}) },
    },
  });
  // 401/403 here mean the reviewer's credentials were refused, not the caller's: a server-side problem.
  if (status === 401 || status === 403) {
    throw new CofferError(500, `kubernetes TokenReview was refused (HTTP ${status}): the reviewer JWT may lack the system:auth-delegator role`);
  }
  if (status < 200 || status >= 300) throw new CofferError(500, `kubernetes TokenReview failed (HTTP ${status})`);
  const parsed = reviewSchema.safeParse(json);
  if (!parsed.success) throw new CofferError(500, 'kubernetes TokenReview answered with an unexpected body');
  const s = parsed.data.status ?? {};
  return {
    authenticated: s.authenticated === true,
    username: s.user?.username ?? '',
    uid: s.user?.uid ?? '',
    audiences: s.audiences ?? [],
  };
}
