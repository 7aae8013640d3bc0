/** The `system` backend mounted at `sys/`: each family of paths in its own file. */
import type { Backend } from '../../sdk/backend.js';
import type { Core } from '../core.js';
import { auditPaths } from './audit.js';
import { generateRootPaths } from './generate-root.js';
import { hostInfoPaths } from './hostinfo.js';
import { leasePaths } from './leases.js';
import { metricsPaths } from './metrics.js';
import { mountPaths } from './mounts.js';
import { policyPaths } from './policies.js';
import { rekeyPaths } from './rekey.js';
import { sealPaths } from './seal.js';
import { wrappingPaths } from './wrapping.js';

export function systemBackend(core: Core): Backend {
  return { paths: [...sealPaths(core), ...mountPaths(core), ...policyPaths(core), ...auditPaths(core), ...leasePaths(core), ...metricsPaths(core), ...hostInfoPaths(), ...generateRootPaths(core), ...rekeyPaths(core), ...wrappingPaths(core)] };
}
