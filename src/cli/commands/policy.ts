/** `coffer policy write|read|list|delete|fmt`, like `vault policy`. */
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { expectArgs, inlineWording, runSubcommand } from '../args.js';
import { CONNECTION_HELP, commandContext } from '../context.js';
import { readStdin } from '../kvargs.js';
import { out, structured } from '../output.js';

export const help = `Usage: coffer policy <subcommand> [options] [args]

  Interacts with ACL policies: uploads, reads, lists, deletes and formats them. Policy names are
  lowercased, as Vault does.

Subcommands:
    write      Upload a policy from a file or stdin
    read       Print a policy
    list       List policy names
    delete     Delete a policy
    fmt        Format a policy file in place

coffer policy write NAME FILE|-
  $ coffer policy write my-app ./my-app.hcl
  Success! Uploaded policy: my-app
  $ coffer policy write my-app - <<EOF
  path "secret/data/my-app/*" {
    capabilities = ["read", "list"]
  }
  EOF

coffer policy read NAME
  $ coffer policy read my-app
  $ coffer policy read -format=json my-app

coffer policy list
  $ coffer policy list
  $ coffer policy list -format=json

coffer policy delete NAME
  $ coffer policy delete my-app
  Success! Deleted policy: my-app

coffer policy fmt FILE
  Checks that FILE is a valid policy (HCL or JSON) and rewrites it in canonical HCL formatting,
  keeping the order of its path blocks and its comments. Needs no server.
  $ coffer policy fmt ./my-app.hcl
  Success! Formatted policy: ./my-app.hcl

Output options (read, list):
  -format=FORMAT           table (default), json or yaml.

${CONNECTION_HELP}`;

const policyName = (raw: string) => raw.trim().toLowerCase();

async function write(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 2);
  const [rawName, rawFile] = ctx.args.positional;
  const name = policyName(rawName);
  const file = rawFile.trim();
  let rules: string;
  if (file === '-') {
    rules = await readStdin();
  } else {
    try {
      rules = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot open policy file "${file}": ${describeFsError(err)}`);
    }
  }
  await (await ctx.client()).write(`sys/policies/acl/${encodeURIComponent(name)}`, { policy: rules });
  if (rawName !== name) process.stderr.write(`Policy name was converted from "${rawName}" to "${name}"\n`);
  await out(`Success! Uploaded policy: ${name}\n`);
  return 0;
}

async function read(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 1);
  const name = policyName(ctx.args.positional[0]);
  const res = await (await ctx.client()).read<{ policy?: string }>(`sys/policies/acl/${encodeURIComponent(name)}`);
  const rules = res?.data?.policy ?? '';
  if (!rules) {
    process.stderr.write(`No policy named: ${name}\n`);
    return 2;
  }
  await out(ctx.format === 'table' ? `${rules.trim()}\n` : await structured({ policy: rules }, ctx.format));
  return 0;
}

async function list(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 0);
  const res = await (await ctx.client()).list('sys/policies/acl');
  const names = res?.data?.keys ?? [];
  await out(ctx.format === 'table' ? names.map((n) => `${n}\n`).join('') : await structured(names, ctx.format));
  return 0;
}

async function remove(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 1);
  const name = policyName(ctx.args.positional[0]);
  await (await ctx.client()).delete(`sys/policies/acl/${encodeURIComponent(name)}`);
  await out(`Success! Deleted policy: ${name}\n`);
  return 0;
}

async function fmt(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, []);
  expectArgs(ctx.args.positional, 1);
  const raw = ctx.args.positional[0].trim();
  const file = raw === '~' || raw.startsWith('~/') ? homedir() + raw.slice(1) : raw;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read policy file "${file}": ${describeFsError(err)}`);
  }
  let formatted: string;
  try {
    formatted = await formatPolicy(text);
  } catch (err) {
    if (err instanceof PolicyFormatError) throw new Error(`failed to parse policy file "${file}": ${err.message}`);
    throw err;
  }
  try {
    await writeFile(file, formatted);
  } catch (err) {
    throw new Error(`cannot write policy file "${file}": ${describeFsError(err)}`);
  }
  await out(`Success! Formatted policy: ${file}\n`);
  return 0;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    EPERM: 'operation not permitted',
  };
  return (code && known[code]) ?? code ?? 'unreadable';
}

export async function run(argv: string[]): Promise<number> {
  return runSubcommand(argv, { write, read, list, delete: remove, fmt }, inlineWording('policy'));
}

// --- policy fmt ----------------------------------------------------------------------------------------
//
// The policy is parsed with hcl2json (or JSON.parse for JSON policies) and checked against the policy
// syntax the server accepts; then it is printed canonically: two-space indents, one blank line between
// blocks, `=` aligned across consecutive one-line attributes, lists on one line, maps one entry per line.
// hcl2json returns keys sorted and drops comments, so a light scan of the source recovers the order of the
// path blocks and attributes and the comments, which are put back before the item they preceded.

export class PolicyFormatError extends Error {}

const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'];
const LEGACY_POLICIES = ['deny', 'read', 'write', 'sudo'];
/** Block attributes in the order they are printed when the source does not give one. */
const BLOCK_KEYS = [
  'capabilities',
  'policy',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'comment',
];

type Block = Record<string, unknown>;
interface Attached {
  /** Comment lines before the item; '' marks a blank line between comment groups. */
  lead: string[];
  /** A comment on the item's own line. */
  trail?: string;
}
interface SourceBlock extends Attached {
  label: string;
  attrs: Map<string, Attached>;
  order: string[];
  /** Comments before the closing brace. */
  end: string[];
}
interface SourceLayout {
  name?: Attached;
  blocks: SourceBlock[];
  end: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** HCL1 allows a block's `{` on the next line; HCL2 does not. The server joins them too. */
const joinDetachedBraces = (text: string) => text.replace(/^(\s*path\s+"(?:[^"\\\n]|\\.)*")[ \t]*\r?\n\s*\{/gm, '$1 {');

export async function formatPolicy(text: string): Promise<string> {
  const isJson = text.trimStart().startsWith('{');
  const source = isJson ? text : joinDetachedBraces(text);
  let doc: unknown;
  if (isJson) {
    try {
      doc = JSON.parse(source);
    } catch (err) {
      throw new PolicyFormatError(`invalid JSON: ${(err as Error).message}`);
    }
  } else {
    const { parse } = await import('@cdktf/hcl2json');
    try {
      doc = await parse('policy.hcl', source);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new PolicyFormatError(message.replace(/^parse config: \[(.*)\]$/s, '$1').replace(/^policy\.hcl:/, 'line '));
    }
  }
  if (!isObject(doc)) throw new PolicyFormatError('a policy must be an object');
  for (const key of Object.keys(doc)) {
    if (key !== 'name' && key !== 'path') throw new PolicyFormatError(`unknown key "${key}" (a policy has only "path" blocks)`);
  }
  if (doc.name !== undefined && typeof doc.name !== 'string') throw new PolicyFormatError('"name" must be a string');
  const parsed = pathEntries(doc.path);
  for (const [pattern, block] of parsed) checkBlock(pattern, block);

  const layout = isJson ? undefined : scanLayout(source);
  // Use the source order when the scan found exactly the blocks the parser did; otherwise the parser's order.
  let ordered: Array<[string, Block, SourceBlock | undefined]> = parsed.map(([p, b]) => [p, b, undefined]);
  if (layout && sameLabels(layout.blocks.map((b) => b.label), parsed.map(([p]) => p))) {
    const queues = new Map<string, Block[]>();
    for (const [p, b] of parsed) queues.set(p, [...(queues.get(p) ?? []), b]);
    ordered = layout.blocks.map((sb) => [sb.label, queues.get(sb.label)!.shift()!, sb]);
  }

  const parts: string[] = [];
  if (typeof doc.name === 'string') parts.push(comments(layout?.name?.lead, '') + `name = ${quote(doc.name)}${trail(layout?.name?.trail)}\n`);
  for (const [pattern, block, sb] of ordered) parts.push(printBlock(pattern, block, sb));
  let result = parts.join('\n');
  const end = trimBlanks(layout?.end ?? []);
  if (end.length) result += (result ? '\n' : '') + comments(end, '');
  return result;
}

/** `{"p": [{...}]}` (HCL), `{"p": {...}}` and `[{"p": {...}}]` (JSON forms) as (pattern, block) pairs. */
function pathEntries(paths: unknown): Array<[string, Block]> {
  if (paths === undefined) return [];
  const entries: Array<[string, Block]> = [];
  for (const map of Array.isArray(paths) ? paths : [paths]) {
    if (!isObject(map)) throw new PolicyFormatError('"path" must map path patterns to blocks');
    for (const [pattern, blocks] of Object.entries(map)) {
      for (const block of Array.isArray(blocks) ? blocks : [blocks]) {
        if (!isObject(block)) throw new PolicyFormatError(`path ${quote(pattern)}: must be a block`);
        entries.push([pattern, block]);
      }
    }
  }
  return entries;
}

/** The checks the server's policy parser makes, so a file that formats is a file the server accepts. */
function checkBlock(pattern: string, block: Block): void {
  const fail = (msg: string): never => {
    throw new PolicyFormatError(`path ${quote(pattern)}: ${msg}`);
  };
  for (const key of Object.keys(block)) if (!BLOCK_KEYS.includes(key)) fail(`unknown key "${key}"`);
  const caps = block.capabilities;
  if (caps !== undefined) {
    if (!Array.isArray(caps)) fail('"capabilities" must be a list');
    for (const c of caps as unknown[]) if (typeof c !== 'string' || !CAPABILITIES.includes(c)) fail(`invalid capability ${JSON.stringify(c)}`);
  }
  if (block.policy !== undefined && (typeof block.policy !== 'string' || !LEGACY_POLICIES.includes(block.policy))) {
    fail(`invalid policy ${JSON.stringify(block.policy)}`);
  }
  if (caps === undefined && block.policy === undefined) fail('a path block needs "capabilities" or "policy"');
  for (const key of ['allowed_parameters', 'denied_parameters']) {
    const v = block[key];
    if (v !== undefined && (!isObject(v) || Object.values(v).some((x) => !Array.isArray(x)))) fail(`"${key}" must map parameter names to lists`);
  }
  const req = block.required_parameters;
  if (req !== undefined && (!Array.isArray(req) || req.some((x) => typeof x !== 'string'))) fail('"required_parameters" must be a list of strings');
  if (block.comment !== undefined && typeof block.comment !== 'string') fail('"comment" must be a string');
  for (const key of ['min_wrapping_ttl', 'max_wrapping_ttl']) {
    const v = block[key];
    if (v !== undefined && typeof v !== 'string' && typeof v !== 'number') fail(`"${key}" must be a duration`);
  }
  if (pattern.includes('+*')) fail("invalid use of wildcards ('+*' is forbidden)");
}

function sameLabels(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
}

const quote = (s: string) => JSON.stringify(s);

function value(v: unknown, indent: string): string {
  if (Array.isArray(v)) return `[${v.map((x) => value(x, indent)).join(', ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) return '{}';
    const width = Math.max(...keys.map((k) => quote(k).length));
    const inner = `${indent}  `;
    return `{\n${keys.map((k) => `${inner}${quote(k).padEnd(width)} = ${value(v[k], inner)}`).join('\n')}\n${indent}}`;
  }
  if (typeof v === 'string') return quote(v);
  return String(v);
}

const trail = (c: string | undefined) => (c ? ` ${c}` : '');

function trimBlanks(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && lines[a] === '') a++;
  while (b > a && lines[b - 1] === '') b--;
  return lines.slice(a, b);
}

function comments(lines: string[] | undefined, indent: string): string {
  const kept = trimBlanks(lines ?? []);
  if (kept.length && lines![lines!.length - 1] === '') kept.push('');
  return kept.map((l) => (l ? `${indent}${l}\n` : '\n')).join('');
}

function printBlock(pattern: string, block: Block, sb: SourceBlock | undefined): string {
  const keys = [
    ...(sb?.order ?? []).filter((k) => k in block),
    ...BLOCK_KEYS.filter((k) => k in block && !sb?.order.includes(k)),
  ];
  const items = keys.map((k) => ({ key: k, text: value(block[k], '  '), attached: sb?.attrs.get(k) }));
  let body = '';
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const multiline = item.text.includes('\n');
    // Consecutive one-line attributes align their `=`; a multi-line one stands apart, between blank lines.
    let width = item.key.length;
    if (!multiline) {
      for (let j = i - 1; j >= 0 && !items[j].text.includes('\n'); j--) width = Math.max(width, items[j].key.length);
      for (let j = i + 1; j < items.length && !items[j].text.includes('\n'); j++) width = Math.max(width, items[j].key.length);
    }
    if (i > 0 && (multiline || items[i - 1].text.includes('\n'))) body += '\n';
    body += comments(item.attached?.lead, '  ');
    body += `  ${item.key.padEnd(width)} = ${item.text}${trail(item.attached?.trail)}\n`;
  }
  const end = trimBlanks(sb?.end ?? []);
  if (end.length) body += (body ? '\n' : '') + comments(end, '  ');
  return `${comments(sb?.lead, '')}path ${quote(pattern)} {${trail(sb?.trail)}\n${body}}\n`;
}

interface ScannedLine {
  depth: number;
  code: string;
  comment: string;
}

/** Splits the source into lines of code and comment, with the bracket depth at each line's start. */
function scanLines(text: string): ScannedLine[] {
  const lines: ScannedLine[] = [];
  let depth = 0;
  let inBlockComment = false;
  for (const line of text.split(/\r?\n/)) {
    const start = depth;
    let code = '';
    let comment = '';
    let i = 0;
    while (i < line.length) {
      if (inBlockComment) {
        const close = line.indexOf('*/', i);
        if (close === -1) {
          comment += line.slice(i);
          i = line.length;
        } else {
          comment += line.slice(i, close + 2);
          i = close + 2;
          inBlockComment = false;
        }
        continue;
      }
      const ch = line[i];
      if (ch === '"') {
        let j = i + 1;
        while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
        code += line.slice(i, j + 1);
        i = j + 1;
      } else if (ch === '#' || line.startsWith('//', i)) {
        comment += line.slice(i);
        i = line.length;
      } else if (line.startsWith('/*', i)) {
        inBlockComment = true;
        comment += '/*';
        i += 2;
      } else {
        if ('{[('.includes(ch)) depth++;
        else if ('}])'.includes(ch)) depth = Math.max(0, depth - 1);
        code += ch;
        i++;
      }
    }
    lines.push({ depth: start, code: code.trim(), comment: comment.trim() });
  }
  return lines;
}

/** Where the path blocks, attributes and comments are in the source. */
function scanLayout(text: string): SourceLayout {
  const layout: SourceLayout = { blocks: [], end: [] };
  let pending: string[] = [];
  let block: SourceBlock | undefined;
  let attr: Attached | undefined;
  // Comments go to the next item, keeping a blank line that separated them from it (a file header).
  const take = () => {
    const taken = trimBlanks(pending);
    if (taken.length && pending[pending.length - 1] === '') taken.push('');
    pending = [];
    return taken;
  };
  for (const line of scanLines(text)) {
    if (!line.code) {
      if (line.comment) pending.push(line.comment);
      else if (pending.length && pending[pending.length - 1] !== '') pending.push('');
      continue;
    }
    if (line.depth === 0) {
      attr = undefined;
      const path = /^path\s+"((?:[^"\\]|\\.)*)"/.exec(line.code);
      if (path) {
        let label = path[1];
        try {
          label = JSON.parse(`"${path[1]}"`) as string;
        } catch {
          // keep the raw text; the labels check falls back to the parser's order if it does not match
        }
        block = { label, lead: take(), trail: line.comment || undefined, attrs: new Map(), order: [], end: [] };
        layout.blocks.push(block);
      } else if (/^name\s*=/.test(line.code)) {
        layout.name = { lead: take(), trail: line.comment || undefined };
      }
      continue;
    }
    if (!block) continue;
    if (line.depth === 1) {
      if (line.code.startsWith('}')) {
        block.end.push(...take());
        attr = undefined;
        continue;
      }
      const key = /^"?([A-Za-z_][\w-]*)"?\s*=/.exec(line.code);
      if (key) {
        attr = { lead: take(), trail: line.comment || undefined };
        block.attrs.set(key[1], attr);
        block.order.push(key[1]);
      }
      continue;
    }
    // Inside a multi-line value: its comments move before the attribute.
    if (attr) {
      attr.lead.push(...take());
      if (line.comment) attr.lead.push(line.comment);
    }
  }
  layout.end = take();
  return layout;
}
