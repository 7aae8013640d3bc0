/**
 * HTTP to logical request: the method, path, query, headers and body of an HTTP request (or of an extension's
 * call) in the core's terms — normalised path, operation, token, wrap TTL, request data. The core never sees HTTP.
 */
import type { Core, CoreResponse, LogicalRequest } from '../core/core.js';
import type { Operation } from '../sdk/backend.js';
import { CofferError, badRequest } from '../sdk/errors.js';
import { errorResponse } from '../core/pipeline/envelope.js';
import { tokenFromHeaders } from '../core/tokens/header.js';
import { requestedWrapTTL } from '../core/wrapping/wrap.js';

/** A Vault API request as the listener (or an extension) receives it. */
export interface CoreRequest {
  method: string;
  /** Path after `/v1/`, still percent-encoded. */
  rawPath: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  remoteAddr: string;
  /**
   * The Kubernetes namespace an integration acts for (set only by the ESO routes, never from a `/v1/` request);
   * fills `{{kubernetes.namespace}}` in templated policy paths.
   */
  kubernetesNamespace?: string;
}

/** Parses the request and runs it through the core; a request that does not parse is answered here. */
export async function handleHttpRequest(core: Core, http: CoreRequest): Promise<CoreResponse> {
  let request: LogicalRequest;
  try {
    request = toLogicalRequest(http);
  } catch (err) {
    return errorResponse(err, core.logger);
  }
  return core.handle(request);
}

export function toLogicalRequest(http: CoreRequest): LogicalRequest {
  const path = normalizePath(http.rawPath);
  const operation = operationFor(http.method, http.method === 'GET' && isTrue(http.query.list));
  if (operation === 'patch') checkPatchContentType(http.headers);
  const routePath = operation === 'list' && !path.endsWith('/') ? `${path}/` : path;
  return {
    path,
    operation,
    routePath,
    wrapTTL: requestedWrapTTL(http.headers),
    clientToken: tokenFromHeaders(http.headers),
    data: () => requestData(http, operation),
    query: http.query,
    headers: http.headers,
    remoteAddr: http.remoteAddr,
    kubernetesNamespace: http.kubernetesNamespace,
  };
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ['true', '1', 't'].includes(v.toLowerCase());
}

function operationFor(method: string, list: boolean): Operation {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return list ? 'list' : 'read';
    case 'LIST': // Vault's own method; the HTTP listener accepts it (src/server/list-method.ts)
      return 'list';
    case 'POST':
    case 'PUT':
      return 'update'; // refined to create/update by the path's existence check
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      throw new CofferError(405, `unsupported operation: method ${method.slice(0, 16)} is not allowed`);
  }
}

function checkPatchContentType(headers: CoreRequest['headers']): void {
  const type = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/merge-patch+json') {
    throw new CofferError(415, 'PATCH requires the Content-Type application/merge-patch+json');
  }
}

/** A path with none of the characters the full check looks for needs no decoding or segment scan. */
const PLAIN_PATH = /^[A-Za-z0-9_\-~+=,:@]+(?:\/[A-Za-z0-9_\-~+=,:@]+)*\/?$/;

/**
 * Decodes the path and refuses anything that could make ACL matching and routing disagree: encoded slashes or
 * backslashes, `.`/`..` segments, empty segments, control characters. A refused path never reaches a handler.
 */
export function normalizePath(raw: string): string {
  if (PLAIN_PATH.test(raw)) return raw;
  if (/%2f|%5c/i.test(raw)) throw badRequest('invalid path: encoded slashes are not allowed');
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw badRequest('invalid path: bad percent-encoding');
  }
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw badRequest('invalid path: control characters or backslashes');
  const trimmed = path.replace(/^\/+/, '');
  const body = trimmed.endsWith('/') ? trimmed.slice(0, -1) : trimmed;
  if (body === '' || body.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw badRequest('invalid path: empty, "." or ".." segments are not allowed');
  }
  return trimmed;
}

/** The request's data: query parameters for reads, lists and deletes (as Vault passes them), else the body. */
function requestData(http: CoreRequest, operation: Operation): Record<string, unknown> {
  if (operation === 'read' || operation === 'list' || http.method === 'DELETE') {
    const data: Record<string, unknown> = { ...http.query };
    delete data.list;
    if (http.body !== undefined && operation === 'delete') return bodyObject(http.body, data);
    return data;
  }
  return bodyObject(http.body, {});
}

function bodyObject(body: unknown, base: Record<string, unknown>): Record<string, unknown> {
  if (body === undefined || body === null) return base;
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalid request body: expected a JSON object');
  return { ...base, ...(body as Record<string, unknown>) };
}
