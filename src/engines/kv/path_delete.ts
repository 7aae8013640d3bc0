/**
 * `delete/:path`, `undelete/:path` and `destroy/:path`: soft delete, restore and permanent removal of given
 * versions (`{"versions": [1, 2]}`, or `"1,2"`). Unknown keys and versions are silently skipped, like Vault.
 */
import { z } from 'zod';
import type { PathSpec, Request } from '../../core/backend.js';
import { badRequest } from '../../core/errors.js';
import { deletionTimeFor, formatTime, isDeleted, type KVContext, nowNs, VersionedStore } from './store.js';

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

async function deleteVersions(ctx: KVContext, req: Request<VersionsBody>): Promise<null> {
  const key = req.params.path;
  const versions = req.data.versions ?? [];
  if (versions.length === 0) throw badRequest('No version number provided');
  const store = new VersionedStore(req.storage);
  await ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (!meta) return;
    const now = nowNs();
    for (const n of versions) {
      const vm = meta.versions[String(n)];
      if (!vm || vm.destroyed || isDeleted(vm, now)) continue;
      vm.deletion_time = formatTime(now);
    }
    await store.putMeta(meta);
  });
  return null;
}

async function undeleteVersions(ctx: KVContext, req: Request<VersionsBody>): Promise<null> {
  const key = req.params.path;
  const versions = req.data.versions ?? [];
  if (versions.length === 0) throw badRequest('No version number provided');
  const store = new VersionedStore(req.storage);
  const config = await store.config();
  await ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (!meta) return;
    const now = nowNs();
    for (const n of versions) {
      const vm = meta.versions[String(n)];
      if (!vm || vm.destroyed) continue;
      // A restored version gets a fresh deletion time when delete_version_after applies.
      vm.deletion_time = deletionTimeFor(now, config, meta);
    }
    await store.putMeta(meta);
  });
  return null;
}

async function destroyVersions(ctx: KVContext, req: Request<VersionsBody>): Promise<null> {
  const key = req.params.path;
  const versions = req.data.versions ?? [];
  if (versions.length === 0) throw badRequest('no version number provided');
  const store = new VersionedStore(req.storage);
  await ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (!meta) return;
    const destroyed: number[] = [];
    for (const n of new Set(versions)) {
      const vm = meta.versions[String(n)];
      if (!vm || vm.destroyed) continue;
      vm.destroyed = true;
      destroyed.push(n);
    }
    if (destroyed.length) await store.destroyVersions(meta, destroyed);
  });
  return null;
}

export function pathsDelete(ctx: KVContext): PathSpec[] {
  return [
    {
      pattern: 'delete/(?<path>.*)',
      fields: versionsFields,
      operations: { update: (req) => deleteVersions(ctx, req) },
      help: 'Marks the given versions deleted. Their data is kept and can be restored with undelete/.',
    },
    {
      pattern: 'undelete/(?<path>.*)',
      fields: versionsFields,
      operations: { update: (req) => undeleteVersions(ctx, req) },
      help: 'Restores the given deleted versions so that reads return them again.',
    },
    {
      pattern: 'destroy/(?<path>.*)',
      fields: versionsFields,
      operations: { update: (req) => destroyVersions(ctx, req) },
      help: 'Permanently removes the data of the given versions; their metadata stays, marked destroyed.',
    },
  ];
}
