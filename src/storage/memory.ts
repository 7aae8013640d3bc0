import type { ListPage, PhysicalBackend, StorageOp } from './types.js';

/** A map-backed storage for unit tests. The dev server uses SQLite in memory instead, to run the real code. */
export class MemoryStorage implements PhysicalBackend {
  readonly entries = new Map<string, Buffer>();

  async get(key: string) { return this.entries.get(key) ?? null; }
  async put(key: string, value: Buffer) { this.entries.set(key, Buffer.from(value)); }
  async delete(key: string) { this.entries.delete(key); }
  async list(prefix: string, page?: ListPage) {
    const children = new Set<string>();
    for (const key of this.entries.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    const sorted = [...children].sort();
    if (!page) return sorted;
    return sorted.filter((c) => page.after === undefined || c > page.after).slice(0, page.limit);
  }
  async transaction(ops: StorageOp[]) {
    for (const op of ops) {
      if (op.kind === 'put') this.entries.set(op.key, Buffer.from(op.value!));
      else this.entries.delete(op.key);
    }
  }
  async close() {}
}
