/**
 * The baseline: a bare Node `http` server that does nothing but answer fixed bytes. Run as a child process by the
 * benchmarks (never in the load generator's process):
 *
 *   BARE_GET_BODY=<base64> BARE_POST_BODY=<base64> node dist/bench/bare-server.js
 *
 * GET/HEAD answer BARE_GET_BODY; every other method first reads the whole request body (as coffer must) and
 * answers BARE_POST_BODY (BARE_GET_BODY when unset). Headers are the ones coffer sends (content-type,
 * cache-control, content-length). Prints `Listener: http://HOST:PORT` once listening; exits on SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const getBody = Buffer.from(process.env.BARE_GET_BODY ?? '', 'base64');
const postBody = process.env.BARE_POST_BODY ? Buffer.from(process.env.BARE_POST_BODY, 'base64') : getBody;
const host = process.env.BARE_HOST ?? '127.0.0.1';
const port = Number(process.env.BARE_PORT ?? 0);

function headersFor(body: Buffer): http.OutgoingHttpHeaders {
  return { 'cache-control': 'no-store', 'content-type': 'application/json', 'content-length': body.length };
}
const getHeaders = headersFor(getBody);
const postHeaders = headersFor(postBody);

const server = http.createServer((req, res) => {
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.writeHead(200, getHeaders);
    res.end(req.method === 'HEAD' ? undefined : getBody);
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, postHeaders);
    res.end(postBody);
  });
});

server.listen(port, host, () => {
  const a = server.address() as AddressInfo;
  process.stdout.write(`Listener: http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}\n`);
});

process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
