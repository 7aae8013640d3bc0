/** Auth methods by mount type (the `token` method is part of the core). One line per method. */
import type { BackendFactory } from '../sdk/backend.js';
import { appRoleFactory } from './approle/index.js';
import { jwtFactory, oidcFactory } from './jwt/index.js';
import { kubernetesFactory } from './kubernetes/index.js';

export const authMethods: BackendFactory[] = [kubernetesFactory, jwtFactory, oidcFactory, appRoleFactory];
