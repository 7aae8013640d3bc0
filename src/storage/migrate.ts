/**
 * Copying every entry from one physical backend to another, as stored (barrier ciphertexts: no unseal, no
 * key needed). Used by `coffer operator migrate` while no server runs on either side.
 *
 * Keys are copied in sorted order and in batches (one destination transaction each). The copy is checked at
 * the end: the destination must hold exactly the source's keys. Any failure stops the run with an error that
 * says how far it got; the caller exits non-zero, so a partial copy is never taken for a complete one.
 */
import type { PhysicalBackend } from './types.js';

const BATCH = 200;

export class MigrationError extends Error {}

export interface MigrateOptions {
  /** Erase the destination first (otherwise a non-empty destination is refused). */
  reset?: boolean;
  /** Vault's `-start`: copy only keys at or after this one (resuming an interrupted run; no emptiness check). */
  start?: string;
  /** Called before each batch: throw to stop (e.g. the source file disappeared). */
  check?: () => void;
  onProgress?: (copied: number, total: number) => void;
}

/** Every key of `store`, sorted, walking folders with paged lists. */
export async function allKeys(store: PhysicalBackend, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.list(prefix, { after, limit: 1000 });
    for (const child of page) {
      if (child.endsWith('/')) keys.push(...(await allKeys(store, prefix + child)));
      else keys.push(prefix + child);
    }
    if (page.length < 1000) return keys;
    after = page[page.length - 1];
  }
}

async function deleteAll(store: PhysicalBackend, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH) {
    await store.transaction(keys.slice(i, i + BATCH).map((key) => ({ kind: 'delete' as const, key })));
  }
}

export async function migrateEntries(source: PhysicalBackend, destination: PhysicalBackend, options: MigrateOptions = {}): Promise<number> {
  const sourceKeys = await allKeys(source);
  const toCopy = options.start === undefined ? sourceKeys : sourceKeys.filter((k) => k >= options.start!);
  const existing = await allKeys(destination);
  if (existing.length > 0 && options.start === undefined) {
    if (!options.reset) {
      throw new MigrationError(`the destination already holds ${existing.length} entries; refusing to mix two stores (use -reset to erase the destination first)`);
    }
    await deleteAll(destination, existing);
  }

  let copied = 0;
  options.onProgress?.(0, toCopy.length);
  for (let i = 0; i < toCopy.length; i += BATCH) {
    options.check?.();
    const batch = toCopy.slice(i, i + BATCH);
    const values = await Promise.all(batch.map((key) => source.get(key)));
    const missing = batch.find((_, j) => values[j] === null);
    if (missing !== undefined) throw new MigrationError(`source entry ${missing} disappeared during the migration (is a server running on it?)`);
    await destination.transaction(batch.map((key, j) => ({ kind: 'put' as const, key, value: values[j]! })));
    copied += batch.length;
    options.onProgress?.(copied, toCopy.length);
  }

  options.check?.();
  await verify(sourceKeys, destination);
  return copied;
}

/** The destination must now hold exactly the source's keys. */
async function verify(sourceKeys: string[], destination: PhysicalBackend): Promise<void> {
  const destinationKeys = await allKeys(destination);
  const expected = new Set(sourceKeys);
  const extra = destinationKeys.filter((k) => !expected.has(k));
  const present = new Set(destinationKeys);
  const absent = sourceKeys.filter((k) => !present.has(k));
  if (absent.length > 0 || extra.length > 0) {
    throw new MigrationError(
      `verification failed: the source has ${sourceKeys.length} entries, the destination ${destinationKeys.length} (${absent.length} missing, ${extra.length} not in the source)`,
    );
  }
}
