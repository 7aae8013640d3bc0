/**
 * The HTTP(S) listener: turns requests into CoreRequests and CoreResponses into bytes. Fastify gives us
 * connection handling, body limits and TLS; routing below `/v1/` is the core's own (Vault paths are data-driven).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import type { Core, CoreResponse } from '../core/core.js';
import type { ListenerConfig } from './config.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const PARSER_ERRORS: Record<string, [number, string]> = {
  HPE_INVALID_METHOD: [400, 'unsupported HTTP method (for LIST use GET with ?list=true)'],
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
};

/** A Content-Type fastify could not parse; Vault ignores the header and reads JSON, so coffer does too. */
const WELL_FORMED_CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+\s*(;.*)?$/;

function send(reply: FastifyReply, res: CoreResponse): void {
  reply.header('cache-control', 'no-store');
  if (res.raw !== undefined) {
    reply.code(res.status).header('content-type', res.contentType ?? 'application/octet-stream').send(res.raw);
  } else if (res.body === undefined) {
    reply.code(res.status).send();
  } else {
    reply.code(res.status).header('content-type', 'application/json').send(JSON.stringify(res.body));
  }
}

const vaultError = (status: number, message: string): CoreResponse => ({ status, body: { errors: [message] } });

function parseQuery(url: string): { path: string; query: Record<string, string> } {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query: Record<string, string> = {};
  if (q !== -1) {
    for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!(k in query)) query[k] = v;
  }
  return { path, query };
}

function parseBody(raw: unknown): unknown {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    // The parser's message quotes the input, which may be a secret: say only that it was not JSON.
    throw Object.assign(new Error('failed to parse JSON input: the body is not valid JSON'), { statusCode: 400 });
  }
}

export async function createListener(core: Core, listener: ListenerConfig): Promise<FastifyInstance> {
  const https = listener.tlsDisable
    ? null
    : { cert: await readFile(listener.tlsCertFile!), key: await readFile(listener.tlsKeyFile!) };
  const app = Fastify({
    ...(https ? { https } : {}),
    bodyLimit: listener.maxRequestSize,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 8192, ignoreDuplicateSlashes: false },
    // Node's parser rejects what is not HTTP (including the `LIST` method) before any route runs; answer in
    // Vault's error shape anyway so clients can read the message.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
      const [status, message] = PARSER_ERRORS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
      const body = JSON.stringify({ errors: [message] });
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    frameworkErrors: (err: { code?: string }, _req: unknown, reply: FastifyReply) => send(reply, vaultError(400, `bad request: ${err.code ?? 'malformed request'}`)),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.addHook('onRequest', async (req) => {
    const type = req.headers['content-type'];
    if (type !== undefined && !WELL_FORMED_CONTENT_TYPE.test(type)) req.headers['content-type'] = 'application/json';
  });
  app.removeAllContentTypeParsers();
  // Vault reads every body as JSON whatever its Content-Type; parse it ourselves so errors are Vault-shaped.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status === 413) return send(reply, vaultError(413, 'http: request body too large'));
    if (status >= 500) {
      core.logger.error(`http layer error: ${err.code ?? 'unknown'}`);
      return send(reply, vaultError(500, 'internal error'));
    }
    return send(reply, vaultError(status, err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported content type' : err.message));
  });

  app.setNotFoundHandler((req, reply) => {
    const known = (METHODS as readonly string[]).includes(req.method);
    if (req.url.startsWith('/v1/') && !known) return send(reply, vaultError(405, `method ${req.method} is not allowed`));
    return send(reply, { status: 404, body: { errors: [] } });
  });

  app.route({
    method: [...METHODS],
    url: '/v1/*',
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const { path, query } = parseQuery(req.raw.url ?? '/');
      const res = await core.handle({
        method: req.method,
        rawPath: path.slice('/v1/'.length),
        query,
        headers: req.headers,
        body: parseBody(req.body),
        remoteAddr: req.socket.remoteAddress ?? '',
      });
      send(reply, res);
      return reply;
    },
  });
  return app;
}

/** Splits `host:port`, `[v6]:port` and `:port` (all interfaces) like Vault's listener address. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.trim());
  if (!m) throw new Error(`invalid listener address "${address}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in listener address "${address}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
