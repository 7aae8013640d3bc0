/**
 * Stage "resolve the mount": which mount and which of its path declarations serve the request. The `sys/` paths
 * declared `servedSealed` are routed without the mount table, which is not loaded while sealed.
 */
import { StorageView } from '../../storage/view.js';
import { CofferError, sealedError } from '../../sdk/errors.js';
import type { MountEntry } from '../mounts.js';
import { matchPath } from '../router.js';
import type { LogicalRequest, PipelineHost, Route, RoutedMount } from './types.js';

export function resolveRoute(core: PipelineHost, request: LogicalRequest): Route {
  const sealedRoute = servedSealedRoute(core, request.path);
  if (core.sealed && !sealedRoute) throw sealedError();
  const { mount, rel, match } = sealedRoute ?? mountedRoute(core, request);
  const unauthenticated = match.spec.unauthenticated === true;
  return { mount, rel, match, unauthenticated, login: unauthenticated && mount.entry.path.startsWith('auth/') };
}

type Routed = Pick<Route, 'mount' | 'rel' | 'match'>;

/** The longest-prefix mount of the path and the declaration of that mount's engine that matches it. */
function mountedRoute(core: PipelineHost, { path, routePath }: LogicalRequest): Routed {
  const resolved = core.mounts.resolve(routePath);
  if (!resolved) throw new CofferError(404, `no handler for route "${path}". route entry not found.`);
  const match = matchPath(resolved.mount.backend, resolved.rel);
  if (!match) throw new CofferError(404, 'unsupported path');
  return { ...resolved, match };
}

/** A `sys/` path served while sealed (init, unseal, seal status, health, leader), or null. */
function servedSealedRoute(core: PipelineHost, path: string): Routed | null {
  if (!path.startsWith('sys/')) return null;
  const rel = path.slice('sys/'.length);
  const match = matchPath(core.sys, rel);
  return match?.spec.servedSealed === true ? { mount: sealedSysMount(core), rel, match } : null;
}

/** The `sys/` mount as the paths served while sealed see it. */
function sealedSysMount(core: PipelineHost): RoutedMount {
  const entry = { path: 'sys/', type: 'system', config: { default_lease_ttl: 0, max_lease_ttl: 0 } } as MountEntry;
  return { entry, backend: core.sys, view: new StorageView(core.barrier, 'sys/system/') };
}
