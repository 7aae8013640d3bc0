/**
 * KV version 1: one unversioned JSON map per path, stored under the path itself. Read, write (the whole map
 * is replaced), delete and list. A `ttl` (or legacy `lease`) key in the data is reported as the lease
 * duration of reads, as a hint to consumers to re-read; nothing is revoked.
 */
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { parseDuration } from '../../sdk/duration.js';
import { badRequest, CofferError } from '../../sdk/errors.js';
import { isPlainObject } from './store.js';

const isKeyPath = (path: string) => path !== '' && !path.endsWith('/');

async function readV1(req: Request): Promise<Response> {
  const path = req.params.path;
  const data = isKeyPath(path) ? await req.storage.getJSON<Record<string, unknown>>(path) : null;
  if (!data) throw new CofferError(404, []);
  const response: Response = { data };
  const hint = Object.prototype.hasOwnProperty.call(data, 'ttl') ? data.ttl
    : Object.prototype.hasOwnProperty.call(data, 'lease') ? data.lease : undefined;
  if (hint !== undefined) {
    let ttl: number | undefined;
    try {
      ttl = parseDuration(hint, 'ttl');
    } catch {
      ttl = undefined;
    }
    response.secret = { ttl: ttl ?? req.system.defaultLeaseTTL(), renewable: false };
  }
  return response;
}

async function writeV1(req: Request): Promise<null> {
  const path = req.params.path;
  if (path === '') throw badRequest('missing path');
  if (path.endsWith('/')) throw badRequest('invalid path: a key name cannot end with "/"');
  const data: unknown = req.data;
  if (!isPlainObject(data)) throw badRequest('invalid request data: field "(body)": expected a JSON object');
  if (Object.keys(data).length === 0) throw badRequest('missing data fields');
  await req.storage.putJSON(path, data);
  return null;
}

async function deleteV1(req: Request): Promise<null> {
  const path = req.params.path;
  if (isKeyPath(path)) await req.storage.delete(path);
  return null;
}

async function listV1(req: Request): Promise<Response> {
  let prefix = req.params.path;
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  const keys = await req.storage.list(prefix);
  if (keys.length === 0) throw new CofferError(404, []);
  return { data: { keys } };
}

async function existsV1(req: Request): Promise<boolean> {
  const path = req.params.path;
  return isKeyPath(path) && (await req.storage.get(path)) !== null;
}

export function pathsV1(): PathSpec[] {
  return [
    {
      pattern: '(?<path>.*)',
      // A v1 secret is whatever map the client writes.
      freeForm: true,
      operations: { read: readV1, create: writeV1, update: writeV1, delete: deleteV1, list: listV1 },
      existenceCheck: existsV1,
      help: 'Pass-through secret storage: write any JSON map at a path, read it back, delete it, list a '
        + 'folder. A "ttl" key in the data sets the lease duration reported on read.',
    },
  ];
}
