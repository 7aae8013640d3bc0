/**
 * `metadata/:path`: a key's settings and version history. Read, write (create/update), patch, delete (the key
 * and all its versions) and list (`metadata/` and `metadata/:prefix/`).
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest, CofferError } from '../../sdk/errors.js';
import { bool, duration } from '../../sdk/fields.js';
import { goDuration, nonNegativeInt } from './path_config.js';
import {
  customMetadataOf,
  type KeyMetadata,
  type KVContext,
  newKeyMetadata,
  nowNs,
  formatTime,
  setOwn,
  VersionedStore,
} from './store.js';

const notFound = () => new CofferError(404, []);

const MAX_CUSTOM_METADATA_KEYS = 64;
const MAX_CUSTOM_METADATA_KEY_LENGTH = 128;
const MAX_CUSTOM_METADATA_VALUE_LENGTH = 512;
const CUSTOM_METADATA_ERROR = 'custom_metadata validation failed';

const metadataFields = z.object({
  max_versions: nonNegativeInt().optional(),
  cas_required: bool().optional(),
  delete_version_after: duration().optional(),
  // Values are strings; numbers and booleans are converted like Vault's weak decoding; null removes a key in
  // a patch (and counts as an empty value, thus an error, in a write).
  custom_metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable().optional(),
});
type MetadataBody = z.infer<typeof metadataFields>;
type CustomMetadataInput = NonNullable<MetadataBody['custom_metadata']>;

const customValue = (v: string | number | boolean | null): string =>
  v === null ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v);

function toCustomMetadata(raw: CustomMetadataInput, dropNulls: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null && dropNulls) continue;
    setOwn(out, k, customValue(v));
  }
  return out;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;

/** Vault's limits on custom_metadata: at most 64 keys, key 1..128 bytes, value 1..512 bytes, printable. */
function validateCustomMetadata(cm: Record<string, string>): void {
  const count = Object.keys(cm).length;
  if (count > MAX_CUSTOM_METADATA_KEYS) {
    throw badRequest(`${CUSTOM_METADATA_ERROR}: payload must contain at most ${MAX_CUSTOM_METADATA_KEYS} keys, provided ${count}`);
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(cm)) {
    const keyLen = Buffer.byteLength(key, 'utf8');
    if (keyLen === 0 || keyLen > MAX_CUSTOM_METADATA_KEY_LENGTH) {
      problems.push(`${CUSTOM_METADATA_ERROR}: length of key ${JSON.stringify(key)} is ${keyLen} but must be 0 < len(key) <= ${MAX_CUSTOM_METADATA_KEY_LENGTH}`);
    }
    const valueLen = Buffer.byteLength(value, 'utf8');
    if (valueLen === 0 || valueLen > MAX_CUSTOM_METADATA_VALUE_LENGTH) {
      problems.push(`${CUSTOM_METADATA_ERROR}: length of value for key ${JSON.stringify(key)} is ${valueLen} but must be 0 < len(value) <= ${MAX_CUSTOM_METADATA_VALUE_LENGTH}`);
    }
    if (!PRINTABLE.test(key)) problems.push(`${CUSTOM_METADATA_ERROR}: key ${JSON.stringify(key)} contains unprintable characters`);
    if (!PRINTABLE.test(value)) problems.push(`${CUSTOM_METADATA_ERROR}: value for key ${JSON.stringify(key)} contains unprintable characters`);
  }
  if (problems.length) throw new CofferError(400, problems);
}

function checkKeyName(key: string): void {
  if (key === '') throw badRequest('missing path');
  if (key.endsWith('/')) throw badRequest('invalid path: a key name cannot end with "/"');
}

const CAS_WARNING = '"cas_required" set to false, but is mandated by backend config. This value will be ignored.';

export function metadataBody(meta: KeyMetadata): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const n of Object.keys(meta.versions).map(Number).sort((a, b) => a - b)) {
    const vm = meta.versions[String(n)];
    versions[String(n)] = { created_time: vm.created_time, deletion_time: vm.deletion_time, destroyed: vm.destroyed };
  }
  return {
    cas_required: meta.cas_required,
    created_time: meta.created_time,
    current_version: meta.current_version,
    custom_metadata: customMetadataOf(meta),
    delete_version_after: goDuration(meta.delete_version_after),
    max_versions: meta.max_versions,
    oldest_version: meta.oldest_version,
    updated_time: meta.updated_time,
    versions,
  };
}

async function readMetadata(req: Request): Promise<Response> {
  const meta = await new VersionedStore(req.storage).readMeta(req.params.path);
  if (!meta) throw notFound();
  return { data: metadataBody(meta) };
}

async function writeMetadata(ctx: KVContext, req: Request<MetadataBody>): Promise<Response | null> {
  const key = req.params.path;
  checkKeyName(key);
  const body = req.data;
  const customRaw = body.custom_metadata ?? undefined;
  if (body.max_versions === undefined && body.cas_required === undefined && body.delete_version_after === undefined
    && customRaw === undefined) {
    return null;
  }
  let custom: Record<string, string> | undefined;
  if (customRaw !== undefined) {
    custom = toCustomMetadata(customRaw, false);
    validateCustomMetadata(custom);
  }
  const store = new VersionedStore(req.storage);
  const config = await store.config();
  const warnings = body.cas_required === false && config.cas_required ? [CAS_WARNING] : [];
  await ctx.locks.run(key, async () => {
    const meta = (await store.getMeta(key)) ?? newKeyMetadata(key, formatTime(nowNs()));
    if (body.max_versions !== undefined) meta.max_versions = body.max_versions;
    if (body.cas_required !== undefined) meta.cas_required = body.cas_required;
    if (body.delete_version_after !== undefined) meta.delete_version_after = body.delete_version_after;
    if (custom !== undefined) meta.custom_metadata = custom;
    await store.putMeta(meta);
  });
  return warnings.length ? { warnings } : null;
}

/** Patch: only the fields given change; custom_metadata is merged (a null value removes that entry). */
async function patchMetadata(ctx: KVContext, req: Request<MetadataBody>): Promise<Response | null> {
  const key = req.params.path;
  checkKeyName(key);
  const body = req.data;
  if (body.custom_metadata) validateCustomMetadata(toCustomMetadata(body.custom_metadata, true));
  const store = new VersionedStore(req.storage);
  const config = await store.config();
  return ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (!meta) throw notFound();
    const warnings = body.cas_required === false && config.cas_required ? [CAS_WARNING] : [];
    if (body.max_versions !== undefined) meta.max_versions = body.max_versions;
    if (body.cas_required !== undefined) meta.cas_required = body.cas_required;
    if (body.delete_version_after !== undefined) meta.delete_version_after = body.delete_version_after;
    if (body.custom_metadata === null) {
      meta.custom_metadata = null;
    } else if (body.custom_metadata !== undefined) {
      const merged: Record<string, string> = {};
      for (const [k, v] of Object.entries(meta.custom_metadata ?? {})) setOwn(merged, k, v);
      for (const [k, v] of Object.entries(body.custom_metadata)) {
        if (v === null) delete merged[k];
        else setOwn(merged, k, customValue(v));
      }
      meta.custom_metadata = merged;
    }
    await store.putMeta(meta);
    return warnings.length ? { warnings } : null;
  });
}

async function deleteMetadata(ctx: KVContext, req: Request): Promise<null> {
  const key = req.params.path;
  const store = new VersionedStore(req.storage);
  await ctx.locks.run(key, async () => {
    const meta = await store.getMeta(key);
    if (meta) await store.deleteKey(meta);
  });
  return null;
}

async function listMetadata(req: Request): Promise<Response> {
  let prefix = req.params.path;
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  const keys = await new VersionedStore(req.storage).list(prefix);
  if (keys.length === 0) throw notFound();
  return { data: { keys } };
}

async function metadataExists(req: Request): Promise<boolean> {
  return new VersionedStore(req.storage).hasMeta(req.params.path);
}

export function pathMetadata(ctx: KVContext): PathSpec[] {
  return [
    {
      pattern: 'metadata/(?<path>.*)',
      fields: metadataFields,
      operations: {
        read: readMetadata,
        create: (req) => writeMetadata(ctx, req),
        update: (req) => writeMetadata(ctx, req),
        patch: (req) => patchMetadata(ctx, req),
        delete: (req) => deleteMetadata(ctx, req),
        list: listMetadata,
      },
      existenceCheck: metadataExists,
      help: 'Reads a key\'s metadata and version history, writes or patches its settings (max_versions, '
        + 'cas_required, delete_version_after, custom_metadata), permanently deletes the key with all its '
        + 'versions, and lists keys (folders end in "/").',
    },
  ];
}
