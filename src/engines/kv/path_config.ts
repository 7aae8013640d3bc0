/**
 * `config`: mount-wide settings of a KV v2 mount (max_versions, cas_required, delete_version_after).
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { formatDuration, parseDuration } from '../../sdk/duration.js';
import { bool, int } from '../../sdk/fields.js';
import { DELETE_VERSION_AFTER_DISABLED, VersionedStore } from './store.js';

/** A duration in seconds that may be negative (`-1s`, `-5`): Vault's TypeSignedDurationSecond. */
export const signedDuration = () =>
  z.preprocess((v) => {
    try {
      if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : Symbol('invalid');
      if (typeof v === 'string' && v.trim().startsWith('-')) {
        const abs = parseDuration(v.trim().slice(1));
        return abs === undefined ? Symbol('invalid') : -abs;
      }
      return parseDuration(v);
    } catch {
      return Symbol('invalid');
    }
  }, z.number({ message: 'invalid duration' }).int());

/** Go's time.Duration.String() for whole seconds, negative values included. */
export function goDuration(seconds: number): string {
  return seconds < 0 ? `-${formatDuration(-seconds)}` : formatDuration(seconds);
}

export const nonNegativeInt = () => int().refine((n) => n >= 0, { message: 'must be a non-negative integer' });

const configFields = z.object({
  max_versions: nonNegativeInt().optional(),
  cas_required: bool().optional(),
  delete_version_after: signedDuration().optional(),
});
type ConfigBody = z.infer<typeof configFields>;

async function readConfig(req: Request): Promise<Response> {
  const config = await new VersionedStore(req.storage).config();
  return {
    data: {
      cas_required: config.cas_required,
      delete_version_after: goDuration(config.delete_version_after),
      max_versions: config.max_versions,
    },
  };
}

async function writeConfig(req: Request<ConfigBody>): Promise<null> {
  const body = req.data;
  if (body.max_versions === undefined && body.cas_required === undefined && body.delete_version_after === undefined) {
    return null;
  }
  const store = new VersionedStore(req.storage);
  const config = await store.config();
  if (body.max_versions !== undefined) config.max_versions = body.max_versions;
  if (body.cas_required !== undefined) config.cas_required = body.cas_required;
  if (body.delete_version_after !== undefined) {
    const dva = body.delete_version_after;
    // Negative disables the feature for every key, zero clears the setting.
    config.delete_version_after = dva < 0 ? DELETE_VERSION_AFTER_DISABLED : dva;
  }
  await store.putConfig(config);
  return null;
}

export function pathConfig(): PathSpec[] {
  return [
    {
      pattern: 'config',
      fields: configFields,
      operations: { read: readConfig, update: writeConfig },
      help: 'Configures settings for the KV store: max_versions (versions kept per key, 0 = 10), cas_required '
        + '(require the cas option on every write), delete_version_after (time before a version is deleted; '
        + 'negative disables it for all keys, zero clears the setting).',
    },
  ];
}
