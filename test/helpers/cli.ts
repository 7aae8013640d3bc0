/**
 * The setup of a CLI test file: an in-process dev server, a root API client, a temporary directory used as
 * HOME, and `coffer` runs as child processes with the environment a runbook written for vault sets.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCoffer } from './process.js';
import type { ServerConfig } from '../../src/server/config.js';
import { client, startDevServer, type TestServer } from './server.js';

export type ApiClient = ReturnType<typeof client>;
export type CliResult = Awaited<ReturnType<typeof runCoffer>>;

export interface CliRunOptions {
  /** Standard input of the run. */
  input?: string;
  /** Variables over the suite's environment. */
  env?: Record<string, string>;
}

export interface CliDevServer {
  /** The dev server (from the suite's `before` on). */
  readonly srv: TestServer;
  /** The API as the root token. */
  readonly root: ApiClient;
  /** The temporary directory, HOME of every run; removed after the suite. */
  readonly dir: string;
  /**
   * The environment of every run: the VAULT_ names, as a runbook written for vault sets them; the COFFER_ ones
   * blanked so that an inherited environment cannot take precedence; HOME away from any real token helper file.
   */
  readonly env: Record<string, string>;
  /** Runs `coffer ...` to completion. */
  coffer(args: string[], opts?: CliRunOptions): Promise<CliResult>;
  /** Runs, expects exit 0 and an empty stderr, returns stdout. */
  ok(args: string[], opts?: CliRunOptions): Promise<string>;
}

/**
 * Registers `before` and `after` hooks (in the suite it is called in) that start a dev server and make a
 * temporary directory (named from `tmpPrefix`), then remove the audit devices (so nothing writes into the
 * directory while it is removed), stop the server and remove the directory. `setup` runs in the same hook once
 * the server is up (a second top-level `before` would not wait for this one: Node 20 runs them side by side).
 */
export function cliDevServer(
  tmpPrefix: string,
  setup?: (cli: CliDevServer) => Promise<void>,
  /** Server settings over the dev defaults (e.g. a higher failed-login limit for suites that fail many logins). */
  serverOverrides: Partial<ServerConfig> = {},
): CliDevServer {
  // An inherited output format would change every table the tests expect.
  delete process.env.COFFER_FORMAT;
  delete process.env.VAULT_FORMAT;

  let srv: TestServer | undefined;
  let root: ApiClient | undefined;
  let dir: string | undefined;
  let env: Record<string, string> | undefined;
  const started = <T>(value: T | undefined): T => {
    assert.ok(value !== undefined, 'the CLI test server is used before its `before` hook ran');
    return value;
  };

  before(async () => {
    srv = await startDevServer(serverOverrides);
    root = client(srv.addr, srv.token);
    dir = mkdtempSync(path.join(tmpdir(), tmpPrefix));
    env = { VAULT_ADDR: srv.addr, VAULT_TOKEN: srv.token, COFFER_ADDR: '', COFFER_TOKEN: '', HOME: dir };
    await setup?.(cli);
  });

  after(async () => {
    if (root) for (const p of Object.keys((await root.get('sys/audit')).body?.data ?? {})) await root.delete(`sys/audit/${p}`);
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli: CliDevServer = {
    get srv() {
      return started(srv);
    },
    get root() {
      return started(root);
    },
    get dir() {
      return started(dir);
    },
    get env() {
      return started(env);
    },
    coffer: (args, opts = {}) => runCoffer(args, { input: opts.input, env: { ...cli.env, ...(opts.env ?? {}) } }),
    async ok(args, opts = {}) {
      const r = await cli.coffer(args, opts);
      assert.equal(r.code, 0, `coffer ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      assert.equal(r.stderr, '', `coffer ${args.join(' ')} wrote to stderr`);
      return r.stdout;
    },
  };
  return cli;
}
