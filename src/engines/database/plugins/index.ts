/** The database plugins built into coffer, by `plugin_name`. Adding a database: one folder, one line here. */
import { mysqlLegacyPlugins, mysqlPlugin } from './mysql/mysql.js';
import type { PluginDefinition } from './plugin.js';
import { postgresqlPlugin } from './postgresql/postgresql.js';
import { redisPlugin } from './redis/redis.js';

export const plugins: PluginDefinition[] = [postgresqlPlugin, mysqlPlugin, ...mysqlLegacyPlugins, redisPlugin];

const byName = new Map(plugins.map((p) => [p.name, p]));

export function findPlugin(name: string): PluginDefinition | undefined {
  return byName.get(name);
}

/** Every connection-detail field any plugin accepts (the union feeds config/:name's field schema). */
export function allPluginFields(): PluginDefinition['fields'] {
  const out: PluginDefinition['fields'] = {};
  for (const p of plugins) for (const [k, v] of Object.entries(p.fields)) out[k] ??= v;
  return out;
}
