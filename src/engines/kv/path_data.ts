/**
 * `data/:path`: read (optionally `?version=N`), write (create/update: a new version), patch (JSON merge patch
 * of the current version into a new version) and soft delete of the latest version.
 */
import { z } from 'zod';
import type { Handler, PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest, CofferError } from '../../sdk/errors.js';
import { int } from '../../sdk/fields.js';
import {
  isDeleted,
  isLive,
  isPlainObject,
  type KeyMetadata,
  type KVConfig,
  type KVContext,
  mergePatch,
  newKeyMetadata,
  nowNs,
  formatTime,
  versionBody,
  VersionedStore,
} from './store.js';

const notFound = () => new CofferError(404, []);

const dataFields = z.object({
  /** Reads: which version (0 or absent = current). */
  version: int().optional(),
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  options: z
    .object({
      // A present-but-null cas counts as 0, as Vault's weak decoding does.
      cas: int().nullable().optional(),
    })
    .nullable()
    .optional(),
});
type DataBody = z.infer<typeof dataFields>;

/**
 * Check-and-set: with `options.cas` the write happens only when it equals the key's current version (0 = the
 * key must not exist yet); without it the write fails when the mount or the key requires cas.
 */
export function checkCas(body: DataBody, config: KVConfig, meta: KeyMetadata): void {
  const options = body.options;
  if (options && options.cas !== undefined) {
    if ((options.cas ?? 0) !== meta.current_version) {
      throw badRequest('check-and-set parameter did not match the current version');
    }
  } else if (config.cas_required || meta.cas_required) {
    throw badRequest('check-and-set parameter required for this call');
  }
}

/** The stored data of a version that the metadata (read under the key's lock) says is live. */
async function loadVersion(store: VersionedStore, key: string, version: number): Promise<Record<string, unknown>> {
  const data = await store.getVersionData(key, version);
  if (data) return data;
  throw new Error('could not find version data');
}

async function readData(req: Request<DataBody>): Promise<Response> {
  const key = req.params.path;
  const store = new VersionedStore(req.storage);
  // Reads take no lock: when a concurrent destroy or prune removes the data between the two storage reads,
  // read the metadata again and answer from that.
  for (let attempt = 0; ; attempt++) {
    const meta = await store.readMeta(key);
    if (!meta) throw notFound();
    const requested = req.data.version ?? 0;
    const version = requested > 0 ? requested : meta.current_version;
    const vm = meta.versions[String(version)];
    if (!vm) throw notFound();
    const metadata = versionBody(meta, version, vm);
    if (!isLive(vm)) return { status: 404, data: { data: null, metadata } };
    const data = await store.getVersionData(key, version);
    if (data) return { data: { data, metadata } };
    if (attempt > 0) throw new Error('could not find version data');
  }
}

async function writeData(ctx: KVContext, req: Request<DataBody>): Promise<Response> {
  const key = req.params.path;
  const body = req.data;
  if (body.data === undefined || body.data === null) throw badRequest('no data provided');
  const data = body.data;
  const store = new VersionedStore(req.storage);
  const config = await store.config();
  return ctx.locks.run(key, async () => {
    const meta = (await store.getMeta(key)) ?? newKeyMetadata(key);
    checkCas(body, config, meta);
    const version = await store.addVersion(meta, config, data, nowNs());
    return { data: versionBody(meta, version, meta.versions[String(version)]) };
  });
}

async function patchData(ctx: KVContext, req: Request<DataBody>): Promise<Response> {
  const key = req.params.path;
  const body = req.data;
  if (body.data === undefined || body.data === null) throw badRequest('no data provided');
  const patch = body.data;
  const store = new VersionedStore(req.storage);
  return ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (!meta) throw notFound();
    const config = await store.config();
    checkCas(body, config, meta);
    const current = meta.current_version;
    const vm = meta.versions[String(current)];
    if (!vm) throw notFound();
    // Like Vault, a patch of a deleted or destroyed current version answers 404 with its metadata.
    if (!isLive(vm)) return { status: 404, data: versionBody(meta, current, vm) };
    const existing = await loadVersion(store, key, current);
    const merged = mergePatch(existing, patch);
    const data = isPlainObject(merged) ? merged : {};
    const version = await store.addVersion(meta, config, data, nowNs());
    return { data: versionBody(meta, version, meta.versions[String(version)]) };
  });
}

/** Soft-deletes the latest version (no-op when it is already deleted or destroyed, or the key is unknown). */
async function deleteData(ctx: KVContext, req: Request): Promise<null> {
  const key = req.params.path;
  const store = new VersionedStore(req.storage);
  await ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (!meta) return;
    const vm = meta.versions[String(meta.current_version)];
    const now = nowNs();
    if (!vm || vm.destroyed || isDeleted(vm, now)) return;
    vm.deletion_time = formatTime(now);
    await store.putMeta(meta);
  });
  return null;
}

async function dataExists(req: Request): Promise<boolean> {
  return new VersionedStore(req.storage).hasMeta(req.params.path);
}

export function pathData(ctx: KVContext, invalid: Handler): PathSpec[] {
  return [
    {
      // At least one character, not ending in a slash (a trailing slash is a folder: list it on metadata/).
      pattern: 'data/(?<path>.*[^/])', // greedy: anchored at the end, it matches what a lazy .*? would, with less backtracking
      fields: dataFields,
      operations: {
        read: readData,
        create: (req) => writeData(ctx, req),
        update: (req) => writeData(ctx, req),
        patch: (req) => patchData(ctx, req),
        delete: (req) => deleteData(ctx, req),
        // Vault lists on metadata/; a list on data/ gets the same 404 and hint as any other invalid path.
        list: invalid,
      },
      existenceCheck: dataExists,
      help: 'Write, patch, read and delete data in the key-value store. A write creates a new version (body '
        + '{"data": {...}, "options": {"cas": N}}); a read returns the latest version or ?version=N; a patch '
        + 'merges its data into the current version (JSON merge patch); a delete marks the latest version deleted.',
    },
  ];
}
