/**
 * The database secrets engine (mount type `database`), Vault-compatible: connections (`config/:name`,
 * `reset/:name`, `rotate-root/:name`), dynamic roles (`roles/:name`) issuing leased users (`creds/:name`), and
 * static roles (`static-roles/:name`, `static-creds/:name`, `rotate-role/:name`). Built like OpenBao's engine:
 * one file per family of paths, the `creds` secret's revoke/renew in secret_creds.ts, background rotation in
 * rotation.ts, and the databases behind a four-call plugin interface in plugins/ (postgresql, mysql, redis).
 */
import type { Backend, BackendFactory } from '../../sdk/backend.js';
import { loggableMessage } from '../../sdk/errors.js';
import { DatabaseContext } from './backend.js';
import { pathConfigConnection } from './path_config_connection.js';
import { pathCredsCreate } from './path_creds_create.js';
import { pathRoles } from './path_roles.js';
import { pathRotate } from './path_rotate.js';
import { pathStaticCreds } from './path_static_creds.js';
import { pathStaticRoles } from './path_static_roles.js';
import { recoverRootRotations, RotationManager } from './rotation.js';
import { renewCreds, revokeCreds } from './secret_creds.js';

export interface DatabaseBackend extends Backend {
  /** Engine state, exposed for tests and diagnostics (open pools, rotation schedule). */
  readonly context: DatabaseContext;
  readonly rotation: RotationManager;
}

export function databaseBackend(): DatabaseBackend {
  const ctx = new DatabaseContext();
  const rotation = new RotationManager(ctx);
  return {
    context: ctx,
    rotation,
    paths: [
      ...pathConfigConnection(ctx),
      ...pathRoles(ctx),
      ...pathCredsCreate(ctx),
      ...pathStaticRoles(ctx, rotation),
      ...pathStaticCreds(ctx),
      ...pathRotate(ctx, rotation),
    ],
    async initialize({ storage, logger }) {
      ctx.storage = storage;
      ctx.reopen();
      await rotation.start(storage, logger);
      // Connecting to databases must not delay unseal: recovery runs in the background.
      void recoverRootRotations(ctx, storage).catch((err: unknown) =>
        logger.error(`database: recovering interrupted root rotations failed: ${loggableMessage(err)}`));
    },
    async cleanup() {
      rotation.stop();
      await ctx.closeAll();
    },
    revoke: (req, internal) => revokeCreds(ctx, req, internal),
    renew: (req, internal) => renewCreds(ctx, req, internal),
  };
}

export const databaseFactory: BackendFactory = {
  type: 'database',
  create: () => databaseBackend(),
};
