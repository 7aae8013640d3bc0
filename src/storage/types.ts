/**
 * The physical storage contract. Backends store opaque bytes under slash-separated keys and know nothing of
 * encryption; the barrier (src/core/barrier.ts) wraps a backend and implements the same contract over plaintext.
 */
export interface StorageOp {
  kind: 'put' | 'delete';
  key: string;
  value?: Buffer;
}

export interface ListPage {
  after?: string;
  limit: number;
}

export interface Storage {
  get(key: string): Promise<Buffer | null>;
  /** Optional: the value as UTF-8 text, for stores that can serve it without copying (JSON records). */
  getText?(key: string): Promise<string | null>;
  /**
   * Optional: the value parsed as JSON and deeply frozen, shared between callers (parsed once while the value
   * stays cached). For read-only use on hot paths; a caller that wants to change the record reads a copy.
   */
  getShared?(key: string): Promise<unknown>;
  put(key: string, value: Buffer): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Direct children of `prefix` (which ends in `/` or is empty): leaf names, and folder names ending in `/`,
   * sorted. With `page`, at most `limit` children that sort after `after` (for walking large folders in steps).
   */
  list(prefix: string, page?: ListPage): Promise<string[]>;
  /** Applies every operation or none. */
  transaction(ops: StorageOp[]): Promise<void>;
}

export interface PhysicalBackend extends Storage {
  close(): Promise<void>;
}

/**
 * The backend cannot be reached right now (connection refused or lost). The request fails with 503 and this
 * message, which names the cause and never a value; nothing of a failed write was applied.
 */
export class StorageUnavailableError extends Error {}
