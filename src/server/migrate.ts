/**
 * The offline side of `coffer operator migrate`: reads the migrate config, opens both stores and copies
 * (src/storage/migrate.ts). The CLI command only parses flags and shows progress.
 */
import { existsSync } from 'node:fs';
import { ConfigError, describeStorage, loadMigrateConfig, type StorageConfig } from './config.js';
import { openStorage } from '../storage/open.js';
import { migrateEntries, type MigrateOptions } from '../storage/migrate.js';
import type { PhysicalBackend } from '../storage/types.js';

export interface MigrationRun extends Pick<MigrateOptions, 'reset' | 'start' | 'onProgress'> {
  /** Log lines of the stores (PostgreSQL connection retries). */
  log(message: string): void;
}

/** A SQLite source must exist (opening a missing one would create it empty) and keep existing throughout. */
function sourceCheck(source: StorageConfig): () => void {
  return () => {
    if (source.type === 'sqlite' && !existsSync(source.path)) throw new ConfigError(`the source database ${source.path} does not exist (any more)`);
  };
}

/** Runs the migration the file describes; resolves with a one-line summary, rejects with what went wrong. */
export async function runMigration(file: string, run: MigrationRun): Promise<string> {
  const config = await loadMigrateConfig(file);
  const check = sourceCheck(config.source);
  check();
  const logger = { info: run.log, warn: run.log };
  const stores: PhysicalBackend[] = [];
  try {
    stores.push(await openStorage(config.source, logger));
    stores.push(await openStorage(config.destination, logger));
    const count = await migrateEntries(stores[0], stores[1], { reset: run.reset, start: run.start, check, onProgress: run.onProgress });
    const where = (c: StorageConfig) => `${c.type} (${describeStorage(c)})`;
    return `Migrated ${count} entries from ${where(config.source)} to ${where(config.destination)}; the destination holds exactly the source's entries.`;
  } finally {
    await Promise.all(stores.map((s) => s.close().catch(() => {})));
  }
}
