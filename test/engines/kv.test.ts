import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Response } from '../../src/sdk/backend.js';
import { CofferError } from '../../src/sdk/errors.js';
import { matchPath } from '../../src/core/router.js';
import { kvFactory, kvV2Factory } from '../../src/engines/kv/index.js';
import { engineHarness } from '../helpers/engine-harness.js';

/** A fresh kv engine mounted at `secret/` (`kv` takes its version from `options`, as at enable time). */
function harness(type: 'kv' | 'kv-v2', options: Record<string, string> = {}) {
  const backend = type === 'kv' ? kvFactory.create(options) : kvV2Factory.create(options);
  return engineHarness(backend, { mount: { path: 'secret/', type, accessor: 'kv_1234', uuid: '0000', options } });
}

const RFC3339_NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dataOf(res: Response | null): any {
  assert.ok(res, 'expected a response');
  return res.data as any;
}

describe('kv v2: data', () => {
  it('writes and reads back a secret with Vault\'s shapes', async () => {
    const h = harness('kv', { version: '2' });
    const written = dataOf(await h.call('write', 'data/app/db', { data: { user: 'admin', pass: 's3cr3t' } }));
    assert.equal(h.lastOperation, 'create');
    assert.deepEqual(Object.keys(written), ['created_time', 'custom_metadata', 'deletion_time', 'destroyed', 'version']);
    assert.equal(written.version, 1);
    assert.equal(written.deletion_time, '');
    assert.equal(written.destroyed, false);
    assert.equal(written.custom_metadata, null);
    assert.match(written.created_time, RFC3339_NANO);

    const read = await h.call('read', 'data/app/db');
    assert.equal(read?.status, undefined);
    assert.deepEqual(dataOf(read).data, { user: 'admin', pass: 's3cr3t' });
    assert.deepEqual(dataOf(read).metadata, written);

    await h.call('write', 'data/app/db', { data: { user: 'admin', pass: 'n3w' } });
    assert.equal(h.lastOperation, 'update');
  });

  it('keeps a version history readable with ?version=N', async () => {
    const h = harness('kv-v2');
    for (let i = 1; i <= 3; i++) await h.call('write', 'data/k', { data: { n: i } });
    assert.deepEqual(dataOf(await h.call('read', 'data/k')).data, { n: 3 });
    assert.deepEqual(dataOf(await h.call('read', 'data/k', { version: '2' })).data, { n: 2 });
    assert.equal(dataOf(await h.call('read', 'data/k', { version: '1' })).metadata.version, 1);
    assert.equal(dataOf(await h.call('read', 'data/k', { version: '0' })).metadata.version, 3);
    const missing = await h.fail('read', 'data/k', { version: '9' });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.errors, []);
  });

  it('answers 404 with no messages for a never-written path', async () => {
    const h = harness('kv-v2');
    const err = await h.fail('read', 'data/nothing');
    assert.equal(err.status, 404);
    assert.deepEqual(err.errors, []);
  });

  it('check-and-set: success, conflict and required', async () => {
    const h = harness('kv-v2');
    assert.equal(dataOf(await h.call('write', 'data/c', { data: { a: 1 }, options: { cas: 0 } })).version, 1);
    const again = await h.fail('write', 'data/c', { data: { a: 2 }, options: { cas: 0 } });
    assert.equal(again.status, 400);
    assert.deepEqual(again.errors, ['check-and-set parameter did not match the current version']);
    assert.equal(dataOf(await h.call('write', 'data/c', { data: { a: 2 }, options: { cas: '1' } })).version, 2);

    // Required by the key's metadata.
    await h.call('write', 'metadata/c', { cas_required: true });
    const required = await h.fail('write', 'data/c', { data: { a: 3 } });
    assert.equal(required.status, 400);
    assert.deepEqual(required.errors, ['check-and-set parameter required for this call']);
    assert.equal(dataOf(await h.call('write', 'data/c', { data: { a: 3 }, options: { cas: 2 } })).version, 3);

    // Required by the mount's config.
    await h.call('write', 'config', { cas_required: 'true' });
    const mountRequired = await h.fail('write', 'data/other', { data: { a: 1 } });
    assert.deepEqual(mountRequired.errors, ['check-and-set parameter required for this call']);
    await h.call('write', 'data/other', { data: { a: 1 }, options: { cas: 0 } });
  });

  it('rejects a write without data and never echoes secret values in errors', async () => {
    const h = harness('kv-v2');
    const noData = await h.fail('write', 'data/x', { options: {} });
    assert.equal(noData.status, 400);
    assert.deepEqual(noData.errors, ['no data provided']);
    const notMap = await h.fail('write', 'data/x', { data: 'hunter2-secret' });
    assert.equal(notMap.status, 400);
    assert.match(notMap.errors[0], /"data"/);
    assert.doesNotMatch(notMap.errors.join(' '), /hunter2/);
    const badCas = await h.fail('write', 'data/x', { data: { a: 1 }, options: { cas: 'abc' } });
    assert.equal(badCas.status, 400);
    assert.match(badCas.errors[0], /options\.cas/);
    const badVersion = await h.fail('read', 'data/x', { version: 'two' });
    assert.equal(badVersion.status, 400);
    assert.match(badVersion.errors[0], /"version"/);
  });

  it('patch merges into a new version (null removes a key) and honours cas', async () => {
    const h = harness('kv-v2');
    const missing = await h.fail('patch', 'data/p', { data: { a: 1 } });
    assert.equal(missing.status, 404);

    await h.call('write', 'data/p', { data: { keep: 'x', drop: 'y', nested: { a: 1, b: 2 }, list: [1, 2] } });
    const patched = dataOf(await h.call('patch', 'data/p', { data: { drop: null, nested: { b: null, c: 3 }, list: [9], added: true } }));
    assert.equal(patched.version, 2);
    assert.deepEqual(dataOf(await h.call('read', 'data/p')).data, { keep: 'x', nested: { a: 1, c: 3 }, list: [9], added: true });
    assert.deepEqual(dataOf(await h.call('read', 'data/p', { version: 1 })).data.drop, 'y');

    const conflict = await h.fail('patch', 'data/p', { data: { a: 1 }, options: { cas: 1 } });
    assert.deepEqual(conflict.errors, ['check-and-set parameter did not match the current version']);
    assert.equal(dataOf(await h.call('patch', 'data/p', { data: { a: 1 }, options: { cas: 2 } })).version, 3);
    assert.deepEqual((await h.fail('patch', 'data/p', {})).errors, ['no data provided']);

    // A deleted current version cannot be patched: 404 carrying its metadata.
    await h.call('delete', 'data/p');
    const deleted = await h.call('patch', 'data/p', { data: { a: 2 } });
    assert.equal(deleted?.status, 404);
    assert.equal(dataOf(deleted).version, 3);
  });

  it('patch does not let __proto__ keys change prototypes', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'data/proto', { data: { a: 1 } });
    await h.call('patch', 'data/proto', { data: JSON.parse('{"__proto__": {"polluted": true}}') });
    const data = dataOf(await h.call('read', 'data/proto')).data;
    assert.equal(({} as any).polluted, undefined);
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
  });
});

describe('kv v2: delete, undelete, destroy', () => {
  it('soft delete of the latest version reads as 404 with metadata; undelete restores it', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'data/s', { data: { v: 1 } });
    await h.call('write', 'data/s', { data: { v: 2 } });
    assert.equal(await h.call('delete', 'data/s'), null);

    const gone = await h.call('read', 'data/s');
    assert.equal(gone?.status, 404);
    assert.equal(dataOf(gone).data, null);
    assert.equal(dataOf(gone).metadata.version, 2);
    assert.match(dataOf(gone).metadata.deletion_time, RFC3339_NANO);
    assert.equal(dataOf(gone).metadata.destroyed, false);
    assert.deepEqual(dataOf(await h.call('read', 'data/s', { version: 1 })).data, { v: 1 });

    await h.call('write', 'undelete/s', { versions: [2] });
    const back = dataOf(await h.call('read', 'data/s'));
    assert.deepEqual(back.data, { v: 2 });
    assert.equal(back.metadata.deletion_time, '');

    // delete/ takes explicit versions, as a list or a comma-separated string.
    await h.call('write', 'delete/s', { versions: '1,2' });
    assert.equal((await h.call('read', 'data/s', { version: 1 }))?.status, 404);
    assert.equal((await h.call('read', 'data/s'))?.status, 404);
    const noVersions = await h.fail('write', 'delete/s', {});
    assert.deepEqual(noVersions.errors, ['No version number provided']);
    // Unknown keys are a silent no-op, like Vault.
    assert.equal(await h.call('write', 'delete/unknown', { versions: [1] }), null);
    assert.equal(await h.call('delete', 'data/unknown'), null);
  });

  it('destroy removes the data for good and keeps metadata with destroyed=true', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'data/d', { data: { secret: 'x' } });
    await h.call('write', 'data/d', { data: { secret: 'y' } });
    await h.call('write', 'destroy/d', { versions: [1] });
    const gone = await h.call('read', 'data/d', { version: 1 });
    assert.equal(gone?.status, 404);
    assert.equal(dataOf(gone).metadata.destroyed, true);
    assert.equal(dataOf(gone).data, null);
    const meta = dataOf(await h.call('read', 'metadata/d'));
    assert.equal(meta.versions['1'].destroyed, true);
    assert.equal(meta.versions['2'].destroyed, false);
    // Undelete cannot bring a destroyed version back.
    await h.call('write', 'undelete/d', { versions: [1] });
    assert.equal((await h.call('read', 'data/d', { version: 1 }))?.status, 404);
    // Only one version record remains in storage.
    const versionKeys = (await h.storage.listRecursive('versions/'));
    assert.equal(versionKeys.length, 1);
    assert.deepEqual((await h.fail('write', 'destroy/d', { versions: [] })).errors, ['no version number provided']);
  });
});

describe('kv v2: metadata', () => {
  it('reads, writes, patches and validates metadata', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'data/m', { data: { a: 1 } });
    await h.call('write', 'data/m', { data: { a: 2 } });
    const meta = dataOf(await h.call('read', 'metadata/m'));
    assert.deepEqual(Object.keys(meta), ['cas_required', 'created_time', 'current_version', 'custom_metadata',
      'delete_version_after', 'max_versions', 'oldest_version', 'updated_time', 'versions']);
    assert.equal(meta.current_version, 2);
    assert.equal(meta.oldest_version, 0);
    assert.equal(meta.max_versions, 0);
    assert.equal(meta.delete_version_after, '0s');
    assert.deepEqual(Object.keys(meta.versions), ['1', '2']);
    assert.match(meta.versions['1'].created_time, RFC3339_NANO);
    assert.equal(meta.updated_time, meta.versions['2'].created_time);

    assert.equal(await h.call('write', 'metadata/m', {
      max_versions: '5', delete_version_after: '1h', custom_metadata: { owner: 'team-a', tier: 1 },
    }), null);
    const after = dataOf(await h.call('read', 'metadata/m'));
    assert.equal(after.max_versions, 5);
    assert.equal(after.delete_version_after, '1h0m0s');
    assert.deepEqual(after.custom_metadata, { owner: 'team-a', tier: '1' });
    // custom_metadata shows up on data reads too.
    assert.deepEqual(dataOf(await h.call('read', 'data/m')).metadata.custom_metadata, { owner: 'team-a', tier: '1' });

    await h.call('patch', 'metadata/m', { custom_metadata: { tier: null, env: 'prod' }, cas_required: true });
    const patched = dataOf(await h.call('read', 'metadata/m'));
    assert.deepEqual(patched.custom_metadata, { owner: 'team-a', env: 'prod' });
    assert.equal(patched.cas_required, true);
    assert.equal(patched.max_versions, 5);
    assert.equal((await h.fail('patch', 'metadata/none', { max_versions: 1 })).status, 404);

    const badMax = await h.fail('write', 'metadata/m', { max_versions: 'many' });
    assert.equal(badMax.status, 400);
    assert.match(badMax.errors[0], /"max_versions"/);
    const badDuration = await h.fail('write', 'metadata/m', { delete_version_after: 'soon' });
    assert.match(badDuration.errors[0], /"delete_version_after"/);
    const badCustom = await h.fail('write', 'metadata/m', { custom_metadata: { empty: '' } });
    assert.equal(badCustom.status, 400);
    assert.match(badCustom.errors[0], /custom_metadata validation failed/);
  });

  it('a metadata write creates a key with no versions; data reads of it are 404', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'metadata/empty', { max_versions: 3 });
    assert.equal(h.lastOperation, 'create');
    const meta = dataOf(await h.call('read', 'metadata/empty'));
    assert.equal(meta.current_version, 0);
    assert.deepEqual(meta.versions, {});
    assert.match(meta.created_time, RFC3339_NANO);
    assert.equal((await h.fail('read', 'data/empty')).status, 404);
    // cas 0 on a key with no versions succeeds.
    assert.equal(dataOf(await h.call('write', 'data/empty', { data: { a: 1 }, options: { cas: 0 } })).version, 1);
  });

  it('lists keys and folders, 404 when empty; delete removes all versions', async () => {
    const h = harness('kv-v2');
    assert.equal((await h.fail('list', 'metadata/')).status, 404);
    await h.call('write', 'data/app/one', { data: { a: 1 } });
    await h.call('write', 'data/app/two', { data: { a: 1 } });
    await h.call('write', 'data/app/sub/three', { data: { a: 1 } });
    await h.call('write', 'data/app', { data: { a: 1 } });
    await h.call('write', 'data/top', { data: { a: 1 } });
    assert.deepEqual(dataOf(await h.call('list', 'metadata/')).keys, ['app', 'app/', 'top']);
    assert.deepEqual(dataOf(await h.call('list', 'metadata/app/')).keys, ['one', 'sub/', 'two']);
    assert.deepEqual(dataOf(await h.call('list', 'metadata/app')).keys, ['one', 'sub/', 'two']);
    assert.equal((await h.fail('list', 'metadata/nope/')).status, 404);

    await h.call('write', 'data/app/one', { data: { a: 2 } });
    assert.equal(await h.call('delete', 'metadata/app/one'), null);
    assert.equal((await h.fail('read', 'metadata/app/one')).status, 404);
    assert.equal((await h.fail('read', 'data/app/one', { version: 1 })).status, 404);
    assert.deepEqual(dataOf(await h.call('list', 'metadata/app/')).keys, ['sub/', 'two']);
    // 4 keys left, one version each.
    assert.equal((await h.storage.listRecursive('versions/')).length, 4);
    assert.equal(await h.call('delete', 'metadata/app/one'), null);
  });

  it('list on data/ is not supported, like Vault', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'data/app/one', { data: { a: 1 } });
    for (const path of ['data/', 'data/app/', 'data/app']) {
      const res = await h.call('list', path);
      assert.equal(res?.status, 404, path);
      assert.match(res?.warnings?.[0] ?? '', /vault kv list/);
    }
    const root = await h.call('read', 'data');
    assert.equal(root?.status, 404);
    assert.match(root?.warnings?.[0] ?? '', /root of a K\/V v2 mount/);
  });
});

describe('kv v2: versions lifecycle', () => {
  it('prunes the oldest versions beyond max_versions', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'config', { max_versions: 3 });
    for (let i = 1; i <= 5; i++) await h.call('write', 'data/pr', { data: { n: i } });
    const meta = dataOf(await h.call('read', 'metadata/pr'));
    assert.deepEqual(Object.keys(meta.versions), ['3', '4', '5']);
    assert.equal(meta.oldest_version, 3);
    assert.equal(meta.current_version, 5);
    assert.equal((await h.fail('read', 'data/pr', { version: 2 })).status, 404);
    assert.deepEqual(dataOf(await h.call('read', 'data/pr', { version: 3 })).data, { n: 3 });
    assert.equal((await h.storage.listRecursive('versions/')).length, 3);

    // Default is 10 when neither mount nor key sets it.
    const d = harness('kv-v2');
    for (let i = 1; i <= 12; i++) await d.call('write', 'data/many', { data: { n: i } });
    const dm = dataOf(await d.call('read', 'metadata/many'));
    assert.equal(Object.keys(dm.versions).length, 10);
    assert.equal(dm.oldest_version, 3);
  });

  it('delete_version_after sets a future deletion time, after which reads are 404', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'config', { delete_version_after: '1s' });
    assert.equal(dataOf(await h.call('read', 'config')).delete_version_after, '1s');
    const written = dataOf(await h.call('write', 'data/t', { data: { a: 1 } }));
    assert.match(written.deletion_time, RFC3339_NANO);
    assert.ok(Date.parse(written.deletion_time) > Date.parse(written.created_time));
    assert.deepEqual(dataOf(await h.call('read', 'data/t')).data, { a: 1 });
    await sleep(1100);
    const expired = await h.call('read', 'data/t');
    assert.equal(expired?.status, 404);
    assert.equal(dataOf(expired).data, null);

    // The key's own setting applies when it is smaller; a negative mount value disables it.
    await h.call('write', 'config', { delete_version_after: '1h' });
    await h.call('write', 'metadata/t2', { delete_version_after: 60 });
    const w2 = dataOf(await h.call('write', 'data/t2', { data: { a: 1 } }));
    const delta = Date.parse(w2.deletion_time) - Date.parse(w2.created_time);
    assert.ok(Math.abs(delta - 60_000) < 1000, `deletion after ${delta}ms`);
    await h.call('write', 'config', { delete_version_after: '-1' });
    assert.equal(dataOf(await h.call('read', 'config')).delete_version_after, '-1s');
    assert.equal(dataOf(await h.call('write', 'data/t2', { data: { a: 2 } })).deletion_time, '');
  });
});

describe('kv v2: subkeys and config', () => {
  it('returns the structure with null leaves, honouring depth and version', async () => {
    const h = harness('kv-v2');
    await h.call('write', 'data/sk', { data: { foo: 'abc', bar: { baz: 'def', deeper: { x: 1 }, empty: {} }, quux: [1] } });
    await h.call('write', 'data/sk', { data: { only: 'v2' } });
    const all = dataOf(await h.call('read', 'subkeys/sk', { version: '1' }));
    assert.deepEqual(all.subkeys, { foo: null, bar: { baz: null, deeper: { x: null }, empty: null }, quux: null });
    assert.equal(all.metadata.version, 1);
    const depth1 = dataOf(await h.call('read', 'subkeys/sk', { version: '1', depth: '1' }));
    assert.deepEqual(depth1.subkeys, { foo: null, bar: null, quux: null });
    const depth2 = dataOf(await h.call('read', 'subkeys/sk', { version: '1', depth: '2' }));
    assert.deepEqual(depth2.subkeys, { foo: null, bar: { baz: null, deeper: null, empty: null }, quux: null });
    assert.deepEqual(dataOf(await h.call('read', 'subkeys/sk')).subkeys, { only: null });
    assert.equal((await h.fail('read', 'subkeys/none')).status, 404);
    await h.call('delete', 'data/sk');
    const deleted = await h.call('read', 'subkeys/sk');
    assert.equal(deleted?.status, 404);
    assert.equal(dataOf(deleted).subkeys, null);
  });

  it('reads and writes config', async () => {
    const h = harness('kv-v2');
    assert.deepEqual(dataOf(await h.call('read', 'config')), { cas_required: false, delete_version_after: '0s', max_versions: 0 });
    await h.call('write', 'config', { max_versions: '7', cas_required: true, delete_version_after: '90m' });
    assert.deepEqual(dataOf(await h.call('read', 'config')), { cas_required: true, delete_version_after: '1h30m0s', max_versions: 7 });
    // Zero clears delete_version_after; a write with no fields changes nothing.
    await h.call('write', 'config', { delete_version_after: '0s' });
    await h.call('write', 'config', {});
    assert.deepEqual(dataOf(await h.call('read', 'config')), { cas_required: true, delete_version_after: '0s', max_versions: 7 });
    const bad = await h.fail('write', 'config', { max_versions: -1 });
    assert.equal(bad.status, 400);
    assert.match(bad.errors[0], /"max_versions"/);
    const badBool = await h.fail('write', 'config', { cas_required: 'maybe' });
    assert.match(badBool.errors[0], /"cas_required"/);
  });
});

describe('kv v1', () => {
  it('writes, reads, replaces, deletes', async () => {
    const h = harness('kv');
    await h.call('write', 'app/config', { user: 'u', pass: 'p' });
    assert.equal(h.lastOperation, 'create');
    const read = await h.call('read', 'app/config');
    assert.deepEqual(read?.data, { user: 'u', pass: 'p' });
    assert.equal(read?.secret, undefined);
    await h.call('write', 'app/config', { only: 'this' });
    assert.equal(h.lastOperation, 'update');
    assert.deepEqual((await h.call('read', 'app/config'))?.data, { only: 'this' });
    assert.equal(await h.call('delete', 'app/config'), null);
    const gone = await h.fail('read', 'app/config');
    assert.equal(gone.status, 404);
    assert.deepEqual(gone.errors, []);
  });

  it('requires data fields', async () => {
    const h = harness('kv', { version: '1' });
    const err = await h.fail('write', 'empty', {});
    assert.equal(err.status, 400);
    assert.deepEqual(err.errors, ['missing data fields']);
  });

  it('reports a ttl key as the lease duration', async () => {
    const h = harness('kv');
    await h.call('write', 'leased', { value: 'x', ttl: '1h' });
    assert.deepEqual((await h.call('read', 'leased'))?.secret, { ttl: 3600, renewable: false });
    await h.call('write', 'leased', { value: 'x', ttl: 30 });
    assert.deepEqual((await h.call('read', 'leased'))?.secret, { ttl: 30, renewable: false });
  });

  it('lists folders, 404 when empty', async () => {
    const h = harness('kv');
    assert.equal((await h.fail('list', '')).status, 404);
    await h.call('write', 'a/b', { x: 1 });
    await h.call('write', 'a/c/d', { x: 1 });
    await h.call('write', 'e', { x: 1 });
    assert.deepEqual((await h.call('list', ''))?.data, { keys: ['a/', 'e'] });
    assert.deepEqual((await h.call('list', 'a/'))?.data, { keys: ['b', 'c/'] });
    assert.deepEqual((await h.call('list', 'a'))?.data, { keys: ['b', 'c/'] });
    assert.equal((await h.fail('list', 'zzz/')).status, 404);
  });
});

describe('kv factory', () => {
  it('selects the version from options', async () => {
    assert.equal(kvFactory.type, 'kv');
    assert.equal(kvV2Factory.type, 'kv-v2');
    const v2 = harness('kv', { version: '2' });
    assert.ok(matchPath(v2.backend, 'config'));
    assert.equal((await v2.call('write', 'data/x', { data: { a: 1 } }))?.data?.version, 1);
    assert.throws(() => kvFactory.create({ version: '3' }), (e: unknown) => e instanceof CofferError && e.status === 400);
  });

  it('serialises concurrent writes to one key', async () => {
    const h = harness('kv-v2');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      h.call('write', 'data/race', { data: { i } }).then((r) => dataOf(r).version as number)));
    assert.deepEqual([...results].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    // Exactly one cas:0 write wins.
    const cas = await Promise.allSettled(Array.from({ length: 5 }, () =>
      h.call('write', 'data/race2', { data: { a: 1 }, options: { cas: 0 } })));
    assert.equal(cas.filter((r) => r.status === 'fulfilled').length, 1);
  });
});
