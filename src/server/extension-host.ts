/**
 * Mounting extensions: each gets an `ExtensionHost` backed by the core, and answers with the routes every
 * listener serves. The only module where an extension's capabilities meet the core's internals.
 */
import type { Core } from '../core/core.js';
import { StorageView } from '../storage/view.js';
import type { ExtensionHost, HttpRoutes, ServerExtension } from './extension.js';
import { handleHttpRequest } from './logical-request.js';

function hostFor(core: Core, extension: ServerExtension): ExtensionHost {
  const prefix = `sys/${extension.name}/`;
  return {
    handle: (req) => handleHttpRequest(core, req),
    storage: () => new StorageView(core.barrier, prefix),
    tokenId: (token) => core.tokens.hmac(token),
    revokeLater: (leaseId, delayMs) => core.leases.revokeLater(leaseId, delayMs),
    logError: (message) => core.logger.error(message),
  };
}

export function mountExtensions(core: Core, extensions: readonly ServerExtension[]): HttpRoutes[] {
  return extensions.map((extension) => extension.routes(hostFor(core, extension)));
}
