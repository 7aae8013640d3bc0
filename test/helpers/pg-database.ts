/**
 * A throw-away database on the machine's PostgreSQL (127.0.0.1:5432, trust auth), created with a random name
 * and dropped (with its connections) by drop().
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.COFFER_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  /** Connection URL of the new database (extra query parameters appended, e.g. `sslmode=disable`). */
  url(query?: string): string;
  /** A client on the new database, closed by drop(). */
  admin(): Promise<pg.Client>;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'coffer_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const base = new URL(PG_ADMIN_URL);
  base.pathname = `/${name}`;
  const clients: pg.Client[] = [];
  return {
    name,
    url: (query) => (query ? `${base.toString()}${base.search ? '&' : '?'}${query}` : base.toString()),
    async admin() {
      const c = new pg.Client({ connectionString: base.toString() });
      c.on('error', () => {}); // terminated with the database at drop()
      await c.connect();
      clients.push(c);
      return c;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Holds an exclusive lock on `table` so that writes to it wait, then terminates the backends waiting on it:
 * a connection lost in the middle of a write. Resolves with the number of backends terminated.
 */
export async function terminateBlockedWriters(admin: pg.Client, table: string, start: () => Promise<unknown>): Promise<number> {
  await admin.query('BEGIN');
  await admin.query(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
  const pending = start();
  pending.catch(() => {}); // awaited by the caller
  let terminated = 0;
  try {
    for (let i = 0; i < 400 && terminated === 0; i++) {
      // Inside a transaction pg_stat_activity is a snapshot taken at its first use: take a fresh one each time.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const res = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
      );
      terminated = res.rowCount ?? 0;
      if (terminated === 0) await new Promise((r) => setTimeout(r, 50));
    }
    if (terminated === 0) {
      const activity = await admin.query(`SELECT datname, pid, backend_type, state, wait_event_type, wait_event, left(query, 80) AS query FROM pg_stat_activity WHERE pid <> pg_backend_pid()`);
      throw new Error(`no writer waited on ${table}: ${JSON.stringify(activity.rows)}`);
    }
  } finally {
    await admin.query('ROLLBACK');
  }
  return terminated;
}
