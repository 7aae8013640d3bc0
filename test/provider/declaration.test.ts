/**
 * Resource declarations (provider/declaration.ts): one declaration yields the schema Terraform is served, the
 * zod check of a configuration and the state a lifecycle step builds; and every unit of the provider, built
 * from its declaration, still serves the schema the committed CDKTF bindings were generated from.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { declare } from '../../provider/declaration.js';
import { cofferProvider } from '../../provider/provider.js';
import { GENERATED_DIR } from '../../provider/cdktf/build-bindings.js';
import type { BlockSpec } from '../../provider/protocol/schema.js';

describe('declare', () => {
  const inner = declare({ attributes: { key: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'K.' } } });
  const d = declare({
    description: 'A thing.',
    attributes: {
      id: { type: 'string', computed: true, description: 'Id.' },
      name: { type: 'string', required: true, check: z.string().regex(/^[a-z]+$/, 'lower case only'), description: 'Name.' },
      ttl: { type: 'number', optional: true, computed: true, check: z.number().int('whole'), description: 'TTL.' },
      secret: { type: 'string', optional: true, sensitive: true, writeOnly: true, check: z.string(), description: 'Secret.' },
    },
    blocks: { item: { nesting: 'list', maxItems: 2, block: inner, check: z.array(inner.config).max(2, 'two at most') } },
  });

  it('yields the schema without the checks, in declaration order', () => {
    assert.deepEqual(d.schema, {
      block: {
        description: 'A thing.',
        attributes: {
          id: { type: 'string', computed: true, description: 'Id.' },
          name: { type: 'string', required: true, description: 'Name.' },
          ttl: { type: 'number', optional: true, computed: true, description: 'TTL.' },
          secret: { type: 'string', optional: true, sensitive: true, writeOnly: true, description: 'Secret.' },
        },
        blocks: { item: { nesting: 'list', maxItems: 2, block: { attributes: { key: { type: 'string', required: true, description: 'K.' } } } } },
      },
    });
    assert.deepEqual(Object.keys(d.schema.block.attributes), ['id', 'name', 'ttl', 'secret']);
    assert.deepEqual(declare({ attributes: {} }, 2).schema, { version: 2, block: { attributes: {} } });
  });

  it('checks arguments and blocks; optional arguments may be null (unset), required ones may not', () => {
    assert.deepEqual(Object.keys(d.config.shape), ['name', 'ttl', 'secret', 'item'], 'computed-only attributes are not checked');
    assert.deepEqual(d.config.parse({ id: 'x', name: 'abc', ttl: null, secret: null, item: [{ key: 'k' }] }), {
      name: 'abc',
      ttl: null,
      secret: null,
      item: [{ key: 'k' }],
    });
    const issues = (value: unknown) => d.config.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(issues({ name: 'ABC', ttl: 1.5, secret: null, item: [{ key: '' }] }), ['name: lower case only', 'ttl: whole', 'item.0.key: must not be empty']);
    assert.deepEqual(issues({ name: 'abc', ttl: 1, secret: 's', item: [{ key: 'a' }, { key: 'b' }, { key: 'c' }] }), ['item: two at most']);
    assert.equal(d.config.safeParse({ name: null, ttl: null, secret: null, item: [] }).success, false, 'a required argument is never null');
  });

  it('refuses an argument without a check and a computed-only attribute with one', () => {
    assert.throws(() => declare({ attributes: { a: { type: 'string', optional: true, description: 'A.' } } }), /a: an argument needs a check/);
    assert.throws(() => declare({ attributes: { b: { type: 'string', computed: true, check: z.string(), description: 'B.' } } }), /b: a computed-only attribute is never checked/);
  });

  it('builds state from declared attributes', () => {
    assert.deepEqual(d.state({ id: 'x', ttl: 3, item: [] }), { id: 'x', ttl: 3, item: [] });
    // @ts-expect-error an attribute the schema does not declare does not compile
    d.state({ nmae: 'typo' });
  });
});

/** An attribute as `terraform providers schema -json` shows it. */
function jsonAttribute(a: BlockSpec['attributes'][string]): Record<string, unknown> {
  const flags = { required: a.required, optional: a.optional, computed: a.computed, sensitive: a.sensitive, write_only: a.writeOnly, deprecated: a.deprecated };
  return {
    type: a.type,
    description: a.description,
    description_kind: 'plain',
    ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v)),
  };
}

/** A block as `terraform providers schema -json` shows it (attributes and block types sorted by name). */
function jsonBlock(block: BlockSpec): Record<string, unknown> {
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  const blockTypes = Object.entries(block.blocks ?? {}).map(([name, nb]) => [
    name,
    { nesting_mode: nb.nesting, block: jsonBlock(nb.block), ...(nb.minItems ? { min_items: nb.minItems } : {}), ...(nb.maxItems ? { max_items: nb.maxItems } : {}) },
  ]);
  return {
    ...(Object.keys(block.attributes).length ? { attributes: sorted(Object.fromEntries(Object.entries(block.attributes).map(([n, a]) => [n, jsonAttribute(a)]))) } : {}),
    ...(blockTypes.length ? { block_types: sorted(Object.fromEntries(blockTypes)) } : {}),
    ...(block.description ? { description: block.description } : {}),
    description_kind: 'plain',
  };
}

describe('the provider built from declarations', () => {
  const committed = JSON.parse(readFileSync(path.join(GENERATED_DIR, 'schema.json'), 'utf8'));
  const provider = cofferProvider({}, () => undefined);
  const units = [
    ['data_source_schemas', provider.dataSources],
    ['ephemeral_resource_schemas', provider.ephemeralResources],
    ['resource_schemas', provider.resources],
  ] as const;

  it('serves the schema the committed bindings were generated from', () => {
    // The CDKTF generator adds `alias` (a meta-argument) to the provider's attributes before schema.json is written.
    const { alias: _alias, ...providerAttributes } = committed.provider.block.attributes;
    assert.deepEqual(jsonBlock(provider.schema.block), { ...committed.provider.block, attributes: providerAttributes }, 'provider');
    for (const [kind, list] of units) {
      assert.deepEqual(list.map((u) => u.typeName).sort(), Object.keys(committed[kind]).sort(), kind);
      for (const unit of list) assert.deepEqual(jsonBlock(unit.schema.block), committed[kind][unit.typeName].block, `${kind}.${unit.typeName}`);
    }
  });
});
