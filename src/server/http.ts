/**
 * The HTTP(S) listener: turns requests into CoreRequests and CoreResponses into bytes.
 *
 * Built on node:http directly rather than a framework: routing below `/v1/` is the core's own (Vault paths are
 * data-driven), so a framework would only add per-request work, and the KV benchmark showed that work costing
 * a third of the read throughput. What a framework would give — body limits, JSON parsing, TLS, graceful
 * close, error shapes — is the small amount of code below.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { Core, CoreResponse } from '../core/core.js';
import { handleHttpRequest, type CoreRequest } from './logical-request.js';
import { clientAddress } from './forwarded.js';
import { DEFAULT_MAX_JSON_DEPTH, DEFAULT_READ_HEADER_TIMEOUT_MS, type ListenerConfig } from './config.js';
import { acceptListMethod, LIST_CARRIER } from './list-method.js';

/** Node's own default for a whole request (headers and body). */
const NODE_REQUEST_TIMEOUT_MS = 300_000;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'LIST']);

const PARSER_ERRORS: Record<string, [number, string]> = {
  HPE_INVALID_METHOD: [400, 'unsupported HTTP method'],
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request headers not complete within http_read_header_timeout'],
};

/** Always with Content-Length: after writeHead() Node would otherwise fall back to chunked encoding. */
function send(res: http.ServerResponse, result: CoreResponse): void {
  let type: string | undefined = 'application/json';
  let payload: Buffer | string;
  if (result.raw !== undefined) {
    type = result.contentType ?? 'application/octet-stream';
    payload = result.raw;
  } else if (result.body === undefined) {
    type = undefined;
    payload = '';
  } else {
    payload = JSON.stringify(result.body);
  }
  const headers: http.OutgoingHttpHeaders = { ...result.headers, 'cache-control': 'no-store' };
  if (result.status !== 204) headers['content-length'] = Buffer.byteLength(payload); // 204 carries no length
  if (type) headers['content-type'] = type;
  if (result.reason) res.writeHead(result.status, result.reason, headers);
  else res.writeHead(result.status, headers);
  res.end(payload);
}

const vaultError = (status: number, message: string): CoreResponse => ({ status, body: { errors: [message] } });

export function parseQuery(url: string): { path: string; query: Record<string, string> } {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query: Record<string, string> = {};
  if (q !== -1) {
    for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!(k in query)) query[k] = v;
  }
  return { path, query };
}

class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads the body up to `limit` bytes; over the limit is a 413 without reading the rest. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new BodyError(413, 'http: request body too large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyError(413, 'http: request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The deepest nesting of objects and arrays in a JSON text, stopping as soon as it passes `limit`. A byte scan
 * with no recursion, so no body can overflow the check itself; the structural bytes are ASCII, which never
 * occur inside a multi-byte UTF-8 sequence. Invalid JSON is left to JSON.parse.
 */
export function jsonDepthExceeds(raw: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

function parseBody(raw: Buffer, maxJsonDepth: number): unknown {
  if (raw.length === 0) return undefined;
  // Deeper values would parse, then overflow the stack of whatever walks them later (ACL, audit, storage).
  if (jsonDepthExceeds(raw, maxJsonDepth)) {
    throw new BodyError(400, `failed to parse JSON input: nesting depth exceeds the listener's max_json_depth (${maxJsonDepth})`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    // The parser's message quotes the input, which may be a secret: say only that it was not JSON.
    throw new BodyError(400, 'failed to parse JSON input: the body is not valid JSON');
  }
}

/**
 * Routes served by the same listener beside Vault's `/v1/` (the ESO endpoints under `/eso/v1/`). They get the
 * body unparsed (a PushSecret value need not be JSON) and answer a CoreResponse; they reach secrets only by
 * making ordinary core requests.
 */
export interface HttpRoutes {
  /** URL prefix with leading and trailing slash, e.g. `/eso/v1/`. */
  prefix: string;
  handle(req: RouteRequest): Promise<CoreResponse>;
}

/** A CoreRequest before parsing: the path after the route's prefix, and the body as received. */
export interface RouteRequest extends Omit<CoreRequest, 'rawPath' | 'body' | 'kubernetesNamespace'> {
  path: string;
  body: Buffer;
}

/**
 * Vault's `http_read_header_timeout`: a connection whose request headers are not complete in time is closed
 * (408), so slow-header clients cannot hold sockets open. Node enforces `headersTimeout` only when its
 * connection check runs, every `connectionsCheckingInterval`, so that interval is a fraction of the timeout.
 */
function timeouts(listener: ListenerConfig): http.ServerOptions {
  const headersTimeout = listener.readHeaderTimeoutMs ?? DEFAULT_READ_HEADER_TIMEOUT_MS;
  return {
    headersTimeout,
    requestTimeout: Math.max(NODE_REQUEST_TIMEOUT_MS, headersTimeout), // Node requires requestTimeout >= headersTimeout
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeout / 4))),
  };
}

export interface Listener {
  server: http.Server;
  listen(host: string, port: number): Promise<void>;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  close(): Promise<void>;
}

export async function createListener(core: Core, listener: ListenerConfig, routes: HttpRoutes[] = []): Promise<Listener> {
  const tls = listener.tlsDisable
    ? null
    : { cert: await readFile(listener.tlsCertFile!), key: await readFile(listener.tlsKeyFile!) };
  let inFlight = 0;
  let drained: (() => void) | null = null;

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    try {
      // The listener's front delivers a client's LIST under the name of a method llhttp knows (list-method.ts).
      const method = req.method === LIST_CARRIER ? 'LIST' : req.method ?? '';
      const url = req.url ?? '/';
      const route = url.startsWith('/v1/') ? undefined : routes.find((r) => url.startsWith(r.prefix));
      if (!route && !url.startsWith('/v1/')) return send(res, { status: 404, body: { errors: [] } });
      if (!METHODS.has(method)) return send(res, vaultError(405, `method ${method} is not allowed`));
      let raw: Buffer | undefined;
      let body: unknown;
      const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
      try {
        if (hasBody) raw = await readBody(req, listener.maxRequestSize);
        if (raw && !route) body = parseBody(raw, listener.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH);
      } catch (err) {
        if (err instanceof BodyError) {
          if (err.status === 413) res.setHeader('connection', 'close');
          return send(res, vaultError(err.status, err.message));
        }
        return void req.socket.destroy(); // the client went away mid-body
      }
      const { path, query } = parseQuery(url);
      const client = clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], listener.forwardedFor);
      if ('error' in client) return send(res, vaultError(400, client.error));
      const remoteAddr = client.address;
      if (route) {
        const routePath = path.slice(route.prefix.length);
        return send(res, await route.handle({ method, path: routePath, query, headers: req.headers, body: raw ?? Buffer.alloc(0), remoteAddr }));
      }
      send(
        res,
        await handleHttpRequest(core, {
          method,
          rawPath: path.slice('/v1/'.length),
          query,
          headers: req.headers,
          body,
          remoteAddr,
        }),
      );
    } catch {
      core.logger.error('http layer error');
      if (!res.headersSent) send(res, vaultError(500, 'internal error'));
      else res.destroy();
    } finally {
      if (--inFlight === 0 && drained) drained();
    }
  };

  const server = tls ? https.createServer({ ...tls, ...timeouts(listener) }, handler) : http.createServer(timeouts(listener), handler);
  acceptListMethod(server);
  // Node's parser rejects what is not HTTP before the handler runs; answer in Vault's error shape anyway so
  // clients can read the message.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    const [status, message] = PARSER_ERRORS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
    const payload = JSON.stringify({ errors: [message] });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
    );
  });

  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Splits `host:port`, `[v6]:port` and `:port` (all interfaces) like Vault's listener address. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.trim());
  if (!m) throw new Error(`invalid listener address "${address}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in listener address "${address}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
