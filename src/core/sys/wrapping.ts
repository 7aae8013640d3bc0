/**
 * sys/wrapping/*: wrap arbitrary data, unwrap, look up and rewrap response-wrapping tokens (Vault's API).
 * The token is `token` in the body, or else the client token; the pipeline has already refused anything that
 * is not a live wrapping token (see WRAPPING_TOKEN_PATHS).
 */
import { z } from 'zod';
import type { PathSpec, Request } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { badRequest } from '../../sdk/errors.js';
import { tokenFromHeaders } from '../tokens/header.js';
import { requestedWrapTTL, storedToResponse } from '../wrapping/wrap.js';

const tokenField = z.looseObject({ token: z.string().nullish() });

export function wrappingPaths(core: Core): PathSpec[] {
  const wrapping = core.wrapping;
  const lookup = async (req: Request) => {
    const { entry } = await wrapping.find(tokenFromHeaders(req.headers), req.data);
    const { info } = await wrapping.contents(entry);
    return { data: { ...info } };
  };
  return [
    {
      pattern: 'wrapping/wrap',
      // The body is the caller's own data to wrap, not fields of the path.
      freeForm: true,
      operations: {
        // The answer is the request's own data; the pipeline wraps it like any response.
        update: async (req: Request) => {
          if (requestedWrapTTL(req.headers) === 0) throw badRequest('endpoint requires response wrapping to be used');
          return { data: { ...req.data } };
        },
      },
      help: 'Wraps the given data in a response-wrapping token (requires X-Vault-Wrap-TTL).',
    },
    {
      pattern: 'wrapping/unwrap',
      fields: tokenField,
      operations: { update: async (req: Request) => storedToResponse((await wrapping.consume(req)).response) },
      help: 'Returns the wrapped response and invalidates the wrapping token.',
    },
    {
      pattern: 'wrapping/lookup',
      fields: tokenField,
      unauthenticated: true,
      operations: { update: lookup, read: lookup },
      help: 'Looks up the creation TTL, time and path of a wrapping token without using it.',
    },
    {
      pattern: 'wrapping/rewrap',
      fields: tokenField,
      operations: {
        // A new token with the same response, TTL and creation path; the old token is used up.
        update: async (req: Request) => {
          const { response, info } = await wrapping.consume(req);
          const wrapInfo = await wrapping.wrap(response, info.creation_ttl, info.creation_path, { displayName: req.caller.displayName });
          return { wrapInfo };
        },
      },
      help: 'Moves a wrapped response to a new wrapping token with the same TTL, invalidating the old token.',
    },
  ];
}
