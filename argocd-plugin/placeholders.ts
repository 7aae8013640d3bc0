/**
 * The placeholder engine: finds `<key>` and `<path:P#key[#version]>` placeholders in a manifest's string values,
 * looks their values up, runs the modifier chain and puts the result back, with AVP 1.18's rules:
 *
 * - `<key>` placeholders exist only in manifests annotated with a path (`avp.kubernetes.io/path`); there any
 *   `<...>` on one line is a placeholder. Without the annotation only `<path:...>` placeholders are looked for, so
 *   other `<text>` is left alone.
 * - Values only: map keys are never replaced. A result that is not a string (a number from KV v2, an object from
 *   `jsonParse`) replaces the whole field, typed.
 * - In a Secret, a string that is the base64 of text containing placeholders is decoded, replaced and encoded
 *   again; nothing else is base64-encoded for you. In a ConfigMap, results are turned into strings.
 * - Annotations: `path`, `ignore`, `kv-version`, `secret-version`, `remove-missing` (drops fields whose value is
 *   missing, in Secrets and ConfigMaps only). Each may also be written `coffer.dev/NAME`.
 *
 * coffer's own additions: `| default VALUE` is used when the value is missing; errors are collected (all
 * missing placeholders of a run are reported together) and name the file, the document and the placeholder.
 *
 * Rendering never changes its input: it builds a new tree. The same pass, run with a lookup that records what it
 * is asked for, plans the reads before any of them is made.
 */
import { type Manifest, describe } from './input.js';
import { MODIFIERS, ModifierError, decodeStdBase64 } from './modifiers.js';
import { JsonNumber, type Value, type ValueMap, isMap, newMap, numberText } from './values.js';

export const ANNOTATION_PREFIXES = ['avp.kubernetes.io/', 'coffer.dev/'] as const;

export type KvVersion = '1' | '2';

/** A failed read of a secret; `missing` when the secret does not exist. */
export class SecretError extends Error {
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

/** Returns the key/value data of the secret at `path` (KV v2: the version asked for, or the latest). */
export type SecretLookup = (path: string, version: string | undefined, kv: KvVersion) => ValueMap;

export interface EngineOptions {
  /** AVP_KV_VERSION: the KV version of paths in manifests without the kv-version annotation. */
  kvVersion: string;
  /** AVP_PATH_VALIDATION: paths must match it. */
  pathValidation?: RegExp;
}

export interface Rendered {
  value: ValueMap;
  /** One line per problem, each naming the document; empty when the document rendered. */
  errors: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Placeholder syntax
// ---------------------------------------------------------------------------------------------------------------

/** `<anything on one line>`, shortest first (AVP: `(?mU)<(.*)>`). */
const GENERIC = /<[^\n]*?>/g;
const HAS_PLACEHOLDER = /<[^\n]*?>/;
/** `<path:P#key>` / `<path:P#key#version>` (AVP: `(?mU)<path:([^#]+)#([^#]+)(?:#([^#]+))?>`). */
const SPECIFIC = /<path:[^#]+?#[^#]+?(?:#[^#]+?)??>/g;
/** The inline form inside a placeholder, found anywhere in it. */
const INLINE = /path:([^#]+)#([^#]+)(?:#(.+))?/;

interface Placeholder {
  /** The placeholder name as messages show it. */
  name: string;
  inline?: { path: string; key: string; version: string | undefined };
  key?: string;
  modifiers: { name: string; args: string[] }[];
  fallback?: string;
}

const parsed = new Map<string, Placeholder | ModifierError>();

/** Parses the text between `<` and `>` (cached: repositories repeat the same placeholders many times). */
function parsePlaceholder(match: string): Placeholder | ModifierError {
  const hit = parsed.get(match);
  if (hit) return hit;
  const inner = match.replace(/^[<>]+|[<>]+$/g, '');
  const [head, ...stmts] = inner.split('|');
  const name = head.replace(/^ +| +$/g, '');
  let result: Placeholder | ModifierError = { name, modifiers: [] };
  const m = INLINE.exec(name);
  if (m) result.inline = { path: m[1], key: m[2].trim(), version: m[3] || undefined };
  else result.key = name;
  for (const stmt of stmts) {
    const fields = stmt.trim().split(/\s+/).filter(Boolean);
    const fn = fields[0] ?? '';
    if (fn === 'default') {
      result.fallback = stmt.trim().slice('default'.length).trim();
    } else if (Object.prototype.hasOwnProperty.call(MODIFIERS, fn)) {
      result.modifiers.push({ name: fn, args: fields.slice(1) });
    } else {
      result = new ModifierError(`invalid modifier: ${fn || '(empty)'} for placeholder ${name}`);
      break;
    }
  }
  if (parsed.size > 100_000) parsed.clear();
  parsed.set(match, result);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Annotations
// ---------------------------------------------------------------------------------------------------------------

/** The value of annotation NAME under either prefix; both given with different values is an error. */
function annotation(annotations: ValueMap, name: string, errors: string[]): string | undefined {
  let found: string | undefined;
  for (const prefix of ANNOTATION_PREFIXES) {
    const v = annotations[prefix + name];
    if (v === undefined || v === null) continue;
    const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || v instanceof JsonNumber ? String(v) : undefined;
    if (s === undefined) {
      errors.push(`annotation ${prefix + name} must be a string`);
      continue;
    }
    if (found !== undefined && found !== s) errors.push(`annotations ${ANNOTATION_PREFIXES.map((p) => p + name).join(' and ')} disagree`);
    found ??= s;
  }
  return found;
}

/** Go's strconv.ParseBool; anything else is false (as AVP treats it). */
function parseBool(s: string | undefined): boolean {
  return s !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s);
}

export function isIgnored(m: Manifest): boolean {
  const meta = m.value.metadata;
  const annotations = isMap(meta) && isMap(meta.annotations) ? meta.annotations : newMap();
  return parseBool(annotation(annotations, 'ignore', []));
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering one document
// ---------------------------------------------------------------------------------------------------------------

interface Outcome {
  value: Value;
  errors: { message: string; missing: boolean }[];
}

class DocumentRenderer {
  readonly errors: string[] = [];
  private readonly kind: string;
  private readonly kv: KvVersion | undefined;
  private readonly regex: RegExp;
  private readonly removeMissing: boolean;
  /** Data of the annotated path; undefined when there is no annotation or its read failed. */
  private annotationData: ValueMap | undefined;
  private annotationFailed = false;

  constructor(
    private readonly m: Manifest,
    private readonly options: EngineOptions,
    private readonly lookup: SecretLookup,
    /** Only finding the reads: placeholders are looked up and left as they are. */
    private readonly planning = false,
  ) {
    this.kind = m.value.kind as string;
    const meta = m.value.metadata;
    const annotations = isMap(meta) && isMap(meta.annotations) ? meta.annotations : newMap();
    const path = annotation(annotations, 'path', this.errors);
    const kv = annotation(annotations, 'kv-version', this.errors) ?? options.kvVersion;
    if (kv === '1' || kv === '2') this.kv = kv;
    else this.errors.push(`unsupported KV version "${kv}" (the kv-version annotation or AVP_KV_VERSION must be 1 or 2)`);
    this.removeMissing = parseBool(annotation(annotations, 'remove-missing', this.errors));
    this.regex = path !== undefined ? GENERIC : SPECIFIC;
    if (this.removeMissing && this.kind !== 'Secret' && this.kind !== 'ConfigMap') {
      this.errors.push('the remove-missing annotation can only be used on Secret or ConfigMap resources');
    }
    if (path && this.kv && this.pathAllowed(path)) {
      const version = annotation(annotations, 'secret-version', this.errors);
      try {
        this.annotationData = this.lookup(path, this.kv === '2' ? version : undefined, this.kv);
      } catch (err) {
        this.annotationFailed = true;
        this.errors.push(`path ${path}: ${(err as Error).message}`);
      }
    }
  }

  private pathAllowed(path: string): boolean {
    if (!this.options.pathValidation || this.options.pathValidation.test(path)) return true;
    this.errors.push(`the path ${path} is disallowed by the AVP_PATH_VALIDATION restriction`);
    return false;
  }

  render(): ValueMap {
    if (this.errors.length || !this.kv) return this.m.value;
    return this.map(this.m.value);
  }

  private map(obj: ValueMap): ValueMap {
    const out = newMap();
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (typeof v === 'string') {
        const r = this.replaceField(key, v);
        const missing = r.errors.some((e) => e.missing);
        for (const e of r.errors) if (!(this.removeMissing && e.missing)) this.errors.push(e.message);
        if (!(this.removeMissing && missing)) out[key] = r.value;
      } else if (Array.isArray(v)) out[key] = this.list(v, key);
      else if (isMap(v)) out[key] = this.map(v);
      else out[key] = v;
    }
    return out;
  }

  /** Lists: maps and strings inside are replaced; a missing value is an error even with remove-missing. */
  private list(items: Value[], key: string): Value[] {
    return items.map((v) => {
      if (typeof v === 'string') {
        const r = this.replaceField(key, v);
        for (const e of r.errors) this.errors.push(e.message);
        return r.value;
      }
      if (Array.isArray(v)) return this.list(v, key);
      if (isMap(v)) return this.map(v);
      return v;
    });
  }

  private replaceField(key: string, value: string): Outcome {
    if (this.kind === 'Secret') {
      const decoded = decodeStdBase64(value);
      const textual = decoded && utf8(decoded);
      if (textual && HAS_PLACEHOLDER.test(textual)) {
        const r = this.replaceString(key, textual);
        const s = this.stringify(r.value, key);
        if (s === null) return r;
        return { value: Buffer.from(s, 'utf8').toString('base64'), errors: r.errors };
      }
    }
    const r = this.replaceString(key, value);
    if (this.kind === 'ConfigMap' && typeof r.value !== 'string') {
      const s = this.stringify(r.value, key);
      if (s !== null) return { value: s, errors: r.errors };
    }
    return r;
  }

  /** A result as text (ConfigMap values, base64-embedded placeholders); null (and an error) for maps and lists. */
  private stringify(v: Value, key: string): string | null {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || v instanceof JsonNumber) return numberText(v);
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    this.errors.push(`key ${JSON.stringify(key)}: the placeholder produced a ${Array.isArray(v) ? 'list' : v === null ? 'null' : 'map'}, but ${this.kind} values here must be text`);
    return null;
  }

  private replaceString(key: string, value: string): Outcome {
    const errors: Outcome['errors'] = [];
    let typed: Value | undefined;
    const replaced = value.replace(this.regex, (match) => {
      const p = parsePlaceholder(match);
      const where = `placeholder ${match} in key ${JSON.stringify(key)}`;
      if (p instanceof ModifierError) {
        errors.push({ message: `${where}: ${p.message}`, missing: false });
        return match;
      }
      let v: Value | undefined;
      if (this.planning) {
        if (p.inline) this.lookup(p.inline.path, this.kv === '2' ? p.inline.version : undefined, this.kv!);
        return match;
      }
      if (p.inline) {
        const { path, key: k, version } = p.inline;
        if (!this.pathAllowed(path)) return match;
        try {
          v = this.lookup(path, this.kv === '2' ? version : undefined, this.kv!)[k];
        } catch (err) {
          if (p.fallback !== undefined && err instanceof SecretError && err.missing) v = undefined;
          else {
            errors.push({ message: `${where}: ${(err as Error).message}`, missing: false });
            return match;
          }
        }
      } else {
        if (this.annotationFailed) return match;
        v = this.annotationData?.[p.key!];
      }
      if (v === undefined || v === null) {
        if (p.fallback === undefined) {
          errors.push({ message: `${where}: missing value for ${p.inline ? `key ${p.inline.key} at path ${p.inline.path}` : p.key}`, missing: true });
          return match;
        }
        v = p.fallback;
      }
      for (const mod of p.modifiers) {
        try {
          v = MODIFIERS[mod.name](mod.args, v);
        } catch (err) {
          if (!(err instanceof ModifierError)) throw err;
          errors.push({ message: `${where}: ${mod.name}: ${err.message}`, missing: false });
          return match;
        }
      }
      if (typeof v === 'string') return v;
      typed = v;
      return match;
    });
    return { value: typed !== undefined ? typed : replaced, errors };
  }
}

function utf8(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** Renders a manifest (an ignored one is returned as it is). Errors are prefixed with the document's name. */
export function renderManifest(m: Manifest, options: EngineOptions, lookup: SecretLookup, planning = false): Rendered {
  if (isIgnored(m)) return { value: m.value, errors: [] };
  const r = new DocumentRenderer(m, options, lookup, planning);
  const value = r.render();
  return { value, errors: r.errors.map((e) => `${describe(m)}: ${e}`) };
}

export interface Read {
  path: string;
  version: string | undefined;
}

/**
 * The reads rendering `manifests` will need, each once: the same pass as rendering, in planning mode, with a
 * lookup that records each read (the errors of that pass mean nothing and are dropped).
 */
export function planReads(manifests: Manifest[], options: EngineOptions): Read[] {
  const reads = new Map<string, Read>();
  const record: SecretLookup = (path, version) => {
    reads.set(readId(path, version), { path, version });
    return PLANNED;
  };
  for (const m of manifests) renderManifest(m, options, record, true);
  return [...reads.values()];
}

/** Stands for a read's data while planning: every key is absent. */
const PLANNED: ValueMap = newMap();

export function readId(path: string, version: string | undefined): string {
  return version === undefined ? path : `${path}\u0000${version}`;
}
