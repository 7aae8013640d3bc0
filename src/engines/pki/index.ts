/**
 * The PKI secrets engine (mount type `pki`), Vault-compatible: a root or intermediate CA per mount
 * (path_root, path_intermediate with config/ca), `config/urls`, `config/crl`, roles, issuing and signing
 * (path_issue_sign), revocation and the CRL (path_revoke, crl.ts), reading certificates and the CRL (path_fetch), tidy; the
 * leased certificate's revocation in secret_certs.ts; a role's name policy in names.ts. Keys and certificates
 * are made with @peculiar/x509 on Node's WebCrypto.
 */
import type { Backend, BackendFactory } from '../../sdk/backend.js';
import { PkiContext } from './backend.js';
import { pathConfigCrl } from './path_config_crl.js';
import { pathConfigUrls } from './path_config_urls.js';
import { pathFetch } from './path_fetch.js';
import { pathIntermediate } from './path_intermediate.js';
import { pathIssueSign } from './path_issue_sign.js';
import { pathRevoke } from './path_revoke.js';
import { pathRoles } from './path_roles.js';
import { pathRoot } from './path_root.js';
import { pathTidy, Tidier } from './path_tidy.js';
import { revokeLeasedCert } from './secret_certs.js';

export interface PkiBackend extends Backend {
  readonly tidier: Tidier;
}

export function pkiBackend(): PkiBackend {
  const ctx = new PkiContext();
  const tidier = new Tidier(ctx);
  return {
    tidier,
    paths: [
      ...pathRoot(ctx),
      ...pathIntermediate(ctx),
      ...pathConfigUrls(ctx),
      ...pathConfigCrl(ctx),
      ...pathRoles(ctx),
      ...pathIssueSign(ctx),
      ...pathRevoke(ctx),
      ...pathFetch(ctx),
      ...pathTidy(tidier),
    ],
    async cleanup() {
      await tidier.running;
      await ctx.crlBuilds.stop();
    },
    revoke: (req, internal) => revokeLeasedCert(ctx, req, internal),
  };
}

export const pkiFactory: BackendFactory = {
  type: 'pki',
  create: () => pkiBackend(),
};
