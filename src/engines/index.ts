/** Secrets engines by mount type. Adding an engine: its own folder, plus one line here. */
import type { BackendFactory } from '../sdk/backend.js';
import { databaseFactory } from './database/index.js';
import { kvFactory, kvV2Factory } from './kv/index.js';
import { pkiFactory } from './pki/index.js';

export const secretEngines: BackendFactory[] = [kvFactory, kvV2Factory, databaseFactory, pkiFactory];
