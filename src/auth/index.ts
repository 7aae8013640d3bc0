/** Auth methods by mount type (the `token` method is part of the core). One line per method. */
import type { BackendFactory } from '../core/backend.js';

export const authMethods: BackendFactory[] = [];
