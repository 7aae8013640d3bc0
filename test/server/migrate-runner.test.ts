/**
 * src/server/migrate.ts in process: a SQLite source that vanishes between two batches stops the run with an
 * error naming it (never a "success" over a partial copy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMigration } from '../../src/server/migrate.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';

test('the source file vanishing mid-run fails the migration after the batch in progress', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-migrate-run-'));
  try {
    const source = path.join(dir, 'source.db');
    const store = new SqliteStorage(source);
    await store.transaction(Array.from({ length: 450 }, (_, i) => ({ kind: 'put' as const, key: `k/${String(i).padStart(3, '0')}`, value: Buffer.from([i % 256]) })));
    await store.close();
    const config = path.join(dir, 'migrate.hcl');
    writeFileSync(config, `storage_source "sqlite" {\n  path = "${source}"\n}\nstorage_destination "sqlite" {\n  path = "${path.join(dir, 'dest.db')}"\n}\n`);

    const progress: number[] = [];
    await assert.rejects(
      runMigration(config, {
        log: () => {},
        onProgress: (copied) => {
          progress.push(copied);
          if (copied > 0) for (const suffix of ['', '-wal', '-shm']) rmSync(source + suffix, { force: true });
        },
      }),
      new RegExp(`the source database ${source.replace(/[.]/g, '\\.')} does not exist \\(any more\\)`),
    );
    assert.deepEqual(progress, [0, 200], 'stopped before the second batch');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
