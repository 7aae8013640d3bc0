/** Starts a real coffer server in this process on a random port, and a small HTTP helper for tests. */
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startServer, devConfig, type RunningServer } from '../../src/server/server.js';
import type { ServerConfig } from '../../src/server/config.js';

export interface TestServer {
  addr: string;
  token: string;
  server: RunningServer;
  close(): Promise<void>;
}

export async function startDevServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const config = { ...devConfig({ listenAddress: '127.0.0.1:0' }), logLevel: 'silent', ...overrides };
  const server = await startServer(config, { listenAddress: '127.0.0.1:0' });
  return { addr: server.addresses[0], token: server.rootToken!, server, close: () => server.close() };
}

export interface ApiResponse {
  status: number;
  body: any;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface ApiOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Local address to connect from (any 127.0.0.0/8 address reaches a server bound to 127.0.0.1 on Linux). */
  from?: string;
}

const fromAgents = new Map<string, Agent>();
const agentFrom = (localAddress: string) => {
  let agent = fromAgents.get(localAddress);
  if (!agent) fromAgents.set(localAddress, (agent = new Agent({ localAddress })));
  return agent;
};

/** One HTTP call to the server; `path` is relative to /v1/. */
export async function api(addr: string, method: string, path: string, opts: ApiOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers['x-vault-token'] = opts.token;
  let body: string | Buffer | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${addr}/v1/${path}`, { method: method as any, headers, body, dispatcher: opts.from ? agentFrom(opts.from) : undefined });
  const text = await res.body.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, body: parsed, text, headers: res.headers };
}

/** `api` bound to one server and token. */
export function client(addr: string, token: string | null) {
  return {
    get: (path: string, o: ApiOptions = {}) => api(addr, 'GET', path, { token, ...o }),
    list: (path: string, o: ApiOptions = {}) => api(addr, 'GET', `${path}${path.includes('?') ? '&' : '?'}list=true`, { token, ...o }),
    post: (path: string, body?: unknown, o: ApiOptions = {}) => api(addr, 'POST', path, { token, body, ...o }),
    put: (path: string, body?: unknown, o: ApiOptions = {}) => api(addr, 'PUT', path, { token, body, ...o }),
    patch: (path: string, body?: unknown, o: ApiOptions = {}) =>
      api(addr, 'PATCH', path, { token, body, headers: { 'content-type': 'application/merge-patch+json' }, ...o }),
    delete: (path: string, o: ApiOptions = {}) => api(addr, 'DELETE', path, { token, ...o }),
  };
}

/** POST through `c` expecting 200 or 204; returns the body. */
export async function postOk(c: ReturnType<typeof client>, path: string, body: Record<string, unknown> = {}): Promise<any> {
  const res = await c.post(path, body);
  assert.ok(res.status === 200 || res.status === 204, `${path}: ${res.status} ${res.text}`);
  return res.body;
}

/** POST through `c` expecting a 400 whose error matches `message`. */
export async function postRefused(c: ReturnType<typeof client>, path: string, body: Record<string, unknown>, message: RegExp): Promise<void> {
  const res = await c.post(path, body);
  assert.equal(res.status, 400, `${path}: expected 400, got ${res.status} ${res.text}`);
  assert.match(res.body.errors.join('\n'), message);
}
