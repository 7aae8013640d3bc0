/**
 * The schema model: a provider, data source or resource declares its block once, and both the wire `Schema`
 * Terraform reads and the cty type the value codec decodes and encodes with are derived from that declaration,
 * so the two can never disagree.
 */

/** A cty type in its JSON form, as Terraform writes it into `Schema.Attribute.type`. */
export type CtyType =
  | 'string'
  | 'number'
  | 'bool'
  | 'dynamic'
  | ['list', CtyType]
  | ['set', CtyType]
  | ['map', CtyType]
  | ['object', { [name: string]: CtyType }]
  | ['tuple', CtyType[]];

export interface AttributeSpec {
  type: CtyType;
  description: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  /** Terraform 1.11: accepted in configuration, never stored in plan or state. */
  writeOnly?: boolean;
  deprecated?: boolean;
}

export type NestingMode = 'single' | 'list' | 'set';

export interface NestedBlockSpec {
  nesting: NestingMode;
  block: BlockSpec;
  minItems?: number;
  maxItems?: number;
}

export interface BlockSpec {
  description?: string;
  attributes: { [name: string]: AttributeSpec };
  blocks?: { [name: string]: NestedBlockSpec };
}

export interface SchemaSpec {
  version?: number;
  block: BlockSpec;
}

/** The object type a block's values have: one attribute per attribute and per nested block. */
export function blockType(block: BlockSpec): CtyType {
  const attrs: { [name: string]: CtyType } = {};
  for (const [name, a] of Object.entries(block.attributes)) attrs[name] = a.type;
  for (const [name, nb] of Object.entries(block.blocks ?? {})) {
    const inner = blockType(nb.block);
    attrs[name] = nb.nesting === 'single' ? inner : [nb.nesting, inner];
  }
  return ['object', attrs];
}

const NESTING_WIRE: Record<NestingMode, string> = { single: 'SINGLE', list: 'LIST', set: 'SET' };

function wireBlock(block: BlockSpec, version: number): Record<string, unknown> {
  return {
    version,
    description: block.description ?? '',
    description_kind: 'PLAIN',
    attributes: Object.entries(block.attributes).map(([name, a]) => ({
      name,
      type: Buffer.from(JSON.stringify(a.type)),
      description: a.description,
      description_kind: 'PLAIN',
      required: !!a.required,
      optional: !!a.optional,
      computed: !!a.computed,
      sensitive: !!a.sensitive,
      write_only: !!a.writeOnly,
      deprecated: !!a.deprecated,
    })),
    block_types: Object.entries(block.blocks ?? {}).map(([name, nb]) => ({
      type_name: name,
      block: wireBlock(nb.block, 0),
      nesting: NESTING_WIRE[nb.nesting],
      min_items: nb.minItems ?? 0,
      max_items: nb.maxItems ?? 0,
    })),
  };
}

/** The `tfplugin6.Schema` message (as a plain object for the protobuf encoder). */
export function wireSchema(schema: SchemaSpec): Record<string, unknown> {
  const version = schema.version ?? 0;
  return { version, block: wireBlock(schema.block, version) };
}

/** Throws when a declaration is inconsistent; called once per schema when the provider is assembled. */
export function checkSchema(where: string, block: BlockSpec): void {
  for (const [name, a] of Object.entries(block.attributes)) {
    const modes = [a.required, a.optional || a.computed].filter(Boolean).length;
    if (modes !== 1) throw new Error(`${where}.${name}: exactly one of required or optional/computed`);
    if (a.writeOnly && (a.computed || a.sensitive === false)) throw new Error(`${where}.${name}: a write-only attribute cannot be computed`);
  }
  for (const [name, nb] of Object.entries(block.blocks ?? {})) {
    if (name in block.attributes) throw new Error(`${where}.${name}: both an attribute and a block`);
    checkSchema(`${where}.${name}`, nb.block);
  }
}
