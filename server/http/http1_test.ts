/**
 * serveHttp1 over real loopback sockets: raw bytes written with
 * `Deno.connect`, a `FakeClock` driving every timeout. The tests wait on
 * socket events and on the server's (verbose) log lines, never on sleeps;
 * reads give up after 5 s only so that a bug fails a test instead of
 * hanging it.
 *
 * Bad inputs tried (each must get its status, or be closed, and leave the
 * server answering the next client):
 * - slow clients: a head sent one byte a second past headerTimeoutMs; a
 *   body shorter than its Content-Length; a chunked body that never ends
 *   (slowly: 408; quickly: 413 past maxBodyBytes); an idle keep-alive
 *   connection; a client that never sends anything;
 * - too many: maxConnections + 1 connections (503, Retry-After);
 * - request line: missing version, two spaces, `HTTP/1.x`, lower-case
 *   `http/1.1`, `HTTP/2.0` (505), a target without `/`, a non-ASCII byte in
 *   the target, a bad method character, `CONNECT` (501);
 * - headers: a line without colon, a space before the colon, obsolete line
 *   folding, a control character, a bare LF, a bare CR, a 9,000-byte field
 *   (431), 101 fields (431);
 * - Host: missing, duplicated, `127.0.0.1 evil.example`, `a/b`, empty, a
 *   port over 65535;
 * - framing: two different Content-Lengths, `Content-Length: -1`, `3x`,
 *   Content-Length with Transfer-Encoding, `Transfer-Encoding: gzip` (400),
 *   `gzip, chunked` (501), Transfer-Encoding in HTTP/1.0, a bad chunk size,
 *   a chunk longer than its size, a Content-Length over maxBodyBytes (413),
 *   one of 20 digits (413), `Expect: teapot` (417);
 * - clients that leave mid-body and mid-response (no stack trace logged);
 * - our own bugs: a handler that throws, a response body stream that errors
 *   before and after its head is sent (500, or a cut; one log line each);
 * - `close()` with an idle, a half-sent head, a stalled body, a handler
 *   that never answers, a stream nobody reads and a keep-alive connection.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../../hal/clock.ts";
import { type Http1Handler, type Http1Options, serveHttp1 } from "./http1.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A parsed response head. */
interface Head {
  status: number;
  line: string;
  headers: Headers;
}

/** A raw HTTP client on one loopback connection. */
class Raw implements Disposable {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async open(port: number): Promise<Raw> {
    return new Raw(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Our local port, as the server logs it. */
  get port(): number {
    return (this.conn.localAddr as Deno.NetAddr).port;
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Reads more bytes; false at EOF or reset. */
  async #more(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let timedOut = false;
    const guard = setTimeout(() => {
      timedOut = true;
      this.conn.close();
    }, 5000);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch (e) {
      if (timedOut) throw new Error("nothing received within 5 s");
      if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
      n = null;
    } finally {
      clearTimeout(guard);
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  async #upTo(separator: string): Promise<string | null> {
    for (;;) {
      const i = dec.decode(this.#buf).indexOf(separator);
      if (i !== -1) return dec.decode(this.#take(i + separator.length)).slice(0, i);
      if (!(await this.#more())) return null;
    }
  }

  async #bytes(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#more())) throw new Error(`EOF after ${this.#buf.length} of ${n} bytes`);
    }
    return this.#take(n);
  }

  /** The next response head, or null at EOF. */
  async head(): Promise<Head | null> {
    const text = await this.#upTo("\r\n\r\n");
    if (text === null) return null;
    const [line, ...fields] = text.split("\r\n");
    const headers = new Headers();
    for (const f of fields) {
      const colon = f.indexOf(":");
      headers.append(f.slice(0, colon), f.slice(colon + 1).trim());
    }
    return { status: Number(line.split(" ")[1]), line, headers };
  }

  /** One chunk of a chunked body, or null at its last (empty) chunk. */
  async chunk(): Promise<string | null> {
    const size = await this.#upTo("\r\n");
    if (size === null) throw new Error("EOF inside a chunked body");
    const n = parseInt(size, 16);
    if (n === 0) {
      while ((await this.#upTo("\r\n")) !== "") { /* trailer fields */ }
      return null;
    }
    const data = dec.decode(await this.#bytes(n));
    assert.equal(await this.#upTo("\r\n"), "");
    return data;
  }

  /** The next response, or null at EOF. `head`: it answers a HEAD request. */
  async response(head = false): Promise<(Head & { body: string }) | null> {
    const h = await this.head();
    if (h === null) return null;
    let body = "";
    if (head || h.status === 204 || h.status === 304 || h.status < 200) {
      // no body
    } else if (h.headers.get("transfer-encoding") === "chunked") {
      for (let c = await this.chunk(); c !== null; c = await this.chunk()) body += c;
    } else if (h.headers.has("content-length")) {
      body = dec.decode(await this.#bytes(Number(h.headers.get("content-length"))));
    } else {
      body = await this.rest();
    }
    return { ...h, body };
  }

  /** Everything until the server closes. */
  async rest(): Promise<string> {
    while (await this.#more()) { /* read on */ }
    return dec.decode(this.#take(this.#buf.length));
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** The log, with waits for a line. */
class Log {
  readonly lines: string[] = [];
  #waiters: { re: RegExp; resolve: (line: string) => void }[] = [];

  readonly sink = (line: string): void => {
    this.lines.push(line);
    for (const w of [...this.#waiters]) {
      if (w.re.test(line)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };

  /** The first line matching `re`, now or when it comes (fails after 5 s). */
  waitFor(re: RegExp): Promise<string> {
    const hit = this.lines.find((l) => re.test(l));
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.re !== re);
        reject(new Error(`no log line matching ${re} within 5 s:\n${this.lines.join("\n")}`));
      }, 5000);
      this.#waiters.push({
        re,
        resolve: (line) => {
          clearTimeout(guard);
          resolve(line);
        },
      });
    });
  }
}

/** Answers `METHOD URL BODY`, with the Host it saw. */
const echo: Http1Handler = async (request) =>
  new Response(`${request.method} ${request.url} ${await request.text()}`, {
    headers: {
      "content-type": "text/plain",
      "x-host": request.headers.get("host") ?? "",
    },
  });

/** A server on a free port with a FakeClock and a verbose log. */
async function setup(handler: Http1Handler = echo, options: Http1Options = {}) {
  const clock = new FakeClock();
  const log = new Log();
  const server = await serveHttp1(handler, {
    port: 0,
    clock,
    verbose: true,
    log: log.sink,
    ...options,
  });
  return {
    server,
    clock,
    log,
    /** A connection the server has accepted (its header timer runs). */
    async open(): Promise<Raw> {
      const c = await Raw.open(server.port);
      await log.waitFor(new RegExp(`connection from 127\\.0\\.0\\.1:${c.port} `));
      return c;
    },
    /** Waits until the server read the head of `c`'s request to `path`. */
    async headRead(c: Raw, path: string): Promise<void> {
      await log.waitFor(new RegExp(`127\\.0\\.0\\.1:${c.port} \\w+ ${path}$`));
    },
    /** The line saying why `c`'s connection closed. */
    closedLine(c: Raw): Promise<string> {
      return log.waitFor(new RegExp(`127\\.0\\.0\\.1:${c.port} closed: `));
    },
    async [Symbol.asyncDispose]() {
      const closed = server.close();
      clock.advance(500);
      await closed;
    },
  };
}

const get = (path = "/", extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

Deno.test("a head sent one byte a second is cut at headerTimeoutMs (408 or close)", async () => {
  await using s = await setup();
  using c = await s.open();
  const head = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (let i = 0; i < 10; i++) {
    await c.send(head[i]);
    s.clock.advance(999);
  }
  s.clock.advance(10); // 10 s since the connection opened; each byte did not restart it
  const reply = await c.rest();
  assert.match(
    reply,
    /^(HTTP\/1\.1 408 Request Timeout\r\n[^]*request head not received within 10 s\n)?$/,
  );
});

Deno.test("a head completed just before headerTimeoutMs is answered", async () => {
  await using s = await setup();
  using c = await s.open();
  await c.send("GET /slow HTTP/1.1\r\nHost: x\r\n");
  s.clock.advance(9999);
  await c.send("\r\n");
  const r = await c.response();
  assert.equal(r?.status, 200);
  assert.match(r!.body, /^GET http:\/\/x\/slow $/);
});

Deno.test("a connection that never sends a request is closed after headerTimeoutMs", async () => {
  await using s = await setup();
  using c = await s.open();
  s.clock.advance(10_000);
  assert.equal(await c.rest(), "");
  c[Symbol.dispose]();
  assert.match(await s.closedLine(c), /no request within 10 s/);
});

Deno.test("a body shorter than its Content-Length gets 408 after bodyTimeoutMs", async () => {
  await using s = await setup();
  using c = await s.open();
  await c.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  await s.headRead(c, "/x");
  s.clock.advance(9999);
  await c.send("de"); // still short
  s.clock.advance(1);
  const r = await c.response();
  assert.equal(r?.status, 408);
  assert.equal(r!.headers.get("connection"), "close");
  assert.equal(r!.body, "request body not received within 10 s\n");
  assert.equal(await c.rest(), "");
});

Deno.test("a chunked body that never ends is cut: 408 when slow, 413 when fast", async () => {
  await using s = await setup();
  {
    using c = await s.open();
    await c.send("POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    await s.headRead(c, "/slow");
    for (let i = 0; i < 10; i++) {
      await c.send("1\r\na\r\n");
      s.clock.advance(1000);
    }
    const r = await c.response();
    assert.equal(r?.status, 408);
    assert.equal(await c.rest(), "");
  }
  {
    using c = await s.open();
    await c.send("POST /fast HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = `1000\r\n${"x".repeat(4096)}\r\n`;
    for (let i = 0; i < 17; i++) await c.send(chunk); // 68 KiB > 64 KiB
    const r = await c.response();
    assert.equal(r?.status, 413);
    assert.match(r!.body, /at most 65536 bytes/);
    assert.equal(await c.rest(), "");
  }
});

Deno.test("an idle keep-alive connection is closed after keepAliveTimeoutMs", async () => {
  await using s = await setup();
  using c = await s.open();
  await c.send(get("/1"));
  assert.equal((await c.response())?.status, 200);
  s.clock.advance(4999);
  await c.send(get("/2")); // still open, and the wait starts again
  const r = await c.response();
  assert.equal(r?.status, 200);
  assert.equal(r!.headers.get("connection"), null);
  s.clock.advance(5000);
  assert.equal(await c.rest(), "");
  c[Symbol.dispose]();
  assert.match(await s.closedLine(c), /closed: idle for 5 s$/);
});

Deno.test("beyond maxConnections a newcomer gets 503 with Retry-After, then room again", async () => {
  await using s = await setup(echo, { maxConnections: 2 });
  using a = await s.open();
  using b = await s.open();
  assert.equal(s.server.connections, 2);
  {
    using c = await Raw.open(s.server.port);
    const r = await c.response();
    assert.equal(r?.status, 503);
    assert.equal(r!.headers.get("retry-after"), "5");
    assert.equal(r!.headers.get("connection"), "close");
    assert.match(r!.body, /^too many connections \(2\): try again in a few seconds\n$/);
    assert.equal(await c.rest(), "");
    await s.log.waitFor(new RegExp(`refused 127\\.0\\.0\\.1:${c.port}: 2 connections`));
  }
  await b.send(get("/b"));
  assert.equal((await b.response())?.status, 200);
  a[Symbol.dispose]();
  await s.closedLine(a);
  using d = await s.open();
  await d.send(get("/d"));
  assert.equal((await d.response())?.status, 200);
});

Deno.test("bad requests get their 4xx/5xx and a close; the next client is served", async () => {
  await using s = await setup();
  const H = "Host: x\r\n";
  const cases: [string, string | Uint8Array, number, RegExp?][] = [
    ["no version", "GET /\r\nHost: x\r\n\r\n", 400, /malformed request line/],
    ["two spaces", `GET  / HTTP/1.1\r\n${H}\r\n`, 400, /malformed request line/],
    ["HTTP/1.x", `GET / HTTP/1.x\r\n${H}\r\n`, 400, /malformed HTTP version/],
    ["lower-case version", `GET / http/1.1\r\n${H}\r\n`, 400, /malformed HTTP version/],
    ["HTTP/2.0", `GET / HTTP/2.0\r\n${H}\r\n`, 505, /HTTP\/2\.0 is not supported/],
    ["target without /", `GET x HTTP/1.1\r\n${H}\r\n`, 400, /send a path/],
    [
      "non-ASCII target",
      new Uint8Array([...enc.encode("GET /\xff"), 0xff, ...enc.encode(` HTTP/1.1\r\n${H}\r\n`)]),
      400,
      /malformed request target/,
    ],
    ["bad method", `G(ET / HTTP/1.1\r\n${H}\r\n`, 400, /malformed method/],
    ["CONNECT", `CONNECT x:443 HTTP/1.1\r\n${H}\r\n`, 501, /CONNECT is not supported/],
    ["no colon", `GET / HTTP/1.1\r\n${H}broken\r\n\r\n`, 400, /malformed header line "broken"/],
    ["space before colon", `GET / HTTP/1.1\r\nHost : x\r\n\r\n`, 400, /malformed header line/],
    ["line folding", `GET / HTTP/1.1\r\n${H}X-A: 1\r\n  2\r\n\r\n`, 400, /line folding/],
    ["control character", `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`, 400, /control character/],
    ["bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400, /bare LF/],
    ["bare CR", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400, /bare CR/],
    ["huge field", `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(9000)}\r\n\r\n`, 431, /8192/],
    [
      "101 fields",
      `GET / HTTP/1.1\r\n${H}${"X-A: 1\r\n".repeat(100)}\r\n`,
      431,
      /too many header fields/,
    ],
    ["no Host", "GET / HTTP/1.1\r\n\r\n", 400, /missing Host/],
    ["two Hosts", `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, /more than one Host/],
    [
      "Host with a space",
      "GET / HTTP/1.1\r\nHost: 127.0.0.1 evil.example\r\n\r\n",
      400,
      /invalid Host header "127\.0\.0\.1 evil\.example"/,
    ],
    ["Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, /invalid Host/],
    ["empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, /invalid Host/],
    ["Host port too big", "GET / HTTP/1.1\r\nHost: x:99999\r\n\r\n", 400, /invalid Host/],
    [
      "two Content-Lengths",
      `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
      400,
      /conflicting Content-Length/,
    ],
    ["negative length", `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 400, /invalid/],
    ["length 3x", `POST / HTTP/1.1\r\n${H}Content-Length: 3x\r\n\r\n`, 400, /invalid/],
    [
      "length and chunked",
      `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`,
      400,
      /both Content-Length and Transfer-Encoding/,
    ],
    [
      "gzip",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
      400,
      /must end with chunked/,
    ],
    [
      "gzip, chunked",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`,
      501,
      /gzip is not supported/,
    ],
    [
      "chunked in HTTP/1.0",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
      400,
      /not allowed in HTTP\/1\.0/,
    ],
    [
      "bad chunk size",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`,
      400,
      /malformed chunk size "zz"/,
    ],
    [
      "chunk longer than its size",
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n`,
      400,
      /longer than its size/,
    ],
    [
      "Content-Length over the limit",
      `POST / HTTP/1.1\r\n${H}Content-Length: 65537\r\n\r\n`,
      413,
      /at most 65536 bytes/,
    ],
    [
      "20-digit Content-Length",
      `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`,
      413,
      /at most 65536 bytes/,
    ],
    ["Expect: teapot", `GET / HTTP/1.1\r\n${H}Expect: teapot\r\n\r\n`, 417, /teapot/],
  ];
  for (const [name, bytes, status, reason] of cases) {
    using c = await s.open();
    await c.send(bytes);
    const r = await c.response();
    assert.equal(r?.status, status, name);
    assert.equal(r!.headers.get("connection"), "close", name);
    assert.match(r!.headers.get("content-type")!, /^text\/plain/, name);
    if (reason) assert.match(r!.body, reason, name);
    assert.match(r!.body, /^[^\n]+\n$/, `${name}: one line`);
    assert.equal(await c.rest(), "", name);
  }
  using next = await s.open();
  await next.send(get("/next"));
  const r = await next.response();
  assert.equal(r?.status, 200);
  assert.equal(r!.body, "GET http://x/next ");
  assert.ok(!s.log.lines.some((l) => /internal error|\n\s+at /.test(l)), s.log.lines.join("\n"));
});

Deno.test("a client gone mid-body or mid-response: one quiet line, no stack trace", async () => {
  let cancelled = Promise.withResolvers<void>();
  const handler: Http1Handler = async (request) => {
    if (request.method === "POST") return new Response(await request.text());
    return new Response(
      new ReadableStream({
        start: (c) => c.enqueue(enc.encode("data: hello\n\n")),
        cancel: () => cancelled.resolve(),
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  };
  for (const verbose of [true, false]) {
    cancelled = Promise.withResolvers<void>();
    await using s = await setup(handler, { verbose });
    const open = async () => {
      const c = await Raw.open(s.server.port);
      if (verbose) await s.log.waitFor(new RegExp(`connection from 127\\.0\\.0\\.1:${c.port} `));
      return c;
    };
    const body = await open();
    await body.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf");
    const stream = await open();
    await stream.send(get("/events"));
    assert.equal((await stream.head())?.status, 200);
    assert.equal(await stream.chunk(), "data: hello\n\n");
    if (verbose) await s.headRead(body, "/upload");
    body[Symbol.dispose]();
    stream[Symbol.dispose]();
    await cancelled.promise; // the response's stream learns the client left
    if (verbose) {
      assert.match(await s.closedLine(body), /closed: went away mid-body$/);
      assert.match(await s.closedLine(stream), /closed: went away mid-response$/);
    }
    const closed = s.server.close();
    s.clock.advance(500);
    await closed;
    const about = (c: Raw) => s.log.lines.filter((l) => l.includes(`:${c.port}`));
    assert.deepEqual(about(body).length, verbose ? 3 : 0, about(body).join("\n"));
    assert.deepEqual(about(stream).length, verbose ? 3 : 0, about(stream).join("\n"));
    assert.ok(!s.log.lines.some((l) => /\n\s+at |error/i.test(l)), s.log.lines.join("\n"));
    if (!verbose) assert.deepEqual(s.log.lines, []);
  }
});

Deno.test("a handler that throws gives 500 and one log line with the stack", async () => {
  await using s = await setup(() => {
    throw new Error("boom");
  }, { verbose: false });
  using c = await Raw.open(s.server.port);
  await c.send(get("/x"));
  const r = await c.response();
  assert.equal(r?.status, 500);
  assert.equal(r!.body, "internal error (see the server log)\n");
  assert.equal(s.log.lines.length, 1, s.log.lines.join("\n"));
  assert.match(
    s.log.lines[0],
    /^web: internal error on GET \/x from 127\.0\.0\.1:\d+: Error: boom\n\s+at /,
  );
  await c.send(get("/y")); // the connection goes on
  assert.equal((await c.response())?.status, 500);
});

Deno.test("a response body that fails: 500 before its head, a cut connection after", async () => {
  await using s = await setup((request) => {
    const late = new URL(request.url).pathname === "/late";
    return new Response(
      new ReadableStream({
        start(c) {
          if (late) c.enqueue(enc.encode("data: 1\n\n"));
          c.error(new Error("stream broke"));
        },
      }),
      { headers: { "content-type": late ? "text/event-stream" : "text/plain" } },
    );
  }, { verbose: false });
  using early = await Raw.open(s.server.port);
  await early.send(get("/early"));
  const r = await early.response();
  assert.equal(r?.status, 500);
  assert.equal(r!.body, "internal error (see the server log)\n");
  using late = await Raw.open(s.server.port);
  await late.send(get("/late"));
  assert.equal((await late.head())?.status, 200);
  await late.rest(); // cut: no last chunk
  assert.equal(s.log.lines.length, 2, s.log.lines.join("\n"));
  for (const line of s.log.lines) {
    assert.match(line, /internal error on GET .*stream broke\n\s+at /);
  }
});

Deno.test("close() resolves within 1 s whatever the clients do", async () => {
  const never = Promise.withResolvers<Response>();
  const handler: Http1Handler = (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/hang") return never.promise;
    if (path === "/flood") {
      return new Response(
        new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(64 * 1024)) }),
        { headers: { "content-type": "text/event-stream" } },
      );
    }
    return echo(request, { remoteAddr: { transport: "tcp", hostname: "", port: 0 } });
  };
  const log = new Log();
  // The real clock: close() must be quick in real time.
  const server = await serveHttp1(handler, { port: 0, verbose: true, log: log.sink });
  const opened = async () => {
    const c = await Raw.open(server.port);
    await log.waitFor(new RegExp(`connection from 127\\.0\\.0\\.1:${c.port} `));
    return c;
  };
  using idle = await opened();
  using halfHead = await opened();
  await halfHead.send("GET / HTTP/1.1\r\nHo");
  using stalledBody = await opened();
  await stalledBody.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc");
  using hanging = await opened();
  await hanging.send(get("/hang"));
  using flood = await opened(); // never reads: the server's writes back up
  await flood.send(get("/flood"));
  using keptAlive = await opened();
  await keptAlive.send(get("/ka"));
  assert.equal((await keptAlive.response())?.status, 200);
  await log.waitFor(new RegExp(`${hanging.port} GET /hang$`));
  await log.waitFor(new RegExp(`${flood.port} GET /flood$`));
  await log.waitFor(new RegExp(`${stalledBody.port} POST /body$`));

  const t0 = performance.now();
  await server.close();
  const took = performance.now() - t0;
  assert.ok(took < 1000, `close() took ${took} ms`);
  assert.equal(server.connections, 0);
  for (const c of [idle, halfHead, stalledBody, hanging, keptAlive]) await c.rest();
});

Deno.test("close() in fake time: idle connections go at once, the rest after 500 ms", async () => {
  const s = await setup();
  using idle = await s.open();
  using stalled = await s.open();
  await stalled.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc");
  await s.headRead(stalled, "/body");
  let done = false;
  const closed = s.server.close().then(() => done = true);
  assert.equal(await idle.rest(), ""); // closed without waiting
  assert.equal(done, false);
  s.clock.advance(500);
  await closed;
  assert.equal(await stalled.rest(), "");
  assert.equal(s.server.connections, 0);
});

Deno.test("an event stream is sent chunk by chunk as it is enqueued", async () => {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  await using s = await setup((request) => {
    if (new URL(request.url).pathname !== "/events") return echo(request, undefined!);
    return new Response(
      new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }),
      { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } },
    );
  });
  using c = await s.open();
  await c.send(get("/events"));
  const head = await c.head();
  assert.equal(head?.status, 200);
  assert.equal(head!.headers.get("transfer-encoding"), "chunked");
  assert.equal(head!.headers.get("content-length"), null);
  assert.equal(head!.headers.get("cache-control"), "no-store");
  controller.enqueue(enc.encode("event: a\ndata: 1\n\n"));
  assert.equal(await c.chunk(), "event: a\ndata: 1\n\n");
  controller.enqueue(enc.encode("data: 2\n\n"));
  assert.equal(await c.chunk(), "data: 2\n\n");
  controller.enqueue(new Uint8Array()); // an empty chunk must not end the body
  controller.enqueue(enc.encode("data: 3\n\n"));
  assert.equal(await c.chunk(), "data: 3\n\n");
  controller.close();
  assert.equal(await c.chunk(), null);
  await c.send(get("/after")); // the connection is kept
  assert.equal((await c.response())?.body, "GET http://x/after ");
});

Deno.test("close() ends an open event stream", async () => {
  let cancelled = false;
  const s = await setup(() =>
    new Response(new ReadableStream({ cancel: () => void (cancelled = true) }), {
      headers: { "content-type": "text/event-stream" },
    })
  );
  using c = await s.open();
  await c.send(get("/events"));
  assert.equal((await c.head())?.status, 200);
  await s.server.close(); // no need to advance the clock: the stream ends at once
  assert.equal(await c.chunk(), null);
  assert.equal(await c.rest(), "");
  assert.ok(cancelled);
});

Deno.test("HEAD gets the headers and Content-Length, no body", async () => {
  await using s = await setup(() =>
    new Response("hello", { headers: { "content-type": "text/plain" } })
  );
  using c = await s.open();
  await c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  const r = await c.response(true);
  assert.equal(r?.status, 200);
  assert.equal(r!.headers.get("content-length"), "5");
  await c.send(get("/")); // a body after the HEAD would be read as this response
  const g = await c.response();
  assert.equal(g?.line, "HTTP/1.1 200 OK");
  assert.equal(g!.body, "hello");
});

Deno.test("Expect: 100-continue gets 100 Continue before the body is sent", async () => {
  await using s = await setup();
  using c = await s.open();
  await c.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  const cont = await c.head();
  assert.equal(cont?.line, "HTTP/1.1 100 Continue");
  await c.send("hello");
  assert.equal((await c.response())?.body, "POST http://x/up hello");
  // Too large: the final answer at once, no 100.
  await c.send(
    "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\nExpect: 100-continue\r\n\r\n",
  );
  assert.equal((await c.head())?.status, 413);
});

Deno.test("a chunked request body is decoded (extensions and trailers dropped)", async () => {
  await using s = await setup();
  using c = await s.open();
  await c.send(
    "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
  );
  const r = await c.response();
  assert.equal(r?.body, "POST http://x/c hello world");
  await c.send("POST /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  assert.equal((await c.response())?.body, "POST http://x/d ");
});

Deno.test("pipelined requests are answered one at a time, in order", async () => {
  const slow = Promise.withResolvers<void>();
  const seen: string[] = [];
  await using s = await setup(async (request) => {
    const path = new URL(request.url).pathname;
    seen.push(path);
    if (path === "/slow") await slow.promise;
    return new Response(`answer to ${path}`);
  });
  using c = await s.open();
  await c.send(get("/slow") + get("/fast") + "HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n");
  await s.headRead(c, "/slow");
  assert.deepEqual(seen, ["/slow"]); // the next one waits its turn
  slow.resolve();
  assert.equal((await c.response())?.body, "answer to /slow");
  assert.equal((await c.response())?.body, "answer to /fast");
  assert.equal((await c.response(true))?.headers.get("content-length"), "15");
  assert.deepEqual(seen, ["/slow", "/fast", "/head"]);
});

Deno.test("HTTP/1.0 closes after the response unless it asks for keep-alive", async () => {
  await using s = await setup();
  {
    using c = await s.open();
    await c.send("GET /a HTTP/1.0\r\n\r\n");
    const r = await c.response();
    assert.equal(r?.headers.get("connection"), "close");
    assert.equal(r!.body, `GET http://127.0.0.1:${s.server.port}/a `);
    assert.equal(await c.rest(), "");
  }
  {
    using c = await s.open();
    await c.send("GET /b HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    assert.equal((await c.response())?.headers.get("connection"), "keep-alive");
    await c.send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal((await c.response())?.headers.get("connection"), "close");
    assert.equal(await c.rest(), "");
  }
});

Deno.test("the response keeps every header, each Set-Cookie, and gets a Date", async () => {
  await using s = await setup(() => {
    const headers = new Headers({ "x-one": "1", location: "/" });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    return new Response(null, { status: 303, headers });
  });
  using c = await s.open();
  await c.send(get("/"));
  const r = await c.response();
  assert.equal(r?.line, "HTTP/1.1 303 See Other");
  assert.equal(r!.headers.get("x-one"), "1");
  assert.equal(r!.headers.get("content-length"), "0");
  assert.deepEqual(r!.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"]);
  assert.ok(!Number.isNaN(Date.parse(r!.headers.get("date")!)));
});

Deno.test("an absolute-form target's authority replaces Host", async () => {
  await using s = await setup();
  using c = await s.open();
  await c.send("GET http://box.local:8080/p?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  const r = await c.response();
  assert.equal(r?.body, "GET http://box.local:8080/p?q=1 ");
  assert.equal(r!.headers.get("x-host"), "box.local:8080");
});

Deno.test("listening on a port in use rejects with AddrInUse", async () => {
  await using s = await setup();
  await assert.rejects(
    serveHttp1(echo, { port: s.server.port, log: () => {} }),
    Deno.errors.AddrInUse,
  );
});
