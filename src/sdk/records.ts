/** Record paths by name (roles, connections): the one name pattern, and listing records. */
import type { Request, Response } from './backend.js';
import { CofferError } from './errors.js';

/** Vault's framework.GenericNameRegex, as a named group. */
export const NAME = (group: string) => `(?<${group}>\\w(?:[\\w.-]*\\w)?)`;

/** A LIST of the direct children of `prefix` in the mount's storage; 404 when there are none, as in Vault. */
export async function listKeys(req: Request, prefix: string, map: (key: string) => string = (k) => k): Promise<Response> {
  const keys = await req.storage.list(prefix);
  if (keys.length === 0) throw new CofferError(404, []);
  return { data: { keys: keys.map(map) } };
}
