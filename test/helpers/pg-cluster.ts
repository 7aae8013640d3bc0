/**
 * A private PostgreSQL cluster with scram-sha-256 authentication, for tests that must prove a password is
 * checked (the machine's own server trusts every loopback connection). initdb and pg_ctl come from the installed
 * PostgreSQL (/usr/lib/postgresql/<ver>/bin); PostgreSQL refuses to run as root, so as root they run as the
 * `postgres` system user through `runuser`. The cluster lives in a temp directory owned by that user, listens on
 * 127.0.0.1 on a free port, and is stopped and removed by stop() (also, best effort, when the process exits).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const execFileAsync = promisify(execFile);

export interface PgCluster {
  host: string;
  port: number;
  /** The superuser, authenticated by password. */
  user: string;
  password: string;
  dir: string;
  /** `postgresql://user:password@127.0.0.1:port/db` */
  url(db?: string, user?: string, password?: string): string;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error('no PostgreSQL installation found under /usr/lib/postgresql');
}

/** A TCP port nothing listens on right now (for private servers, or as a closed port in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL tool as the `postgres` user when we are root. */
function asPostgres(bin: string, args: string[]): { file: string; args: string[] } {
  return isRoot() ? { file: 'runuser', args: ['-u', 'postgres', '--', bin, ...args] } : { file: bin, args };
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-pg-'));
  const data = path.join(dir, 'data');
  const password = `pg-${randomBytes(12).toString('hex')}`;
  const pwfile = path.join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  chmodSync(dir, 0o700);

  const initdb = asPostgres(path.join(bin, 'initdb'), [
    '-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync', '--locale=C',
  ]);
  await execFileAsync(initdb.file, initdb.args);
  rmSync(pwfile, { force: true });

  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const pgCtl = path.join(bin, 'pg_ctl');
  const start = asPostgres(pgCtl, ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']);
  await execFileAsync(start.file, start.args);

  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      const stop = asPostgres(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      execFileSync(stop.file, stop.args, { stdio: 'ignore' });
    } catch {
      // already down
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);

  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    dir,
    url(db = 'postgres', user = 'postgres', pw = password) {
      return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${db}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopSync);
      try {
        const stop = asPostgres(pgCtl, ['-D', data, '-m', 'fast', '-w', 'stop']);
        await execFileAsync(stop.file, stop.args);
      } catch {
        // already down
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
