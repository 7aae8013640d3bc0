/** Runs `coffer server` as a child process (for restarts, kill -9 and SIGTERM tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const COFFER_BIN = path.join(REPO_ROOT, 'bin/coffer.js');

export interface ServerProcess {
  child: ChildProcess;
  addr: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

export async function spawnServer(args: string[], timeoutMs = 15_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [COFFER_BIN, 'server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const addr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // a server that never started must not keep the test file alive
      reject(new Error(`server did not start within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      // The banner comes in several chunks: wait for its last line, so callers see all of it.
      const m = /Listener: (\S+)[\s\S]*coffer server started!/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${err}`));
    });
  });
  return { child, addr, stdout: () => out, stderr: () => err, exited };
}

/** Runs `coffer ...` to completion. */
export function runCoffer(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  return runNode([COFFER_BIN, ...args], { input: opts.input, env: { ...process.env, ...(opts.env ?? {}) } });
}

/** What a finished child wrote, and its exit code (null when a signal ended it). */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's stdout and stderr (both piped) until it is done. */
export function finished(child: ChildProcess): Promise<Finished> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    // 'close', not 'exit': only 'close' guarantees stdout and stderr were read to the end.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `node ARGS...` to completion with exactly `env` (default: this process's), stdin fed with `input`. */
export async function runNode(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  child.stdin.end(opts.input ?? '');
  const { code, stdout, stderr } = await finished(child);
  return { code: code ?? -1, stdout, stderr };
}
