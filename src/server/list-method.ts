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
 *   request boundary, so it cannot smuggle a request. test/server/list-method-framing.test.ts checks that the two
 *   parsers (Node's and the installed undici's) split random and adversarial streams identically.
 * - The price: Node must feed its parser from the socket's stream, in JavaScript, instead of natively from the
 *   handle; that, not the second parse, is most of the few microseconds per request it costs (README,
 *   Performance).
 *
 * Where Node's parser stops (a parse error, CONNECT, an upgrade that a listener takes), the front stops rewriting
 * and passes the rest through untouched: Node closes such a connection or hands it over as a raw socket.
 */
import { createRequire } from 'node:module';
import type http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';

/** The method token llhttp knows that stands in for `LIST` between the front and the handler. */
export const LIST_CARRIER = 'LINK';

const LIST_TOKEN = Buffer.from('LIST ');
const CARRIER_TOKEN = Buffer.from(`${LIST_CARRIER} `);
const TOKEN_LENGTH = LIST_TOKEN.length;
/** The bytes the two tokens share (`LI`) and the ones that tell them apart (`ST` / `NK`). */
const [L, I, S, T, SPACE] = LIST_TOKEN;
const [, , N, K] = CARRIER_TOKEN;

// llhttp's C API as exported by undici's build (constants from llhttp's llhttp.h).
const TYPE_REQUEST = 1;
const HPE_OK = 0;
const HPE_PAUSED = 21;
const HPE_PAUSED_UPGRADE = 22;
const HTTP_CONNECT = 5;

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
  llhttp_get_method(parser: number): number;
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
 * LIST → LIST's carrier (known to llhttp), carrier → LIST (refused by llhttp), in place at `at`: the whole token
 * with its space, or with `complete` (the end of the stream) its four letters alone. Returns whether it swapped.
 */
function swapToken(data: Buffer, at: number, complete = false): boolean {
  const len = complete ? TOKEN_LENGTH - 1 : TOKEN_LENGTH;
  if (data.length - at < len || data[at] !== L || data[at + 1] !== I || (!complete && data[at + 4] !== SPACE)) return false;
  const isList = data[at + 2] === S && data[at + 3] === T;
  if (!isList && !(data[at + 2] === N && data[at + 3] === K)) return false;
  data[at + 2] = isList ? N : S;
  data[at + 3] = isList ? K : T;
  return true;
}

/** True when the few bytes from `at` to the end could still grow into either token: the decision must wait. */
function undecided(data: Buffer, at: number): boolean {
  const left = data.length - at;
  if (left >= TOKEN_LENGTH) return false;
  for (let i = 0; i < left; i++) {
    const b = data[at + i];
    const ok = i === 2 ? b === S || b === N : i === 3 ? b === T || b === K : b === LIST_TOKEN[i];
    if (!ok) return false;
  }
  // The third and fourth bytes must come from the same token.
  return left < 4 || (data[at + 2] === S) === (data[at + 3] === T);
}

/**
 * The rewriter of one connection's incoming byte stream. `push` takes what the socket received and returns what
 * Node's parser is given; up to four bytes at a request start may be held back until the method is known.
 */
export class ListMethodFront {
  private parser: number;
  private held: Buffer | null = null;
  /** The parser is paused at a request start that is byte 0 of the next data. */
  private atRequestStart = false;
  /** Past a parse error, a CONNECT or a handed-over upgrade: Node's parser no longer frames requests here. */
  private done = false;
  private buffer = 0;
  private bufferSize = 0;

  /** `upgradesHandedOver`: whether the server has an `upgrade` listener (Node then stops parsing there). */
  constructor(private readonly upgradesHandedOver: () => boolean = () => false) {
    this.parser = llhttp().llhttp_alloc(TYPE_REQUEST);
  }

  /** Rewrites `chunk` in place (it is the stream's own buffer); may return less, holding the rest back. */
  push(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    const data = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = null;
    const ll = llhttp();
    const base = this.copyIn(data);
    let offset = 0;
    while (offset < data.length) {
      if (this.atRequestStart) {
        if (undecided(data, offset)) {
          this.held = data.subarray(offset);
          return data.subarray(0, offset);
        }
        if (swapToken(data, offset)) this.copyOut(data, offset, base);
        this.atRequestStart = false;
        ll.llhttp_resume(this.parser);
      }
      const ret = ll.llhttp_execute(this.parser, base + offset, data.length - offset);
      if (ret === HPE_OK) break;
      if (ret === HPE_PAUSED) {
        offset = ll.llhttp_get_error_pos(this.parser) - base;
        this.atRequestStart = true;
      } else if (ret === HPE_PAUSED_UPGRADE && ll.llhttp_get_method(this.parser) !== HTTP_CONNECT && !this.upgradesHandedOver()) {
        // An upgrade request nobody takes: Node drops the rest of this read and parses the next one as HTTP.
        ll.llhttp_resume_after_upgrade(this.parser);
        break;
      } else {
        this.finish(); // a parse error (Node closes the connection), a CONNECT (destroyed) or a handed-over upgrade
        break;
      }
    }
    return data;
  }

  /** What is still held back when the client closes its side, swapped as if the space had followed. */
  end(): Buffer | null {
    const rest = this.held;
    this.held = null;
    if (rest) swapToken(rest, 0, true);
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

  /** The swapped method into the parser's copy too, so that both parsers read the same bytes. */
  private copyOut(data: Buffer, at: number, base: number): void {
    new Uint8Array(llhttp().memory.buffer, base + at, TOKEN_LENGTH).set(data.subarray(at, at + TOKEN_LENGTH));
  }
}

/**
 * Puts a ListMethodFront on every connection of `server` (plain or TLS). Afterwards a `LINK` request reaching the
 * request handler is a `LIST` from the client.
 */
export function acceptListMethod(server: http.Server): void {
  if ((server as { insecureHTTPParser?: boolean }).insecureHTTPParser) throw new Error('the LIST front mirrors the strict parser only');
  // Added after node:http's own listener, so the parser is attached (and switched to the stream) already.
  const upgradesHandedOver = () => server.listenerCount('upgrade') > 0;
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: Socket) => frontSocket(socket, upgradesHandedOver));
}

/**
 * Routes the socket's incoming bytes through a front. Readable.push is where a net.Socket (and a TLSSocket, after
 * decryption) hands received data to its stream; wrapping it on this one socket rewrites the bytes before Node's
 * parser sees them. The extra `data` listener makes Node feed its parser from the stream rather than straight from
 * the native handle, which would bypass push.
 */
function frontSocket(socket: Socket, upgradesHandedOver: () => boolean): void {
  const front = new ListMethodFront(upgradesHandedOver);
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
