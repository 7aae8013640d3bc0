/**
 * Ephemeral `coffer_token`: a token created for the run (attributes as in vault_token), renewed while it
 * lasts and revoked by its accessor at close.
 */
import { z } from 'zod';
import { DiagnosticsError, error, type EphemeralResource } from '../protocol/types.js';
import type { Session } from '../session.js';
import { declare, type AttributeDecl } from '../declaration.js';
import { duration, parseConfig, validateKnown } from '../values.js';
import { closeHandle, encodeHandle, renewAt, renewHandle } from './handle.js';

/** The token's settings and what creating it answers, shared with the managed `coffer_token`. */
export const tokenAttributes = {
  policies: { type: ['set', 'string'], optional: true, check: z.array(z.string().min(1, 'must not be empty')), description: 'Policies of the token; a subset of the provider token’s unless it has sudo.' },
  ttl: { type: 'string', optional: true, check: duration, description: 'TTL, e.g. 1h.' },
  explicit_max_ttl: { type: 'string', optional: true, check: duration, description: 'Hard limit on the TTL, renewals included.' },
  period: { type: 'string', optional: true, check: duration, description: 'Makes a periodic token renewed by this period.' },
  renewable: { type: 'bool', optional: true, check: z.boolean(), description: 'Whether the token can be renewed (default true).' },
  display_name: { type: 'string', optional: true, check: z.string(), description: 'Display name.' },
  num_uses: { type: 'number', optional: true, check: z.number().int('must be a whole number').nonnegative('must not be negative'), description: 'Uses before the token is revoked; 0 for unlimited.' },
  no_default_policy: { type: 'bool', optional: true, check: z.boolean(), description: 'Leave out the default policy.' },
  metadata: { type: ['map', 'string'], optional: true, check: z.record(z.string(), z.string()), description: 'Metadata recorded with the token.' },
  client_token: { type: 'string', computed: true, sensitive: true, description: 'The token.' },
  accessor: { type: 'string', computed: true, description: 'Its accessor.' },
  lease_duration: { type: 'number', computed: true, description: 'Seconds the token lasts.' },
} as const satisfies Record<string, AttributeDecl>;

const declared = declare({
  description: 'Creates a token (a child of the provider token) for the duration of the Terraform run and revokes it at its end.',
  attributes: tokenAttributes,
});

export const tokenEphemeral: EphemeralResource<Session> = {
  typeName: 'coffer_token',
  schema: declared.schema,
  validate: (c) => validateKnown(declared.config, c),
  async open(raw, session) {
    const c = parseConfig(declared.config, raw);
    const body = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null));
    const res = await session.write('create', 'auth/token/create', body);
    const auth = res?.auth;
    if (!auth?.client_token) throw new DiagnosticsError(error('auth/token/create answered without a token'));
    return {
      result: declared.state({ client_token: auth.client_token, accessor: auth.accessor, lease_duration: auth.lease_duration }),
      renewAt: renewAt(auth.lease_duration, auth.renewable),
      private: encodeHandle({ kind: 'token', accessor: auth.accessor }),
    };
  },
  renew: renewHandle,
  close: closeHandle,
};
