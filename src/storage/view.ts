import type { ListPage, Storage, StorageOp } from './types.js';

export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * A Storage confined under a key prefix, with JSON helpers. Engines receive a view of their own mount's
 * prefix, so an engine cannot name a key outside it.
 */
export class StorageView implements Storage {
  constructor(private readonly inner: Storage, readonly prefix: string) {}

  private full(key: string): string {
    return this.prefix + key;
  }

  get(key: string) { return this.inner.get(this.full(key)); }
  getText(key: string) { return this.inner.getText ? this.inner.getText(this.full(key)) : this.get(key).then((b) => b?.toString('utf8') ?? null); }
  put(key: string, value: Buffer) { return this.inner.put(this.full(key), value); }
  delete(key: string) { return this.inner.delete(this.full(key)); }
  list(prefix: string, page?: ListPage) { return this.inner.list(this.full(prefix), page); }
  transaction(ops: StorageOp[]) {
    return this.inner.transaction(ops.map((op) => ({ ...op, key: this.full(op.key) })));
  }

  sub(prefix: string): StorageView {
    return new StorageView(this.inner, this.prefix + prefix);
  }

  async getJSON<T>(key: string): Promise<T | null> {
    // The barrier can hand out its cached text directly, saving a copy and a decode per read.
    const text = this.inner.getText ? await this.inner.getText(this.full(key)) : (await this.get(key))?.toString('utf8');
    return text ? (JSON.parse(text) as T) : null;
  }

  /** Like getJSON, but frozen and possibly shared with other readers: never modify the result. */
  async getJSONShared<T>(key: string): Promise<DeepReadonly<T> | null> {
    if (!this.inner.getShared) return this.getJSON<DeepReadonly<T>>(key);
    return (await this.inner.getShared(this.full(key))) as DeepReadonly<T> | null;
  }

  putJSON(key: string, value: unknown): Promise<void> {
    return this.put(key, Buffer.from(JSON.stringify(value), 'utf8'));
  }

  /** Every key under `prefix`, depth first (leaf keys only, relative to this view). */
  async listRecursive(prefix = ''): Promise<string[]> {
    const out: string[] = [];
    for (const child of await this.list(prefix)) {
      if (child.endsWith('/')) out.push(...(await this.listRecursive(prefix + child)));
      else out.push(prefix + child);
    }
    return out;
  }

  /** Deletes every key under `prefix`. */
  async deletePrefix(prefix = ''): Promise<void> {
    const keys = await this.listRecursive(prefix);
    for (let i = 0; i < keys.length; i += 500) {
      await this.transaction(keys.slice(i, i + 500).map((key) => ({ kind: 'delete' as const, key })));
    }
  }
}
