/**
 * sys/metrics: gauges in Vault's JSON telemetry shape, or Prometheus text with `?format=prometheus`.
 * Names follow Vault's (`coffer.expire.num_leases` where Vault has `vault.expire.num_leases`).
 */
import { bareJson, type PathSpec } from '../../sdk/backend.js';
import type { Core } from '../core.js';

function gauges(core: Core): Record<string, number> {
  const leases = core.leases.metrics;
  return {
    'coffer.expire.num_leases': leases.scheduled + leases.irrevocable,
    'coffer.expire.num_irrevocable_leases': leases.irrevocable,
    'coffer.core.unsealed': core.sealed ? 0 : 1,
    'coffer.runtime.heap_bytes': process.memoryUsage().heapUsed,
  };
}

export function metricsPaths(core: Core): PathSpec[] {
  return [
    {
      pattern: 'metrics',
      operations: {
        read: async (req) => {
          const values = gauges(core);
          if (req.query.format === 'prometheus') {
            const body = Object.entries(values)
              .map(([name, value]) => {
                const metric = name.replace(/\./g, '_');
                return `# TYPE ${metric} gauge\n${metric} ${value}\n`;
              })
              .join('');
            return { raw: { status: 200, contentType: 'text/plain; version=0.0.4', body } };
          }
          const timestamp = new Date().toISOString();
          return bareJson({
            Timestamp: timestamp,
            Gauges: Object.entries(values).map(([Name, Value]) => ({ Name, Value, Labels: {} })),
            Counters: [],
            Samples: [],
          });
        },
      },
    },
  ];
}
