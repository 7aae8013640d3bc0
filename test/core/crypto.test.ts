/** Shamir over GF(256), the AES-GCM barrier and the keyring. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { combine, split } from '../../src/core/shamir.js';
import { Barrier, Keyring, PlaintextCache } from '../../src/core/barrier.js';
import { Seal } from '../../src/core/seal.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { StorageView } from '../../src/storage/view.js';
import { CofferError } from '../../src/sdk/errors.js';

function combinations<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((item, i) => combinations(items.slice(i + 1), k - 1).map((rest) => [item, ...rest]));
}

test('shamir: every 3-of-5 combination reconstructs the secret, in any order', () => {
  const secret = randomBytes(32);
  const shares = split(secret, 5, 3);
  assert.equal(shares.length, 5);
  assert.equal(new Set(shares.map((s) => s[32])).size, 5, 'distinct x coordinates');
  for (const combo of combinations(shares, 3)) {
    assert.deepEqual(combine(combo), secret);
    assert.deepEqual(combine([...combo].reverse()), secret);
  }
  assert.deepEqual(combine(shares), secret, 'more than the threshold also works');
});

test('shamir: fewer than the threshold give a different value; a corrupted share gives a different value', () => {
  const secret = randomBytes(32);
  const shares = split(secret, 5, 3);
  assert.notDeepEqual(combine(shares.slice(0, 2)), secret);
  const bad = Buffer.from(shares[0]);
  bad[4] ^= 0x55;
  assert.notDeepEqual(combine([bad, shares[1], shares[2]]), secret);
  assert.throws(() => combine([shares[0], shares[0], shares[1]]), /duplicate/);
  assert.throws(() => split(secret, 2, 3));
  assert.throws(() => split(secret, 256, 3));
});

test('shamir: 255 shares with threshold 255 and 2-of-2 work', () => {
  const secret = randomBytes(16);
  assert.deepEqual(combine(split(secret, 255, 255)), secret);
  const two = split(secret, 2, 2);
  assert.deepEqual(combine(two), secret);
});

test('barrier: values are encrypted, bound to their key, and tamper-evident', async () => {
  const physical = new MemoryStorage();
  const barrier = new Barrier(physical);
  await assert.rejects(barrier.get('a'), (e: CofferError) => e.status === 503);
  const ring = Keyring.create();
  barrier.unlock(ring);
  const value = Buffer.from('hunter2-very-secret');
  await barrier.put('logical/x/a', value);
  await barrier.put('logical/x/b', Buffer.from('other'));
  const stored = physical.entries.get('logical/x/a')!;
  assert.equal(stored.includes(value), false);
  assert.deepEqual(await barrier.get('logical/x/a'), value);
  // Tampering happens behind the running barrier's back, so read through a fresh one (no plaintext cache).
  const reader = () => {
    const fresh = new Barrier(physical);
    fresh.unlock(ring);
    return fresh;
  };
  // The storage key is authenticated data: a ciphertext moved to another key does not decrypt.
  physical.entries.set('logical/x/b', Buffer.from(stored));
  await assert.rejects(reader().get('logical/x/b'), /integrity/);
  // Any flipped byte fails.
  for (const pos of [0, 3, 10, 20, stored.length - 1]) {
    const copy = Buffer.from(stored);
    copy[pos] ^= 1;
    physical.entries.set('logical/x/a', copy);
    await assert.rejects(reader().get('logical/x/a'), /integrity/);
  }
  barrier.lock();
  await assert.rejects(barrier.put('k', value), (e: CofferError) => e.status === 503);
});

test('seal: rotation adds a term; old values stay readable and new ones use the new term', async () => {
  const physical = new MemoryStorage();
  const barrier = new Barrier(physical);
  const seal = new Seal(physical, barrier);
  const keys = await seal.initialize(3, 2);
  assert.equal(await seal.submitShare(keys[0]), false);
  assert.equal(seal.progress, 1);
  assert.equal(await seal.submitShare(keys[2]), true);
  await barrier.put('old', Buffer.from('before'));
  assert.equal(barrier.currentKeyring().active.term, 1);
  await seal.rotate();
  assert.equal(barrier.currentKeyring().active.term, 2);
  await barrier.put('new', Buffer.from('after'));
  assert.equal(physical.entries.get('old')!.readUInt32BE(1), 1);
  assert.equal(physical.entries.get('new')!.readUInt32BE(1), 2);
  // A fresh unseal reads the rotated keyring from storage.
  seal.lock();
  assert.equal(barrier.sealed, true);
  await seal.submitShare(keys[1]);
  await seal.submitShare(keys[0]);
  assert.equal((await barrier.get('old'))!.toString(), 'before');
  assert.equal((await barrier.get('new'))!.toString(), 'after');
  // Nothing in physical storage holds the keys in the clear.
  const ring = barrier.currentKeyring().terms.map((t) => Buffer.from(t.key, 'base64'));
  for (const blob of physical.entries.values()) for (const key of ring) assert.equal(blob.includes(key), false);
  await assert.rejects(seal.initialize(3, 2), /already initialized/);
});

test('barrier cache: concurrent writes of different keys are all cached; the newest write of one key wins; failed writes are not cached', async () => {
  const physical = new MemoryStorage();
  const barrier = new Barrier(physical);
  barrier.unlock(Keyring.create());
  let physicalReads = 0;
  const get = physical.get.bind(physical);
  physical.get = (key: string) => {
    physicalReads++;
    return get(key);
  };
  // Ten writers at once (as group commit sees them): each one's value is served from the cache afterwards.
  await Promise.all(Array.from({ length: 10 }, (_, i) => barrier.put(`k${i}`, Buffer.from(`v${i}`))));
  for (let i = 0; i < 10; i++) assert.equal((await barrier.get(`k${i}`))!.toString(), `v${i}`);
  assert.equal(physicalReads, 0);
  // Two writes of one key in flight: the later one is what the cache (and storage) hold.
  await Promise.all([barrier.put('same', Buffer.from('first')), barrier.put('same', Buffer.from('second'))]);
  assert.equal((await barrier.get('same'))!.toString(), 'second');
  assert.equal(physicalReads, 0);
  // A write that storage rejects leaves nothing cached: the next read goes to storage and finds the old value.
  const put = physical.put.bind(physical);
  physical.put = async () => {
    throw new Error('disk full');
  };
  await assert.rejects(barrier.put('k1', Buffer.from('lost')), /disk full/);
  physical.put = put;
  assert.equal((await barrier.get('k1'))!.toString(), 'v1');
  assert.equal(physicalReads, 1);
});

test('barrier shared reads: parsed once, frozen against changes; getJSON still hands out private copies', async () => {
  const barrier = new Barrier(new MemoryStorage());
  barrier.unlock(Keyring.create());
  const view = new StorageView(barrier, 'logical/kv/');
  await view.putJSON('rec', { a: { b: [1, 2] } });
  const shared = (await view.getJSONShared<{ a: { b: number[] } }>('rec'))!;
  assert.equal(await view.getJSONShared('rec'), shared); // the same object while cached
  assert.throws(() => ((shared.a as { b: number[] }).b as number[]).push(3), TypeError);
  assert.throws(() => ((shared as { a: unknown }).a = 1), TypeError);
  const copy = (await view.getJSON<{ a: { b: number[] } }>('rec'))!;
  copy.a.b.push(3);
  assert.deepEqual((await view.getJSONShared<{ a: { b: number[] } }>('rec'))!.a.b, [1, 2]);
  // A write replaces the shared object.
  await view.putJSON('rec', { a: { b: [9] } });
  assert.deepEqual((await view.getJSONShared<{ a: { b: number[] } }>('rec'))!.a.b, [9]);
  assert.equal(await view.getJSONShared('missing'), null);
});

test('plaintext cache: bounded by entries and bytes; an entry read while others stream in stays (approximate LRU)', () => {
  const cache = new PlaintextCache(100, 1 << 20);
  const value = (n: number) => Buffer.from(`value-${n}`);
  cache.set('hot', value(0));
  for (let i = 0; i < 1000; i++) {
    cache.set(`k${i}`, value(i));
    if (i % 10 === 0) assert.ok(cache.get('hot'), `hot entry evicted after ${i} inserts`);
  }
  assert.equal(cache.get('k0'), undefined, 'cold entries are evicted');
  assert.ok(cache.get('k999'));
  // Never more than the entry bound.
  let present = 0;
  for (let i = 0; i < 1000; i++) if (cache.get(`k${i}`)) present++;
  assert.ok(present <= 99, `${present} cold entries kept beside the hot one`);
  // The byte bound: 64 KiB cache, 1 KiB values → at most 64 stay.
  const small = new PlaintextCache(1000, 64 * 1024);
  for (let i = 0; i < 200; i++) small.set(`b${i}`, Buffer.alloc(1024, 1));
  let kept = 0;
  for (let i = 0; i < 200; i++) if (small.get(`b${i}`)) kept++;
  assert.ok(kept <= 64 && kept >= 60, `${kept} entries of 1 KiB in a 64 KiB cache`);
  // A dropped value is wiped, so no copy of the plaintext lingers in the cache's buffer.
  const secret = Buffer.from('wipe-me');
  small.set('secret', secret);
  small.drop('secret');
  assert.deepEqual(secret, Buffer.alloc(7));
});
