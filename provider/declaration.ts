/**
 * One declaration per data source, ephemeral resource and managed resource (in the manner of
 * terraform-plugin-framework's schema): each attribute is written once, with its type, mode, sensitivity,
 * description and, for an argument, its zod check. From it come the Terraform schema, the zod object that
 * checks a configuration (an optional argument's check is made nullable, since unset arrives as null) and a
 * typed way to build state, in which an attribute the schema does not declare fails to compile.
 */
import { z } from 'zod';
import type { Value } from './protocol/codec.js';
import type { AttributeSpec, BlockSpec, NestedBlockSpec, SchemaSpec } from './protocol/schema.js';

/** An attribute: an argument (required or optional) carries its check; a computed-only one carries none. */
export type AttributeDecl = AttributeSpec & { check?: z.ZodType };

/**
 * A nested block: its inner declaration, and the check of the block's value (a list of objects), built on
 * the inner declaration's `config` with the messages for too few or too many blocks.
 */
export interface NestedBlockDecl extends Omit<NestedBlockSpec, 'block'> {
  block: { block: BlockSpec };
  check: z.ZodType;
}

/** The zod shape of the arguments: required ones as checked, optional ones also null. */
type ConfigShape<A extends Record<string, AttributeDecl>, B extends Record<string, NestedBlockDecl>> = {
  [K in keyof A as A[K] extends { check: z.ZodType } ? K : never]: A[K] extends { check: infer C extends z.ZodType }
    ? A[K] extends { required: true }
      ? C
      : z.ZodNullable<C>
    : never;
} & { [K in keyof B]: B[K]['check'] };

export interface Declaration<A extends Record<string, AttributeDecl>, B extends Record<string, NestedBlockDecl>> {
  /** What Terraform is told (GetProviderSchema). */
  schema: SchemaSpec;
  /** The block without checks, to nest in another declaration. */
  block: BlockSpec;
  /** Checks a configuration's arguments and nested blocks. */
  config: z.ZodObject<ConfigShape<A, B>>;
  /** The attributes a lifecycle step sets, by declared name only. */
  state(values: { [K in keyof A | keyof B]?: Value }): { [K in keyof A | keyof B]?: Value };
}

/** The attribute as the schema model has it: the check is not part of the wire schema. */
function spec({ check: _check, ...attribute }: AttributeDecl): AttributeSpec {
  return attribute;
}

/** Declares a block; an argument without a check is a programming error caught when the provider loads. */
export function declare<const A extends Record<string, AttributeDecl>, const B extends Record<string, NestedBlockDecl> = {}>(
  decl: { description?: string; attributes: A; blocks?: B },
  version?: number,
): Declaration<A, B> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, a] of Object.entries(decl.attributes)) {
    const argument = a.required || a.optional;
    if (argument && !a.check) throw new Error(`${name}: an argument needs a check`);
    if (!argument && a.check) throw new Error(`${name}: a computed-only attribute is never checked`);
    if (a.check) shape[name] = a.required ? a.check : a.check.nullable();
  }
  for (const [name, b] of Object.entries(decl.blocks ?? {})) shape[name] = b.check;
  const blocks = decl.blocks
    ? Object.fromEntries(Object.entries(decl.blocks).map(([name, { check: _check, block, ...nested }]) => [name, { ...nested, block: block.block }]))
    : undefined;
  const block: BlockSpec = {
    ...(decl.description !== undefined ? { description: decl.description } : {}),
    attributes: Object.fromEntries(Object.entries(decl.attributes).map(([name, a]) => [name, spec(a)])),
    ...(blocks ? { blocks } : {}),
  };
  return {
    schema: version === undefined ? { block } : { version, block },
    block,
    config: z.object(shape) as z.ZodObject<ConfigShape<A, B>>,
    state: (values) => values,
  };
}
