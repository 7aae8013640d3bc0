/**
 * The two pieces of undici the client uses — an Agent (connection pool, TLS options) and its `request()` —
 * loaded from undici's own modules rather than its package index. The index also loads fetch, WebSocket,
 * EventSource, cookies, caching and the mock agent; that doubles the import time of every CLI command, which
 * is budgeted at 300 ms for the whole process.
 */
import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';

const require = createRequire(import.meta.url);

type AgentOptions = ConstructorParameters<typeof import('undici').Agent>[0];

const AgentClass = require('undici/lib/dispatcher/agent.js') as new (options?: AgentOptions) => Dispatcher;
const api = require('undici/lib/api/index.js') as {
  request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
};

export function createAgent(options?: AgentOptions): Dispatcher {
  return new AgentClass(options);
}

/** One request through `dispatcher`; `url` gives origin, path and query. */
export function send(
  dispatcher: Dispatcher,
  url: URL,
  options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>,
): Promise<Dispatcher.ResponseData> {
  return api.request.call(dispatcher, { ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
