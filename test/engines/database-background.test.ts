/**
 * The database engine's background work reports its failures through the logger it is initialized with (a failed
 * static-role rotation is otherwise invisible until someone reads the role), without a password in the message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseBackend } from '../../src/engines/database/index.js';
import { CONFIG_PREFIX, STATIC_ROLE_PREFIX, type DatabaseConfig, type StaticRoleEntry } from '../../src/engines/database/backend.js';
import { engineHarness, initializeEngine } from '../helpers/engine-harness.js';

const ROOT_PASSWORD = 'root-password-never-logged';
const ROLE_PASSWORD = 'role-password-never-logged';

/** Waits (generously: the machine is shared) until `done` holds. */
async function eventually(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('database engine: background failures are logged', () => {
  it('a static role whose rotation fails is logged by name, with the database\'s reason and no password', async () => {
    const h = engineHarness(databaseBackend(), { mount: { path: 'database/', type: 'database', uuid: 'db-uuid' } });
    // A connection whose plugin cannot be opened, and a static role interrupted mid-rotation (so due at once).
    const config: DatabaseConfig = {
      plugin_name: 'no-such-database-plugin', plugin_version: '', connection_details: { password: ROOT_PASSWORD },
      allowed_roles: ['*'], root_credentials_rotate_statements: [], password_policy: '', verify_connection: false,
    };
    const role: StaticRoleEntry = {
      db_name: 'broken', username: 'app', password: ROLE_PASSWORD, rotation_period: 3600, rotation_statements: [],
      last_vault_rotation: new Date().toISOString(), credential_type: 'password', pending_password: ROLE_PASSWORD,
    };
    await h.storage.putJSON(`${CONFIG_PREFIX}broken`, config);
    await h.storage.putJSON(`${STATIC_ROLE_PREFIX}app`, role);
    try {
      await initializeEngine(h);
      await eventually(() => h.logs.some((line) => line.includes('static role "app"')), 'the rotation failure to be logged');
      const line = h.logs.find((l) => l.includes('static role "app"'))!;
      assert.match(line, /^error: database: rotating static role "app" failed, retrying in 10s: /);
      assert.match(line, /plugin not found in the catalog: no-such-database-plugin/);
      for (const logged of h.logs) {
        assert.ok(!logged.includes(ROOT_PASSWORD) && !logged.includes(ROLE_PASSWORD), `a password was logged: ${logged}`);
      }
    } finally {
      await h.close();
    }
  });
});
