/**
 * The shared backend: one PostgreSQL table in Vault's shape, so that several coffer nodes (HA, later) and the
 * operators' own replication and backups work on it:
 *
 *   parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C", key TEXT COLLATE "C", value BYTEA,
 *   PRIMARY KEY (path, key), index on parent_path
 *
 * A storage key `a/b/c` is the row (parent_path `/a/`, path `/a/b/`, key `c`), as Vault stores it. Values are
 * barrier ciphertexts: nothing here sees plaintext.
 *
 * Every write (one put, one delete, or a whole transaction) is ONE SQL statement, so it is atomic by itself and
 * costs one round trip: a connection lost mid-write leaves either all of it or none of it. The pool replaces a
 * broken connection by itself on the next request.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { StorageUnavailableError, type ListPage, type PhysicalBackend, type StorageOp } from './types.js';

export const DEFAULT_PG_TABLE = 'vault_kv_store';
/** Connections in the pool when `max_parallel` is not set. */
const DEFAULT_MAX_PARALLEL = 16;
/** Attempts to reach PostgreSQL at start (1, 2, 4, 8 s apart) before giving up. */
const DEFAULT_CONNECT_ATTEMPTS = 5;

export interface PostgresOptions {
  connectionUrl: string;
  /** Plain or schema-qualified name, already validated as an identifier. */
  table: string;
  maxParallel?: number;
  /** Always false for now: the HA lock (in `haTable`) is a later addition beside this backend. */
  haEnabled: boolean;
  haTable?: string;
  connectAttempts?: number;
}

export interface StorageLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** A problem at start that retrying will not fix (bad URL, wrong password, foreign table). */
export class PostgresSetupError extends Error {}

const EXPECTED_COLUMNS = [
  ['parent_path', 'text'],
  ['path', 'text'],
  ['key', 'text'],
  ['value', 'bytea'],
] as const;

export class PostgresStorage implements PhysicalBackend {
  private readonly sql: ReturnType<typeof postgresStatements>;
  /** Transactions waiting for the next group commit. */
  private group: { ops: StorageOp[]; resolve: () => void; reject: (err: unknown) => void }[] = [];

  private constructor(private readonly pool: pg.Pool, table: string) {
    this.sql = postgresStatements(table);
  }

  /**
   * Connects (retrying while PostgreSQL is unreachable, with a log line per attempt), creates the table when
   * it is missing and refuses one of another shape.
   */
  static async open(options: PostgresOptions, logger?: StorageLogger): Promise<PostgresStorage> {
    checkCertificateFiles(options.connectionUrl);
    const pool = new pg.Pool({
      connectionString: options.connectionUrl,
      max: options.maxParallel ?? DEFAULT_MAX_PARALLEL,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection that PostgreSQL closes (restart, pg_terminate_backend) is reported here; the pool drops
    // it and opens a new one when needed. Without a listener the event would crash the process.
    pool.on('error', (err) => logger?.warn(`postgresql: idle connection closed: ${describe(err)}`));
    try {
      await connectWithRetries(pool, options.connectAttempts ?? DEFAULT_CONNECT_ATTEMPTS, logger);
      await ensureTable(pool, options.table);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresStorage(pool, options.table);
  }

  async get(key: string): Promise<Buffer | null> {
    const { path, name } = splitKey(key);
    const res = await this.query<{ value: Buffer }>(this.sql.get, [path, name]);
    return res.rows[0]?.value ?? null;
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.transaction([{ kind: 'put', key, value }]);
  }

  delete(key: string): Promise<void> {
    return this.transaction([{ kind: 'delete', key }]);
  }

  /**
   * Group commit: transactions issued in the same turn of the event loop go out as one statement (one round
   * trip, one commit), and each caller's promise settles with it. A failure fails every caller in the group,
   * and none of their writes is applied.
   */
  transaction(ops: StorageOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.group.push({ ops, resolve, reject });
      if (this.group.length === 1) setImmediate(() => void this.commitGroup());
    });
  }

  private async commitGroup(): Promise<void> {
    const group = this.group;
    this.group = [];
    try {
      await this.write(group.flatMap((g) => g.ops));
    } catch (err) {
      for (const g of group) g.reject(err);
      return;
    }
    for (const g of group) g.resolve();
  }

  private async write(ops: StorageOp[]): Promise<void> {
    const final = lastOpPerKey(ops);
    const puts = final.filter((op) => op.kind === 'put').map((op) => ({ ...splitKey(op.key), value: op.value! }));
    const deletes = final.filter((op) => op.kind === 'delete').map((op) => splitKey(op.key));
    await this.query(this.sql.write, [
      puts.map((p) => p.parent),
      puts.map((p) => p.path),
      puts.map((p) => p.name),
      puts.map((p) => p.value),
      deletes.map((d) => d.path),
      deletes.map((d) => d.name),
    ]);
  }

  async list(prefix: string, page?: ListPage): Promise<string[]> {
    const path = `/${prefix}`;
    const res = await this.query<{ child: string }>(this.sql.list, [path, upperBound(path), page?.after ?? null, page?.limit ?? null]);
    return res.rows.map((r) => r.child);
  }

  /** Number of entries (for `operator migrate`'s final check). */
  async count(): Promise<number> {
    const res = await this.query<{ n: string }>(this.sql.count, []);
    return Number(res.rows[0].n);
  }

  /** Removes every entry (for `operator migrate -reset`). */
  async clear(): Promise<void> {
    await this.query(this.sql.clear, []);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs one statement; a lost or refused connection becomes StorageUnavailableError (503, retryable). */
  private async query<R extends pg.QueryResultRow>(statement: { name: string; text: string }, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>({ ...statement, values });
    } catch (err) {
      if (isUnavailable(err)) throw new StorageUnavailableError(`storage unavailable: ${describe(err)}`);
      throw err;
    }
  }
}

/** The SQL for one table, as named statements (prepared once per connection); bench/ha runs them directly. */
export function postgresStatements(table: string) {
  const t = quoteTable(table);
  const id = table.replace(/\W/g, '_');
  return {
    get: { name: `coffer_get_${id}`, text: `SELECT value FROM ${t} WHERE path = $1 AND key = $2` },
    // Keys are distinct (lastOpPerKey), so the delete and the upsert never touch the same row.
    write: {
      name: `coffer_write_${id}`,
      text: `WITH removed AS (
        DELETE FROM ${t} WHERE (path, key) IN (SELECT * FROM unnest($5::text[], $6::text[]))
      )
      INSERT INTO ${t} (parent_path, path, key, value)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[])
      ON CONFLICT (path, key) DO UPDATE SET value = excluded.value`,
    },
    // Leaves are rows whose path is the prefix; folders are the first path segment below it of deeper rows
    // (a range scan of the primary key, not a LIKE, so no character in a key acts as a wildcard).
    list: {
      name: `coffer_list_${id}`,
      text: `SELECT child FROM (
        SELECT key AS child FROM ${t} WHERE path = $1
        UNION
        SELECT split_part(substr(path, length($1) + 1), '/', 1) || '/' FROM ${t} WHERE path > $1 AND path < $2
      ) children
      WHERE $3::text IS NULL OR child > $3::text COLLATE "C"
      ORDER BY child COLLATE "C"
      LIMIT $4`,
    },
    count: { name: `coffer_count_${id}`, text: `SELECT count(*) AS n FROM ${t}` },
    clear: { name: `coffer_clear_${id}`, text: `DELETE FROM ${t}` },
  };
}

/** `a/b/c` → parent `/a/`, path `/a/b/`, name `c` (Vault's splitKey); a top-level key has parent ''. */
export function splitKey(key: string): { parent: string; path: string; name: string } {
  const full = `/${key}`;
  const slash = full.lastIndexOf('/');
  const path = full.slice(0, slash + 1);
  const parent = path === '/' ? '' : path.slice(0, path.lastIndexOf('/', path.length - 2) + 1);
  return { parent, path, name: full.slice(slash + 1) };
}

/** Applying ops in order leaves each key as its last op says: keep only that one. */
function lastOpPerKey(ops: StorageOp[]): StorageOp[] {
  const byKey = new Map<string, StorageOp>();
  for (const op of ops) {
    byKey.delete(op.key); // re-inserted last, so the order stays that of the last ops
    byKey.set(op.key, op);
  }
  return [...byKey.values()];
}

/** The smallest string above every string starting with `path` (which ends in `/`). */
function upperBound(path: string): string {
  return path.slice(0, -1) + String.fromCharCode(path.charCodeAt(path.length - 1) + 1);
}

function quoteTable(table: string): string {
  return table.split('.').map((part) => `"${part}"`).join('.');
}

/** pg reads `sslrootcert` (and client cert/key) files when it first connects; say clearly which is missing. */
function checkCertificateFiles(connectionUrl: string): void {
  let url: URL;
  try {
    url = new URL(connectionUrl);
  } catch {
    throw new PostgresSetupError('connection_url is not a valid URL');
  }
  for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = url.searchParams.get(param);
    if (!file || file === 'system') continue;
    try {
      readFileSync(file);
    } catch (err) {
      throw new PostgresSetupError(`connection_url: ${param} file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

async function connectWithRetries(pool: pg.Pool, attempts: number, logger?: StorageLogger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await pool.connect();
      client.release();
      return;
    } catch (err) {
      if (!isUnavailable(err)) throw new PostgresSetupError(`cannot use PostgreSQL: ${describe(err)}`);
      if (attempt >= attempts) throw new PostgresSetupError(`PostgreSQL unreachable after ${attempts} attempts: ${describe(err)}`);
      const delay = Math.min(1000 * 2 ** (attempt - 1), 8000);
      logger?.warn(`postgresql: unreachable (${describe(err)}); attempt ${attempt} of ${attempts}, retrying in ${delay / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * Creates the table and its index when missing (under an advisory lock, so nodes starting together do not
 * race), and refuses a table that exists with another shape: coffer must never write into someone else's data.
 */
async function ensureTable(pool: pg.Pool, table: string): Promise<void> {
  const [schema, name] = table.includes('.') ? table.split('.') : [null, table];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`coffer-storage:${table}`]);
    const columns = await client.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
      [schema, name],
    );
    if (columns.rows.length === 0) {
      const t = quoteTable(table);
      await client.query(`CREATE TABLE ${t} (
        parent_path TEXT COLLATE "C" NOT NULL,
        path TEXT COLLATE "C",
        key TEXT COLLATE "C",
        value BYTEA,
        CONSTRAINT ${quoteTable(`${name}_pkey`)} PRIMARY KEY (path, key))`);
      await client.query(`CREATE INDEX ${quoteTable(`${name}_parent_path_idx`)} ON ${t} (parent_path)`);
    } else {
      checkShape(table, columns.rows);
      await checkPrimaryKey(client, schema, name, table);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if (err instanceof PostgresSetupError) throw err;
    throw new PostgresSetupError(`cannot prepare table "${table}": ${describe(err)}`);
  } finally {
    client.release();
  }
}

function checkShape(table: string, rows: { column_name: string; data_type: string }[]): void {
  const found = new Map(rows.map((r) => [r.column_name, r.data_type]));
  const matches = found.size === EXPECTED_COLUMNS.length && EXPECTED_COLUMNS.every(([col, type]) => found.get(col) === type);
  if (!matches) {
    const shape = (cols: Iterable<readonly [string, string]>) => [...cols].map(([c, ty]) => `${c} ${ty}`).join(', ');
    throw new PostgresSetupError(
      `table "${table}" exists with another shape (${shape(found)}); coffer needs (${shape(EXPECTED_COLUMNS)}): choose another table name or remove that table`,
    );
  }
}

/** Upserts need the primary key (path, key) that coffer (and Vault's documentation) create. */
async function checkPrimaryKey(client: pg.PoolClient, schema: string | null, name: string, table: string): Promise<void> {
  const res = await client.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = $2 AND n.nspname = coalesce($1, current_schema()) AND i.indisunique
       AND (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) = ARRAY['path', 'key']`,
    [schema, name],
  );
  if (res.rowCount === 0) throw new PostgresSetupError(`table "${table}" has no primary key (path, key); coffer needs one to write`);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Errors that mean "PostgreSQL cannot be reached right now": network errors, a connection closed under us,
 * SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, restart) and 53300 (too many connections).
 */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    if (NETWORK_CODES.has(e.code) || e.code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(e.code)) return true;
  }
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed/i.test(e?.message ?? '');
}

/**
 * A short description of a PostgreSQL or network error, safe to show: PostgreSQL's own message (never a
 * value: coffer's statements carry only ciphertexts and keys as parameters) or the system error code.
 */
function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code && NETWORK_CODES.has(e.code)) return (e.message ?? e.code).replace(/^connect /, '').slice(0, 120);
  return (e?.message ?? 'unknown error').split('\n')[0].slice(0, 200);
}
