/**
 * Accepting Vault's `LIST` HTTP method on a node:http server.
 *
 * Node's parser (llhttp) has a fixed method table without `LIST` and answers 400 before any JavaScript runs, and
 * neither `insecureHTTPParser` nor any other server option adds a method. Python's hvac and npm's node-vault send
 * `LIST /v1/secret/metadata/app` by default, so something must change those bytes before the parser reads them.
 *
 * Why this design (the options weighed):
 * - A hand-written framer in front of the parser would have to reproduce llhttp's framing rule for rule
 *   (Content-Length, chunked sizes and extensions, trailers, obs-fold, bare LF, Connection, upgrade); any rule it
 *   got wrong would let it see a request start where llhttp sees body bytes, or the other way round.
 * - npm's pure-JS parsers (http-parser-js and its forks) frame differently from llhttp, which is the same risk.
 * - So the front runs llhttp itself: the WebAssembly build that undici (already a dependency) ships, as a second,
 *   passive request parser over the same bytes. It pauses at every message start (its `on_message_begin`), which
 *   gives the exact offset where each request of a keep-alive or pipelined stream begins, whatever the TCP
 *   segmentation.
 * - The rewrite is length-preserving: at a request start, `LIST ` becomes `LINK ` (a method llhttp knows and
 *   coffer serves nowhere else), and a real `LINK ` becomes `LIST `, which llhttp then rejects as it rejects any
 *   unknown method. So a `LINK` request reaching the handler was always a `LIST`. Because no byte is inserted or
 *   removed and only a method token changes, even a framing disagreement between the two parsers (say, a future
 *   llhttp version in Node but not in undici) could at worst change four bytes of content: it could never move a
 *   request boundary, so it cannot smuggle a request. test/server/list-method.test.ts checks the two parsers
 *   agree on random and adversarial streams.
 *
 * Where the stock parser stops (a parse error, CONNECT or an upgrade), the front stops rewriting and passes the
 * rest through untouched: Node closes such a connection or hands it over as a raw socket.
 */
import { createRequire } from 'node:module';
import type http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** The method token llhttp knows that stands in for `LIST` between the front and the handler. */
export const LIST_CARRIER = 'LINK';

const LIST_TOKEN = Buffer.from('LIST ');
const CARRIER_TOKEN = Buffer.from(`${LIST_CARRIER} `);

// llhttp's C API as exported by undici's build (constants from llhttp's llhttp.h).
const TYPE_REQUEST = 1;
const HPE_OK = 0;
const HPE_PAUSED = 21;
const HPE_PAUSED_UPGRADE = 22;

interface Llhttp {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(parser: number): void;
  llhttp_execute(parser: number, data: number, len: number): number;
  llhttp_resume(parser: number): void;
  llhttp_resume_after_upgrade(parser: number): void;
  llhttp_get_error_pos(parser: number): number;
}

let wasm: Llhttp | undefined;

/** One WebAssembly instance for the process; each connection has its own parser in its memory. */
function llhttp(): Llhttp {
  if (wasm) return wasm;
  // undici keeps the module in this file; it has no `exports` map, so the deep path is its public layout.
  const bytes = createRequire(import.meta.url)('undici/lib/llhttp/llhttp-wasm.js') as Uint8Array<ArrayBuffer>;
  const span = () => 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: {
      // Pausing here makes llhttp_execute return at the first byte of every request.
      wasm_on_message_begin: () => HPE_PAUSED,
      wasm_on_url: span,
      wasm_on_status: span,
      wasm_on_header_field: span,
      wasm_on_header_value: span,
      wasm_on_headers_complete: span,
      wasm_on_body: span,
      wasm_on_message_complete: span,
    },
  });
  wasm = instance.exports as unknown as Llhttp;
  return wasm;
}

/**
 * LIST → LINK (known to llhttp), LINK → LIST (refused by llhttp), for the first `len` bytes of the two tokens
 * (`LIST ` with its space; without it only at the end of the stream). Returns whether it swapped.
 */
function swapToken(data: Buffer, at: number, len: number): boolean {
  const end = at + len;
  if (data.length < end) return false;
  const replacement = data.compare(LIST_TOKEN, 0, len, at, end) === 0 ? CARRIER_TOKEN : data.compare(CARRIER_TOKEN, 0, len, at, end) === 0 ? LIST_TOKEN : null;
  replacement?.copy(data, at, 0, len);
  return replacement !== null;
}

/** True when the bytes from `at` to the end could still grow into `token` (so the decision must wait). */
const couldBecome = (data: Buffer, at: number, token: Buffer) =>
  data.length - at < token.length && token.compare(data, at, data.length, 0, data.length - at) === 0;

/**
 * The rewriter of one connection's incoming byte stream. `push` takes what the socket received and returns what
 * Node's parser is given; up to four bytes at a request start may be held back until the method is known.
 */
export class ListMethodFront {
  private parser: number;
  private held: Buffer | null = null;
  /** The parser is paused at a request start that is byte 0 of the next data. */
  private atRequestStart = false;
  /** Past a parse error or an upgrade: the stock parser no longer frames requests here. */
  private done = false;
  private buffer = 0;
  private bufferSize = 0;

  constructor() {
    this.parser = llhttp().llhttp_alloc(TYPE_REQUEST);
  }

  push(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    const data = this.held ? Buffer.concat([this.held, chunk]) : Buffer.from(chunk); // a copy: rewritten in place
    this.held = null;
    const ll = llhttp();
    const base = this.copyIn(data);
    let offset = 0;
    while (offset < data.length || this.atRequestStart) {
      if (this.atRequestStart) {
        if (couldBecome(data, offset, LIST_TOKEN) || couldBecome(data, offset, CARRIER_TOKEN)) {
          this.held = data.subarray(offset);
          return data.subarray(0, offset);
        }
        this.swapMethod(data, offset, base);
        this.atRequestStart = false;
        ll.llhttp_resume(this.parser);
      }
      const ret = ll.llhttp_execute(this.parser, base + offset, data.length - offset);
      if (ret === HPE_OK) break;
      const at = ll.llhttp_get_error_pos(this.parser) - base;
      if (ret === HPE_PAUSED) {
        offset = at;
        this.atRequestStart = true;
        continue;
      }
      if (ret === HPE_PAUSED_UPGRADE) {
        // Node stops parsing this chunk here as well; an upgraded or CONNECT socket is destroyed or handed over.
        ll.llhttp_resume_after_upgrade(this.parser);
      }
      this.finish();
      break;
    }
    return data;
  }

  /** What is still held back when the client closes its side, swapped as if the space had followed. */
  end(): Buffer | null {
    const rest = this.held;
    this.held = null;
    if (rest?.length === LIST_TOKEN.length - 1) swapToken(rest, 0, rest.length);
    this.finish();
    return rest;
  }

  /** Frees the parser; later data passes through untouched. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    const ll = llhttp();
    ll.llhttp_free(this.parser);
    if (this.buffer) ll.free(this.buffer);
    this.buffer = 0;
  }

  /** Swaps the method at `at` in `data` and in the parser's copy, so that both parsers see the same bytes. */
  private swapMethod(data: Buffer, at: number, base: number): void {
    if (swapToken(data, at, LIST_TOKEN.length)) new Uint8Array(llhttp().memory.buffer, base + at, LIST_TOKEN.length).set(data.subarray(at, at + LIST_TOKEN.length));
  }

  /** Copies `data` into the parser's memory; the buffer grows in 4 KiB steps and is reused. */
  private copyIn(data: Buffer): number {
    const ll = llhttp();
    if (data.length > this.bufferSize) {
      if (this.buffer) ll.free(this.buffer);
      this.bufferSize = Math.ceil(data.length / 4096) * 4096;
      this.buffer = ll.malloc(this.bufferSize);
    }
    new Uint8Array(ll.memory.buffer, this.buffer, data.length).set(data);
    return this.buffer;
  }
}

/**
 * Puts a ListMethodFront on every connection of `server` (plain or TLS). Afterwards a `LINK` request reaching the
 * request handler is a `LIST` from the client.
 */
export function acceptListMethod(server: http.Server): void {
  if ((server as { insecureHTTPParser?: boolean }).insecureHTTPParser) throw new Error('the LIST front mirrors the strict parser only');
  // Added after node:http's own listener, so the parser is attached (and switched to the stream) already.
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', frontSocket);
}

/**
 * Routes the socket's incoming bytes through a front. Readable.push is where a net.Socket (and a TLSSocket, after
 * decryption) hands received data to its stream; wrapping it on this one socket rewrites the bytes before Node's
 * parser sees them. The extra `data` listener makes Node feed its parser from the stream rather than straight from
 * the native handle, which would bypass push.
 */
function frontSocket(socket: Socket): void {
  const front = new ListMethodFront();
  const push = socket.push.bind(socket);
  socket.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) {
      const rest = front.end();
      if (rest) push(rest);
      return push(null);
    }
    return push(front.push(chunk as Buffer), encoding);
  };
  // A TLS client's first request can be decrypted before 'secureConnection': it waits in the stream's buffer.
  if (socket.readableLength > 0) socket.unshift(front.push(socket.read() as Buffer));
  socket.on('data', noop);
  socket.once('close', () => front.finish());
}

function noop(): void {}
