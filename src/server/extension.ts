/**
 * The contract between the server and an extension: an integration that serves its own HTTP routes beside
 * Vault's `/v1/` (the External Secrets Operator endpoints under `/eso/v1/`). An extension imports this module
 * and `src/shared`, never the core (the boundary check enforces it): what it may do is the narrow capabilities
 * of `ExtensionHost`, which the server grants when it mounts the extension.
 */
import type { CoreResponse } from '../core/core.js';
import type { CoreRequest } from './logical-request.js';
import type { HttpRoutes, RouteRequest } from './http.js';

export type { CoreRequest, CoreResponse, HttpRoutes, RouteRequest };

/** JSON records of the extension's own, encrypted by the barrier (usable only while the server is unsealed). */
export interface ExtensionRecords {
  getJSON<T>(key: string): Promise<T | null>;
  putJSON(key: string, value: unknown): Promise<void>;
}

/** What an extension may use of the server. */
export interface ExtensionHost {
  /**
   * A request through the ordinary pipeline, with the token the request carries: token lookup, ACL (with the
   * Kubernetes namespace the request names), audit and leases apply as on `/v1/`. The only way an extension
   * reads, writes or issues secrets.
   */
  handle(req: CoreRequest): Promise<CoreResponse>;
  /** The extension's records, under `sys/<name>/` behind the barrier. */
  storage(): ExtensionRecords;
  /** The token's HMAC id (what the token store keys tokens by), to scope records to a token; never the token. */
  tokenId(token: string): string;
  /** Revokes a lease through its engine after `delayMs`, with the lease manager's retries; survives restarts. */
  revokeLater(leaseId: string, delayMs: number): Promise<void>;
  /** The server log (stderr); never given a token or a secret value. */
  logError(message: string): void;
}

export interface ServerExtension {
  /** Names the extension's storage (`sys/<name>/`); fixed once released, since records live under it. */
  name: string;
  /** The routes the extension serves, given the capabilities it may use. */
  routes(host: ExtensionHost): HttpRoutes;
}
