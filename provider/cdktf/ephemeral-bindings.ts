/**
 * Writes generated/ephemeral.ts: one CDKTF construct per ephemeral resource in the provider's schema.
 * @cdktf/provider-generator (CDKTF 0.21, archived) knows nothing of ephemeral resources, so this small generator
 * does for them what it does for the rest: a config interface (camelCase keys, written in snake_case by
 * CofferEphemeralResource), a class passing its type name, and one typed getter per schema attribute.
 */

interface SchemaAttribute {
  type: unknown;
  description?: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
}

export interface EphemeralSchema {
  block: { description?: string; attributes: Record<string, SchemaAttribute>; block_types?: object };
}

/** How a cty type is passed in (config) and read back (getter). */
interface TsShape {
  arg: string;
  getter: string;
  reader: string;
}

function shape(type: unknown, where: string): TsShape {
  const json = JSON.stringify(type);
  if (json === '"string"') return { arg: 'string', getter: 'string', reader: 'stringAttribute' };
  if (json === '"number"') return { arg: 'number', getter: 'number', reader: 'numberAttribute' };
  if (json === '"bool"') return { arg: 'boolean | IResolvable', getter: 'IResolvable', reader: 'booleanAttribute' };
  if (json === '["map","string"]') return { arg: 'Record<string, string>', getter: 'Record<string, string>', reader: 'stringMapAttribute' };
  if (json === '["list","string"]' || json === '["set","string"]') return { arg: 'string[]', getter: 'string[]', reader: 'listAttribute' };
  throw new Error(`${where}: no CDKTF binding for the type ${json}; teach provider/cdktf/ephemeral-bindings.ts`);
}

const camelCase = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascalCase = (name: string) => camelCase(name).replace(/^./, (c) => c.toUpperCase());

/** A JSDoc comment at `indent`, or nothing for an empty description. */
function doc(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n` : '';
}

/** The construct class name for an ephemeral resource type: coffer_token → EphemeralCofferToken. */
export const ephemeralClassName = (type: string): string => `Ephemeral${pascalCase(type)}`;

function construct(type: string, schema: EphemeralSchema): string {
  if (schema.block.block_types && Object.keys(schema.block.block_types).length > 0) {
    throw new Error(`${type}: nested blocks need support in provider/cdktf/ephemeral-bindings.ts`);
  }
  const name = ephemeralClassName(type);
  const attributes = Object.entries(schema.block.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const args = attributes.filter(([, a]) => a.required || a.optional);
  const fields = args.map(([attr, a]) => `${doc(a.description, '  ')}  readonly ${camelCase(attr)}${a.required ? '' : '?'}: ${shape(a.type, `${type}.${attr}`).arg};\n`);
  const getters = attributes.map(([attr, a]) => {
    const s = shape(a.type, `${type}.${attr}`);
    return `  get ${camelCase(attr)}(): ${s.getter} {\n    return this.${s.reader}('${attr}');\n  }\n`;
  });
  // With no required argument the config may be left out, as with the generated classes.
  const configParam = args.some(([, a]) => a.required) ? `config: ${name}Config` : `config: ${name}Config = {}`;
  return (
    `export interface ${name}Config extends CofferEphemeralMetaArguments {\n${fields.join('')}}\n\n` +
    `${doc(`\`${type}\`: ${schema.block.description ?? ''}`, '')}` +
    `export class ${name} extends CofferEphemeralResource<${name}Config> {\n` +
    `  static readonly tfResourceType = '${type}';\n` +
    `  constructor(scope: Construct, id: string, ${configParam}) {\n` +
    `    super(scope, id, ${name}.tfResourceType, config);\n  }\n` +
    `${getters.join('')}}\n`
  );
}

/** The text of generated/ephemeral.ts (after `header`) for the schema's ephemeral resources, in name order. */
export function ephemeralBindings(schemas: Record<string, EphemeralSchema>): string {
  const classes = Object.keys(schemas)
    .sort()
    .map((type) => construct(type, schemas[type]!));
  const imports = [
    "import type { Construct } from 'constructs';\n",
    classes.some((c) => c.includes('IResolvable')) ? "import type { IResolvable } from 'cdktf';\n" : '',
    "import { CofferEphemeralResource, type CofferEphemeralMetaArguments } from '../ephemeral.js';\n",
  ];
  return [imports.join(''), ...classes].join('\n');
}
