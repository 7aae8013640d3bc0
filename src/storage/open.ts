/** Opens the backend a `storage` stanza names (the server's, or `operator migrate`'s source and destination). */
import { PostgresStorage, type PostgresOptions, type StorageLogger } from './postgresql.js';
import { SqliteStorage } from './sqlite.js';
import type { PhysicalBackend } from './types.js';

/** A parsed `storage` stanza (src/server/config.ts reads it from the config file). */
export type StorageConfig = { type: 'sqlite'; path: string } | ({ type: 'postgresql' } & PostgresOptions);

export async function openStorage(config: StorageConfig, logger?: StorageLogger): Promise<PhysicalBackend> {
  if (config.type === 'sqlite') return new SqliteStorage(config.path);
  return PostgresStorage.open(config, logger);
}
