/**
 * Terraform values on the wire (`DynamicValue`): msgpack as cty writes it, or JSON, always read against the
 * cty type the schema gives, because the bytes alone do not say whether an array is a list, a set or a tuple.
 *
 * In JavaScript a value is null, a string, number or boolean, an array (list, set, tuple), a plain object
 * (map, object), `UNKNOWN`, or a `Dynamic` (a value of an attribute typed `dynamic`, carrying its own type).
 */
import { decode, encode, ExtData } from '@msgpack/msgpack';
import type { CtyType } from './schema.js';

/** A value Terraform does not know yet (during plan). */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Unknown = typeof UNKNOWN;

export class Dynamic {
  constructor(
    readonly type: CtyType,
    readonly value: Value,
  ) {}
}

export type Value = null | string | number | boolean | Unknown | Dynamic | Value[] | { [key: string]: Value };
export type ObjectValue = { [key: string]: Value };

export class CodecError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(`${path.length ? `${formatPath(path)}: ` : ''}${message}`);
    this.name = 'CodecError';
  }
}

export function formatPath(path: (string | number)[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** cty writes an unknown as a fixext1 of extension type 0 whose one byte is irrelevant. */
const UNKNOWN_EXT = new ExtData(0, new Uint8Array([0]));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

// ---- reading -----------------------------------------------------------------------------------------------

export function decodeMsgpack(bytes: Uint8Array, type: CtyType): Value {
  return fromWire(decode(bytes), type, [], true);
}

export function decodeJson(bytes: Uint8Array, type: CtyType): Value {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new CodecError([], 'value is not valid JSON');
  }
  return fromWire(parsed, type, [], false);
}

/** Reads a `DynamicValue` message: msgpack when present, else JSON; an empty message is null. */
export function decodeDynamicValue(dv: { msgpack?: Uint8Array; json?: Uint8Array } | null | undefined, type: CtyType): Value {
  if (dv?.msgpack?.length) return decodeMsgpack(dv.msgpack, type);
  if (dv?.json?.length) return decodeJson(dv.json, type);
  return null;
}

function fromWire(raw: unknown, type: CtyType, path: (string | number)[], msgpack: boolean): Value {
  // Any extension type is an unknown: type 0 plain, type 12 refined (with a range or prefix we do not need).
  if (raw instanceof ExtData) return UNKNOWN;
  if (raw === null || raw === undefined) return null;
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (typeof raw !== 'string') throw new CodecError(path, `expected a string, got ${describe(raw)}`);
        return raw;
      case 'number':
        if (typeof raw === 'number') return raw;
        if (typeof raw === 'bigint') return Number(raw);
        // cty writes numbers that fit neither int64 nor float64 as their decimal string.
        if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
        throw new CodecError(path, `expected a number, got ${describe(raw)}`);
      case 'bool':
        if (typeof raw !== 'boolean') throw new CodecError(path, `expected a bool, got ${describe(raw)}`);
        return raw;
      case 'dynamic':
        return dynamicFromWire(raw, path, msgpack);
    }
  }
  const [kind, inner] = type as [string, unknown];
  switch (kind) {
    case 'list':
    case 'set':
      if (!Array.isArray(raw)) throw new CodecError(path, `expected a ${kind}, got ${describe(raw)}`);
      return raw.map((v, i) => fromWire(v, inner as CtyType, [...path, i], msgpack));
    case 'tuple': {
      const types = inner as CtyType[];
      if (!Array.isArray(raw) || raw.length !== types.length) throw new CodecError(path, `expected a tuple of ${types.length} elements`);
      return raw.map((v, i) => fromWire(v, types[i], [...path, i], msgpack));
    }
    case 'map': {
      if (!isObject(raw) && !(raw instanceof Map)) throw new CodecError(path, `expected a map, got ${describe(raw)}`);
      const out: ObjectValue = {};
      for (const [k, v] of entries(raw)) out[k] = fromWire(v, inner as CtyType, [...path, k], msgpack);
      return out;
    }
    case 'object': {
      if (!isObject(raw) && !(raw instanceof Map)) throw new CodecError(path, `expected an object, got ${describe(raw)}`);
      const attrs = inner as Record<string, CtyType>;
      const given = new Map(entries(raw));
      for (const k of given.keys()) if (!(k in attrs)) throw new CodecError([...path, k], 'unsupported attribute');
      const out: ObjectValue = {};
      for (const [name, t] of Object.entries(attrs)) out[name] = fromWire(given.get(name), t, [...path, name], msgpack);
      return out;
    }
  }
  throw new CodecError(path, `unsupported type ${JSON.stringify(type)}`);
}

function dynamicFromWire(raw: unknown, path: (string | number)[], msgpack: boolean): Value {
  // msgpack: [type JSON as bytes, value]; JSON: {"value": ..., "type": ...}.
  let typeJson: unknown;
  let inner: unknown;
  if (msgpack) {
    if (!Array.isArray(raw) || raw.length !== 2 || !(raw[0] instanceof Uint8Array || typeof raw[0] === 'string')) {
      throw new CodecError(path, 'a dynamic value must be [type, value]');
    }
    typeJson = typeof raw[0] === 'string' ? raw[0] : Buffer.from(raw[0]).toString('utf8');
    inner = raw[1];
  } else {
    if (!isObject(raw) || !('type' in raw)) throw new CodecError(path, 'a dynamic value must be {"value", "type"}');
    typeJson = JSON.stringify(raw.type);
    inner = raw.value;
  }
  let type: CtyType;
  try {
    type = JSON.parse(typeJson as string) as CtyType;
  } catch {
    throw new CodecError(path, 'a dynamic value carries an unreadable type');
  }
  return new Dynamic(type, fromWire(inner, type, path, msgpack));
}

function entries(raw: Record<string, unknown> | Map<unknown, unknown>): [string, unknown][] {
  return raw instanceof Map ? [...raw.entries()].map(([k, v]) => [String(k), v]) : Object.entries(raw);
}

function describe(raw: unknown): string {
  if (Array.isArray(raw)) return 'a list';
  if (raw instanceof Uint8Array) return 'bytes';
  return typeof raw === 'object' ? 'an object' : `a ${typeof raw}`;
}

// ---- writing -----------------------------------------------------------------------------------------------

export function encodeMsgpack(value: Value, type: CtyType): Uint8Array {
  return encode(toWire(value, type, []), { ignoreUndefined: false });
}

function toWire(value: Value | undefined, type: CtyType, path: (string | number)[]): unknown {
  if (value === UNKNOWN) return UNKNOWN_EXT;
  if (value === null || value === undefined) return null;
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        if (typeof value !== 'string') throw new CodecError(path, `cannot write ${describe(value)} as a string`);
        return value;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new CodecError(path, `cannot write ${describe(value)} as a number`);
        return value;
      case 'bool':
        if (typeof value !== 'boolean') throw new CodecError(path, `cannot write ${describe(value)} as a bool`);
        return value;
      case 'dynamic': {
        const dyn = value instanceof Dynamic ? value : new Dynamic(inferType(value, path), value);
        if (dyn.value === UNKNOWN) return UNKNOWN_EXT;
        return [Buffer.from(JSON.stringify(dyn.type)), toWire(dyn.value, dyn.type, path)];
      }
    }
  }
  const [kind, inner] = type as [string, unknown];
  switch (kind) {
    case 'list':
    case 'set':
      if (!Array.isArray(value)) throw new CodecError(path, `cannot write ${describe(value)} as a ${kind}`);
      return value.map((v, i) => toWire(v, inner as CtyType, [...path, i]));
    case 'tuple': {
      const types = inner as CtyType[];
      if (!Array.isArray(value) || value.length !== types.length) throw new CodecError(path, `cannot write this value as a tuple of ${types.length}`);
      return value.map((v, i) => toWire(v, types[i], [...path, i]));
    }
    case 'map': {
      if (!isObject(value) || value instanceof Dynamic) throw new CodecError(path, `cannot write ${describe(value)} as a map`);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(value).sort()) out[k] = toWire(value[k], inner as CtyType, [...path, k]);
      return out;
    }
    case 'object': {
      if (!isObject(value) || value instanceof Dynamic) throw new CodecError(path, `cannot write ${describe(value)} as an object`);
      const attrs = inner as Record<string, CtyType>;
      for (const k of Object.keys(value)) if (!(k in attrs)) throw new CodecError([...path, k], 'not an attribute of the schema');
      // Exactly the schema's attributes, nil for the unset ones: Terraform rejects a missing one.
      const out: Record<string, unknown> = {};
      for (const name of Object.keys(attrs).sort()) out[name] = toWire(value[name], attrs[name], [...path, name]);
      return out;
    }
  }
  throw new CodecError(path, `unsupported type ${JSON.stringify(type)}`);
}

/** The cty type of a JSON-like value, for values written into `dynamic` attributes without an explicit type. */
export function inferType(value: Value, path: (string | number)[] = []): CtyType {
  if (value === null || value === UNKNOWN) return 'dynamic';
  if (value instanceof Dynamic) return value.type;
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return ['tuple', value.map((v, i) => inferType(v, [...path, i]))];
  const attrs: Record<string, CtyType> = {};
  for (const [k, v] of Object.entries(value)) attrs[k] = inferType(v, [...path, k]);
  return ['object', attrs];
}

/** True when no part of the value is unknown. */
export function isWhollyKnown(value: Value): boolean {
  if (value === UNKNOWN) return false;
  if (value instanceof Dynamic) return isWhollyKnown(value.value);
  if (Array.isArray(value)) return value.every(isWhollyKnown);
  if (isObject(value)) return Object.values(value).every((v) => isWhollyKnown(v as Value));
  return true;
}
