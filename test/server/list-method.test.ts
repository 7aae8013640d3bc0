/**
 * The `LIST` HTTP method against a live coffer server, plain and TLS: node-vault with its default settings, a
 * raw keep-alive connection carrying pipelined LIST requests with and without bodies (Content-Length, chunked)
 * split at awkward write boundaries, LIST and `GET ?list=true` giving the same answers on listable and
 * non-listable paths, the ACL's `list` capability, the audit's `list` operation, and the `LINK` method that
 * carries LIST inside the listener being refused from clients. The framing itself is proven against Node's
 * parser in list-method-framing.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import tls from 'node:tls';
import vault from 'node-vault';
import { Agent, Client } from 'undici';
import { client, startDevServer, type TestServer } from '../helpers/server.js';
import { makeTestPki } from '../helpers/tls.js';

const KEYS = ['app/', 'db'];

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends `pieces` on one connection (a short pause between them, so they leave as separate writes) and reads
 * `count` responses. coffer answers every request with a Content-Length (none for 204).
 */
async function exchange(connect: () => net.Socket, pieces: string[], count: number): Promise<{ responses: RawResponse[]; closed: boolean }> {
  const socket = connect();
  socket.setNoDelay(true);
  let received = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  for (const piece of pieces) {
    socket.write(piece);
    await delay(5);
  }
  const responses: RawResponse[] = [];
  const deadline = Date.now() + 30_000;
  while (responses.length < count && Date.now() < deadline && !(closed && received.length === 0)) {
    const end = received.indexOf('\r\n\r\n');
    const head = end === -1 ? '' : received.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    const length = status === 204 ? 0 : Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
    if (end === -1 || Number.isNaN(length) || received.length < end + 4 + length) {
      await delay(10);
      continue;
    }
    responses.push({ status, headers: head, body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
    received = received.subarray(end + 4 + length);
  }
  await delay(50);
  socket.destroy();
  return { responses, closed };
}

const keysOf = (r: RawResponse) => JSON.parse(r.body).data.keys;

/** The answers every listener variant must give. */
function listenerSuite(name: string, start: () => Promise<{ srv: TestServer; connect: () => net.Socket; ca?: string }>) {
  describe(name, () => {
    let srv: TestServer;
    let connect: () => net.Socket;
    let ca: string | undefined;
    let token: string;

    before(async () => {
      ({ srv, connect, ca } = await start());
      token = srv.token;
      const root = client(srv.addr, token);
      for (const p of ['secret/data/app/one', 'secret/data/db']) assert.equal((await root.post(p, { data: { v: 'x' } })).status, 200);
    });
    after(() => srv.close());

    test('node-vault, default settings (it sends LIST), lists secret/metadata/', async () => {
      const v = vault({ apiVersion: 'v1', endpoint: srv.addr, token, requestOptions: ca ? { ca } : undefined });
      assert.deepEqual((await v.list('secret/metadata/')).data.keys, KEYS);
      assert.deepEqual((await v.list('secret/metadata/app')).data.keys, ['one']);
      await assert.rejects(v.list('secret/metadata/missing/'), (err: { response?: { statusCode: number } }) => err.response?.statusCode === 404);
    });

    test('pipelined LIST requests on one keep-alive connection, with and without bodies, split inside the method', async () => {
      const auth = `Host: coffer\r\nX-Vault-Token: ${token}\r\n`;
      const stream =
        `LIST /v1/secret/metadata/ HTTP/1.1\r\n${auth}\r\n` +
        `GET /v1/secret/metadata/?list=true HTTP/1.1\r\n${auth}\r\n` +
        `LIST /v1/secret/metadata HTTP/1.1\r\n${auth}Content-Length: 27\r\n\r\n{"x":"LIST /v1/sys/mounts"}` +
        `LIST /v1/secret/metadata/app HTTP/1.1\r\n${auth}Transfer-Encoding: chunked\r\n\r\n6\r\n{"x":"\r\n7\r\nLIST /\"\r\n1\r\n}\r\n0\r\n\r\n` +
        `POST /v1/secret/data/db HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 33\r\n\r\n{"data":{"v":"LIST /v1/x HTTP"}}\r\n` +
        `LIST /v1/secret/metadata/ HTTP/1.1\r\n${auth}\r\n`;
      // coffer parses a body on any method (400 if it is not JSON), so these bodies are JSON.
      // Cut inside the first LIST, inside a body's LIST, and one byte into the last request.
      const cuts = [2, stream.indexOf('LIST /v1/sys') + 3, stream.lastIndexOf('LIST') + 1];
      const pieces = [0, ...cuts].map((from, i) => stream.slice(from, [...cuts, stream.length][i]));
      const { responses, closed } = await exchange(connect, pieces, 6);
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200, 200, 200], responses.map((r) => r.body).join('\n'));
      assert.deepEqual(keysOf(responses[0]), KEYS);
      assert.deepEqual(keysOf(responses[1]), KEYS);
      assert.deepEqual(keysOf(responses[2]), KEYS);
      assert.deepEqual(keysOf(responses[3]), ['one']);
      assert.equal(JSON.parse(responses[4].body).data.version, 2);
      assert.deepEqual(keysOf(responses[5]), KEYS);
      assert.equal(closed, false, 'the connection stays open');
      const stored = await client(srv.addr, token).get('secret/data/db');
      assert.deepEqual(stored.body.data.data, { v: 'LIST /v1/x HTTP' }, 'a body containing LIST is stored as sent');
    });

    test('LINK, which carries LIST inside the listener, is refused from clients like any unknown method', async () => {
      const { responses, closed } = await exchange(connect, [`LINK /v1/secret/metadata/ HTTP/1.1\r\nHost: c\r\nX-Vault-Token: ${token}\r\n\r\n`], 1);
      assert.equal(responses[0]?.status, 400);
      assert.deepEqual(JSON.parse(responses[0].body), { errors: ['unsupported HTTP method'] });
      assert.equal(closed, true);
      const { responses: after } = await exchange(connect, [`LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: c\r\nX-Vault-Token: ${token}\r\n\r\n`], 1);
      assert.equal(after[0]?.status, 200, 'the server still serves LIST');
    });
  });
}

listenerSuite('plain HTTP listener', async () => {
  const srv = await startDevServer();
  const { hostname, port } = new URL(srv.addr);
  return { srv, connect: () => net.connect(Number(port), hostname) };
});

listenerSuite('TLS listener', async () => {
  const pki = makeTestPki();
  const dir = mkdtempSync(path.join(tmpdir(), 'coffer-list-tls-'));
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  writeFileSync(cert, pki.certPem);
  writeFileSync(key, pki.keyPem, { mode: 0o600 });
  const srv = await startDevServer({ listeners: [{ address: '127.0.0.1:0', tlsDisable: false, tlsCertFile: cert, tlsKeyFile: key, maxRequestSize: 1 << 20 }] });
  rmSync(dir, { recursive: true, force: true });
  // The helper's client goes through undici's global dispatcher: trust the test CA there.
  const { setGlobalDispatcher } = await import('undici');
  setGlobalDispatcher(new Agent({ connect: { ca: pki.caPem } }));
  const { port } = new URL(srv.addr);
  return { srv, ca: pki.caPem, connect: () => tls.connect({ host: '127.0.0.1', port: Number(port), ca: pki.caPem }) };
});

describe('LIST means list', () => {
  let srv: TestServer;
  let auditDir: string;

  before(async () => {
    srv = await startDevServer();
    auditDir = mkdtempSync(path.join(tmpdir(), 'coffer-list-audit-'));
    const root = client(srv.addr, srv.token);
    assert.equal((await root.put('sys/audit/file', { type: 'file', options: { file_path: path.join(auditDir, 'audit.log') } })).status, 204);
    assert.equal((await root.post('secret/data/app/one', { data: { v: 'x' } })).status, 200);
    assert.equal((await root.put('sys/mounts/kv1', { type: 'kv', options: { version: '1' } })).status, 204);
    assert.equal((await root.put('kv1/a/b', { v: 'x' })).status, 204);
  });
  after(async () => {
    await srv.close();
    rmSync(auditDir, { recursive: true, force: true });
  });

  const list = (p: string, token: string) => {
    const c = new Client(srv.addr);
    return c
      .request({ method: 'LIST' as 'GET', path: `/v1/${p}`, headers: { 'x-vault-token': token } })
      .then(async (r) => ({ status: r.statusCode, body: JSON.parse((await r.body.text()) || 'null') }))
      .finally(() => c.close());
  };
  const withoutId = (body: any) => (body && typeof body === 'object' ? { ...body, request_id: undefined } : body);

  test('LIST answers exactly as GET ?list=true, on listable and non-listable paths', async () => {
    const root = client(srv.addr, srv.token);
    const paths = ['secret/metadata/', 'secret/metadata', 'secret/metadata/app', 'secret/metadata/none/', 'secret/data/app/one', 'kv1/', 'kv1/a',
      'sys/policies/acl', 'auth/token/accessors', 'sys/mounts', 'nomount/x', 'sys/health'];
    for (const p of paths) {
      const viaList = await list(p, srv.token);
      const viaGet = await root.list(p);
      assert.equal(viaList.status, viaGet.status, `${p}: LIST ${viaList.status}, GET ?list=true ${viaGet.status}`);
      assert.deepEqual(withoutId(viaList.body), withoutId(viaGet.body), p);
    }
    // Vault's answers: keys; 404 with no errors for an empty list; on a path with no list operation 405, or 404
    // where no path matches once LIST's trailing slash is added (Vault's router adds it too); KV v2's own 404 and
    // warning on data/.
    assert.deepEqual((await list('secret/metadata/app', srv.token)).body.data.keys, ['one']);
    assert.deepEqual(await list('secret/metadata/none/', srv.token), { status: 404, body: { errors: [] } });
    assert.deepEqual(await list('sys/health', srv.token), { status: 405, body: { errors: ['unsupported operation'] } });
    assert.deepEqual(await list('sys/mounts', srv.token), { status: 404, body: { errors: ['unsupported path'] } });
    const kvData = await list('secret/data/app/one', srv.token);
    assert.equal(kvData.status, 404);
    assert.match(kvData.body.warnings[0], /Invalid path for a versioned K\/V secrets engine/);
    assert.equal((await list('nomount/x', srv.token)).status, 404);
  });

  test('LIST needs the list capability, and is audited as a list operation', async () => {
    const root = client(srv.addr, srv.token);
    await root.put('sys/policies/acl/reader', { policy: 'path "secret/metadata/*" { capabilities = ["read"] }\npath "kv1/*" { capabilities = ["list"] }' });
    const reader = (await root.post('auth/token/create', { policies: ['reader'] })).body.auth.client_token;
    assert.equal((await list('secret/metadata/app', reader)).status, 403);
    assert.deepEqual((await list('kv1/a', reader)).body.data.keys, ['b']);

    const entries = readFileSync(path.join(auditDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const kv1Lists = entries.filter((e) => e.type === 'request' && e.request.path.replace(/\/$/, '') === 'kv1/a');
    assert.ok(kv1Lists.length >= 1, 'the LIST of kv1/a was audited');
    for (const e of kv1Lists) assert.equal(e.request.operation, 'list');
  });
});
