/**
 * Differential framing test of the LIST front (src/server/list-method.ts): seeded random and adversarial
 * pipelined byte streams — LIST among other methods, Content-Length and Transfer-Encoding in every ambiguous
 * combination, bad chunk sizes and extensions, trailers, obs-fold, bare LF and CR, upgrades, bodies that contain
 * whole `LIST` requests, random byte mutations — written in pieces at random boundaries (split inside `LIST`
 * too) to two live node:http servers:
 *   (i)  a stock server, given the stream with `LIST` replaced by `LINK` exactly where Node's own parser starts
 *        a request: found by feeding the stream to a stock server and, each time its parser refuses a `LIST`
 *        method, swapping that one and feeding it again. This is "Node's parser with a LIST method", since
 *        llhttp's framing does not depend on which known method a request has;
 *   (ii) the same server with acceptListMethod(), given the stream as the client wrote it.
 * Each server records, per connection, the requests its handler saw (method, target, raw headers, body bytes,
 * trailers, whether the body ended) and the parser error that closed the connection. They answer nothing (an
 * answer that closes the connection would race the rest of the stream), so Node parses all the client sends.
 * The two records must be equal (with `LINK` read as `LIST` in both; the streams never contain `LINK`). So the
 * front splits every stream into the same requests as Node's parser and fails where Node fails; a body byte it
 * rewrote or a request start it missed would show as a difference.
 *
 * One exception, Node's own: after a request carrying `Connection: upgrade` (with no upgrade listener), Node
 * drops the rest of the TCP read that held it, so what follows depends on segmentation even for the stock
 * server; such connections are compared up to and including that request.
 *
 * The comparison is shown to have teeth: the same streams sent with naive rewrites (every `LIST ` anywhere, or
 * only the first request's) must differ from the reference.
 *
 * Reproduce with FRAMING_SEED=<seed printed below>; FRAMING_STREAMS sets the number of streams (600).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { acceptListMethod, LIST_CARRIER } from '../../src/server/list-method.js';
import { Rng } from '../helpers/rng.js';

const SEED = process.env.FRAMING_SEED ? Number(process.env.FRAMING_SEED) >>> 0 : randomBytes(4).readUInt32BE(0);
const STREAMS = Number(process.env.FRAMING_STREAMS ?? 600);
const PARALLEL = 6;

// ---------------------------------------------------------------------------------------------------------------
// Stream generation (latin1 strings: one char per byte)
// ---------------------------------------------------------------------------------------------------------------
// Most requests are well-formed (so pipelines run long); one in four carries one of the oddities below, which
// usually ends the connection as Node's parser refuses it — and the front must refuse it at the same place.
const ODD = 0.25;
const METHODS = ['LIST', 'LIST', 'LIST', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND'];
const ODD_METHODS = ['CONNECT', 'PRI', 'LISTEN', 'LIS', 'XLIST', 'list', '', ' LIST', 'LIST\t'];
const TARGETS = ['/v1/secret/metadata/app', '/v1/secret/metadata/', '/v1/sys/policies/acl?list=true', '/', '/v1/LIST/x', '/v1/a?q=LIST%20x'];
const ODD_TARGETS = ['*', 'http://h/v1/kv', '/a b', '/v1/%00', '', '/\u0001', '/LIST /v1/x'];
const ODD_VERSIONS = ['HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 ', '', 'HTTP/1.1\u0000'];
const CL_ODD = ['+5', '-1', '05', ' 5', '5 ', '5,5', '5, 5', '0x5', '', '99999999999999999999', '1e3', '5\t', '\t5'];
const TE_ODD = ['Chunked', 'CHUNKED', 'chunked, chunked', 'gzip, chunked', 'chunked, gzip', 'identity', ' chunked', 'chunked ', 'chunkedx', 'gzip', 'chunked;q=1', ''];
const BODIES = [
  'LIST /v1/inner HTTP/1.1\r\nHost: h\r\n\r\n', '\r\n\r\nLIST /v1/x HTTP/1.1\r\n\r\n', 'LIST ', '{"a":"LIST b"}', '0\r\n\r\n',
  'GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n', 'x',
];

const eol = (rng: Rng, odd: boolean) => (odd ? rng.pick(['\n', '\r', '\r\r\n', '\n\r']) : '\r\n');

function bodyText(rng: Rng): string {
  if (rng.chance(0.4)) return rng.pick(BODIES);
  if (rng.chance(0.2)) return rng.bytes(rng.range(0, 40)).toString('latin1');
  return rng.str(rng.range(0, 40), 'abcdefghijklmnopqrstuvwxyzLIST \r\n{}":,0123456789');
}

function chunkSize(rng: Rng, n: number, odd: boolean): string {
  const hex = n.toString(16);
  if (!odd) return rng.pick([hex, hex, hex.toUpperCase(), `00${hex}`, `${hex};ext=1`, `${hex};e="q v"`]);
  return rng.pick([`${hex} ;e`, `${hex} `, `-${hex}`, `${hex}g`, 'fffffffffffffffff1', '', `0x${hex}`, `${hex};`, `${hex};e="x`]);
}

function chunkedBody(rng: Rng, odd: boolean): string {
  // With an odd body, one of its parts (a size, a length, a line end, the trailer) is wrong.
  const part = odd ? rng.int(4) : -1;
  let out = '';
  for (let i = rng.range(part === 0 || part === 1 ? 1 : 0, 3); i > 0; i--) {
    const data = bodyText(rng) || 'z';
    const size = part === 1 ? data.length + rng.pick([-2, -1, 1, 2]) : data.length;
    out += `${chunkSize(rng, Math.max(size, 0), part === 0)}${eol(rng, part === 2 && rng.chance(0.5))}${data}`;
    out += part === 2 && rng.chance(0.5) ? rng.pick(['\n', '', 'XX', '\r']) : '\r\n';
  }
  out += `${rng.pick(['0', '0', '000', '0;x=y'])}\r\n`;
  if (part === 3) out += rng.pick(['Bad Trailer\r\n', 'T: v\r\n fold\r\n', 'T: v\n', 'T v\r\n']);
  else if (rng.chance(0.2)) out += rng.pick(['Trailer-A: v\r\n', 'Content-Length: 3\r\n', 'X-LIST: LIST\r\n']);
  return `${out}\r\n`;
}

/** Headers that decide framing, in every ambiguous combination, and the body they announce (or not). */
function framing(rng: Rng, odd: boolean): { headers: string[]; body: string } {
  const body = bodyText(rng);
  const cl = (v: string) => `Content-Length: ${v}`;
  if (!odd) {
    switch (rng.pick(['none', 'cl', 'te'] as const)) {
      case 'none':
        return { headers: [], body: '' };
      case 'cl':
        return { headers: [cl(String(body.length))], body };
      case 'te':
        return { headers: ['Transfer-Encoding: chunked'], body: chunkedBody(rng, false) };
    }
  }
  switch (rng.pick(['cl-wrong', 'cl-odd', 'cl-dup', 'te-body', 'te-body', 'te-body', 'te-odd', 'te-cl', 'te-dup', 'fold', 'space-colon', 'unframed-body'] as const)) {
    case 'cl-wrong':
      return { headers: [cl(String(Math.max(0, body.length + rng.range(-3, 3))))], body };
    case 'cl-odd':
      return { headers: [cl(rng.pick(CL_ODD))], body };
    case 'cl-dup':
      return { headers: [cl(String(body.length)), cl(String(rng.chance(0.5) ? body.length : body.length + 1))], body };
    case 'te-body':
      return { headers: ['Transfer-Encoding: chunked'], body: chunkedBody(rng, true) };
    case 'te-odd':
      return { headers: [`Transfer-Encoding: ${rng.pick(TE_ODD)}`], body: chunkedBody(rng, false) };
    case 'te-cl': {
      const chunked = chunkedBody(rng, false);
      const both = ['Transfer-Encoding: chunked', cl(String(rng.chance(0.5) ? chunked.length : body.length))];
      return { headers: rng.chance(0.5) ? both : both.reverse(), body: chunked };
    }
    case 'te-dup':
      return { headers: ['Transfer-Encoding: chunked', `Transfer-Encoding: ${rng.pick(['chunked', 'gzip', 'identity'])}`], body: chunkedBody(rng, false) };
    case 'fold':
      return rng.chance(0.5)
        ? { headers: ['Transfer-Encoding:\r\n chunked'], body: chunkedBody(rng, false) }
        : { headers: [`Content-Length: ${body.length}\r\n ${body.length}`], body };
    case 'space-colon':
      return rng.chance(0.5) ? { headers: ['Transfer-Encoding : chunked'], body: chunkedBody(rng, false) } : { headers: [`Content-Length : ${body.length}`], body };
    case 'unframed-body':
      return { headers: [], body };
  }
}

/** One request; with `odd`, one of its parts (method, target, version, line ends, headers, framing) is wrong. */
function request(rng: Rng): string {
  const odd = rng.chance(ODD) ? rng.weighted([['framing', 5], ['method', 1], ['target', 1], ['version', 1], ['eol', 1], ['header', 1], ['connection', 1]] as const) : null;
  const method = odd === 'method' ? rng.pick(ODD_METHODS) : rng.pick(METHODS);
  const target = odd === 'target' ? rng.pick(ODD_TARGETS) : rng.pick(TARGETS);
  const version = odd === 'version' ? rng.pick(ODD_VERSIONS) : 'HTTP/1.1';
  const headers = ['Host: h'];
  if (odd === 'connection') headers.push(rng.pick(['Connection: close', 'Connection: upgrade', 'Connection: Upgrade, keep-alive', 'Expect: 100-continue', 'Expect: nothing']));
  if (odd === 'connection' && rng.chance(0.5)) headers.push('Upgrade: websocket');
  if (rng.chance(0.2)) headers.push(`X-Vault-Token: ${rng.str(rng.range(1, 12), 'abcLIST')}`);
  if (odd === 'header') headers.push(rng.pick(['Bad Header: x', 'X-Nul: a\u0000b', ': empty', 'X-Fold: a\r\n b', 'X-A:\u007fb', 'LIST : x']));
  const f = framing(rng, odd === 'framing');
  headers.splice(rng.int(headers.length + 1), 0, ...f.headers);
  const lines = [`${method} ${target} ${version}`, ...headers, ''];
  const oddLine = odd === 'eol' ? rng.int(lines.length) : -1;
  return `${lines.map((l, i) => `${l}${eol(rng, i === oddLine)}`).join('')}${f.body}`;
}

function stream(rng: Rng): string {
  let out = '';
  for (let i = rng.range(1, 6); i > 0; i--) out += `${rng.chance(0.1) ? '\r\n' : ''}${request(rng)}`;
  if (rng.chance(0.1)) out = out.slice(0, rng.int(out.length + 1)); // cut short
  if (rng.chance(0.1)) {
    // One random byte changed, inserted or removed.
    const at = rng.int(out.length + 1);
    const byte = String.fromCharCode(rng.pick([rng.int(256), 13, 10, 32, 58, 48]));
    const edit = rng.pick(['set', 'insert', 'delete'] as const);
    out = out.slice(0, at) + (edit === 'delete' ? '' : byte) + out.slice(edit === 'insert' ? at : at + 1);
  }
  return out.replaceAll(LIST_CARRIER, 'LINX'); // LINK is read as LIST in the records, so none may be sent
}

/** Where to cut the stream into separate writes: random places, and just inside some `LIST` tokens. */
function splits(rng: Rng, s: string): number[] {
  const cuts = new Set<number>();
  for (let i = rng.range(0, 6); i > 0; i--) cuts.add(rng.int(s.length));
  for (let at = s.indexOf('LIST'); at !== -1; at = s.indexOf('LIST', at + 1)) if (rng.chance(0.3)) cuts.add(at + rng.range(1, 4));
  return [...cuts].filter((c) => c > 0 && c < s.length).sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------------------------
// Recording servers
// ---------------------------------------------------------------------------------------------------------------
interface Seen {
  method: string;
  url: string;
  headers: string[];
  body: string;
  trailers: string[];
  ended: boolean;
  upgrade: boolean;
}
interface Connection {
  requests: Seen[];
  error?: string;
  closed: Promise<void>;
}

async function recordingServer(front: boolean) {
  const connections = new Map<number, Connection>();
  // Node's 400 for a missing Host closes the connection as soon as it is written: off, so nothing races.
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    const seen: Seen = {
      method: req.method!,
      url: req.url!,
      headers: req.rawHeaders,
      body: '',
      trailers: [],
      ended: false,
      upgrade: /upgrade/i.test(String(req.headers.connection)) && req.headers.upgrade !== undefined,
    };
    connections.get(req.socket.remotePort!)!.requests.push(seen);
    req.on('data', (chunk: Buffer) => (seen.body += chunk.toString('latin1')));
    req.on('end', () => {
      seen.ended = true;
      seen.trailers = req.rawTrailers;
    });
    req.on('error', () => {});
    // No answer: a response that closes the connection (Connection: close, HTTP/1.0) would race the rest of the
    // stream. Node parses everything the client sends, and ends the connection when the client does.
    res.on('error', () => {});
  });
  server.on('connection', (socket: net.Socket) => {
    const port = socket.remotePort!;
    connections.set(port, { requests: [], closed: new Promise((resolve) => socket.once('close', () => resolve())) });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const conn = connections.get(socket.remotePort!);
    if (conn) conn.error = err.code;
    socket.destroy();
  });
  if (front) acceptListMethod(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, connections };
}

type Recorder = Awaited<ReturnType<typeof recordingServer>>;

/** Writes `bytes` in pieces with a pause between them, half-closes, and returns the server's record. */
async function play(rec: Recorder, bytes: Buffer, cuts: number[]): Promise<Outcome> {
  const socket = net.connect(rec.port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.on('data', () => {});
  await once(socket, 'connect');
  const port = socket.localPort!;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (socket.destroyed) break;
    socket.write(bytes.subarray(from, cut));
    from = cut;
    await delay(2);
  }
  socket.end();
  await Promise.race([closed, delay(15_000).then(() => socket.destroy())]);
  const conn = rec.connections.get(port);
  assert.ok(conn, 'the server saw the connection');
  await Promise.race([conn.closed, delay(15_000)]);
  rec.connections.delete(port);
  return { requests: conn.requests, error: conn.error };
}

type Outcome = Omit<Connection, 'closed'>;

/**
 * Where a `LIST` on the wire would start a request for Node's own parser: the whole stream goes in one piece
 * (through an in-memory duplex, so in one read) to a stock server; where its parser refuses a method at the `S`
 * of `LIST ` (or of a final `LIST`), that one becomes `LINK` and the stream is fed again.
 */
async function swapAtNodeRequestStarts(s: string): Promise<string> {
  const server = http.createServer({ requireHostHeader: false }, (_req, res) => res.on('error', () => {}));
  let current = s;
  for (;;) {
    const socket = new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() });
    const refusedAt = new Promise<number | undefined>((resolve) => {
      server.once('clientError', (err: NodeJS.ErrnoException & { bytesParsed?: number }) => resolve(err.code === 'HPE_INVALID_METHOD' ? err.bytesParsed : undefined));
      socket.on('close', () => resolve(undefined));
      setTimeout(() => resolve(undefined), 5_000).unref();
    });
    server.emit('connection', socket);
    socket.push(Buffer.from(current, 'latin1'));
    socket.push(null);
    const at = await refusedAt;
    socket.destroy();
    server.removeAllListeners('clientError');
    const start = at === undefined ? -1 : at - 2;
    const token = start < 0 ? '' : current.slice(start, start + 5);
    if (token !== 'LIST ' && !(token === 'LIST' && start + 4 === current.length)) return current;
    current = `${current.slice(0, start)}${LIST_CARRIER}${current.slice(start + 4)}`;
  }
}

/** A front's record: its LINK requests were LIST (the listener's mapping), the rest is as Node delivered it. */
const carrierAsList = (record: Outcome): Outcome => ({
  ...record,
  requests: record.requests.map((r) => ({ ...r, method: r.method === LIST_CARRIER ? 'LIST' : r.method })),
});

/** After an upgrade request Node's own result depends on TCP segmentation: compare up to it. */
function comparable(record: Outcome, upgradeAt: number): Outcome {
  return upgradeAt === -1 ? record : { requests: record.requests.slice(0, upgradeAt + 1) };
}

test(`the LIST front frames streams exactly as Node's parser (seed ${SEED})`, { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (reproduce with FRAMING_SEED=${SEED}), ${STREAMS} streams`);
  const reference = await recordingServer(false);
  const fronted = await recordingServer(true);
  const stats = { requests: 0, lists: 0, listsInBodies: 0, errors: new Map<string, number>(), naiveAllDiffer: 0, naiveFirstDiffer: 0 };
  const mismatches: string[] = [];

  const runOne = async (index: number) => {
    const rng = new Rng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    const s = stream(rng);
    const cuts = splits(rng, s);
    const original = Buffer.from(s, 'latin1');
    const [ref, got, naiveAll, naiveFirst] = await Promise.all([
      swapAtNodeRequestStarts(s).then((swapped) => play(reference, Buffer.from(swapped, 'latin1'), cuts)).then(carrierAsList),
      play(fronted, original, cuts).then(carrierAsList),
      play(reference, Buffer.from(s.replaceAll('LIST ', `${LIST_CARRIER} `), 'latin1'), cuts).then(carrierAsList),
      play(reference, Buffer.from(s.replace(/^(\r\n)*LIST /, `$1${LIST_CARRIER} `), 'latin1'), cuts).then(carrierAsList),
    ]);
    const upgradeAt = ref.requests.findIndex((r) => r.upgrade);
    const expected = comparable(ref, upgradeAt);
    try {
      assert.deepEqual(comparable(got, upgradeAt), expected);
    } catch {
      mismatches.push(`stream #${index} ${JSON.stringify(s)} cut at ${cuts.join(',')}\n  node:  ${JSON.stringify(expected)}\n  front: ${JSON.stringify(comparable(got, upgradeAt))}`);
    }
    const differs = (other: Outcome) => JSON.stringify(comparable(other, upgradeAt)) !== JSON.stringify(expected);
    if (differs(naiveAll)) stats.naiveAllDiffer++;
    if (differs(naiveFirst)) stats.naiveFirstDiffer++;
    stats.requests += ref.requests.length;
    stats.lists += ref.requests.filter((r) => r.method === 'LIST').length;
    stats.listsInBodies += ref.requests.filter((r) => r.body.includes('LIST ')).length;
    if (ref.error) stats.errors.set(ref.error, (stats.errors.get(ref.error) ?? 0) + 1);
  };

  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < STREAMS) await runOne(next++);
  }));
  reference.server.close();
  fronted.server.close();

  const errors = [...stats.errors.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
  t.diagnostic(`${stats.requests} requests delivered, ${stats.lists} of them LIST, ${stats.listsInBodies} with "LIST " in the body; connections closed by a parse error: ${errors}`);
  t.diagnostic(`naive fronts caught: rewrite-everywhere on ${stats.naiveAllDiffer} streams, first-request-only on ${stats.naiveFirstDiffer}`);
  assert.deepEqual(mismatches.slice(0, 5), [], `${mismatches.length} of ${STREAMS} streams framed differently (seed ${SEED})`);

  // The corpus exercised what it claims to, and the comparison detects the two classic mistakes.
  assert.ok(stats.lists > STREAMS / 4, `only ${stats.lists} LIST requests were delivered`);
  assert.ok(stats.listsInBodies > STREAMS / 50, `only ${stats.listsInBodies} bodies carried "LIST "`);
  for (const code of ['HPE_INVALID_METHOD', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CHUNK_SIZE', 'HPE_INVALID_TRANSFER_ENCODING']) {
    assert.ok((stats.errors.get(code) ?? 0) > 0, `no stream ended in ${code}: ${errors}`);
  }
  assert.ok(stats.naiveAllDiffer > STREAMS / 100, 'a front rewriting LIST inside bodies went unnoticed');
  assert.ok(stats.naiveFirstDiffer > STREAMS / 10, 'a front rewriting only the first request went unnoticed');
});
