/**
 * The `approle` auth method: machines log in with a role ID (like a user name) and a secret ID (like a
 * password, issued per machine, limited in time, uses and source addresses). Paths: `role/:name`,
 * `role/:name/role-id`, `role/:name/secret-id` and its lookup/destroy family, `custom-secret-id`, `login`.
 */
import { CofferError } from '../../sdk/errors.js';
import type { Backend, BackendFactory } from '../../sdk/backend.js';
import { loginPaths } from './path_login.js';
import { rolePathSpecs } from './path_role.js';
import { secretIdPaths } from './path_secret_id.js';
import { AppRoleStore } from './store.js';

function appRoleBackend(): Backend {
  let current: AppRoleStore | null = null;
  const store = () => {
    if (!current) throw new CofferError(500, 'approle mount is not initialized');
    return current;
  };
  return {
    paths: [...rolePathSpecs(store), ...secretIdPaths(store), ...loginPaths(store)],
    initialize: async ({ storage }) => {
      current = new AppRoleStore(storage);
      await current.load();
    },
    cleanup: async () => {
      current?.wipe();
      current = null;
    },
  };
}

export const appRoleFactory: BackendFactory = { type: 'approle', create: appRoleBackend };
