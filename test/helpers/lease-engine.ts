/**
 * A secrets engine issuing leased credentials, for tests of the lease manager and the lease commands. Its
 * "backing system" is a set of users the test inspects (it stands in for a database, so the manager's own
 * rules are tested in isolation): `creds/ROLE?ttl=N` issues a user `ROLE-<n>` with a renewable lease of N
 * seconds (0: the mount default); the manager's revoke and renew calls are recorded, and revocation can be
 * made to fail.
 *
 * Registering it adds it to `secretEngines`, so only servers running in the test's own process can mount it.
 */
import type { BackendFactory } from '../../src/sdk/backend.js';
import { secretEngines } from '../../src/engines/index.js';

export interface LeaseEngine {
  /** The mount type it registers. */
  type: string;
  factory: BackendFactory;
  /** Users issued and not revoked yet. */
  live: Set<string>;
  /** Every user issued. */
  issued: Set<string>;
  /** Users whose revocation succeeded. */
  revoked: Set<string>;
  /** Users whose lease was renewed. */
  renewed: Set<string>;
  /** While true, revoke throws `backing system unreachable` (and revokes nothing). */
  failRevoke: boolean;
  /** Revoke calls, failed ones included. */
  revokeCalls: number;
}

/** A lease engine with its own state, not registered anywhere. */
export function createLeaseEngine(type = 'leasetest'): LeaseEngine {
  let counter = 0;
  const engine: LeaseEngine = {
    type,
    live: new Set(),
    issued: new Set(),
    revoked: new Set(),
    renewed: new Set(),
    failRevoke: false,
    revokeCalls: 0,
    factory: {
      type,
      create: () => ({
        paths: [
          {
            pattern: 'creds/(?<role>[\\w-]+)',
            operations: {
              read: async (req) => {
                const user = `${req.params.role}-${++counter}`;
                engine.live.add(user);
                engine.issued.add(user);
                return { data: { username: user }, secret: { ttl: Number(req.data.ttl ?? 0), renewable: true, internal: { user } } };
              },
            },
          },
        ],
        async revoke(_req, internal) {
          engine.revokeCalls++;
          if (engine.failRevoke) throw new Error('backing system unreachable');
          engine.live.delete(internal.user as string);
          engine.revoked.add(internal.user as string);
        },
        async renew(_req, internal) {
          engine.renewed.add(internal.user as string);
          return { ttl: 0, renewable: true };
        },
      }),
    },
  };
  return engine;
}

/** A lease engine registered as mount type `type` in this process (once: a second one of that type is an error). */
export function registerLeaseEngine(type = 'leasetest'): LeaseEngine {
  if (secretEngines.some((f) => f.type === type)) throw new Error(`a secrets engine of type ${type} is already registered`);
  const engine = createLeaseEngine(type);
  secretEngines.push(engine.factory);
  return engine;
}
