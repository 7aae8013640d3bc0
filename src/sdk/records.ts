/** Record paths by name (roles, connections): the one name pattern, and listing records. */
import type { z } from 'zod';
import { declarePath, type PathSpec, type Request, type Response } from './backend.js';
import { CofferError } from './errors.js';

/** Vault's framework.GenericNameRegex, as a named group. */
export const NAME = (group: string) => `(?<${group}>\\w(?:[\\w.-]*\\w)?)`;

/** A LIST of the direct children of `prefix` in the mount's storage; 404 when there are none, as in Vault. */
export async function listKeys(req: Request<unknown>, prefix: string, map: (key: string) => string = (k) => k): Promise<Response> {
  const keys = await req.storage.list(prefix);
  if (keys.length === 0) throw new CofferError(404, []);
  return { data: { keys: keys.map(map) } };
}

/** A keyed mutex's `run` (src/shared/mutex.ts): writes and deletes of one record never interleave. */
export type RecordLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export interface RecordPathOptions<R, F extends z.ZodType> {
  /** The URL segment: LIST `<segment>/`, and create/update, read, delete on `<segment>/<name>`. */
  segment: string;
  /** Where the records are stored: `<prefix><name>` in the mount's storage. */
  prefix: string;
  fields: F;
  /** Builds the stored record from a write; `existing` is null on create. Throws 400s for invalid combinations. */
  build(name: string, data: z.output<F>, existing: R | null, req: Request<z.output<F>>): Promise<R> | R;
  /** The record as `read` returns it. */
  present(record: R): Record<string, unknown>;
  /** Extra clean-up when a stored record is deleted. */
  onDelete?(req: Request<z.output<F>>, name: string, record: R): Promise<void>;
  /** Serialises the writes and deletes of one record (under its storage key); none by default. */
  lock?: RecordLock;
  listHelp: string;
  help: string;
}

const unlocked: RecordLock = (_key, fn) => fn();

/**
 * A family of records by name (Vault's roles, connections): LIST of the names, and create/update, read and
 * delete of one, declared once. A read of an unknown name is a 404 with no message, as in Vault.
 */
export function recordPaths<R, F extends z.ZodType>(opts: RecordPathOptions<R, F>): PathSpec[] {
  const key = (req: Request<unknown>) => `${opts.prefix}${req.params.name}`;
  const read = (req: Request<unknown>) => req.storage.getJSON<R>(key(req));
  const lock = opts.lock ?? unlocked;
  return [
    declarePath({
      pattern: `${opts.segment}/?`,
      operations: {
        list: async (req) => {
          // Only the records themselves: a family may keep more under a record's name (AppRole's secret IDs).
          const keys = (await req.storage.list(opts.prefix)).filter((k) => !k.endsWith('/'));
          if (!keys.length) throw new CofferError(404, []);
          return { data: { keys } };
        },
      },
      help: opts.listHelp,
    }),
    declarePath({
      pattern: `${opts.segment}/${NAME('name')}`,
      fields: opts.fields,
      existenceCheck: async (req) => (await read(req)) !== null,
      operations: {
        read: async (req) => {
          const record = await read(req);
          if (!record) throw new CofferError(404, []);
          return { data: opts.present(record) };
        },
        update: (req) =>
          lock(key(req), async () => {
            const record = await opts.build(req.params.name, req.data, await read(req), req);
            await req.storage.putJSON(key(req), record);
            return null;
          }),
        delete: (req) =>
          lock(key(req), async () => {
            const record = await read(req);
            if (record && opts.onDelete) await opts.onDelete(req, req.params.name, record);
            await req.storage.delete(key(req));
            return null;
          }),
      },
      help: opts.help,
    }),
  ];
}
