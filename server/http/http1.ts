/**
 * A small HTTP/1.1 server over `node:net` for the web page and its API,
 * with the handler shape of `Deno.serve` (`(Request, { remoteAddr }) =>
 * Response`) and the limits `Deno.serve` does not offer: a connection cap,
 * head, body, keep-alive and write timeouts, strict parsing, and a
 * `close()` that finishes within a second whatever the clients do.
 *
 * Each connection handles one request at a time:
 * 1. **head**: the request line and headers must arrive within
 *    `headerTimeoutMs` (counted from the connection, or from the first byte
 *    after a keep-alive wait) and fit in `maxHeaderBytes` (else 431). They
 *    are parsed strictly; whatever is not plainly valid gets a 4xx/5xx with
 *    a one-line text reason and the connection is closed (see
 *    {@linkcode serveHttp1} for the list).
 * 2. **body**: `Content-Length` or `Transfer-Encoding: chunked` (decoded),
 *    at most `maxBodyBytes` (else 413), all of it within `bodyTimeoutMs`
 *    (else 408). `Expect: 100-continue` gets `100 Continue` first.
 * 3. **handler**: gets a `Request` for `http://<Host><target>` with the
 *    whole body; its `signal` aborts if the client goes away. A handler
 *    that throws (or returns no `Response`) gives 500 and one log line with
 *    the error's stack: that is our bug. A client that goes away, at any
 *    point, gives at most one line, and only when `verbose`.
 * 4. **response**: see "Response bodies". Then the connection waits for
 *    the next request for `keepAliveTimeoutMs`, or closes (HTTP/1.0
 *    without keep-alive, `Connection: close`, errors, shutdown).
 *
 * Response bodies: a `text/event-stream` response is streamed at once
 * (chunked encoding). Any other body is read until it ends or 64 KiB are
 * collected: if it ended it is sent with `Content-Length`, otherwise the
 * collected part and the rest are streamed (chunked), so a body that is
 * neither an event stream nor finite is not sent before 64 KiB are ready.
 * Streaming pulls the next chunk only when less than 64 KiB wait unsent;
 * a client that lets that much wait longer than `writeTimeoutMs` is cut.
 * HTTP/1.0 clients get a streamed body without chunked framing, ended by
 * closing the connection.
 *
 * Memory per connection is bounded:
 * - input: an incomplete head ≤ `maxHeaderBytes`; bytes that arrive
 *   while a request is answered (pipelined requests, or a client's FIN)
 *   are kept up to `maxHeaderBytes` (plus the one socket read that crossed
 *   it, ≤ 64 KiB), then reading stops until the response is out;
 * - request body ≤ `maxBodyBytes` (decoded), chunk-size lines ≤ 1 KiB,
 *   trailers ≤ `maxHeaderBytes`, at most 100 header fields;
 * - output: ≤ 64 KiB of unsent bytes, plus one response head and the one
 *   chunk the response's stream handed over last;
 * - after the connection is done: what the client still sends is read and
 *   dropped (≤ 256 KiB, ≤ 1 s) so our last response is not lost to a reset.
 *
 * Beyond `maxConnections` open connections, a new one gets `503` with
 * `Retry-After` at once and is closed. Descriptor exhaustion (EMFILE) is
 * survived by {@linkcode GuardedListener}.
 *
 * @module
 */
import type { LogFn } from "../../core/log.ts";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { type Clock, realClock, type TimerId } from "../../hal/clock.ts";
import { formatDuration } from "../duration.ts";
import { GuardedListener } from "../listener.ts";

/** What the handler learns about the connection. */
export interface Http1Info {
  /** The client's address and port. */
  readonly remoteAddr: Deno.NetAddr;
}

/** Answers one request; the same shape as a `Deno.serve` handler. */
export type Http1Handler = (
  request: Request,
  info: Http1Info,
) => Response | Promise<Response>;

/** Options for {@linkcode serveHttp1}; every field is optional. */
export interface Http1Options {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port. Default 8080; 0 picks a free one (see {@linkcode Http1Server.port}). */
  port?: number;
  /** Log sink. Default `console.log`. */
  log?: LogFn;
  /**
   * Log a line per connection (opened, closed and why) and per request.
   * Default false: only handler errors and the connection limit are logged.
   */
  verbose?: boolean;
  /** Clock for every timeout. Default `realClock`; tests pass a `FakeClock`. */
  clock?: Clock;
  /** Most connections open at once; a newcomer beyond it gets 503. Default 256. */
  maxConnections?: number;
  /** The whole request head must arrive within this, in ms (else 408). Default 10 000. */
  headerTimeoutMs?: number;
  /** The whole request body must arrive within this, in ms (else 408). Default 10 000. */
  bodyTimeoutMs?: number;
  /** An idle connection between requests is closed after this, in ms. Default 5 000. */
  keepAliveTimeoutMs?: number;
  /**
   * A client that leaves 64 KiB of a response unread this long, in ms, is
   * cut. Default 10 000.
   */
  writeTimeoutMs?: number;
  /** Largest request head (request line and headers), in bytes (else 431). Default 8 KiB. */
  maxHeaderBytes?: number;
  /** Largest request body, in bytes, after chunked decoding (else 413). Default 64 KiB. */
  maxBodyBytes?: number;
}

/** The defaults of {@linkcode Http1Options}. */
export const HTTP1_DEFAULTS: {
  readonly hostname: string;
  readonly port: number;
  readonly maxConnections: number;
  readonly headerTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
} = Object.freeze({
  hostname: "127.0.0.1",
  port: 8080,
  maxConnections: 256,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  writeTimeoutMs: 10_000,
  maxHeaderBytes: 8 * 1024,
  maxBodyBytes: 64 * 1024,
});

/** A running server. */
export interface Http1Server {
  /** The port actually bound. */
  readonly port: number;
  /** The address actually bound. */
  readonly hostname: string;
  /** Connections open right now (not counting refused ones being closed). */
  readonly connections: number;
  /**
   * Stops listening, closes idle connections at once, lets responses in
   * progress finish for at most 500 ms (event streams are ended), then cuts
   * every connection. Resolves within a second. Idempotent.
   */
  close(): Promise<void>;
}

type Opts = Required<Omit<Http1Options, "hostname" | "port">>;

/** Unsent bytes above which a streamed response waits for the socket to drain. */
const OUTPUT_HIGH_WATER = 64 * 1024;
/** A response body up to this size is sent with Content-Length. */
const BUFFERED_BODY = 64 * 1024;
/** How long `close()` lets responses in progress finish. */
const CLOSE_GRACE_MS = 500;
/** How long a closed connection is read (and dropped) before it is cut. */
const LINGER_MS = 1000;
/** How much a closed connection may still send before it is cut. */
const LINGER_BYTES = 256 * 1024;
/** Most header fields in a request. */
const MAX_HEADER_FIELDS = 100;
/** Longest chunk-size line (size and extensions) of a chunked body. */
const MAX_CHUNK_LINE = 1024;
/** At most one "connection limit" line per this many ms (without verbose). */
const LIMIT_LOG_EVERY_MS = 60_000;

const CR = 13;
const LF = 10;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// deno-lint-ignore no-control-regex
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Methods `Request` refuses to carry. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
/** Response headers this module writes itself (hop-by-hop, framing). */
const OWN_HEADERS = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "proxy-connection",
  "set-cookie",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** A request we answer ourselves, with `status` and a one-line `reason`. */
class HttpError {
  constructor(readonly status: number, readonly reason: string) {}
}

const bad = (reason: string) => new HttpError(400, reason);

/** Up to 80 characters of `s`, control characters shown as `?`, for messages. */
function clip(s: string): string {
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f-\uffff]/g, "?");
  return clean.length > 80 ? clean.slice(0, 80) + "..." : clean;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function describeAddr(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A byte queue: appended at the end, consumed from the front. */
class ByteQueue {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  /** The queued bytes (valid until the next push or consume). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  push(chunk: Uint8Array): void {
    const live = this.length;
    if (this.#end + chunk.length > this.#buf.length) {
      const need = live + chunk.length;
      if (need <= this.#buf.length && live <= this.#buf.length / 2) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let size = 1024;
        while (size < need) size *= 2;
        const next = new Uint8Array(size);
        next.set(this.view());
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  consume(n: number): void {
    this.#start += n;
    if (this.#start >= this.#end) {
      this.#start = this.#end = 0;
      // An idle keep-alive connection keeps no large buffer.
      if (this.#buf.length > 16 * 1024) this.#buf = new Uint8Array(0);
    }
  }

  /** A copy of the first `n` bytes, consumed. */
  take(n: number): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.consume(n);
    return out;
  }
}

/**
 * Reads one CRLF-terminated line of at most `limit` bytes from `input`:
 * the line, `null` if incomplete, or an error (bare LF, control
 * character, too long: `tooLong`).
 */
function readLine(input: ByteQueue, limit: number, tooLong: HttpError): string | null | HttpError {
  const v = input.view();
  const lf = v.subarray(0, Math.min(v.length, limit)).indexOf(LF);
  if (lf === -1) return v.length >= limit ? tooLong : null;
  if (lf === 0 || v[lf - 1] !== CR) return bad("bare LF in the chunked body: end lines with CR LF");
  const line = latin1(v.subarray(0, lf - 1));
  input.consume(lf + 1);
  if (CTL.test(line)) return bad("control character in the chunked body framing");
  return line;
}

/** Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1); trailers are dropped. */
class ChunkedDecoder {
  #state: "size" | "data" | "crlf" | "trailer" = "size";
  #remaining = 0;
  #total = 0;
  #trailerBytes = 0;
  readonly #maxBody: number;
  readonly #maxTrailer: number;

  constructor(maxBody: number, maxTrailer: number) {
    this.#maxBody = maxBody;
    this.#maxTrailer = maxTrailer;
  }

  /** Consumes what it can of `input`, handing body bytes to `out`. */
  feed(input: ByteQueue, out: (part: Uint8Array) => void): "more" | "done" | HttpError {
    for (;;) {
      switch (this.#state) {
        case "size": {
          const line = readLine(input, MAX_CHUNK_LINE, bad("chunk size line too long"));
          if (line === null) return "more";
          if (line instanceof HttpError) return line;
          const m = /^([0-9A-Fa-f]+)[ \t]*(;.*)?$/.exec(line);
          if (!m) return bad(`malformed chunk size ${JSON.stringify(clip(line))}`);
          const size = parseInt(m[1], 16);
          if (this.#total + size > this.#maxBody) return tooLarge(this.#maxBody);
          if (size === 0) {
            this.#state = "trailer";
          } else {
            this.#remaining = size;
            this.#total += size;
            this.#state = "data";
          }
          break;
        }
        case "data": {
          const n = Math.min(this.#remaining, input.length);
          if (n === 0) return "more";
          out(input.take(n));
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = "crlf";
          break;
        }
        case "crlf": {
          if (input.length < 2) return "more";
          const v = input.view();
          if (v[0] !== CR || v[1] !== LF) return bad("chunk data longer than its size");
          input.consume(2);
          this.#state = "size";
          break;
        }
        case "trailer": {
          const left = this.#maxTrailer - this.#trailerBytes;
          const line = readLine(
            input,
            left,
            new HttpError(431, `trailer fields too large: at most ${this.#maxTrailer} bytes`),
          );
          if (line === null) return "more";
          if (line instanceof HttpError) return line;
          if (line === "") return "done";
          this.#trailerBytes += line.length + 2;
          const colon = line.indexOf(":");
          if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
            return bad(`malformed trailer field ${JSON.stringify(clip(line))}`);
          }
          break;
        }
      }
    }
  }
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, `request body too large: at most ${max} bytes are accepted`);
}

/** A parsed request head. */
interface Head {
  readonly method: string;
  readonly target: string;
  readonly url: string;
  readonly version: "1.0" | "1.1";
  readonly headers: Headers;
  readonly keepAlive: boolean;
  readonly expectContinue: boolean;
  readonly body:
    | { readonly kind: "none" }
    | { readonly kind: "length"; readonly length: number }
    | {
      readonly kind: "chunked";
    };
}

/** True for `host[:port]` with a DNS name, IPv4 or bracketed IPv6 address. */
function validAuthority(authority: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::(\d{0,5}))?$/.exec(authority);
  if (!m || (m[2] && Number(m[2]) > 65535)) return false;
  try {
    new URL(`http://${authority}/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a request head (without its final empty line) strictly; `fallbackHost`
 * names us for an HTTP/1.0 request without `Host`.
 */
function parseHead(text: string, fallbackHost: string, maxBody: number): Head | HttpError {
  const lines = text.split("\r\n");
  if (lines.length - 1 > MAX_HEADER_FIELDS) {
    return new HttpError(431, `too many header fields: at most ${MAX_HEADER_FIELDS}`);
  }
  const m = /^([^ ]+) ([^ ]+) ([^ ]+)$/.exec(lines[0]);
  if (!m) return bad("malformed request line: send METHOD /path HTTP/1.1");
  const [, method, target, versionText] = m;
  if (!TOKEN.test(method)) return bad(`malformed method ${JSON.stringify(clip(method))}`);
  const v = /^HTTP\/(\d)\.(\d)$/.exec(versionText);
  if (!v) return bad(`malformed HTTP version ${JSON.stringify(clip(versionText))}`);
  if (v[1] !== "1") {
    return new HttpError(505, `HTTP/${v[1]}.${v[2]} is not supported: use HTTP/1.1`);
  }
  const version = v[2] === "0" ? "1.0" : "1.1";
  if (!/^[\x21-\x7e]+$/.test(target)) return bad("malformed request target");
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) {
    return new HttpError(501, `method ${method} is not supported`);
  }

  const fields: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(" ") || line.startsWith("\t")) {
      return bad("obsolete line folding in the header: put each field on one line");
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) return bad(`malformed header line ${JSON.stringify(clip(line))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (CTL.test(value)) return bad(`control character in the ${clip(name)} header`);
    fields.push([name.toLowerCase(), value]);
  }
  const all = (name: string) => fields.filter(([k]) => k === name).map(([, value]) => value);

  const hosts = all("host");
  if (hosts.length > 1) return bad("more than one Host header");
  if (version === "1.1" && hosts.length === 0) {
    return bad("missing Host header (HTTP/1.1 needs it)");
  }
  if (hosts.length === 1 && !validAuthority(hosts[0])) {
    return bad(`invalid Host header ${JSON.stringify(clip(hosts[0]))}: send host or host:port`);
  }
  let url: string;
  if (target.startsWith("/")) {
    url = `http://${hosts[0] ?? fallbackHost}${target}`;
  } else if (/^http:\/\//i.test(target)) {
    // Absolute form: its authority replaces the Host header (RFC 9112 §3.2.2).
    const authority = target.slice(7).split(/[/?#]/, 1)[0];
    if (!validAuthority(authority)) return bad("malformed request target");
    const rest = target.slice(7 + authority.length);
    url = `http://${authority}${rest.startsWith("/") ? rest : "/" + rest}`;
    for (let i = fields.length - 1; i >= 0; i--) if (fields[i][0] === "host") fields.splice(i, 1);
    fields.push(["host", authority]);
  } else {
    return bad("malformed request target: send a path such as /");
  }
  try {
    url = new URL(url).href;
  } catch {
    return bad("malformed request target");
  }

  const lengths = all("content-length").flatMap((s) => s.split(",")).map((s) => s.trim());
  let length: number | undefined;
  if (lengths.length > 0) {
    if (!lengths.every((s) => /^\d+$/.test(s))) return bad("invalid Content-Length");
    if (new Set(lengths.map((s) => s.replace(/^0+(?=\d)/, ""))).size > 1) {
      return bad("conflicting Content-Length headers");
    }
    length = Number(lengths[0]);
  }
  const encodings = all("transfer-encoding");
  let chunked = false;
  if (encodings.length > 0) {
    if (version === "1.0") return bad("Transfer-Encoding is not allowed in HTTP/1.0");
    if (length !== undefined) return bad("both Content-Length and Transfer-Encoding");
    const codings = encodings.join(",").split(",").map((s) => s.trim().toLowerCase()).filter(
      Boolean,
    );
    if (codings.at(-1) !== "chunked") return bad("Transfer-Encoding must end with chunked");
    if (codings.length > 1) {
      return new HttpError(
        501,
        `transfer coding ${clip(codings[0])} is not supported: send chunked`,
      );
    }
    chunked = true;
  }
  if (length !== undefined && length > maxBody) return tooLarge(maxBody);

  let expectContinue = false;
  const expects = all("expect");
  if (expects.length > 0 && version === "1.1") {
    const expect = expects.join(",").trim().toLowerCase();
    if (expect !== "100-continue") {
      return new HttpError(417, `expectation ${JSON.stringify(clip(expect))} not supported`);
    }
    expectContinue = true;
  }
  const connection = all("connection").join(",").split(",").map((s) => s.trim().toLowerCase());
  const keepAlive = !connection.includes("close") &&
    (version === "1.1" || connection.includes("keep-alive"));

  const headers = new Headers();
  try {
    for (const [name, value] of fields) headers.append(name, value);
  } catch {
    return bad("a header value cannot be read");
  }
  return {
    method,
    target,
    url,
    version,
    headers,
    keepAlive,
    expectContinue,
    body: chunked ? { kind: "chunked" } : length ? { kind: "length", length } : { kind: "none" },
  };
}

/**
 * After our FIN: reads and drops what the peer still sends (bounded), and
 * cuts the connection at the peer's FIN (once our bytes are out) or after
 * {@linkcode LINGER_MS}. Closing with unread data would send a reset that
 * could destroy our last response.
 */
function linger(socket: Socket, clock: Clock): void {
  let bytes = 0;
  const timer = clock.setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once("close", () => clock.clearTimeout(timer));
  socket.removeAllListeners("data");
  socket.on("data", (chunk: Uint8Array) => {
    bytes += chunk.length;
    if (bytes > LINGER_BYTES) socket.destroy();
  });
  const done = () => {
    if (socket.writableFinished) socket.destroy();
    else socket.once("finish", () => socket.destroy());
  };
  if (socket.readableEnded) done();
  else socket.once("end", done);
  socket.resume();
}

/** The server: the listener and its connections. */
class Server implements Http1Server {
  readonly handler: Http1Handler;
  readonly opts: Opts;
  readonly #conns = new Set<Connection>();
  readonly #refused = new Set<Socket>();
  #listener: GuardedListener | undefined;
  #closing: Promise<void> | undefined;
  #lastLimitLog = -Infinity;
  /** Used as the host of HTTP/1.0 requests without `Host`. */
  fallbackHost = "";

  constructor(handler: Http1Handler, opts: Opts) {
    this.handler = handler;
    this.opts = opts;
  }

  async listen(hostname: string, port: number): Promise<void> {
    this.#listener = await GuardedListener.listen({
      hostname,
      port,
      name: "web",
      log: this.opts.log,
      clock: this.opts.clock,
      server: { allowHalfOpen: true, pauseOnConnect: false },
    }, (socket) => this.#accept(socket));
    this.fallbackHost = describeAddr(this.hostname, this.port);
  }

  get port(): number {
    return this.#listener?.port ?? 0;
  }

  get hostname(): string {
    return this.#listener?.hostname ?? "";
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** True once `close()` was called. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  #accept(socket: Socket): void {
    socket.on("error", () => socket.destroy()); // reset by peer, write after close…
    if (this.closing || socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    if (this.#conns.size >= this.opts.maxConnections) return this.#refuse(socket);
    const conn = new Connection(socket, this);
    this.#conns.add(conn);
    conn.finished.then(() => this.#conns.delete(conn));
    if (this.opts.verbose) {
      this.opts.log(`web: connection from ${conn.remote} (${this.#conns.size} open)`, "debug");
    }
  }

  #refuse(socket: Socket): void {
    const { maxConnections, verbose, log, clock } = this.opts;
    const remote = describeAddr(socket.remoteAddress ?? "?", socket.remotePort ?? 0);
    if (verbose) {
      log(`web: refused ${remote}: ${maxConnections} connections open (the limit)`, "debug");
    } else if (clock.now() - this.#lastLimitLog >= LIMIT_LOG_EVERY_MS) {
      this.#lastLimitLog = clock.now();
      log(`web: ${maxConnections} connections open (the limit): new ones get 503 for now`);
    }
    const body = Buffer.from(
      `too many connections (${maxConnections}): try again in a few seconds\n`,
    );
    const head = [
      "HTTP/1.1 503 Service Unavailable",
      "content-type: text/plain; charset=utf-8",
      `content-length: ${body.length}`,
      "retry-after: 5",
      "connection: close",
      `date: ${new Date().toUTCString()}`,
    ].join("\r\n") + "\r\n\r\n";
    this.#refused.add(socket);
    socket.once("close", () => this.#refused.delete(socket));
    socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]));
    linger(socket, clock);
  }

  /** Logs a handler failure: our bug, so with its stack. */
  internalError(head: Head, remote: string, e: unknown): void {
    const detail = e instanceof Error
      ? (e.stack?.includes(e.message) ? e.stack : `${e.message}\n${e.stack ?? ""}`)
      : String(e);
    this.opts.log(
      `web: internal error on ${head.method} ${clip(head.target)} from ${remote}: ${detail}`,
    );
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = this.#listener?.close() ?? Promise.resolve();
      for (const socket of this.#refused) socket.destroy();
      const conns = [...this.#conns];
      for (const c of conns) c.shutdown();
      let timer: TimerId | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = this.opts.clock.setTimeout(resolve, CLOSE_GRACE_MS);
      });
      // Done once each connection is closed or has sent its last byte (and FIN).
      await Promise.race([Promise.all(conns.map((c) => c.settled)), grace]);
      this.opts.clock.clearTimeout(timer!);
      for (const c of this.#conns) c.socket.destroy();
      await Promise.all(conns.map((c) => c.finished));
      await stopped;
    })();
    return this.#closing;
  }
}

type Phase = "head" | "body" | "answer" | "idle" | "closing" | "closed";

/** One client connection. */
class Connection {
  readonly socket: Socket;
  readonly remote: string;
  /** Resolves once the socket is closed. */
  readonly finished: Promise<void>;
  /** Resolves once closed, or once closing with every byte handed to the kernel. */
  readonly settled: Promise<void>;
  readonly #settle: () => void;
  readonly #server: Server;
  readonly #opts: Opts;
  readonly #info: Http1Info;
  readonly #in = new ByteQueue();
  #phase: Phase = "head";
  #timer: TimerId | undefined;
  /** Where the search for the head's end goes on. */
  #scanFrom = 0;
  /** Bytes of the current head already consumed (empty lines before it). */
  #headSeen = 0;
  #head: Head | undefined;
  #bodyParts: Uint8Array[] = [];
  #remaining = 0;
  #chunked: ChunkedDecoder | undefined;
  #peerEnded = false;
  #paused = false;
  /** Why the connection ended, for the verbose log. */
  #reason = "";
  /** The response body being read, cancelled if the client goes. */
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #streaming = false;
  /** The current response's head is written (too late for a 500). */
  #headWritten = false;
  #abort: AbortController | undefined;

  constructor(socket: Socket, server: Server) {
    this.socket = socket;
    this.#server = server;
    this.#opts = server.opts;
    const hostname = socket.remoteAddress ?? "";
    const port = socket.remotePort ?? 0;
    this.remote = describeAddr(hostname, port);
    this.#info = { remoteAddr: { transport: "tcp", hostname, port } };
    const settled = Promise.withResolvers<void>();
    this.settled = settled.promise;
    this.#settle = settled.resolve;
    this.finished = new Promise((resolve) => {
      socket.once("close", () => {
        this.#phase = "closed";
        this.#clearTimer();
        this.#reader?.cancel().catch(() => {});
        this.#abort?.abort();
        if (this.#opts.verbose) {
          this.#opts.log(`web: ${this.remote} closed: ${this.#reason || "done"}`, "debug");
        }
        this.#settle();
        resolve();
      });
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      this.#setReason(this.#goneReason(e.code ?? e.message));
      socket.destroy();
    });
    socket.on("end", () => this.#onEnd());
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    this.#startHead();
  }

  get #gone(): boolean {
    return this.socket.destroyed || this.#phase === "closed";
  }

  #setReason(reason: string): void {
    if (!this.#reason) this.#reason = reason;
  }

  #goneReason(detail?: string): string {
    const at = this.#phase === "body"
      ? "mid-body"
      : this.#phase === "answer"
      ? "mid-response"
      : this.#phase === "head" && (this.#in.length > 0 || this.#headSeen > 0)
      ? "mid-head"
      : "";
    return at ? `went away ${at}${detail ? ` (${detail})` : ""}` : `closed by the client`;
  }

  #onData(chunk: Uint8Array): void {
    switch (this.#phase) {
      case "idle":
        this.#in.push(chunk);
        this.#startHead();
        this.#pump();
        return;
      case "head":
      case "body":
        this.#in.push(chunk);
        this.#pump();
        return;
      case "answer":
        // Pipelined bytes (or a client's FIN behind them) wait, bounded.
        this.#in.push(chunk);
        if (this.#in.length > this.#opts.maxHeaderBytes) this.#pause();
        return;
    }
  }

  #onEnd(): void {
    this.#peerEnded = true;
    switch (this.#phase) {
      case "idle":
        return this.#closeGracefully("closed by the client");
      case "head":
      case "body":
        if (this.#phase === "head" && this.#in.length === 0 && this.#headSeen === 0) {
          return this.#closeGracefully("closed by the client");
        }
        // The request can never complete.
        this.#setReason(this.#goneReason());
        this.socket.destroy();
        return;
      case "answer":
        // A client that stops sending while a stream runs has gone away.
        if (this.#streaming) {
          this.#setReason("went away mid-response");
          this.#reader?.cancel().catch(() => {});
        }
        return;
    }
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  #arm(ms: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Waits for a request head, from now on for at most `headerTimeoutMs`. */
  #startHead(): void {
    this.#phase = "head";
    this.#headSeen = 0;
    this.#scanFrom = 0;
    const ms = this.#opts.headerTimeoutMs;
    this.#arm(ms, () => {
      if (this.#in.length > 0 || this.#headSeen > 0) {
        this.#fail(408, `request head not received within ${formatDuration(ms)}`);
      } else {
        this.#closeGracefully(`no request within ${formatDuration(ms)}`);
      }
    });
  }

  /** Parses what the input holds, as far as it goes. */
  #pump(): void {
    if (this.#phase === "head") {
      const r = this.#readHead();
      if (r !== "done") {
        if (r === "more" && this.#peerEnded) {
          this.#setReason(this.#goneReason());
          this.socket.destroy();
        }
        return;
      }
    }
    if (this.#phase === "body") {
      const r = this.#readBody();
      if (r instanceof HttpError) return this.#fail(r.status, r.reason);
      if (r === "more") {
        if (this.#peerEnded) {
          this.#setReason(this.#goneReason());
          this.socket.destroy();
        }
        return;
      }
      this.#clearTimer();
      this.#phase = "answer";
      if (this.#in.length > this.#opts.maxHeaderBytes) this.#pause();
      this.#answer().catch((e) => {
        // Not the handler's (that gives a 500): a bug here. Log it and cut.
        this.#opts.log(`web: internal error serving ${this.remote}: ${(e as Error)?.stack ?? e}`);
        this.socket.destroy();
      });
    }
  }

  #readHead(): "more" | "done" | "error" {
    const max = this.#opts.maxHeaderBytes;
    // Empty lines before the request line are ignored (RFC 9112 §2.2).
    if (this.#scanFrom === 0) {
      const v = this.#in.view();
      let skip = 0;
      while (skip + 1 < v.length && v[skip] === CR && v[skip + 1] === LF) skip += 2;
      if (skip > 0) {
        this.#in.consume(skip);
        this.#headSeen += skip;
      }
    }
    const v = this.#in.view();
    const limit = Math.min(v.length, Math.max(0, max - this.#headSeen));
    let end = -1;
    for (let i = this.#scanFrom; i < limit; i++) {
      const b = v[i];
      if (i > 0 && v[i - 1] === CR && b !== LF) {
        this.#fail(400, "bare CR in the request head: end lines with CR LF");
        return "error";
      }
      if (b === LF) {
        if (i === 0 || v[i - 1] !== CR) {
          this.#fail(400, "bare LF in the request head: end lines with CR LF");
          return "error";
        }
        if (i >= 3 && v[i - 2] === LF && v[i - 3] === CR) {
          end = i + 1;
          break;
        }
      }
    }
    if (end === -1) {
      this.#scanFrom = limit;
      if (this.#headSeen + v.length >= max) {
        this.#fail(431, `request head too large: at most ${max} bytes are accepted`);
        return "error";
      }
      return "more";
    }
    const text = latin1(v.subarray(0, end - 4));
    this.#in.consume(end);
    const head = parseHead(text, this.#server.fallbackHost, this.#opts.maxBodyBytes);
    if (head instanceof HttpError) {
      this.#fail(head.status, head.reason);
      return "error";
    }
    this.#head = head;
    if (this.#opts.verbose) {
      this.#opts.log(`web: ${this.remote} ${head.method} ${clip(head.target)}`, "debug");
    }
    this.#phase = "body";
    this.#bodyParts = [];
    if (head.body.kind === "none") {
      this.#clearTimer();
      return "done";
    }
    if (head.body.kind === "length") this.#remaining = head.body.length;
    else this.#chunked = new ChunkedDecoder(this.#opts.maxBodyBytes, max);
    if (head.expectContinue && this.#in.length === 0) {
      this.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    const ms = this.#opts.bodyTimeoutMs;
    this.#arm(ms, () => this.#fail(408, `request body not received within ${formatDuration(ms)}`));
    return "done";
  }

  #readBody(): "more" | "done" | HttpError {
    const kind = this.#head!.body.kind;
    if (kind === "none") return "done";
    if (kind === "length") {
      const n = Math.min(this.#remaining, this.#in.length);
      if (n > 0) {
        this.#bodyParts.push(this.#in.take(n));
        this.#remaining -= n;
      }
      return this.#remaining === 0 ? "done" : "more";
    }
    const r = this.#chunked!.feed(this.#in, (part) => this.#bodyParts.push(part));
    if (r === "done") this.#chunked = undefined;
    return r;
  }

  /** Runs the handler for the request just read and sends its response. */
  async #answer(): Promise<void> {
    const head = this.#head!;
    this.#head = undefined;
    const parts = this.#bodyParts;
    this.#bodyParts = [];
    const hasBody = head.method !== "GET" && head.method !== "HEAD" && head.body.kind !== "none";
    this.#abort = new AbortController();
    let response: Response;
    try {
      const request = new Request(head.url, {
        method: head.method,
        headers: head.headers,
        body: hasBody ? Buffer.concat(parts) : undefined,
        signal: this.#abort.signal,
      });
      response = await this.#server.handler(request, this.#info);
      if (!(response instanceof Response)) {
        throw new TypeError(`the handler returned ${typeof response}, not a Response`);
      }
    } catch (e) {
      if (this.#gone) return; // the client left; an abort it caused is not our bug
      this.#server.internalError(head, this.remote, e);
      response = internalErrorResponse();
    }
    if (this.#gone) {
      response.body?.cancel().catch(() => {});
      return;
    }
    let closeAfter = !head.keepAlive || this.#server.closing;
    this.#headWritten = false;
    try {
      closeAfter = await this.#respond(head, response, closeAfter);
    } catch (e) {
      // The response's body stream failed: our bug.
      if (this.#gone) return;
      this.#server.internalError(head, this.remote, e);
      if (this.#headWritten) {
        this.#setReason("response body failed");
        this.socket.destroy();
        return;
      }
      closeAfter = await this.#respond(head, internalErrorResponse(), closeAfter);
    }
    this.#abort = undefined;
    if (this.#gone) return;
    if (closeAfter || this.#server.closing) return this.#closeGracefully("done");
    if (this.socket.writableLength >= OUTPUT_HIGH_WATER && !(await this.#drained())) return;
    if (this.#in.length > 0) {
      this.#startHead();
      this.#resume();
      this.#pump();
    } else if (this.#peerEnded) {
      this.#closeGracefully("closed by the client");
    } else {
      this.#phase = "idle";
      this.#resume();
      const ms = this.#opts.keepAliveTimeoutMs;
      this.#arm(ms, () => {
        if (this.socket.writableLength > 0) {
          this.#setReason(`left the response unread for ${formatDuration(ms)}`);
          this.socket.destroy();
        } else {
          this.#closeGracefully(`idle for ${formatDuration(ms)}`);
        }
      });
    }
  }

  /**
   * Writes `response`; resolves once it is all handed to the socket, with
   * whether the connection must close after it.
   */
  async #respond(head: Head, response: Response, closeAfter: boolean): Promise<boolean> {
    const status = response.status;
    const noBody = head.method === "HEAD" || status === 204 || status === 304;
    const lines = [`HTTP/1.1 ${status} ${response.statusText || REASONS[status] || "Unknown"}`];
    for (const [name, value] of response.headers) {
      if (!OWN_HEADERS.has(name)) lines.push(`${name}: ${value}`);
    }
    for (const cookie of response.headers.getSetCookie()) lines.push(`set-cookie: ${cookie}`);
    if (!response.headers.has("date")) lines.push(`date: ${new Date().toUTCString()}`);
    const connection = () => {
      if (closeAfter) lines.push("connection: close");
      else if (head.version === "1.0") lines.push("connection: keep-alive");
    };

    if (response.body === null) {
      if (status !== 204 && status !== 304) lines.push("content-length: 0");
      connection();
      this.#write(lines);
      return closeAfter;
    }
    const reader = response.body.getReader();
    this.#reader = reader;
    try {
      const type = (response.headers.get("content-type") ?? "").toLowerCase();
      const parts: Uint8Array[] = [];
      let ended = false;
      if (!type.startsWith("text/event-stream")) {
        let size = 0;
        while (size < BUFFERED_BODY) {
          const r = await reader.read();
          if (r.done) {
            ended = true;
            break;
          }
          parts.push(checkChunk(r.value));
          size += r.value.length;
        }
        if (this.#gone) return true;
        if (ended) {
          if (status !== 204 && status !== 304) lines.push(`content-length: ${size}`);
          connection();
          this.#write(lines, noBody ? [] : parts);
          return closeAfter;
        }
      }
      // Streamed: chunked, or to an HTTP/1.0 client until the connection closes.
      const chunked = head.version === "1.1";
      if (!noBody && !chunked) closeAfter = true;
      if (!noBody && chunked) lines.push("transfer-encoding: chunked");
      connection();
      this.#write(lines);
      if (noBody) return closeAfter;
      this.#streaming = true;
      if (this.#server.closing) reader.cancel().catch(() => {});
      for (const part of parts) this.#writeChunk(part, chunked);
      for (;;) {
        if (this.socket.writableLength >= OUTPUT_HIGH_WATER && !(await this.#drained())) {
          return true;
        }
        const r = await reader.read();
        if (r.done || this.#gone) break;
        this.#writeChunk(checkChunk(r.value), chunked);
      }
      if (!this.#gone && chunked) this.socket.write("0\r\n\r\n");
      return closeAfter || this.#peerEnded;
    } finally {
      this.#streaming = false;
      this.#reader = undefined;
      reader.cancel().catch(() => {});
    }
  }

  #write(lines: string[], body: Uint8Array[] = []): void {
    if (this.#gone) return;
    this.#headWritten = true;
    const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
    this.socket.write(body.length === 0 ? head : Buffer.concat([head, ...body]));
  }

  #writeChunk(part: Uint8Array, chunked: boolean): void {
    if (this.#gone || part.length === 0) return; // an empty chunk would end the body
    if (!chunked) {
      this.socket.write(part);
      return;
    }
    this.socket.write(
      Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]),
    );
  }

  /** Resolves true once the socket drained, false if it closed or stayed full `writeTimeoutMs`. */
  #drained(): Promise<boolean> {
    if (this.#gone) return Promise.resolve(false);
    const { clock, writeTimeoutMs } = this.#opts;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.socket.off("drain", onDrain);
        this.socket.off("close", onClose);
        clock.clearTimeout(timer);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = clock.setTimeout(() => {
        this.#setReason(`left the response unread for ${formatDuration(writeTimeoutMs)}`);
        this.socket.destroy();
        done(false);
      }, writeTimeoutMs);
      this.socket.on("drain", onDrain);
      this.socket.on("close", onClose);
    });
  }

  /** Answers a request we refuse (`status` and a one-line reason), then closes. */
  #fail(status: number, reason: string): void {
    if (this.#gone || this.#phase === "closing") return;
    const body = Buffer.from(reason + "\n");
    this.#write([
      `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}`,
      "content-type: text/plain; charset=utf-8",
      `content-length: ${body.length}`,
      "connection: close",
      `date: ${new Date().toUTCString()}`,
    ], [body]);
    this.#closeGracefully(`${status} ${reason}`);
  }

  /** Sends FIN after what was written, reads and drops the rest, then closes. */
  #closeGracefully(reason: string): void {
    if (this.#gone || this.#phase === "closing") return;
    this.#setReason(reason);
    this.#phase = "closing";
    this.#clearTimer();
    this.#paused = false;
    this.socket.end();
    linger(this.socket, this.#opts.clock);
    if (this.socket.writableFinished) this.#settle();
    else this.socket.once("finish", () => this.#settle());
  }

  /** The server is closing: idle connections go now, event streams end. */
  shutdown(): void {
    if (this.#gone) return;
    if (this.#phase === "idle" || (this.#phase === "head" && this.#in.length === 0)) {
      this.#closeGracefully("server closing");
    } else if (this.#streaming) {
      this.#setReason("server closing");
      this.#reader?.cancel().catch(() => {});
    }
  }
}

function internalErrorResponse(): Response {
  return new Response("internal error (see the server log)\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function checkChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`a response body chunk must be a Uint8Array, not ${typeof value}`);
}

/**
 * Starts an HTTP/1.1 server. Rejects with `Deno.errors.AddrInUse`,
 * `AddrNotAvailable` or `PermissionDenied` when it cannot listen,
 * `RangeError` for bad options.
 *
 * Requests answered without the handler (then the connection is closed):
 * - 400: malformed request line, method, target or HTTP version; a header
 *   line without `name:`, with a space before the colon, folded, or with a
 *   control character; a bare CR or LF; missing (HTTP/1.1), duplicate or
 *   invalid `Host` (e.g. `127.0.0.1 evil.example`); invalid or conflicting
 *   `Content-Length`; `Content-Length` with `Transfer-Encoding`;
 *   `Transfer-Encoding` not ending in `chunked` or in HTTP/1.0; a malformed
 *   chunked body;
 * - 408: head or body not received in time; 413: body over `maxBodyBytes`;
 *   417: an `Expect` other than `100-continue`; 431: head over
 *   `maxHeaderBytes` or more than 100 fields; 501: `CONNECT`, `TRACE`,
 *   `TRACK`, a transfer coding other than chunked; 505: HTTP/2 and later.
 *
 * @example
 * ```ts
 * import { serveHttp1 } from "./http1.ts";
 * const server = await serveHttp1(() => new Response("hi\n"), { port: 0 });
 * const r = await fetch(`http://127.0.0.1:${server.port}/`);
 * await r.text(); // "hi\n"
 * await server.close();
 * ```
 */
export async function serveHttp1(
  handler: Http1Handler,
  options: Http1Options = {},
): Promise<Http1Server> {
  const d = HTTP1_DEFAULTS;
  const opts: Opts = {
    log: options.log ?? ((line) => console.log(line)),
    verbose: options.verbose ?? false,
    clock: options.clock ?? realClock,
    maxConnections: options.maxConnections ?? d.maxConnections,
    headerTimeoutMs: options.headerTimeoutMs ?? d.headerTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs ?? d.bodyTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? d.keepAliveTimeoutMs,
    writeTimeoutMs: options.writeTimeoutMs ?? d.writeTimeoutMs,
    maxHeaderBytes: options.maxHeaderBytes ?? d.maxHeaderBytes,
    maxBodyBytes: options.maxBodyBytes ?? d.maxBodyBytes,
  };
  for (
    const key of [
      "maxConnections",
      "headerTimeoutMs",
      "bodyTimeoutMs",
      "keepAliveTimeoutMs",
      "writeTimeoutMs",
      "maxHeaderBytes",
      "maxBodyBytes",
    ] as const
  ) {
    const value = opts[key];
    if (!(Number.isSafeInteger(value) && value >= 1)) {
      throw new RangeError(`${key} must be a whole number ≥ 1, got ${value}`);
    }
  }
  if (opts.maxHeaderBytes < 64) {
    throw new RangeError(`maxHeaderBytes must be at least 64, got ${opts.maxHeaderBytes}`);
  }
  const server = new Server(handler, opts);
  await server.listen(options.hostname ?? d.hostname, options.port ?? d.port);
  return server;
}
