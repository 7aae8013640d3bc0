import Database from 'better-sqlite3';
import type { PhysicalBackend, StorageOp } from './types.js';

/**
 * The embedded default backend. WAL with synchronous=FULL: a write is on disk (fsynced WAL) before the
 * caller's promise resolves, so an acknowledged write survives a kill -9 or a power cut.
 * `path` may be `:memory:` (dev mode).
 */
export class SqliteStorage implements PhysicalBackend {
  private readonly db: Database.Database;
  private readonly stmtGet: Database.Statement<[string], { value: Buffer }>;
  private readonly stmtPut: Database.Statement<[string, Buffer]>;
  private readonly stmtDelete: Database.Statement<[string]>;
  private readonly stmtRange: Database.Statement<[string, string], { key: string }>;
  private readonly applyAll: (ops: StorageOp[]) => void;

  constructor(path: string) {
    this.db = new Database(path);
    if (path !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
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
    return this.stmtGet.get(key)?.value ?? null;
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.stmtPut.run(key, value);
  }

  async delete(key: string): Promise<void> {
    this.stmtDelete.run(key);
  }

  async list(prefix: string): Promise<string[]> {
    // Range scan of the prefix: the upper bound is the prefix with its last character incremented.
    const upper = prefix === '' ? '\uffff' : prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const children: string[] = [];
    let last = '';
    for (const { key } of this.stmtRange.iterate(prefix, upper)) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      const child = slash === -1 ? rest : rest.slice(0, slash + 1);
      if (child !== last) children.push(child);
      last = child;
    }
    return children;
  }

  async transaction(ops: StorageOp[]): Promise<void> {
    this.applyAll(ops);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
