/**
 * Denial-of-service limits of the listener, against a live server: JSON bodies nested deeper than
 * `max_json_depth` are refused with 400 at parse time (and whatever is stored reads back), and a connection
 * that never completes its headers is closed after `http_read_header_timeout`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDevServer, client, type TestServer } from '../helpers/server.js';
import { DEFAULT_MAX_REQUEST_SIZE, parseConfigText } from '../../src/server/config.js';
import { jsonDepthExceeds } from '../../src/server/http.js';

let srv: TestServer;
let root: ReturnType<typeof client>;

before(async () => {
  srv = await startDevServer({
    listeners: [{ address: '127.0.0.1:0', tlsDisable: true, maxRequestSize: DEFAULT_MAX_REQUEST_SIZE, readHeaderTimeoutMs: 1000 }],
  });
  root = client(srv.addr, srv.token);
});

after(() => srv?.close());

/** `{"data":{"v":[[...["leaf"]...]]}}` with `depth` levels in all. */
function nestedBody(depth: number): string {
  const inner = depth - 2; // the data object and the "v" container count too
  return `{"data":{"v":${'['.repeat(inner)}"leaf"${']'.repeat(inner)}}}`;
}

test('deep JSON: 2,500 and 100,000 levels are refused with 400; 250 and 500 (the default limit) are stored and read back', async () => {
  for (const depth of [501, 2_500, 100_000]) {
    const res = await root.post(`secret/data/deep-${depth}`, undefined, { rawBody: nestedBody(depth), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400, `${depth}: ${res.text.slice(0, 200)}`);
    assert.deepEqual(res.body.errors, ["failed to parse JSON input: nesting depth exceeds the listener's max_json_depth (500)"]);
    assert.equal((await root.get(`secret/data/deep-${depth}`)).status, 404);
  }
  for (const depth of [250, 500]) {
    const write = await root.post(`secret/data/deep-${depth}`, undefined, { rawBody: nestedBody(depth), headers: { 'content-type': 'application/json' } });
    assert.equal(write.status, 200, `${depth}: ${write.text.slice(0, 200)}`);
    const read = await root.get(`secret/data/deep-${depth}`);
    assert.equal(read.status, 200, `${depth}: ${read.text.slice(0, 200)}`);
    let node = read.body.data.data.v;
    let levels = 2;
    while (Array.isArray(node)) {
      node = node[0];
      levels++;
    }
    assert.deepEqual([levels, node], [depth, 'leaf']);
  }
  // Brackets inside strings (escaped quotes too) are not nesting.
  const tricky = JSON.stringify({ data: { s: `\\"${'['.repeat(5_000)}`, t: '"{{{{' } });
  assert.equal((await root.post('secret/data/brackets', undefined, { rawBody: tricky, headers: { 'content-type': 'application/json' } })).status, 200);
});

test('jsonDepthExceeds: strings, escapes and the exact limit', () => {
  const b = (s: string) => Buffer.from(s);
  assert.equal(jsonDepthExceeds(b('[[[]]]'), 3), false);
  assert.equal(jsonDepthExceeds(b('[[[[]]]]'), 3), true);
  assert.equal(jsonDepthExceeds(b('["[[[[\\"[[[["]'), 1), false);
  assert.equal(jsonDepthExceeds(b('{"a\\\\":[[]]}'), 2), true, 'an escaped backslash ends before the quote');
  assert.equal(jsonDepthExceeds(b('{"é[[":{}}'), 2), false, 'multi-byte characters in strings');
});

test('listener options: max_json_depth and http_read_header_timeout are read from the config file', async () => {
  const base = 'storage "sqlite" { path = "/tmp/x.db" }\n';
  const cfg = await parseConfigText(`${base}listener "tcp" {\n address = "127.0.0.1:8200"\n tls_disable = true\n max_json_depth = 50\n http_read_header_timeout = "3s"\n}\n`, 'c.hcl');
  assert.equal(cfg.listeners[0].maxJsonDepth, 50);
  assert.equal(cfg.listeners[0].readHeaderTimeoutMs, 3000);
  const defaults = await parseConfigText(`${base}listener "tcp" {\n tls_disable = true\n}\n`, 'c.hcl');
  assert.deepEqual([defaults.listeners[0].maxJsonDepth, defaults.listeners[0].readHeaderTimeoutMs], [500, 10_000]);
  await assert.rejects(parseConfigText(`${base}listener "tcp" {\n tls_disable = true\n http_read_header_timeout = "0s"\n}\n`, 'c.hcl'), /http_read_header_timeout must be a positive duration/);
  await assert.rejects(parseConfigText(`${base}listener "tcp" {\n tls_disable = true\n max_json_depth = 0\n}\n`, 'c.hcl'), /max_json_depth/);
});

test('slow headers: a connection that never finishes its headers is closed after http_read_header_timeout', { timeout: 30_000 }, async () => {
  const { hostname, port } = new URL(srv.addr);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.on('data', (d) => (received += d.toString('latin1')));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  // Headers started, never finished (Slowloris); one more header line after a while keeps it "active".
  socket.write('GET /v1/sys/health HTTP/1.1\r\nHost: coffer\r\n');
  setTimeout(() => socket.writable && socket.write('X-Slow: 1\r\n'), 300).unref();
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  assert.match(received, /^HTTP\/1\.1 408 /, `408 before closing, got ${JSON.stringify(received)}`);
  assert.match(received, /request headers not complete within http_read_header_timeout/);
  // A normal request on the same listener is unaffected.
  assert.equal((await client(srv.addr, null).get('sys/health')).status, 200);
});
