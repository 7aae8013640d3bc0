/**
 * The generator tests' database: coffer's database engine against the machine's PostgreSQL (127.0.0.1:5432,
 * trust on loopback), and an admin connection to check roles and drop whatever the tests created.
 */
import pg from 'pg';

export const PG = { host: '127.0.0.1', port: 5432, database: 'postgres' };

type Api = { post(path: string, body?: unknown): Promise<{ status: number; text: string }> };

/** Mounts `database/`, a connection `pg` and a role `role` whose users are dropped on revocation. */
export async function setupDatabaseRole(api: Api, role: string): Promise<void> {
  const steps: [string, unknown][] = [
    ['sys/mounts/database', { type: 'database' }],
    ['database/config/pg', { plugin_name: 'postgresql-database-plugin', connection_url: `postgresql://{{username}}@${PG.host}:${PG.port}/${PG.database}?sslmode=disable`, username: 'postgres', allowed_roles: role }],
    [`database/roles/${role}`, {
      db_name: 'pg',
      default_ttl: '1h',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      revocation_statements: 'DROP ROLE IF EXISTS "{{name}}";',
    }],
  ];
  for (const [path, body] of steps) {
    const res = await api.post(path, body);
    if (res.status >= 300) throw new Error(`setup ${path}: ${res.status} ${res.text}`);
  }
}

export class PgRoles {
  private readonly admin = new pg.Client({ ...PG, user: 'postgres' });
  private readonly created = new Set<string>();

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  /** Remembers a user coffer created, to drop it at the end whatever happened. */
  track(username: string | undefined): void {
    if (username) this.created.add(username);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
  }

  async canLogin(creds: Record<string, string>): Promise<boolean> {
    const conn = new pg.Client({ ...PG, user: creds.username, password: creds.password });
    try {
      await conn.connect();
      return (await conn.query('SELECT current_user AS u')).rows[0].u === creds.username;
    } catch {
      return false;
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  /** Polls until the role is gone (revocation runs on the lease manager's timer); false after `ms`. */
  async dropped(name: string, ms = 15_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!(await this.exists(name))) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  async close(): Promise<void> {
    for (const name of this.created) await this.admin.query(`DROP ROLE IF EXISTS "${name.replace(/"/g, '""')}"`).catch(() => undefined);
    await this.admin.end();
  }
}
