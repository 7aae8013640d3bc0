/**
 * The cubbyhole engine (Vault's `cubbyhole/`): pass-through storage private to each token. Every token sees only
 * its own cubbyhole (laid out by src/sdk/cubbyhole.ts); the core destroys a token's cubbyhole when the token is revoked or expires. It is
 * always mounted and cannot be disabled or moved, so it is a built-in mount rather than a catalog entry.
 * Response wrapping stores the wrapped response in the wrapping token's cubbyhole.
 */
import type { Backend, BackendFactory, Handler, Request } from '../../sdk/backend.js';
import { cubbyholeOf } from '../../sdk/cubbyhole.js';
import { CofferError } from '../../sdk/errors.js';
import { pathsV1 } from '../kv/v1.js';

/**
 * Runs a KV v1 handler (the same read/write/delete/list semantics as Vault's cubbyhole) on the caller's own
 * cubbyhole. KV v1's `ttl` lease hint does not apply to a cubbyhole, so a read never carries a lease.
 */
function scoped(handler: Handler): Handler {
  return async (req: Request) => {
    if (!req.caller.tokenId) throw new CofferError(400, 'client token empty');
    const response = await handler({ ...req, storage: cubbyholeOf(req.storage, req.caller.tokenId) });
    if (response) delete response.secret;
    return response;
  };
}

export function cubbyholeBackend(): Backend {
  const paths = pathsV1().map((spec) => ({
    ...spec,
    operations: Object.fromEntries(Object.entries(spec.operations).map(([op, handler]) => [op, scoped(handler)])),
    existenceCheck: async (req: Request) => (req.caller.tokenId ? spec.existenceCheck!({ ...req, storage: cubbyholeOf(req.storage, req.caller.tokenId) }) : false),
    help: 'Per-token private storage: write any JSON map at a path, read it back, delete it, list a folder. '
      + 'Only the token that wrote it can see it, and it is destroyed with the token.',
  }));
  return { paths };
}

export const cubbyholeFactory: BackendFactory = { type: 'cubbyhole', create: cubbyholeBackend };
