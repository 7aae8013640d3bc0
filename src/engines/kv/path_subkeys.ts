/**
 * `subkeys/:path`: the structure of a version's data with every value replaced by null (`?version=N`,
 * `?depth=D` where 0 or absent means no limit). Lets a client see which keys exist without reading secrets.
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { CofferError } from '../../sdk/errors.js';
import { int } from '../../sdk/fields.js';
import { isLive, isPlainObject, setOwn, versionBody, VersionedStore } from './store.js';

const subkeysFields = z.object({
  version: int().optional(),
  depth: int().optional(),
});
type SubkeysBody = z.infer<typeof subkeysFields>;

/**
 * A copy of `data` keeping its nesting and replacing every leaf (non-object or empty object) by null. Objects
 * deeper than `maxDepth` (the top level is depth 1) become null too; `maxDepth` 0 means no limit.
 */
export function subkeysOf(data: Record<string, unknown>, maxDepth: number, depth = 1): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    const descend = isPlainObject(v) && Object.keys(v).length > 0 && (maxDepth === 0 || depth + 1 <= maxDepth);
    setOwn(out, k, descend ? subkeysOf(v as Record<string, unknown>, maxDepth, depth + 1) : null);
  }
  return out;
}

async function readSubkeys(req: Request<SubkeysBody>): Promise<Response> {
  const key = req.params.path;
  const store = new VersionedStore(req.storage);
  for (let attempt = 0; ; attempt++) {
    const meta = await store.readMeta(key);
    if (!meta) throw new CofferError(404, []);
    const requested = req.data.version ?? 0;
    const version = requested > 0 ? requested : meta.current_version;
    const vm = meta.versions[String(version)];
    if (!vm) throw new CofferError(404, []);
    const metadata = versionBody(meta, version, vm);
    if (!isLive(vm)) return { status: 404, data: { subkeys: null, metadata } };
    const data = await store.getVersionData(key, version);
    // A destroy or prune between the two reads: look at the metadata again.
    if (data) return { data: { metadata, subkeys: subkeysOf(data, req.data.depth ?? 0) } };
    if (attempt > 0) throw new Error('could not find version data');
  }
}

export function pathSubkeys(): PathSpec[] {
  return [
    {
      pattern: 'subkeys/(?<path>.*)',
      fields: subkeysFields,
      operations: { read: readSubkeys },
      help: 'Reads the structure of a secret with its values removed (leaves are null). ?version=N selects a '
        + 'version, ?depth=D limits the nesting shown (0 = no limit).',
    },
  ];
}
