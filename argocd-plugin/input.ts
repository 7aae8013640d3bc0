/**
 * Reading the manifests to render: a directory (walked recursively in lexical order, `.yaml`, `.yml` and `.json`
 * files, as AVP's filepath.Walk does), one file, or standard input (`-`), each holding one or more documents.
 *
 * Values are read as AVP reads them: YAML 1.1 as yaml.v2 resolves plain scalars (`yes`/`on` are booleans, `0777`
 * is octal, `2024-01-02` stays a string), merge keys in yaml.v2's order, then the JSON conversion of
 * sigs.k8s.io/yaml (map keys become strings). The `yaml` package parses; the resolution of scalars is done here.
 * A JSON stream (first character `{`) is read as a sequence of JSON objects, like Kubernetes' decoder.
 */
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Alias, isAlias, isMap as isYamlMap, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import { JsonNumber, type Value, type ValueMap, fromParsed, goFormatG, isMap, newMap } from './values.js';

/** Bad input: the message names the file (and line or document) and goes to stderr as it is. */
export class InputError extends Error {}

/**
 * An alias naming no anchor set before it (yaml.v2: "unknown anchor referenced"). The anchor's name is kept apart
 * from the reason: in a value that `yamlParse` reads, it is part of a secret.
 */
export class UnresolvedAliasError extends InputError {
  static readonly REASON = 'unresolved alias (the anchor must be set before the alias)';
  constructor(source: string, readonly anchor: string) {
    super(`${source}: ${UnresolvedAliasError.REASON}: ${anchor}`);
  }
}

export interface Manifest {
  /** The file it came from (`stdin` for `-`). */
  source: string;
  /** 1-based position of the document in its file. */
  index: number;
  value: ValueMap;
}

/** Where a document is, for messages: `deploy/app.yaml, document 2 (Secret/db)`. */
export function describe(m: Manifest): string {
  const meta = m.value.metadata;
  const name = isMap(meta) && typeof meta.name === 'string' ? meta.name : '';
  return `${m.source}, document ${m.index} (${String(m.value.kind)}${name ? `/${name}` : ''})`;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The files under `root` that hold manifests, in the order AVP reads them. */
export function listFiles(root: string): string[] {
  let stat;
  try {
    stat = lstatSync(root);
  } catch (err) {
    throw new InputError(`cannot read ${root}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!stat.isDirectory()) return EXTENSIONS.has(path.extname(root)) ? [root] : [];
  const files: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      throw new InputError(`cannot read directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    for (const name of names) {
      const full = path.join(dir, name);
      // Like filepath.Walk: symbolic links are not followed into directories.
      if (lstatSync(full).isDirectory()) walk(full);
      else if (EXTENSIONS.has(path.extname(name))) files.push(full);
    }
  };
  walk(root);
  return files;
}

export function readManifestFile(file: string): Manifest[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseManifests(text, file);
}

/** Every non-empty document of `text`; each must be a mapping with a `kind`. */
export function parseManifests(text: string, source: string): Manifest[] {
  const values = /^\s*\{/.test(text) ? parseJsonStream(text, source) : parseYamlStream(text, source);
  const out: Manifest[] = [];
  values.forEach((value, i) => {
    if (value === null) return;
    const where = `${source}, document ${i + 1}`;
    if (!isMap(value)) throw new InputError(`${where}: not a Kubernetes object (a ${Array.isArray(value) ? 'list' : 'scalar'} instead of a mapping)`);
    if (Object.keys(value).length === 0) return;
    if (typeof value.kind !== 'string' || value.kind === '') throw new InputError(`${where}: Object 'Kind' is missing`);
    out.push({ source, index: i + 1, value });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------------------------------

/** Expanding aliases beyond this many per document is refused (a "billion laughs" document). */
const MAX_ALIAS_EXPANSIONS = 10_000;

function parseYamlStream(text: string, source: string): Value[] {
  const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const lines = text.split('\n');
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const at = lineOf(text, error.pos[0]);
      throw new InputError(`${source}: YAML syntax error at line ${at.line}, column ${at.col}: ${firstLine(error.message)}\n${frame(lines, at.line)}`);
    }
  }
  return list.map((doc) => new YamlConverter(doc, source).convert(doc.contents as YamlNode | null));
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function lineOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** The offending line and the one before it: an indentation error is often caused by the previous line. */
function frame(lines: string[], line: number): string {
  const out: string[] = [];
  for (let n = Math.max(1, line - 1); n <= Math.min(lines.length, line); n++) out.push(`  line ${n}: ${lines[n - 1].replace(/\r$/, '')}`);
  return out.join('\n');
}

class YamlConverter {
  private expansions = 0;
  constructor(
    private readonly doc: Document,
    private readonly source: string,
  ) {}

  convert(node: YamlNode | null | undefined): Value {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      if (++this.expansions > MAX_ALIAS_EXPANSIONS) throw new InputError(`${this.source}: too many alias expansions (more than ${MAX_ALIAS_EXPANSIONS})`);
      const target = (node as Alias).resolve(this.doc) as YamlNode | undefined;
      // The yaml package resolves an unknown anchor to undefined, which would read as null: yaml.v2 fails instead.
      if (target === undefined) throw new UnresolvedAliasError(this.source, (node as Alias).source);
      return this.convert(target);
    }
    if (isScalar(node)) return this.scalar(node.value as string, node.type === 'PLAIN' || node.type === undefined, node.tag);
    if (isSeq(node)) return node.items.map((item) => this.convert(item as YamlNode));
    if (isYamlMap(node)) {
      const out = newMap();
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        if (isScalar(keyNode) && keyNode.value === '<<' && keyNode.type === 'PLAIN' && !keyNode.tag) {
          this.merge(pair.value as YamlNode, out);
          continue;
        }
        out[this.key(keyNode)] = this.convert(pair.value as YamlNode | null);
      }
      return out;
    }
    return null;
  }

  /** yaml.v2's merge: a mapping, or a list of mappings of which the earlier ones win. */
  private merge(node: YamlNode, into: ValueMap): void {
    const target = isAlias(node) ? ((node as Alias).resolve(this.doc) as YamlNode) : node;
    if (isSeq(target)) {
      for (let i = target.items.length - 1; i >= 0; i--) this.merge(target.items[i] as YamlNode, into);
      return;
    }
    const value = this.convert(node);
    if (!isMap(value)) throw new InputError(`${this.source}: map merge requires map or sequence of maps as the value`);
    Object.assign(into, value);
  }

  /** sigs.k8s.io/yaml turns map keys into strings. */
  private key(node: YamlNode | null): string {
    const v = this.convert(node);
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFormatG(v);
    if (v instanceof JsonNumber) return v.text;
    throw new InputError(`${this.source}: unsupported map key ${JSON.stringify(v)}`);
  }

  private scalar(text: string, plain: boolean, tag: string | undefined): Value {
    const short = tag?.replace(/^tag:yaml\.org,2002:/, '!!');
    if (short === '!!str' || (!plain && short === undefined)) return text;
    if (short === '!!binary') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
    // Unknown (application) tags keep the text, as yaml.v2 does.
    if (short !== undefined && !['!!int', '!!float', '!!bool', '!!null', '!!timestamp'].includes(short)) return text;
    const v = resolvePlain(text);
    if (v === NOT_JSON) throw new InputError(`${this.source}: the value ${text} cannot be represented in JSON`);
    return v;
  }
}

const NOT_JSON = Symbol('not representable in JSON');

const BOOLEANS: Record<string, boolean> = Object.fromEntries([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s) => [s, false]),
]);
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const SPECIAL_FLOATS = new Set(['.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF']);
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_INT = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const TIMESTAMP_PREFIX = /^\d{4}-/;

/** yaml.v2's resolve() of a plain scalar, as a JSON-representable value. */
function resolvePlain(s: string): Value | typeof NOT_JSON {
  if (s in BOOLEANS) return BOOLEANS[s];
  if (NULLS.has(s)) return null;
  if (SPECIAL_FLOATS.has(s)) return NOT_JSON;
  const c = s[0];
  if (c === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : s;
  if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
    // Timestamps stay strings when read into an untyped value (yaml.v2 keeps them as text for compatibility).
    if (TIMESTAMP_PREFIX.test(s)) return s;
    const plain = s.replace(/_/g, '');
    const int = GO_INT.exec(plain);
    if (int) {
      const body = int[2];
      let v = /^0[oO]/.test(body) ? BigInt(`0o${body.slice(2)}`) : /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
      if (int[1] === '-') v = -v;
      if (v >= -(2n ** 63n) && v < 2n ** 64n) return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : new JsonNumber(v.toString());
    }
    if (YAML_FLOAT.test(plain)) return Number(plain);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------------------------

/** A stream of JSON values one after another (what Kubernetes' YAMLOrJSONDecoder accepts). */
function parseJsonStream(text: string, source: string): Value[] {
  const out: Value[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i])) i++;
    if (i >= n) break;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0) {
        throw new InputError(`${source}: JSON syntax error at line ${lineOf(text, i).line}: unexpected ${JSON.stringify(c)} between values`);
      }
    }
    const chunk = text.slice(start, i);
    try {
      out.push(fromParsed(JSON.parse(chunk)));
    } catch (err) {
      const pos = /position (\d+)/.exec((err as Error).message);
      const line = lineOf(text, start + (pos ? Number(pos[1]) : chunk.length)).line;
      throw new InputError(`${source}: JSON syntax error at line ${line}: ${(err as Error).message.replace(/ in JSON at position \d+.*$/, '')}`);
    }
  }
  return out;
}

/**
 * A YAML text as sigs.k8s.io/yaml.Unmarshal reads it into an untyped value (the `yamlParse` modifier): the first
 * document, numbers as float64. Throws on a syntax error, without quoting the text (it is a secret).
 */
export function parseYamlValue(text: string): Value {
  const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, prettyErrors: false });
  const first = (Array.isArray(docs) ? docs : [docs])[0];
  if (!first) return null;
  if (first.errors.length) throw new InputError('invalid YAML');
  return toFloats(new YamlConverter(first, 'value').convert(first.contents as YamlNode | null));
}

function toFloats(v: Value): Value {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(toFloats);
  if (isMap(v)) {
    const out = newMap();
    for (const k of Object.keys(v)) out[k] = toFloats(v[k]);
    return out;
  }
  return v;
}
