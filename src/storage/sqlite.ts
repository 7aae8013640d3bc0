import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ListPage, PhysicalBackend, StorageOp } from './types.js';

/**
 * The embedded default backend. WAL with synchronous=FULL: a write is on disk (fsynced WAL) before the
 * caller's promise resolves, so an acknowledged write survives a kill -9 or a power cut.
 * `path` may be `:memory:` (dev mode).
 *
 * Group commit: writes issued in the same turn of the event loop are applied in one SQLite transaction (one
 * fsync) and every caller's promise resolves after that commit. Reads see queued writes immediately.
 */
/**
 * The database holds every secret (encrypted) and the keyring: owner-only whatever the umask. A missing
 * directory is created 0700; the file is created 0600 before SQLite opens it (SQLite then gives its -wal and
 * -shm files the database file's mode) and an existing file is narrowed to 0600.
 */
function prepareOwnerOnly(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // mkdir's mode is filtered by the umask
  }
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/** The WAL and shared-memory files, in case they predate the file's narrowing. */
function restrictCompanions(path: string): void {
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
}

export class SqliteStorage implements PhysicalBackend {
  private readonly db: Database.Database;
  private readonly stmtGet: Database.Statement<[string], { value: Buffer }>;
  private readonly stmtPut: Database.Statement<[string, Buffer]>;
  private readonly stmtDelete: Database.Statement<[string]>;
  private readonly stmtRange: Database.Statement<[string, string], { key: string }>;
  private readonly applyAll: (ops: StorageOp[]) => void;
  /** Writes waiting for the next commit, and the latest queued value per key (null = deleted). */
  private queue: StorageOp[] = [];
  private queued = new Map<string, Buffer | null>();
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private flushScheduled = false;

  constructor(path: string) {
    if (path !== ':memory:') prepareOwnerOnly(path);
    this.db = new Database(path);
    if (path !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      restrictCompanions(path);
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
    this.stmtGet = this.db.prepare('SELECT value FROM entries WHERE key = ?');
    this.stmtPut = this.db.prepare(
      'INSERT INTO entries (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.stmtDelete = this.db.prepare('DELETE FROM entries WHERE key = ?');
    this.stmtRange = this.db.prepare('SELECT key FROM entries WHERE key >= ? AND key < ? ORDER BY key');
    this.applyAll = this.db.transaction((ops: StorageOp[]) => {
      for (const op of ops) {
        if (op.kind === 'put') this.stmtPut.run(op.key, op.value!);
        else this.stmtDelete.run(op.key);
      }
    });
  }

  async get(key: string): Promise<Buffer | null> {
    const pending = this.queued.get(key);
    if (pending !== undefined) return pending;
    return this.stmtGet.get(key)?.value ?? null;
  }

  put(key: string, value: Buffer): Promise<void> {
    return this.enqueue([{ kind: 'put', key, value }]);
  }

  delete(key: string): Promise<void> {
    return this.enqueue([{ kind: 'delete', key }]);
  }

  transaction(ops: StorageOp[]): Promise<void> {
    // An empty transaction would queue a waiter with nothing to commit: nothing to wait for.
    return ops.length === 0 ? Promise.resolve() : this.enqueue(ops);
  }

  private enqueue(ops: StorageOp[]): Promise<void> {
    for (const op of ops) {
      this.queue.push(op);
      this.queued.set(op.key, op.kind === 'put' ? op.value! : null);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Commits every queued write in one transaction and settles the callers waiting on them. */
  private flush(): void {
    this.flushScheduled = false;
    const ops = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    this.queued = new Map();
    if (ops.length === 0) return;
    try {
      this.applyAll(ops);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  async list(prefix: string, page?: ListPage): Promise<string[]> {
    this.flush(); // listing reads the table directly, so it must see queued writes
    // Range scan of the prefix. When a child is a folder, the scan restarts after that folder's whole subtree
    // instead of walking it, so listing a folder costs its direct children, not everything below it.
    const children: string[] = [];
    const after = page?.after;
    let from = after === undefined ? prefix : after.endsWith('/') ? upperBound(prefix + after) : `${prefix}${after}\u0000`;
    const to = upperBound(prefix);
    const limit = page?.limit ?? Infinity;
    scan: for (;;) {
      if (children.length >= limit) return children;
      for (const { key } of this.stmtRange.iterate(from, to)) {
        const rest = key.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash === -1) {
          children.push(rest);
          if (children.length >= limit) return children;
          continue;
        }
        const folder = rest.slice(0, slash + 1);
        children.push(folder);
        from = upperBound(prefix + folder);
        continue scan; // leaving the iterator ends its statement
      }
      return children;
    }
  }

  async close(): Promise<void> {
    this.flush();
    this.db.close();
  }
}

/** The smallest string greater than every string starting with `prefix` ('' = no upper bound). */
function upperBound(prefix: string): string {
  return prefix === '' ? '\uffff' : prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
