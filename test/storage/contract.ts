/**
 * The storage contract every physical backend must keep (get, put, delete, list of direct children with
 * paging, all-or-nothing transactions, durability across reopening), run against each backend by its own
 * test file. MemoryStorage is the reference for `list`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/storage/memory.js';
import type { PhysicalBackend } from '../../src/storage/types.js';

export interface ContractTarget {
  /** An empty store. */
  open(): Promise<PhysicalBackend>;
  /** The same store opened again after close() (only for persistent stores). */
  reopen?(): Promise<PhysicalBackend>;
  /** Removes what open() created (files, databases). */
  dispose?(): Promise<void>;
}

/** Runs `body` on a fresh target, disposing of it whatever happens. */
async function withTarget(make: () => Promise<ContractTarget>, body: (target: ContractTarget) => Promise<void>): Promise<void> {
  const target = await make();
  try {
    await body(target);
  } finally {
    await target.dispose?.();
  }
}

/** Runs `body` on a freshly opened store of a fresh target, closing and disposing of both. */
function withStore(make: () => Promise<ContractTarget>, body: (store: PhysicalBackend) => Promise<void>): () => Promise<void> {
  return () =>
    withTarget(make, async (target) => {
      const store = await target.open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
}

const KEYS = ['a', 'b/c', 'b/d/e', 'b/d/f', 'b/d0', 'b0', 'bz/x', 'c/d/e/f/g', 'sys/token/id/1', 'sys/token/id/2', 'sys/tokenx', 'w/a%b', 'w/a_c/d', 'w/a_d'];

export function storageContract(name: string, target: () => Promise<ContractTarget>, options: { persistent: boolean }): void {
  test(`${name}: get, put (overwrite, binary values) and delete`, withStore(target, async (store) => {
    assert.equal(await store.get('missing'), null);
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.put('x/bin', binary);
    assert.deepEqual(await store.get('x/bin'), binary);
    await store.put('x/bin', Buffer.from('second'));
    assert.equal((await store.get('x/bin'))?.toString(), 'second');
    await store.delete('x/bin');
    assert.equal(await store.get('x/bin'), null);
    await store.delete('x/never-written'); // deleting nothing is not an error
  }));

  test(`${name}: list returns direct children (folders once, with their slash) like the reference, with paging`, withStore(target, async (store) => {
    const memory = new MemoryStorage();
    for (const key of KEYS) {
      await store.put(key, Buffer.from(key));
      await memory.put(key, Buffer.from(key));
    }
    for (const prefix of ['', 'b/', 'b/d/', 'c/', 'c/d/e/', 'sys/', 'sys/token/', 'sys/token/id/', 'w/', 'nope/']) {
      assert.deepEqual(await store.list(prefix), await memory.list(prefix), `prefix "${prefix}"`);
    }
    assert.deepEqual(await store.list('b/'), ['c', 'd/', 'd0']);
    // LIKE wildcards in keys are plain characters.
    assert.deepEqual(await store.list('w/'), ['a%b', 'a_c/', 'a_d']);
    for (const page of [{ limit: 2 }, { after: 'c', limit: 1 }, { after: 'd/', limit: 5 }, { after: 'b0', limit: 10 }]) {
      assert.deepEqual(await store.list('b/', page), await memory.list('b/', page), JSON.stringify(page));
      assert.deepEqual(await store.list('', page), await memory.list('', page), JSON.stringify(page));
    }
    assert.deepEqual(await store.list('b/', { after: 'c', limit: 1 }), ['d/']);
    assert.deepEqual(await store.list('', { after: 'b/', limit: 2 }), ['b0', 'bz/']);
  }));

  test(`${name}: a transaction applies every operation in order, the last one per key winning`, withStore(target, async (store) => {
    await store.put('t/old', Buffer.from('old'));
    await store.transaction([
      { kind: 'put', key: 't/1', value: Buffer.from('one') },
      { kind: 'delete', key: 't/old' },
      { kind: 'put', key: 't/2', value: Buffer.from('first') },
      { kind: 'put', key: 't/2', value: Buffer.from('second') },
      { kind: 'put', key: 't/gone', value: Buffer.from('x') },
      { kind: 'delete', key: 't/gone' },
      { kind: 'delete', key: 't/back' },
      { kind: 'put', key: 't/back', value: Buffer.from('back') },
    ]);
    assert.deepEqual(await store.list('t/'), ['1', '2', 'back']);
    assert.equal((await store.get('t/2'))?.toString(), 'second');
    assert.equal((await store.get('t/back'))?.toString(), 'back');
    await store.transaction([]);
  }));

  if (!options.persistent) return;
  test(`${name}: what was written survives closing and reopening`, () =>
    withTarget(target, async (opened) => {
      const store = await opened.open();
      await store.put('k/1', Buffer.from('one'));
      await store.transaction([{ kind: 'put', key: 'k/3', value: Buffer.from('three') }, { kind: 'delete', key: 'k/1' }]);
      await store.close();
      const reopened = await opened.reopen!();
      try {
        assert.deepEqual(await reopened.list('k/'), ['3']);
        assert.equal((await reopened.get('k/3'))?.toString(), 'three');
      } finally {
        await reopened.close();
      }
    }));
}
