/** The SQLite backend against the storage contract, with MemoryStorage as the reference for `list`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { MemoryStorage } from '../../src/storage/memory.js';

const KEYS = ['a', 'b/c', 'b/d/e', 'b/d/f', 'b/d0', 'b0', 'bz/x', 'c/d/e/f/g', 'sys/token/id/1', 'sys/token/id/2', 'sys/tokenx'];

test('list returns direct children (folders once, with their slash) exactly like the reference', async () => {
  const sqlite = new SqliteStorage(':memory:');
  const memory = new MemoryStorage();
  for (const key of KEYS) {
    await sqlite.put(key, Buffer.from(key));
    await memory.put(key, Buffer.from(key));
  }
  for (const prefix of ['', 'b/', 'b/d/', 'c/', 'c/d/e/', 'sys/', 'sys/token/', 'sys/token/id/', 'nope/']) {
    assert.deepEqual(await sqlite.list(prefix), await memory.list(prefix), `prefix "${prefix}"`);
  }
  assert.deepEqual(await sqlite.list('b/'), ['c', 'd/', 'd0']);
  // Paging: children after a leaf or after a folder, in steps.
  for (const page of [{ limit: 2 }, { after: 'c', limit: 1 }, { after: 'd/', limit: 5 }, { after: 'b0', limit: 10 }]) {
    assert.deepEqual(await sqlite.list('b/', page), await memory.list('b/', page), JSON.stringify(page));
    assert.deepEqual(await sqlite.list('', page), await memory.list('', page), JSON.stringify(page));
  }
  assert.deepEqual(await sqlite.list('b/', { after: 'c', limit: 1 }), ['d/']);
  assert.deepEqual(await sqlite.list('', { after: 'b/', limit: 2 }), ['b0', 'bz/']);
  await sqlite.close();
});

test('writes queued in one tick commit together, are readable at once, and survive reopening', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-sqlite-'));
  try {
    const file = path.join(dir, 'db');
    const store = new SqliteStorage(file);
    const writes = [store.put('k/1', Buffer.from('one')), store.put('k/2', Buffer.from('two')), store.delete('k/1')];
    // Reads see queued writes before the commit.
    assert.equal(await store.get('k/1'), null);
    assert.equal((await store.get('k/2'))?.toString(), 'two');
    assert.deepEqual(await store.list('k/'), ['2']);
    await Promise.all(writes);
    await store.transaction([{ kind: 'put', key: 'k/3', value: Buffer.from('three') }, { kind: 'delete', key: 'k/2' }]);
    await store.close();
    const reopened = new SqliteStorage(file);
    assert.deepEqual(await reopened.list('k/'), ['3']);
    assert.equal((await reopened.get('k/3'))?.toString(), 'three');
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
