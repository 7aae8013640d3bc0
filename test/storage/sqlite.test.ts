/** The SQLite backend (and MemoryStorage) against the storage contract, and SQLite's group commit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { storageContract } from './contract.js';

storageContract('memory', async () => ({ open: async () => new MemoryStorage() }), { persistent: false });

storageContract(
  'sqlite',
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coffer-sqlite-'));
    const file = path.join(dir, 'db');
    return {
      open: async () => new SqliteStorage(file),
      reopen: async () => new SqliteStorage(file),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { persistent: true },
);

test('sqlite: writes queued in one tick commit together and are readable (and listable) before the commit', async () => {
  const store = new SqliteStorage(':memory:');
  try {
    const writes = [store.put('k/1', Buffer.from('one')), store.put('k/2', Buffer.from('two')), store.delete('k/1')];
    assert.equal(await store.get('k/1'), null);
    assert.equal((await store.get('k/2'))?.toString(), 'two');
    assert.deepEqual(await store.list('k/'), ['2']);
    await Promise.all(writes);
  } finally {
    await store.close();
  }
});
