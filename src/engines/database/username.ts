/**
 * `username_template`: how a dynamic credential's username is built, in Vault's syntax.
 *
 * Vault renders these templates with Go's text/template plus its own helper functions (sdk/helper/template), so a
 * template copied from Vault's docs or an existing Vault config reads `{{ printf "v-%s-%s" (.RoleName | truncate 8)
 * (random 20) | truncate 63 }}`. The language is the project's one Go-template interpreter (src/shared/gotemplate);
 * this file supplies Vault's functions as its function map: `random N`, `truncate N`, `truncate_sha256 N`,
 * `uppercase`, `lowercase`, `replace "a" "b"`, `sha256`, `base64`, `decode_base64`, `hex`, `decode_hex`,
 * `unix_time`, `unix_time_millis`, `timestamp "<Go layout>"` (UTC) and `uuid`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Template, TemplateError as GoTemplateError } from '../../shared/gotemplate/index.js';
import { randomBase62 } from '../../shared/otp.js';

export interface UsernameMetadata {
  DisplayName: string;
  RoleName: string;
}

export class TemplateError extends Error {}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Formats `date` (in UTC) with a Go reference-time layout (`2006-01-02T15:04:05Z07:00`). */
export function goTimeFormat(layout: string, date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const Y = date.getUTCFullYear();
  const M = date.getUTCMonth();
  const D = date.getUTCDate();
  const h = date.getUTCHours();
  const m = date.getUTCMinutes();
  const s = date.getUTCSeconds();
  const ms = date.getUTCMilliseconds();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const yday = Math.floor((Date.UTC(Y, M, D) - Date.UTC(Y, 0, 1)) / 86400000) + 1;
  // Longest tokens first, as Go's layout scanner does.
  const tokens: [string, () => string][] = [
    ['January', () => MONTHS[M]],
    ['Monday', () => DAYS[date.getUTCDay()]],
    ['Z07:00', () => 'Z'],
    ['-07:00', () => '+00:00'],
    ['Z0700', () => 'Z'],
    ['-0700', () => '+0000'],
    ['2006', () => pad(Y, 4)],
    ['.000000000', () => `.${pad(ms, 3)}000000`],
    ['.999999999', () => (ms ? `.${pad(ms, 3).replace(/0+$/, '')}` : '')],
    ['.000000', () => `.${pad(ms, 3)}000`],
    ['.999999', () => (ms ? `.${pad(ms, 3).replace(/0+$/, '')}` : '')],
    ['.000', () => `.${pad(ms, 3)}`],
    ['.999', () => (ms ? `.${pad(ms, 3).replace(/0+$/, '')}` : '')],
    ['Jan', () => MONTHS[M].slice(0, 3)],
    ['Mon', () => DAYS[date.getUTCDay()].slice(0, 3)],
    ['MST', () => 'UTC'],
    ['002', () => pad(yday, 3)],
    ['-07', () => '+00'],
    ['Z07', () => 'Z'],
    ['01', () => pad(M + 1)],
    ['02', () => pad(D)],
    ['_2', () => String(D).padStart(2, ' ')],
    ['06', () => pad(Y % 100)],
    ['15', () => pad(h)],
    ['03', () => pad(h12)],
    ['04', () => pad(m)],
    ['05', () => pad(s)],
    ['PM', () => (h >= 12 ? 'PM' : 'AM')],
    ['pm', () => (h >= 12 ? 'pm' : 'am')],
    ['1', () => String(M + 1)],
    ['2', () => String(D)],
    ['3', () => String(h12)],
    ['4', () => String(m)],
    ['5', () => String(s)],
  ];
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    for (const [tok, fn] of tokens) {
      if (layout.startsWith(tok, i)) {
        out += fn();
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i++];
  }
  return out;
}

type Arg = unknown;

function arity(fn: string, args: Arg[], n: number): void {
  if (args.length !== n) throw new TemplateError(`wrong number of args for ${fn}: want ${n} got ${args.length}`);
}

const asInt = (fn: string, v: Arg): number => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return parseInt(v, 10);
  throw new TemplateError(`${fn}: expected an integer argument`);
};

/** Vault's functions take strings; a number is accepted as its decimal text, anything else is refused. */
const asString = (fn: string, v: Arg): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new TemplateError(`${fn}: expected a string argument`);
};

/** A one-string-argument function. */
const stringFn = (name: string, f: (s: string) => string) => (...args: Arg[]) => (arity(name, args, 1), f(asString(name, args[0])));

/** A function of no arguments. */
const nullary = (name: string, f: () => string) => (...args: Arg[]) => (arity(name, args, 0), f());

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

const FUNCTIONS = {
  random: (...args: Arg[]) => {
    arity('random', args, 1);
    const n = asInt('random', args[0]);
    if (n <= 0) throw new TemplateError('random: length must be > 0');
    return randomBase62(n);
  },
  truncate: (...args: Arg[]) => {
    arity('truncate', args, 2);
    const n = asInt('truncate', args[0]);
    if (n <= 0) throw new TemplateError(`max length must be > 0 but was ${n}`);
    const s = asString('truncate', args[1]);
    return s.length > n ? s.slice(0, n) : s;
  },
  truncate_sha256: (...args: Arg[]) => {
    arity('truncate_sha256', args, 2);
    const n = asInt('truncate_sha256', args[0]);
    if (n <= 8) throw new TemplateError(`max length must be > 8 but was ${n}`);
    const s = asString('truncate_sha256', args[1]);
    if (s.length <= n) return s;
    const cut = n - 8;
    return s.slice(0, cut) + hash(s.slice(cut)).slice(0, 8);
  },
  replace: (...args: Arg[]) => {
    arity('replace', args, 3);
    return asString('replace', args[2]).split(asString('replace', args[0])).join(asString('replace', args[1]));
  },
  uppercase: stringFn('uppercase', (s) => s.toUpperCase()),
  lowercase: stringFn('lowercase', (s) => s.toLowerCase()),
  sha256: stringFn('sha256', hash),
  base64: stringFn('base64', (s) => Buffer.from(s, 'utf8').toString('base64')),
  decode_base64: stringFn('decode_base64', (s) => Buffer.from(s, 'base64').toString('utf8')),
  hex: stringFn('hex', (s) => Buffer.from(s, 'utf8').toString('hex')),
  decode_hex: stringFn('decode_hex', (s) => Buffer.from(s, 'hex').toString('utf8')),
  timestamp: stringFn('timestamp', (layout) => goTimeFormat(layout, new Date())),
  unix_time: nullary('unix_time', () => String(Math.floor(Date.now() / 1000))),
  unix_time_millis: nullary('unix_time_millis', () => String(Date.now())),
  uuid: nullary('uuid', randomUUID),
};

/** The sample Vault validates a template with when it is written. */
const SAMPLE: UsernameMetadata = { DisplayName: '', RoleName: '' };

export class UsernameTemplate {
  private readonly template: Template;

  /**
   * Parses `source` and runs it once on empty metadata, so a bad template fails when it is written, not at issue
   * time: a syntax error, an unknown function or a field the metadata does not have ("unable to parse template: ...").
   * Missing keys are errors, as a misspelt field of Vault's metadata struct is in Go.
   */
  constructor(readonly source: string) {
    if (source === '') throw new TemplateError('missing template');
    try {
      this.template = Template.parse('username', source, { funcs: FUNCTIONS, errorOnMissingKey: true, limits: { maxOutputBytes: 64 * 1024 } });
      this.template.executeSync(SAMPLE);
    } catch (err) {
      throw new TemplateError(`unable to parse template: ${(err as Error).message}`);
    }
  }

  generate(data: UsernameMetadata): string {
    try {
      return this.template.executeSync(data);
    } catch (err) {
      if (!(err instanceof GoTemplateError)) throw err;
      throw new TemplateError(`unable to apply template: ${err.message}`);
    }
  }
}

/** Parses and dry-runs a template (as Vault does when a connection or role is configured). */
export function validateUsernameTemplate(source: string): UsernameTemplate {
  return new UsernameTemplate(source);
}

/**
 * A generated username goes into SQL/ACL statements unescaped (as in Vault), so it must not carry characters
 * that could end a quoted identifier or literal. Display names come from tokens, which callers can influence.
 */
export function checkGeneratedUsername(username: string): void {
  if (username === '') throw new TemplateError('the username template produced an empty username');
  if (/["'`\\;\x00-\x1f\x7f]/.test(username)) {
    throw new TemplateError('the username template produced a username with quotes, backslashes, semicolons or control characters');
  }
}
