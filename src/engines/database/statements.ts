/**
 * Role statements: each entry of a statements list may hold several SQL statements separated by `;`. They are
 * split (outside quotes, comments and, for PostgreSQL, dollar-quoted bodies), then each one is rendered as a
 * handlebars template without HTML escaping from `{{name}}`, `{{username}}`, `{{password}}`, `{{expiration}}`.
 * Splitting happens on the template, before values are substituted, as Vault does.
 */
import Handlebars from 'handlebars';

export type Dialect = 'postgres' | 'mysql';

/**
 * Splits SQL text into statements on top-level `;`. Understands '...' and "..." (doubled quotes; backslash escapes
 * for MySQL), `backticks` (MySQL), -- and /* *\/ comments (# too for MySQL; nested block comments for
 * PostgreSQL) and PostgreSQL's $tag$...$tag$ bodies. Empty statements are dropped; each is trimmed.
 */
export function splitStatements(text: string, dialect: Dialect): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  const push = (end: number) => {
    const stmt = text.slice(start, end).trim();
    if (stmt) out.push(stmt);
  };
  while (i < n) {
    const c = text[i];
    if (c === ';') {
      push(i);
      start = ++i;
      continue;
    }
    if (c === "'" || c === '"' || (c === '`' && dialect === 'mysql')) {
      i++;
      while (i < n) {
        if (dialect === 'mysql' && text[i] === '\\' && c !== '`') {
          i += 2;
          continue;
        }
        if (text[i] === c) {
          if (text[i + 1] === c) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (c === '#' && dialect === 'mysql') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else if (dialect === 'postgres' && text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else {
          i++;
        }
      }
      continue;
    }
    if (c === '$' && dialect === 'postgres') {
      // A dollar quote opens with $tag$ (tag: an identifier or empty), not preceded by an identifier character
      // (`a$b$` is an identifier, `$1` a parameter).
      const prev = i > 0 ? text[i - 1] : '';
      const m = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i));
      if (m && !/[A-Za-z0-9_$]/.test(prev)) {
        const delim = m[0];
        const end = text.indexOf(delim, i + delim.length);
        i = end === -1 ? n : end + delim.length;
        continue;
      }
    }
    i++;
  }
  push(n);
  return out;
}

/** Every statement of a statements list, split, in order. */
export function expandStatements(list: string[], dialect: Dialect): string[] {
  return list.flatMap((entry) => splitStatements(entry, dialect));
}

const cache = new Map<string, Handlebars.TemplateDelegate>();
const CACHE_LIMIT = 512;

/** Renders one statement template with `vars`, without HTML escaping. Unknown names render as ''. */
export function renderStatement(template: string, vars: Record<string, string>): string {
  let compiled = cache.get(template);
  if (!compiled) {
    compiled = Handlebars.compile(template, { noEscape: true });
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(template, compiled);
  }
  return compiled(vars);
}

/** PostgreSQL's `VALID UNTIL` form Vault uses: `2006-01-02 15:04:05-0700` in UTC, e.g. `2024-05-01 10:00:00+0000`. */
export function formatExpiration(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}+0000`;
}

/**
 * Checks that every statement of `list` is a valid template, so that a typo (`{{name}`) is a 400 when the role is
 * written rather than at the first issue. Returns the first problem, or null.
 */
export function statementTemplateError(list: string[]): string | null {
  for (const entry of list) {
    try {
      renderStatement(entry, { name: 'n', username: 'n', password: 'p', expiration: 'e' });
    } catch (err) {
      return `invalid statement template: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return null;
}
