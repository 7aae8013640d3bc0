/**
 * The KV secrets engine, Vault-compatible in both of its modes:
 * - version 1 (`kv` mount, `options.version` "1" or unset): unversioned pass-through storage (v1.ts);
 * - version 2 (`options.version` "2", or a `kv-v2` mount): versioned keys with metadata, check-and-set,
 *   soft delete / undelete / destroy and subkeys, one file per family of paths.
 */
import type { Backend, BackendFactory, Handler, Operation, PathSpec, Request } from '../../sdk/backend.js';
import { badRequest } from '../../sdk/errors.js';
import { pathConfig } from './path_config.js';
import { pathData } from './path_data.js';
import { pathsDelete } from './path_delete.js';
import { pathMetadata } from './path_metadata.js';
import { pathSubkeys } from './path_subkeys.js';
import { KeyLocks, type KVContext } from './store.js';
import { pathsV1 } from './v1.js';

const ROOTS = new Set(['metadata', 'data', 'delete', 'undelete', 'destroy']);

const SUBCOMMAND: Record<Operation, string> = {
  create: 'put',
  update: 'put',
  patch: 'patch',
  read: 'get',
  list: 'list',
  delete: 'delete',
};

/** What Vault answers for a path a v2 mount does not serve: 404 with a hint towards the right endpoint. */
const invalidPath: Handler = async (req: Request) => {
  const warning = ROOTS.has(req.path)
    ? 'Non-listing operations on the root of a K/V v2 mount are not supported.'
    : 'Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. '
      + `If using the Vault CLI, use 'vault kv ${SUBCOMMAND[req.operation]}' for this operation.`;
  return { status: 404, data: null, warnings: [warning] };
};

function pathInvalid(): PathSpec {
  return {
    pattern: '.*',
    operations: { read: invalidPath, update: invalidPath, patch: invalidPath, delete: invalidPath, list: invalidPath },
    help: 'Not a KV v2 endpoint: use config, data/, metadata/, delete/, undelete/, destroy/ or subkeys/.',
  };
}

function versionedBackend(): Backend {
  const ctx: KVContext = { locks: new KeyLocks() };
  return {
    paths: [
      ...pathConfig(),
      ...pathData(ctx, invalidPath),
      ...pathMetadata(ctx),
      ...pathsDelete(ctx),
      ...pathSubkeys(),
      // Must stay last: it matches everything the paths above do not.
      pathInvalid(),
    ],
  };
}

function passthroughBackend(): Backend {
  return { paths: pathsV1() };
}

/** The KV version a mount's options select: "1" (default) or "2". */
export function kvVersion(options: Record<string, string>): 1 | 2 {
  const raw = (options.version ?? '').trim();
  if (raw === '' || raw === '1') return 1;
  if (raw === '2') return 2;
  throw badRequest(`invalid KV version "${raw.slice(0, 20)}": expected 1 or 2`);
}

/** A `kv` mount's `version` option, when given, is "1" or "2" (checked when the mount is enabled). */
function validateKvMount(options: Record<string, string>): { type: string; options: Record<string, string> } {
  if (options.version && !['1', '2'].includes(options.version)) {
    throw badRequest(`invalid kv version "${options.version}"; expected 1 or 2`);
  }
  return { type: 'kv', options };
}

export const kvFactory: BackendFactory = {
  type: 'kv',
  create(options) {
    return kvVersion(options ?? {}) === 2 ? versionedBackend() : passthroughBackend();
  },
  validateMount: validateKvMount,
};

/** `kv-v2` is enabled as what Vault stores for it: a `kv` mount with version 2. */
export const kvV2Factory: BackendFactory = {
  type: 'kv-v2',
  create() {
    return versionedBackend();
  },
  validateMount: (options) => ({ type: 'kv', options: { ...options, version: '2' } }),
};
