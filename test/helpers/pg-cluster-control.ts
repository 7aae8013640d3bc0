/**
 * Takes a private cluster from `startPgCluster()` down and brings it back up on the same port and data directory
 * ("the database is down" in tests). `PgCluster.stop()` removes the cluster for good; these do not.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PgCluster } from './pg-cluster.js';

const execFileAsync = promisify(execFile);

function pgCtl(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin', 'pg_ctl');
    if (existsSync(bin)) return bin;
  }
  throw new Error('no PostgreSQL installation found under /usr/lib/postgresql');
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function run(args: string[]) {
  const bin = pgCtl();
  return isRoot() ? execFileAsync('runuser', ['-u', 'postgres', '--', bin, ...args]) : execFileAsync(bin, args);
}

/**
 * Stops the server (fast shutdown: open sessions are terminated, then a checkpoint). Not `immediate`: the
 * cluster runs with synchronous_commit=off, so a crash-style stop could lose recent commits (tables, users).
 */
export async function takeDown(cluster: PgCluster): Promise<void> {
  await run(['-D', path.join(cluster.dir, 'data'), '-m', 'fast', '-w', 'stop']);
}

/** Starts it again with the settings startPgCluster() used. */
export async function bringUp(cluster: PgCluster): Promise<void> {
  const options = `-c listen_addresses=127.0.0.1 -c port=${cluster.port} -c unix_socket_directories=${cluster.dir} `
    + '-c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  await run(['-D', path.join(cluster.dir, 'data'), '-o', options, '-l', path.join(cluster.dir, 'log'), '-w', '-t', '30', 'start']);
}
