/**
 * Vault's response blocks as they travel on the wire, written once for both sides: the server builds them
 * (src/sdk) and the client reads them (src/client).
 */

/** The `auth` block of a login or token creation. */
export interface VaultAuth {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: string;
  orphan: boolean;
  num_uses: number;
}

/** Vault's `wrap_info`: what a client receives instead of a response it asked to have wrapped. */
export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  /** The accessor of the token (or AppRole secret ID) inside the wrapped response. */
  wrapped_accessor?: string;
}
