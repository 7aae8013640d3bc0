/**
 * `config/:name` (create/update, read, delete), `config/` (list) and `reset/:name`: database connections.
 *
 * A write creates a plugin instance from the merged settings, initialises it (with verify_connection, the
 * default, it connects now: a wrong password or an unreachable host is a 400 with the driver's message and
 * nothing is stored), stores the config and swaps the new instance in, closing the old pool. A read never
 * returns the password; the connection_url comes back with its placeholders (a literal password in it is
 * shown as `xxxxx`). A delete closes the pool.
 */
import { z } from 'zod';
import type { PathSpec, Request, Response } from '../../sdk/backend.js';
import { badRequest, CofferError } from '../../sdk/errors.js';
import { bool, stringList } from '../../sdk/fields.js';
import { CONFIG_PREFIX, type DatabaseConfig, type DatabaseContext, dbFailure, NAME } from './backend.js';
import { statementList } from './fields.js';
import { checkPasswordPolicy } from './password.js';
import { redactMySQLDsn } from './plugins/mysql/dsn.js';
import { allPluginFields, findPlugin, plugins } from './plugins/index.js';
import { statementTemplateError } from './statements.js';

function optionalFields(fields: Record<string, z.ZodType>): Record<string, z.ZodType> {
  const out: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v.optional();
  return out;
}

const ENGINE_FIELDS = {
  plugin_name: z.string().optional(),
  plugin_version: z.string().optional(),
  verify_connection: bool().optional(),
  allowed_roles: stringList().optional(),
  root_rotation_statements: statementList().optional(),
  password_policy: z.string().optional(),
};

const configFields = z.object({ ...ENGINE_FIELDS, ...optionalFields(allPluginFields()) });
type ConfigBody = z.infer<typeof configFields> & Record<string, unknown>;

const PASSWORD_IN_URL_WARNING =
  'Password found in connection_url, use a templated url to enable root rotation and prevent read access to password information.';

/** The connection_url with any literal password replaced by `xxxxx` (placeholders are kept). */
export function redactConnectionUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*:)([^@/?#]*)@/i, (m, head: string, pw: string) =>
      pw === '{{password}}' || pw === '' ? m : `${head}xxxxx@`);
  }
  if (/(^|\s)password\s*=/.test(url)) {
    return url.replace(/(^|\s)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/g, (m, pre: string, key: string, value: string) =>
      value === '{{password}}' || value === "'{{password}}'" ? m : `${pre}${key}xxxxx`);
  }
  return redactMySQLDsn(url);
}

const hasLiteralPassword = (url: string) => redactConnectionUrl(url) !== url;

function emptyConfig(): DatabaseConfig {
  return {
    plugin_name: '',
    plugin_version: '',
    connection_details: {},
    allowed_roles: [],
    root_credentials_rotate_statements: [],
    password_policy: '',
    verify_connection: true,
  };
}

async function writeConfig(ctx: DatabaseContext, req: Request<ConfigBody>): Promise<Response | null> {
  const name = req.params.name;
  const body = req.data;
  return ctx.locks.run(CONFIG_PREFIX + name, async () => {
    const existing = await ctx.readConfig(req.storage, name);
    const config: DatabaseConfig = existing ? structuredClone(existing) : emptyConfig();

    if (body.plugin_name !== undefined) config.plugin_name = body.plugin_name.trim();
    if (!config.plugin_name) throw badRequest('empty plugin name');
    const plugin = findPlugin(config.plugin_name);
    if (!plugin) {
      throw badRequest(`error creating database object: plugin not found in the catalog: ${config.plugin_name.slice(0, 100)} `
        + `(available: ${plugins.map((p) => p.name).join(', ')})`);
    }
    if (body.plugin_version) {
      throw badRequest(`error creating database object: plugin version "${body.plugin_version.slice(0, 40)}" not found: `
        + `${config.plugin_name} is built in and has no other versions`);
    }
    if (body.allowed_roles !== undefined) config.allowed_roles = body.allowed_roles;
    if (body.root_rotation_statements !== undefined) config.root_credentials_rotate_statements = body.root_rotation_statements;
    const templateError = statementTemplateError(config.root_credentials_rotate_statements);
    if (templateError) throw badRequest(templateError);
    if (body.password_policy !== undefined) config.password_policy = body.password_policy;
    checkPasswordPolicy(config.password_policy);
    const verify = body.verify_connection ?? true;
    config.verify_connection = verify;
    delete config.pending_root_password;

    // Connection details: this plugin's fields from the body, merged over the stored ones on update.
    const given: Record<string, unknown> = {};
    for (const key of Object.keys(plugin.fields)) if (body[key] !== undefined) given[key] = body[key];
    const base: Record<string, unknown> = {};
    if (existing) {
      for (const [k, v] of Object.entries(existing.connection_details)) if (k in plugin.fields) base[k] = v;
    }
    config.connection_details = { ...base, ...given };

    let opened;
    try {
      opened = await ctx.openInstance(name, config, verify);
    } catch (err) {
      if (err instanceof CofferError && err.status === 400) {
        throw badRequest(`error creating database object: ${err.errors.join('; ')}`);
      }
      throw err;
    }
    config.connection_details = opened.details;
    try {
      await ctx.writeConfig(req.storage, name, config);
    } catch (err) {
      await opened.instance.close();
      throw err;
    }
    await ctx.replaceConnection(name, opened.instance);

    const warnings: string[] = [];
    const url = config.connection_details.connection_url;
    if (typeof url === 'string' && hasLiteralPassword(url)) warnings.push(PASSWORD_IN_URL_WARNING);
    return warnings.length ? { data: null, warnings } : null;
  });
}

async function readConfig(ctx: DatabaseContext, req: Request): Promise<Response> {
  const config = await ctx.readConfig(req.storage, req.params.name);
  if (!config) throw new CofferError(404, []);
  const secret = new Set(findPlugin(config.plugin_name)?.secretFields ?? ['password', 'private_key']);
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config.connection_details)) {
    if (secret.has(k)) continue;
    details[k] = k === 'connection_url' && typeof v === 'string' ? redactConnectionUrl(v) : v;
  }
  return {
    data: {
      allowed_roles: config.allowed_roles,
      connection_details: details,
      password_policy: config.password_policy,
      plugin_name: config.plugin_name,
      plugin_version: config.plugin_version,
      root_credentials_rotate_statements: config.root_credentials_rotate_statements,
      verify_connection: config.verify_connection,
    },
  };
}

async function deleteConfig(ctx: DatabaseContext, req: Request): Promise<null> {
  const name = req.params.name;
  await ctx.locks.run(CONFIG_PREFIX + name, async () => {
    await req.storage.delete(CONFIG_PREFIX + name);
    await ctx.clearConnection(name);
  });
  return null;
}

async function listConfigs(_ctx: DatabaseContext, req: Request): Promise<Response> {
  const keys = await req.storage.list(CONFIG_PREFIX);
  if (keys.length === 0) throw new CofferError(404, []);
  return { data: { keys } };
}

/** `reset/:name`: closes the connection's pool and opens a new one from the stored config. */
async function resetConnection(ctx: DatabaseContext, req: Request): Promise<null> {
  const name = req.params.name;
  await ctx.locks.run(CONFIG_PREFIX + name, async () => {
    await ctx.requireConfig(req.storage, name);
    await ctx.clearConnection(name);
    try {
      await ctx.withConnection(req.storage, name, async () => undefined);
    } catch (err) {
      throw dbFailure(err);
    }
  });
  return null;
}

export function pathConfigConnection(ctx: DatabaseContext): PathSpec[] {
  return [
    {
      pattern: 'config/?',
      operations: { list: (req) => listConfigs(ctx, req) },
      help: 'Lists the configured database connections.',
    },
    {
      pattern: `config/${NAME('name')}`,
      fields: configFields,
      operations: {
        create: (req) => writeConfig(ctx, req),
        update: (req) => writeConfig(ctx, req),
        read: (req) => readConfig(ctx, req),
        delete: (req) => deleteConfig(ctx, req),
      },
      existenceCheck: async (req) => (await ctx.readConfig(req.storage, req.params.name)) !== null,
      help: 'Configures a database connection: plugin_name (postgresql-database-plugin, mysql-database-plugin, '
        + 'redis-database-plugin), the plugin\'s connection settings (connection_url with {{username}}/{{password}}, '
        + 'username, password; for Redis host, port, username, password, tls, insecure_tls, ca_cert), allowed_roles '
        + '(list or comma string, globs; empty allows none), verify_connection (default true), '
        + 'root_rotation_statements. Reads never return the password.',
    },
    {
      pattern: `reset/${NAME('name')}`,
      operations: { update: (req) => resetConnection(ctx, req) },
      help: 'Closes the connection\'s pool and opens a new one from the stored configuration.',
    },
  ];
}
