/** The record-path family of src/sdk/records.ts, run the way the core runs paths (match, existence, validate). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { recordPaths } from '../../src/sdk/records.js';
import { engineHarness } from '../helpers/engine-harness.js';

interface Widget { size: number; writes: number }

function widgets() {
  const locked: string[] = [];
  const deleted: string[] = [];
  const paths = recordPaths<Widget, z.ZodObject<{ size: z.ZodOptional<z.ZodNumber> }>>({
    segment: 'widgets',
    prefix: 'widget/',
    fields: z.object({ size: z.number().int().optional() }),
    build: (_name, data, existing) => ({ size: data.size ?? existing?.size ?? 1, writes: (existing?.writes ?? 0) + 1 }),
    present: (w) => ({ size: w.size, writes: w.writes }),
    onDelete: async (_req, name) => void deleted.push(name),
    lock: async (key, fn) => {
      locked.push(key);
      return fn();
    },
    listHelp: 'List the widgets.',
    help: 'A widget.',
  });
  return { h: engineHarness({ paths }), locked, deleted };
}

describe('sdk: record paths by name', () => {
  it('create, update on top of the stored record, read, list, delete; writes and deletes under the record\'s lock', async () => {
    const { h, locked, deleted } = widgets();
    await h.call('write', 'widgets/a-1', { size: 3 });
    assert.equal(h.lastOperation, 'create');
    await h.call('write', 'widgets/a-1', {});
    assert.equal(h.lastOperation, 'update');
    assert.deepEqual((await h.call('read', 'widgets/a-1'))?.data, { size: 3, writes: 2 });
    await h.call('write', 'widgets/b', { size: 5 });
    await h.storage.putJSON('widget/b/child', { kept: 'under a record name' });
    assert.deepEqual((await h.call('list', 'widgets/'))?.data, { keys: ['a-1', 'b'] });
    await h.call('delete', 'widgets/a-1');
    await h.call('delete', 'widgets/never');
    assert.deepEqual(deleted, ['a-1'], 'onDelete runs for a stored record only');
    assert.deepEqual(locked, ['widget/a-1', 'widget/a-1', 'widget/b', 'widget/a-1', 'widget/never']);
  });

  it('an unknown record reads and lists as 404; a bad name or field is refused', async () => {
    const { h } = widgets();
    assert.deepEqual((await h.fail('read', 'widgets/none')).status, 404);
    assert.deepEqual((await h.fail('list', 'widgets/')).status, 404);
    assert.equal((await h.fail('write', 'widgets/-bad-')).status, 404, 'the name pattern does not match');
    const err = await h.fail('write', 'widgets/ok', { size: 'big' });
    assert.equal(err.status, 400);
    assert.match(err.errors[0]!, /field "size"/);
  });
});
