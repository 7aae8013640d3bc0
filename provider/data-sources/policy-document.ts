/**
 * `coffer_policy_document`: policy HCL built from `rule` blocks (as vault_policy_document), checked before it
 * reaches the server. Needs no server: it works before the provider can reach one.
 */
import { z } from 'zod';
import type { ObjectValue } from '../protocol/codec.js';
import type { DataSource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { declare } from '../declaration.js';
import { duration, parseConfig, validateKnown } from '../values.js';

const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'] as const;

const parameter = declare({
  attributes: {
    key: { type: 'string', required: true, check: z.string().min(1, 'must not be empty'), description: 'Parameter name; "*" for any.' },
    value: { type: ['list', 'string'], required: true, check: z.array(z.string()), description: 'Values allowed (or denied); empty for any.' },
  },
});

const parameters = { nesting: 'list', block: parameter, check: z.array(parameter.config) } as const;

const rule = declare({
  attributes: {
    path: {
      type: 'string',
      required: true,
      check: z.string().min(1, 'must not be empty').regex(/^[^"\n]*$/, 'must not contain quotes or newlines'),
      description: 'Path pattern the rule applies to (globs * and + as in policies).',
    },
    capabilities: {
      type: ['list', 'string'],
      required: true,
      check: z.array(z.enum(CAPABILITIES, { error: `must be one of ${CAPABILITIES.join(', ')}` })).min(1, 'needs at least one capability'),
      description: `Capabilities granted: ${CAPABILITIES.join(', ')}.`,
    },
    description: { type: 'string', optional: true, check: z.string(), description: 'Written as a comment above the rule.' },
    required_parameters: { type: ['list', 'string'], optional: true, check: z.array(z.string()), description: 'Parameters a request must carry.' },
    min_wrapping_ttl: { type: 'string', optional: true, check: duration, description: 'Minimum response-wrapping TTL.' },
    max_wrapping_ttl: { type: 'string', optional: true, check: duration, description: 'Maximum response-wrapping TTL.' },
  },
  blocks: { allowed_parameter: parameters, denied_parameter: parameters },
});

const declared = declare({
  description: 'Builds policy HCL from rule blocks, for coffer_policy or any Vault-compatible policy endpoint.',
  attributes: {
    hcl: { type: 'string', computed: true, description: 'The policy document.' },
  },
  blocks: {
    rule: { nesting: 'list', minItems: 1, block: rule, check: z.array(rule.config).min(1, 'needs at least one rule block') },
  },
});

const q = (s: string) => JSON.stringify(s);
const list = (items: string[]) => `[${items.map(q).join(', ')}]`;

function parametersHcl(name: string, params: z.infer<typeof parameter.config>[]): string[] {
  if (!params.length) return [];
  return [`  ${name} = {`, ...params.map((p) => `    ${q(p.key)} = ${list(p.value)}`), '  }'];
}

export function policyHcl(rules: z.infer<typeof rule.config>[]): string {
  return rules
    .map((r) =>
      [
        ...(r.description ? r.description.split('\n').map((l) => `# ${l}`) : []),
        `path ${q(r.path)} {`,
        `  capabilities = ${list(r.capabilities)}`,
        ...(r.required_parameters?.length ? [`  required_parameters = ${list(r.required_parameters)}`] : []),
        ...parametersHcl('allowed_parameters', r.allowed_parameter),
        ...parametersHcl('denied_parameters', r.denied_parameter),
        ...(r.min_wrapping_ttl ? [`  min_wrapping_ttl = ${q(r.min_wrapping_ttl)}`] : []),
        ...(r.max_wrapping_ttl ? [`  max_wrapping_ttl = ${q(r.max_wrapping_ttl)}`] : []),
        '}',
      ].join('\n'),
    )
    .join('\n\n')
    .concat('\n');
}

export const policyDocument: DataSource<Session> = {
  typeName: 'coffer_policy_document',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async read(raw): Promise<ObjectValue> {
    return declared.state({ hcl: policyHcl(parseConfig(declared.config, raw).rule) });
  },
};
