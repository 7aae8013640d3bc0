/**
 * The `kubernetes` auth method: pods log in with their service account token, which the cluster's TokenReview
 * API verifies. Paths: `config`, `role/:name`, `login`.
 */
import type { BackendFactory } from '../../sdk/backend.js';
import { configPaths } from './path_config.js';
import { loginPaths } from './path_login.js';
import { rolePathSpecs } from './path_role.js';

export const kubernetesFactory: BackendFactory = {
  type: 'kubernetes',
  create: () => ({ paths: [...configPaths, ...rolePathSpecs, ...loginPaths] }),
};
