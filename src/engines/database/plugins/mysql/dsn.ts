/**
 * Vault's MySQL connection_url is a Go MySQL driver DSN, `user:password@tcp(host:port)/dbname?param=value`,
 * usually written with placeholders: `{{username}}:{{password}}@tcp(127.0.0.1:3306)/`. This parses that form
 * (and `mysql://` URLs) into mysql2 options. Placeholders are substituted after parsing, into the user and
 * password fields only, so a password with `@`, `:` or `/` needs no escaping.
 */
import { DatabaseError } from '../plugin.js';

export interface ParsedDsn {
  user: string;
  password: string;
  host?: string;
  port?: number;
  socketPath?: string;
  database?: string;
  params: Record<string, string>;
}

const fill = (v: string, username: string, password: string) =>
  v.split('{{username}}').join(username).split('{{password}}').join(password);

function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]*)(?::(\d+))?$/.exec(address);
  if (!m) throw new DatabaseError('invalid DSN: bad address');
  return { host: m[1] || '127.0.0.1', port: m[2] ? parseInt(m[2], 10) : 3306 };
}

export function parseMySQLDsn(dsn: string, username: string, password: string): ParsedDsn {
  if (/^mysql:\/\//i.test(dsn)) {
    let url: URL;
    try {
      url = new URL(dsn.replace(/\{\{username\}\}/g, 'USERNAME_PLACEHOLDER').replace(/\{\{password\}\}/g, 'PASSWORD_PLACEHOLDER'));
    } catch {
      throw new DatabaseError('invalid connection_url: not a valid mysql:// URL');
    }
    const dec = (v: string) => decodeURIComponent(v).replace('USERNAME_PLACEHOLDER', username).replace('PASSWORD_PLACEHOLDER', password);
    const params: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (params[k] = v));
    return {
      user: dec(url.username),
      password: dec(url.password),
      host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: url.port ? parseInt(url.port, 10) : 3306,
      database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
      params,
    };
  }

  // Go driver: the database name follows the last '/'.
  const slash = dsn.lastIndexOf('/');
  if (slash === -1) throw new DatabaseError('invalid DSN: missing the slash separating the database name');
  const head = dsn.slice(0, slash);
  const tail = dsn.slice(slash + 1);
  const q = tail.indexOf('?');
  const database = decodeURIComponent(q === -1 ? tail : tail.slice(0, q));
  const params: Record<string, string> = {};
  if (q !== -1) new URLSearchParams(tail.slice(q + 1)).forEach((v, k) => (params[k] = v));

  const at = head.lastIndexOf('@');
  const creds = at === -1 ? '' : head.slice(0, at);
  const addrPart = at === -1 ? head : head.slice(at + 1);
  const colon = creds.indexOf(':');
  const user = fill(colon === -1 ? creds : creds.slice(0, colon), username, password);
  const pass = colon === -1 ? '' : fill(creds.slice(colon + 1), username, password);

  const out: ParsedDsn = { user, password: pass, database: database || undefined, params };
  if (addrPart === '') {
    Object.assign(out, { host: '127.0.0.1', port: 3306 });
  } else {
    const m = /^([a-z0-9]+)(?:\((.*)\))?$/i.exec(addrPart);
    if (!m) throw new DatabaseError('invalid DSN: network address not terminated (missing closing brace)');
    const [, protocol, address = ''] = m;
    if (protocol === 'unix') out.socketPath = address || '/tmp/mysql.sock';
    else if (protocol === 'tcp') Object.assign(out, parseAddress(address || '127.0.0.1:3306'));
    else throw new DatabaseError(`invalid DSN: unsupported network "${protocol}"`);
  }
  return out;
}

/** The connection_url as shown on read: a literal password (not the placeholder) is replaced by `xxxxx`. */
export function redactMySQLDsn(dsn: string): string {
  if (/^mysql:\/\//i.test(dsn)) {
    return dsn.replace(/^(mysql:\/\/[^:/@]*:)([^@/]*)@/i, (m, head: string, pw: string) => (pw === '{{password}}' ? m : `${head}xxxxx@`));
  }
  const slash = dsn.lastIndexOf('/');
  const head = slash === -1 ? dsn : dsn.slice(0, slash);
  const at = head.lastIndexOf('@');
  if (at === -1) return dsn;
  const creds = head.slice(0, at);
  const colon = creds.indexOf(':');
  if (colon === -1) return dsn;
  const pw = creds.slice(colon + 1);
  if (pw === '' || pw === '{{password}}') return dsn;
  return `${creds.slice(0, colon)}:xxxxx${dsn.slice(at)}`;
}
