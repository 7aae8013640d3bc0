/**
 * Salted hashing of audit entries. Every string of an entry is replaced by `hmac-sha256:<hex>` unless its
 * location is listed as a non-HMAC path; numbers, booleans and null pass through unchanged, keys are never
 * hashed. Unknown fields are therefore hashed by default: a field has to be listed to be logged in the clear.
 */
import { createHmac } from 'node:crypto';

export const HMAC_PREFIX = 'hmac-sha256:';

/** Returns the lowercase hex HMAC of `value` (without the `hmac-sha256:` prefix). */
export type HmacFn = (value: string) => string;

export interface HashOptions {
  /**
   * Dotted paths (from the root of the value) whose whole subtree is copied without hashing, e.g.
   * `request.path` or `auth.policies`. Array elements do not add a path segment, so `auth.policies` covers
   * every element of that list. Matching is exact per segment (a key that itself contains a dot never matches).
   */
  nonHmacPaths?: Iterable<string>;
}

/** HMAC-SHA256 keyed with `salt` over the UTF-8 bytes of `value`, as lowercase hex. */
export function hmacSha256Hex(salt: Buffer, value: string): string {
  return createHmac('sha256', salt).update(value, 'utf8').digest('hex');
}

/** An HmacFn for `salt`. */
export function saltedHmac(salt: Buffer): HmacFn {
  return (value) => hmacSha256Hex(salt, value);
}

interface PathNode {
  terminal: boolean;
  children: Map<string, PathNode>;
}

function buildTrie(paths: Iterable<string> | undefined): PathNode {
  const root: PathNode = { terminal: false, children: new Map() };
  if (!paths) return root;
  for (const path of paths) {
    let node = root;
    for (const segment of path.split('.')) {
      let next = node.children.get(segment);
      if (!next) {
        next = { terminal: false, children: new Map() };
        node.children.set(segment, next);
      }
      node = next;
    }
    node.terminal = true;
  }
  return root;
}

/**
 * A deep copy of `value` with every string (at any depth, in objects and arrays) replaced by
 * `hmac-sha256:<hmacFn(string)>`, except under `options.nonHmacPaths`. Follows JSON semantics for everything
 * else: `toJSON` is honoured (Dates), Buffers/typed arrays become base64 strings (then hashed), bigints become
 * decimal strings (then hashed), undefined/functions/symbols are dropped from objects and become null in
 * arrays. Non-finite numbers become null. Throws on a circular structure.
 */
export function hashStructure<T>(value: T, hmacFn: HmacFn, options: HashOptions = {}): T {
  const trie = buildTrie(options.nonHmacPaths);
  const ancestors = new Set<object>();
  const hash = (s: string) => HMAC_PREFIX + hmacFn(s);

  const walk = (v: unknown, node: PathNode | undefined, clear: boolean): unknown => {
    if (v === null) return null;
    switch (typeof v) {
      case 'string':
        return clear ? v : hash(v);
      case 'number':
        return Number.isFinite(v) ? v : null;
      case 'boolean':
        return v;
      case 'bigint':
        return clear ? v.toString() : hash(v.toString());
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    const obj = v as object;
    if (Buffer.isBuffer(obj) || ArrayBuffer.isView(obj)) {
      const view = obj as ArrayBufferView;
      const b64 = Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
      return clear ? b64 : hash(b64);
    }
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
      return walk((obj as { toJSON: () => unknown }).toJSON(), node, clear);
    }
    if (ancestors.has(obj)) throw new Error('audit: cannot hash a circular structure');
    ancestors.add(obj);
    try {
      if (Array.isArray(obj)) {
        return obj.map((item) => {
          const out = walk(item, node, clear);
          return out === undefined ? null : out;
        });
      }
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(obj)) {
        const childNode = clear ? undefined : node?.children.get(key);
        const copied = walk(child, childNode, clear || childNode?.terminal === true);
        if (copied !== undefined) out[key] = copied;
      }
      return out;
    } finally {
      ancestors.delete(obj);
    }
  };

  return walk(value, trie, trie.terminal) as T;
}
