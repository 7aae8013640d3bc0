/**
 * Stage "resolve the mount": which mount and which of its path declarations serve the request. The sys paths
 * served while sealed are routed without the mount table, which is not loaded then.
 */
import { StorageView } from '../../storage/view.js';
import { CofferError, sealedError } from '../errors.js';
import type { MountEntry } from '../mounts.js';
import { matchPath } from '../router.js';
import type { LogicalRequest, PipelineHost, Route, RoutedMount } from './types.js';

/** Paths served while sealed and without a token. */
const UNAUTHENTICATED_SYS = new Set(['sys/init', 'sys/seal-status', 'sys/unseal', 'sys/health', 'sys/leader']);

export function resolveRoute(core: PipelineHost, request: LogicalRequest): Route {
  const { path, routePath } = request;
  const unauthenticatedSys = UNAUTHENTICATED_SYS.has(path);
  if (core.sealed && !unauthenticatedSys) throw sealedError();
  const resolved = unauthenticatedSys ? { mount: sealedSysMount(core), rel: path.slice('sys/'.length) } : core.mounts.resolve(routePath);
  if (!resolved) throw new CofferError(404, `no handler for route "${path}". route entry not found.`);
  const { mount, rel } = resolved;
  const match = matchPath(mount.backend, rel);
  if (!match) throw new CofferError(404, 'unsupported path');
  const declaredUnauthenticated = match.spec.unauthenticated === true;
  return {
    mount,
    rel,
    match,
    unauthenticated: unauthenticatedSys || declaredUnauthenticated,
    login: !unauthenticatedSys && mount.entry.path.startsWith('auth/') && declaredUnauthenticated,
  };
}

/** The `sys/` mount as the paths served while sealed see it (the mount table is not loaded then). */
function sealedSysMount(core: PipelineHost): RoutedMount {
  const entry = { path: 'sys/', type: 'system', config: { default_lease_ttl: 0, max_lease_ttl: 0 } } as MountEntry;
  return { entry, backend: core.sys, view: new StorageView(core.barrier, 'sys/system/') };
}
