/** The ESO endpoints as a server extension: its records live under `sys/eso/`. */
import type { ServerExtension } from '../src/server/extension.js';
import { esoRoutes } from './routes.js';

export const externalSecretsExtension: ServerExtension = { name: 'eso', routes: esoRoutes };
