/**
 * `delete/:path`, `undelete/:path` and `destroy/:path`: soft delete, restore and permanent removal of given
 * versions (`{"versions": [1, 2]}`, or `"1,2"`). Unknown keys and versions are silently skipped, like Vault.
 */
import { z } from 'zod';
import { declarePath, type PathSpec, type Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { deletionTimeFor, formatTime, isDeleted, type KeyMetadata, type KVConfig, type KVContext, nowNs, VersionedStore } from './store.js';

const toInt = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? parseInt(v, 10) : v);

/** Vault's TypeCommaIntSlice: an array of integers, one integer, or a comma-separated string. */
export const intList = () =>
  z.preprocess((v) => {
    if (v === undefined || v === null || v === '') return [];
    if (typeof v === 'number') return [v];
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean).map(toInt);
    if (Array.isArray(v)) return v.map(toInt);
    return v;
  }, z.array(z.number().int()));

const versionsFields = z.object({ versions: intList() });
type VersionsBody = z.infer<typeof versionsFields>;

/**
 * The shared shape of delete/undelete/destroy: validate the version list, then, under the key's lock, let
 * `apply` change the listed versions of the stored metadata (unknown keys are a silent no-op, like Vault).
 */
function versionsHandler(
  ctx: KVContext,
  missingMessage: string,
  apply: (store: VersionedStore, meta: KeyMetadata, versions: number[], config: KVConfig) => Promise<void>,
) {
  return async (req: Request<VersionsBody>): Promise<null> => {
    const versions = req.data.versions ?? [];
    if (versions.length === 0) throw badRequest(missingMessage);
    const store = new VersionedStore(req.storage);
    const config = await store.config();
    await ctx.locks.run(req.params.path, async () => {
      const meta = await store.getMeta(req.params.path);
      if (meta) await apply(store, meta, [...new Set(versions)], config);
    });
    return null;
  };
}

const deleteVersions = (ctx: KVContext) =>
  versionsHandler(ctx, 'No version number provided', async (store, meta, versions) => {
    const now = nowNs();
    for (const n of versions) {
      const vm = meta.versions[String(n)];
      if (vm && !vm.destroyed && !isDeleted(vm, now)) vm.deletion_time = formatTime(now);
    }
    await store.putMeta(meta);
  });

const undeleteVersions = (ctx: KVContext) =>
  versionsHandler(ctx, 'No version number provided', async (store, meta, versions, config) => {
    const now = nowNs();
    for (const n of versions) {
      const vm = meta.versions[String(n)];
      // A restored version gets a fresh deletion time when delete_version_after applies.
      if (vm && !vm.destroyed) vm.deletion_time = deletionTimeFor(now, config, meta);
    }
    await store.putMeta(meta);
  });

// Vault's messages differ in case between delete/undelete and destroy; kept for byte compatibility.
const destroyVersions = (ctx: KVContext) =>
  versionsHandler(ctx, 'no version number provided', async (store, meta, versions) => {
    const destroyed = versions.filter((n) => {
      const vm = meta.versions[String(n)];
      if (!vm || vm.destroyed) return false;
      vm.destroyed = true;
      return true;
    });
    if (destroyed.length) await store.destroyVersions(meta, destroyed);
  });

export function pathsDelete(ctx: KVContext): PathSpec[] {
  return [
    declarePath({
      pattern: 'delete/(?<path>.*)',
      fields: versionsFields,
      operations: { update: deleteVersions(ctx) },
      help: 'Marks the given versions deleted. Their data is kept and can be restored with undelete/.',
    }),
    declarePath({
      pattern: 'undelete/(?<path>.*)',
      fields: versionsFields,
      operations: { update: undeleteVersions(ctx) },
      help: 'Restores the given deleted versions so that reads return them again.',
    }),
    declarePath({
      pattern: 'destroy/(?<path>.*)',
      fields: versionsFields,
      operations: { update: destroyVersions(ctx) },
      help: 'Permanently removes the data of the given versions; their metadata stays, marked destroyed.',
    }),
  ];
}
