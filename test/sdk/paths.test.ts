/**
 * Path declarations are typed by their field schema: a handler receives the schema's output as `req.data`. The
 * type checks are compile-time (`@ts-expect-error` fails the build when the line it marks compiles, so they fail
 * if handler data ever degrades to `any` again); the runtime checks run a declared path the way the core does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { declarePath, type Backend } from '../../src/sdk/backend.js';
import { engineHarness } from '../helpers/engine-harness.js';

const fields = z.object({ count: z.coerce.number().int(), label: z.string().optional() });

const counter = declarePath({
  pattern: 'count',
  fields,
  operations: {
    update: async (req) => {
      const doubled: number = req.data.count * 2;
      // @ts-expect-error `missing` is not a field of the path's schema
      void req.data.missing;
      // @ts-expect-error `label` is optional: a string or undefined, never a number
      const wrong: number = req.data.label;
      void wrong;
      return { data: { doubled, label: req.data.label ?? null } };
    },
  },
  existenceCheck: async (req) => {
    // @ts-expect-error `count` is a number, not a string
    const text: string = req.data.count;
    return text === undefined;
  },
});

/** A path without a schema receives the raw map. */
const untyped = declarePath({
  pattern: 'raw',
  freeForm: true,
  operations: { update: async (req) => ({ data: { keys: Object.keys(req.data).sort() } }) },
});

describe('sdk: typed path declarations', () => {
  it('declarePath keeps the declaration as the core reads it', () => {
    assert.equal(counter.pattern, 'count');
    assert.equal(counter.fields, fields);
    assert.equal(typeof counter.operations.update, 'function');
  });

  it('the handler receives the data its schema produced', async () => {
    const backend: Backend = { paths: [counter, untyped] };
    const h = engineHarness(backend);
    assert.deepEqual((await h.call('write', 'count', { count: '21' }))?.data, { doubled: 42, label: null });
    assert.deepEqual((await h.call('write', 'raw', { b: 1, a: 2 }))?.data, { keys: ['a', 'b'] });
    const err = await h.fail('write', 'count', { count: 'many' });
    assert.equal(err.status, 400);
    assert.match(err.errors[0]!, /field "count"/);
  });
});
