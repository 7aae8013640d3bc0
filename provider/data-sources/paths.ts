/** Checks and joins of the path parts data sources take from configuration. */
import { z } from 'zod';

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

/** A path without empty, `.` or `..` segments: never a way around the policy on the intended path. */
const segments = (what: string) =>
  z
    .string()
    .transform(trimSlashes)
    .refine((s) => s !== '', `${what} must not be empty`)
    .refine((s) => s.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'), `${what} must not contain empty, "." or ".." segments`);

export const mountName = segments('mount');
export const secretName = segments('name');
export const apiPath = segments('path');
/** A KV version to read: 0 (or unset) for the latest. */
export const secretVersion = z.number().int('must be a whole number').nonnegative('must be 0 (latest) or a version number');

/** An optional folder (for lists): empty means the mount's root. */
export const folderName = z
  .string()
  .transform(trimSlashes)
  .refine((s) => s.split('/').every((seg) => seg !== '.' && seg !== '..'), 'name must not contain "." or ".." segments')
  .nullable();

/** mount/kind/name for a KV v2 API path (kind: data, metadata). */
export function kvPath(mount: string, kind: string, name: string): string {
  return name ? `${mount}/${kind}/${name}` : `${mount}/${kind}`;
}
