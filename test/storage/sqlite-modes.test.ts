/** The SQLite database, its -wal and -shm files and the directory coffer creates for it are owner-only. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite.js';

const modeOf = (p: string) => statSync(p).mode & 0o777;

test('under umask 022: a new directory is 0700, the database and its WAL files 0600; an existing 0644 file is narrowed', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'coffer-sqlite-modes-'));
  const previous = process.umask(0o022);
  try {
    const file = path.join(tmp, 'data', 'nested', 'coffer.db');
    const storage = new SqliteStorage(file);
    await storage.put('k', Buffer.from('v'));
    assert.equal(modeOf(path.dirname(file)), 0o700);
    assert.equal(modeOf(path.join(tmp, 'data')), 0o700);
    for (const p of [file, `${file}-wal`, `${file}-shm`]) assert.equal(modeOf(p), 0o600, p);
    await storage.close();

    const existing = path.join(tmp, 'old.db');
    writeFileSync(existing, '');
    chmodSync(existing, 0o644);
    const again = new SqliteStorage(existing);
    await again.put('k', Buffer.from('v'));
    for (const p of [existing, `${existing}-wal`, `${existing}-shm`]) assert.equal(modeOf(p), 0o600, p);
    await again.close();
  } finally {
    process.umask(previous);
    rmSync(tmp, { recursive: true, force: true });
  }
});
