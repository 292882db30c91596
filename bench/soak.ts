/**
 * `deno task bench --soak [--minutes N] [--out FILE]`: one `ledctl serve`
 * (mock LED with a trace, free TCP and web ports) under a mixed, hostile,
 * bounded load for N minutes (default 10), all on 127.0.0.1:
 *
 * - TCP clients sending blink/on/off/status/hello in loops with connection
 *   churn (connect, a few commands, `quit` or a plain close), 50 at once;
 * - HTTP: `GET /api/state`, `POST /api/led` (JSON), `GET /`, over kept-alive
 *   connections (`fetch`) and over one-request connections (HTTP/1.0 and
 *   `Connection: close`);
 * - event streams (`GET /api/events`) opened and dropped, and a few that
 *   never read;
 * - 20 `watch` connections, 5 of which never read;
 * - slow clients: TCP clients pipelining `help` without reading their
 *   replies; HTTP clients sending their head a byte at a time (some within
 *   the head timeout, some too slowly), or a body shorter than their
 *   `Content-Length`;
 * - idle connections (TCP after one command, HTTP after one request or
 *   before any) that the server's timeouts must close.
 *
 * The baseline is taken after a 20 s warm-up with the same load and 30 s
 * of rest, so that it counts a server that has run (JIT code, pools), not
 * a fresh one. Then every 5 s of the load it samples the server's RSS
 * (`VmRSS` of `/proc/PID/status`), its open descriptors (`/proc/PID/fd`),
 * its CPU, the replies so far and the time a fresh `status` takes. When
 * the load stops, the slow and idle clients are left open, not closed: the
 * server's own timeouts must reclaim them. Descriptors must come back near
 * the baseline within 30 s, RSS within 60 s (V8 returns its heap on its own
 * schedule); then the server must still answer on both ports, and SIGTERM
 * must give exit status 0 within 2 s with the LED left off (the trace's
 * last edge `,0`). Prints the samples, what happened to each kind of
 * client, the checks and a verdict; `--out FILE` writes them as markdown.
 *
 * Every load generator is a fixed number of loops that pause between
 * requests, so the load is bounded in rate and in connections (about 110
 * at once) whatever the server does.
 *
 * @module
 */
import { fix, int, markdownTable, type Table, textTable } from "./report.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const HOST = "127.0.0.1";
/** The server's defaults the soak relies on (it starts `serve` without timeout options). */
const TCP_IDLE_MS = 10_000;
const HTTP_HEAD_MS = 10_000;
const HTTP_BODY_MS = 10_000;
const HTTP_KEEPALIVE_MS = 5_000;
/** How often the server is sampled during the load. */
const SAMPLE_MS = 5_000;
/**
 * How long the server has, after the load, to bring its descriptors back
 * near the baseline: its timeouts (10 s at most) must close what the
 * slow and idle clients left open.
 */
const SETTLE_FDS_MS = 30_000;
/**
 * How long its RSS has to come back: V8 gives its heap back to the system
 * on its own schedule (its memory reducer), seen 10 to 15 s after a load
 * ends, so this is longer. The reducer is armed by a full GC: after a load
 * too short to cause one (well under a minute) it may not run at all, and
 * this check can fail without a leak.
 */
const SETTLE_RSS_MS = 60_000;
/** Descriptors above the baseline still counted as "back". */
const FD_SLACK = 3;
/**
 * RSS above the baseline still counted as "back": max(this many MiB, this
 * share of it). Set from one-minute loads, after which the server settles
 * 15 to 25 MB above a baseline taken after a 20 s warm-up (the allocator
 * and V8 keep some of their high-water mark). After ten minutes on the
 * node engine it settled 38 to 42 MB above, with V8's live heap back near
 * its baseline (seen with `--ledctl-flag=--v8-flags=--trace-gc`); on the
 * epoll engine 4 MB above: see docs/RELIABILITY.md.
 */
const RSS_SLACK_MB = 32;
const RSS_SLACK_SHARE = 0.4;
/** A reply (or the end of a connection the server must close) is late after this. */
const REPLY_MS = 10_000;

/** Options for {@linkcode runSoak}. */
export interface SoakOptions {
  /** Minutes of load. */
  minutes: number;
  /** Write the markdown report here. */
  out?: string;
  /** Extra `deno run` flags for ledctl. */
  denoFlags?: string[];
  /** Where progress lines go. Default `console.log`. */
  say?: (line: string) => void;
}

// ---------------------------------------------------------------- helpers

const enc = new TextEncoder();
const dec = new TextDecoder();

function randInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)];
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  ms = Math.max(0, ms);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

const TIMEOUT: unique symbol = Symbol("timeout");

/** `p`, or {@linkcode TIMEOUT} after `ms` (`p` keeps running; its rejection is handled). */
function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<typeof TIMEOUT>((r) => t = setTimeout(() => r(TIMEOUT), Math.max(0, ms))),
  ]);
}

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The peer closed or reset: what a read or write sees when the server cut us. */
function isCut(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted || e instanceof Deno.errors.NotConnected;
}

async function writeAll(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/**
 * Reads from a connection with timeouts that do not lose data: a read that
 * times out stays pending and the next call picks it up.
 */
class Reader {
  readonly #conn: Deno.Conn;
  #pending: Promise<Uint8Array | null> | undefined;
  /** Bytes read but not consumed yet. */
  buf = "";
  /** Bytes read in all. */
  total = 0;
  eof = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** One read: true if bytes came, false at EOF, TIMEOUT if none came in `ms`. */
  async more(ms: number, keep = true): Promise<boolean | typeof TIMEOUT> {
    if (this.eof) return false;
    this.#pending ??= (async () => {
      const b = new Uint8Array(16 * 1024);
      const n = await this.#conn.read(b);
      return n === null ? null : b.subarray(0, n);
    })();
    const got = await within(this.#pending, ms);
    if (got === TIMEOUT) return TIMEOUT;
    this.#pending = undefined;
    if (got === null) {
      this.eof = true;
      return false;
    }
    this.total += got.length;
    if (keep) this.buf += dec.decode(got, { stream: true });
    return true;
  }

  /** The next line (without LF), null at EOF, TIMEOUT if none within `ms`. */
  async line(ms: number): Promise<string | null | typeof TIMEOUT> {
    const deadline = performance.now() + ms;
    for (;;) {
      const lf = this.buf.indexOf("\n");
      if (lf >= 0) {
        const line = this.buf.slice(0, lf).replace(/\r$/, "");
        this.buf = this.buf.slice(lf + 1);
        return line;
      }
      const r = await this.more(Math.max(0, deadline - performance.now()));
      if (r === TIMEOUT) return TIMEOUT;
      if (!r) return null;
    }
  }

  /**
   * Reads (and drops, past the first KiB) until EOF or a reset: "closed";
   * or until `ms` pass: "open".
   */
  async untilClosed(ms: number): Promise<"closed" | "open"> {
    const deadline = performance.now() + ms;
    try {
      for (;;) {
        const r = await this.more(
          Math.max(0, deadline - performance.now()),
          this.buf.length < 1024,
        );
        if (r === TIMEOUT) return "open";
        if (!r) return "closed";
      }
    } catch (e) {
      if (isCut(e)) return "closed";
      throw e;
    }
  }
}

/** An HTTP response read off a raw connection. */
interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/**
 * Reads one response: its head, then a body framed by Content-Length, by
 * chunked encoding (up to the last chunk), or by the end of the connection.
 * Null when the connection ends (or is reset) before a status line;
 * TIMEOUT when it does not come within `ms`.
 */
async function readResponse(r: Reader, ms: number): Promise<RawResponse | null | typeof TIMEOUT> {
  const deadline = performance.now() + ms;
  const left = () => Math.max(0, deadline - performance.now());
  try {
    let end: number;
    while ((end = r.buf.indexOf("\r\n\r\n")) < 0) {
      const got = await r.more(left());
      if (got === TIMEOUT) return TIMEOUT;
      if (!got) return null;
    }
    const head = r.buf.slice(0, end);
    r.buf = r.buf.slice(end + 4);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    const done = () =>
      length
        ? r.buf.length >= Number(length[1])
        : chunked
        ? /(^|\r\n)0\r\n\r\n/.test(r.buf)
        : false;
    while (!done()) {
      const got = await r.more(left());
      if (got === TIMEOUT) return TIMEOUT;
      if (!got) break;
    }
    const n = length ? Number(length[1]) : r.buf.length;
    const body = r.buf.slice(0, n);
    r.buf = r.buf.slice(n);
    return { status, head, body };
  } catch (e) {
    if (isCut(e)) return null;
    throw e;
  }
}

// ---------------------------------------------------------------- the load

/** What the load has seen so far. */
class Load {
  readonly tcpPort: number;
  readonly httpPort: number;
  readonly #stop = new AbortController();
  readonly #hard = new AbortController();
  readonly started = performance.now();
  /** Reply lines to TCP commands (EVENT lines not counted). */
  tcpReplies = 0;
  /** HTTP responses (status lines) received, whatever their status. */
  httpReplies = 0;
  /** EVENT lines (watch) and SSE events received. */
  events = 0;
  errors = 0;
  readonly errorKinds = new Map<string, number>();
  readonly errorSamples: string[] = [];
  readonly outcomes = new Map<string, number>();
  /** Connections the soak closes itself when the load stops. */
  readonly #ours = new Set<Deno.Conn>();
  /** Connections left for the server to close when the load stops. */
  readonly #left = new Set<Deno.Conn>();
  /** Client-side connections open right now. */
  get open(): number {
    return this.#ours.size + this.#left.size;
  }
  readonly fetchClient = Deno.createHttpClient({});

  constructor(tcpPort: number, httpPort: number) {
    this.tcpPort = tcpPort;
    this.httpPort = httpPort;
  }

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Aborts when the load stops with `hard`: even the slow and idle clients give up. */
  get hardSignal(): AbortSignal {
    return this.#hard.signal;
  }

  /**
   * Ends the load: loops stop and our connections close; the "left" ones
   * stay for the server's timeouts, unless `hard`.
   */
  stop(hard = false): void {
    this.#stop.abort();
    if (hard) this.#hard.abort();
    for (const c of hard ? [...this.#ours, ...this.#left] : this.#ours) this.release(c);
  }

  /**
   * Opens a connection. `left`: when the load stops it is left open, for
   * the server's timeouts to deal with.
   */
  async connect(kind: string, port: number, left = false): Promise<Deno.Conn | undefined> {
    try {
      const conn = await Deno.connect({ hostname: HOST, port });
      (left ? this.#left : this.#ours).add(conn);
      if (!left && this.stopped) {
        this.release(conn);
        return undefined;
      }
      return conn;
    } catch (e) {
      this.fail(`${kind}: connect`, e);
      return undefined;
    }
  }

  release(conn: Deno.Conn): void {
    this.#ours.delete(conn);
    this.#left.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
  }

  #clientClosed = false;

  /** Closes whatever is still open. Idempotent. */
  closeAll(): void {
    for (const c of [...this.#ours, ...this.#left]) this.release(c);
    if (!this.#clientClosed) this.fetchClient.close();
    this.#clientClosed = true;
  }

  /**
   * Counts an unexpected outcome. Failures of our own connections after the
   * load stopped (we closed them) are not counted.
   */
  fail(kind: string, e: unknown, conn?: Deno.Conn): void {
    if (this.stopped && (conn === undefined || !this.#left.has(conn))) return;
    this.errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
    if (this.errorSamples.length < 20) {
      const t = ((performance.now() - this.started) / 1000).toFixed(1);
      this.errorSamples.push(`${t} s ${kind}: ${message(e)}`);
    }
  }

  /** Counts an expected outcome. */
  note(what: string): void {
    this.outcomes.set(what, (this.outcomes.get(what) ?? 0) + 1);
  }

  url(path: string): string {
    return `http://${HOST}:${this.httpPort}${path}`;
  }

  hostHeader(): string {
    return `${HOST}:${this.httpPort}`;
  }
}

const TCP_COMMANDS = [
  "status",
  "on",
  "off",
  "hello soak",
  "blink 1",
  "blink 2",
  "blink 5",
  "blink 10",
  "blink 2.5",
];

/** Connect, 1 to 6 commands 10–60 ms apart, then `quit` (half of the time) or a plain close. */
async function tcpChurn(load: Load): Promise<void> {
  while (!load.stopped) {
    const conn = await load.connect("tcp churn", load.tcpPort);
    if (!conn) {
      await sleep(200, load.signal);
      continue;
    }
    const r = new Reader(conn);
    try {
      const n = randInt(1, 6);
      for (let i = 0; i < n && !load.stopped; i++) {
        const cmd = pick(TCP_COMMANDS);
        await writeAll(conn, cmd + "\n");
        const reply = await r.line(REPLY_MS);
        if (reply === TIMEOUT) throw new Error(`no reply to "${cmd}" in ${REPLY_MS} ms`);
        if (reply === null) throw new Error(`connection closed before the reply to "${cmd}"`);
        if (!reply.startsWith("OK ")) throw new Error(`"${cmd}" → "${reply}"`);
        load.tcpReplies++;
        await sleep(randInt(10, 60), load.signal);
      }
      if (load.stopped) break;
      if (Math.random() < 0.5) {
        await writeAll(conn, "quit\n");
        const bye = await r.line(REPLY_MS);
        if (bye !== "OK bye") throw new Error(`quit → ${String(bye)}`);
        load.tcpReplies++;
        const eof = await r.line(REPLY_MS);
        if (eof !== null) throw new Error(`after "OK bye": ${String(eof)} instead of the end`);
        load.note("TCP churn: quit → OK bye, then closed by the server");
      } else {
        load.note("TCP churn: closed by the client after its commands");
      }
    } catch (e) {
      load.fail("TCP churn", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(0, 50), load.signal);
  }
}

interface HttpCall {
  method: "GET" | "POST";
  path: string;
  body?: string;
}

const HTTP_CALLS: HttpCall[] = [
  { method: "GET", path: "/api/state" },
  { method: "GET", path: "/api/state" },
  { method: "GET", path: "/" },
  { method: "POST", path: "/api/led", body: '{"command":"blink","hz":2}' },
  { method: "POST", path: "/api/led", body: '{"command":"blink","hz":"0,5"}' },
  { method: "POST", path: "/api/led", body: '{"command":"on"}' },
  { method: "POST", path: "/api/led", body: '{"command":"off"}' },
  { method: "POST", path: "/api/led", body: '{"command":"status"}' },
];

/** `fetch` (kept-alive connections from its pool), 20–80 ms apart; every answer must be 200. */
async function httpKeepAlive(load: Load): Promise<void> {
  while (!load.stopped) {
    const call = pick(HTTP_CALLS);
    try {
      const res = await fetch(load.url(call.path), {
        method: call.method,
        body: call.body,
        headers: call.body ? { "content-type": "application/json" } : {},
        client: load.fetchClient,
        signal: AbortSignal.any([load.signal, AbortSignal.timeout(REPLY_MS)]),
      });
      const text = await res.text();
      load.httpReplies++;
      if (res.status !== 200) {
        throw new Error(`${call.method} ${call.path} → ${res.status} ${text}`);
      }
      if (call.body && !text.includes('"ok":true')) {
        throw new Error(`${call.method} ${call.path} ${call.body} → ${text}`);
      }
    } catch (e) {
      load.fail("HTTP keep-alive (fetch)", e);
    }
    await sleep(randInt(20, 80), load.signal);
  }
}

/** One request per connection (HTTP/1.0, or 1.1 with `Connection: close`): 200, then the end. */
async function httpOneShot(load: Load): Promise<void> {
  while (!load.stopped) {
    const call = pick(HTTP_CALLS);
    const v10 = Math.random() < 0.3;
    const head = `${call.method} ${call.path} HTTP/1.${v10 ? 0 : 1}\r\n` +
      `Host: ${load.hostHeader()}\r\n` + (v10 ? "" : "Connection: close\r\n") +
      (call.body
        ? `Content-Type: application/json\r\nContent-Length: ${enc.encode(call.body).length}\r\n`
        : "") +
      "\r\n" + (call.body ?? "");
    const conn = await load.connect("HTTP one-shot", load.httpPort);
    if (!conn) {
      await sleep(200, load.signal);
      continue;
    }
    const r = new Reader(conn);
    try {
      await writeAll(conn, head);
      const res = await readResponse(r, REPLY_MS);
      if (res === TIMEOUT) {
        throw new Error(`${call.method} ${call.path}: no response in ${REPLY_MS} ms`);
      }
      if (res === null) throw new Error(`${call.method} ${call.path}: closed without a response`);
      load.httpReplies++;
      if (res.status !== 200) {
        throw new Error(`${call.method} ${call.path} → ${res.status} ${res.body.slice(0, 200)}`);
      }
      if ((await r.untilClosed(REPLY_MS)) !== "closed") {
        throw new Error(
          `${call.method} ${call.path}: still open ${REPLY_MS} ms after the response`,
        );
      }
      load.note(`HTTP one-shot (${v10 ? "HTTP/1.0" : "Connection: close"}): 200, then closed`);
    } catch (e) {
      load.fail("HTTP one-shot", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(20, 80), load.signal);
  }
}

function countEvents(text: string): number {
  return text.split("event: ").length - 1;
}

/** Event streams opened, read for 0.5–8 s, then dropped (fetch aborted, or the socket closed). */
async function sseDropper(load: Load): Promise<void> {
  while (!load.stopped) {
    const readMs = randInt(500, 8000);
    if (Math.random() < 0.5) {
      const ac = new AbortController();
      try {
        const res = await fetch(load.url("/api/events"), {
          client: load.fetchClient,
          signal: AbortSignal.any([load.signal, ac.signal, AbortSignal.timeout(REPLY_MS + readMs)]),
        });
        load.httpReplies++;
        if (res.status !== 200 || !res.body) throw new Error(`GET /api/events → ${res.status}`);
        const reader = res.body.getReader();
        const until = performance.now() + readMs;
        let first = true;
        while (performance.now() < until) {
          const got = await within(reader.read(), until - performance.now());
          if (got === TIMEOUT) break;
          if (got.done) throw new Error("event stream ended by the server");
          const n = countEvents(dec.decode(got.value));
          if (first && n === 0) throw new Error("event stream without its first events");
          first = false;
          load.events += n;
        }
        ac.abort();
        load.note("event stream (fetch): read, then aborted by the client");
      } catch (e) {
        if (!ac.signal.aborted) load.fail("event stream (fetch)", e);
        ac.abort();
      }
    } else {
      const conn = await load.connect("event stream (raw)", load.httpPort);
      if (!conn) {
        await sleep(200, load.signal);
        continue;
      }
      const r = new Reader(conn);
      try {
        await writeAll(conn, `GET /api/events HTTP/1.1\r\nHost: ${load.hostHeader()}\r\n\r\n`);
        const until = performance.now() + readMs;
        while (performance.now() < until && !r.buf.includes("\r\n\r\n")) {
          if ((await r.more(REPLY_MS)) !== true) throw new Error("no response head");
        }
        if (!/^HTTP\/1\.1 200/.test(r.buf)) {
          throw new Error(`GET /api/events → ${r.buf.split("\r\n")[0]}`);
        }
        load.httpReplies++;
        while (performance.now() < until) {
          const got = await r.more(until - performance.now(), false);
          if (got === TIMEOUT) break;
          if (!got) throw new Error("event stream ended by the server");
        }
        load.note("event stream (raw socket): read, then closed by the client");
      } catch (e) {
        load.fail("event stream (raw)", e, conn);
      } finally {
        load.release(conn);
      }
    }
    await sleep(randInt(50, 500), load.signal);
  }
}

/**
 * Opens an event stream or a `watch` and never reads; after 45–150 s looks
 * whether the server ended it (its backlog bound) or it is still open, and
 * starts again.
 */
async function nonReader(load: Load, kind: "event stream" | "watch"): Promise<void> {
  const label = kind === "watch" ? "watch that never reads" : "event stream that never reads";
  while (!load.stopped) {
    const port = kind === "watch" ? load.tcpPort : load.httpPort;
    const conn = await load.connect(label, port);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    try {
      await writeAll(
        conn,
        kind === "watch"
          ? "watch\n"
          : `GET /api/events HTTP/1.1\r\nHost: ${load.hostHeader()}\r\n\r\n`,
      );
      await sleep(randInt(45_000, 150_000), load.signal);
      if (load.stopped) break;
      const r = new Reader(conn);
      const state = await r.untilClosed(3000);
      load.note(
        `${label}: ${
          state === "closed"
            ? "ended by the server"
            : "still open after its hold, closed by the client"
        }`,
      );
    } catch (e) {
      load.fail(label, e, conn);
    } finally {
      load.release(conn);
    }
  }
}

/** `watch`, read EVENT lines for 10–60 s, then `quit`: OK bye among the events, then the end. */
async function watcher(load: Load): Promise<void> {
  while (!load.stopped) {
    const conn = await load.connect("watch", load.tcpPort);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    const r = new Reader(conn);
    try {
      await writeAll(conn, "watch\n");
      const first = await r.line(REPLY_MS);
      if (typeof first !== "string" || !first.startsWith("OK watching")) {
        throw new Error(`watch → ${String(first)}`);
      }
      load.tcpReplies++;
      const until = performance.now() + randInt(10_000, 60_000);
      while (!load.stopped && performance.now() < until) {
        const line = await r.line(until - performance.now());
        if (line === TIMEOUT) break;
        if (line === null) throw new Error("watch ended by the server");
        if (!line.startsWith("EVENT ")) {
          throw new Error(`watch: "${line}" instead of an EVENT line`);
        }
        load.events++;
      }
      if (load.stopped) break;
      await writeAll(conn, "quit\n");
      for (;;) {
        const line = await r.line(REPLY_MS);
        if (line === "OK bye") break;
        if (typeof line !== "string" || !line.startsWith("EVENT ")) {
          throw new Error(`quit after watch → ${String(line)}`);
        }
      }
      load.tcpReplies++;
      if ((await r.line(REPLY_MS)) !== null) throw new Error("still open after quit");
      load.note("watch: events read, then quit → OK bye, closed by the server");
    } catch (e) {
      load.fail("watch", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(100, 1000), load.signal);
  }
}

/**
 * Pipelines `help` without reading the replies until the server stops
 * reading (a write waits 2 s) or 8 MiB are sent, then stays silent: the
 * idle timeout must cut it. Left open when the load stops.
 */
async function helpPipeliner(load: Load): Promise<void> {
  const chunk = enc.encode("help\n".repeat(1000));
  while (!load.stopped) {
    const conn = await load.connect("help pipeliner", load.tcpPort, true);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    try {
      let sent = 0;
      let stalled = false;
      while (sent < 8 << 20) {
        const w = writeAll(conn, chunk);
        const got = await within(w, 2000);
        if (got === TIMEOUT) {
          w.catch(() => {}); // rejects when the server cuts us
          stalled = true;
          break;
        }
        sent += chunk.length;
      }
      const quietFrom = performance.now();
      const r = new Reader(conn);
      await sleep(TCP_IDLE_MS + 3000, load.hardSignal);
      const state = await r.untilClosed(5000);
      const s = ((performance.now() - quietFrom) / 1000).toFixed(0);
      if (state !== "closed") {
        throw new Error(`still open ${s} s after its last byte (idle timeout ${TCP_IDLE_MS} ms)`);
      }
      load.note(
        `TCP help pipeliner (never reads): ${
          stalled ? "server stopped reading" : "8 MiB sent"
        }, then cut by the idle timeout`,
      );
    } catch (e) {
      if (isCut(e)) load.note("TCP help pipeliner (never reads): cut while sending");
      else load.fail("TCP help pipeliner", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(100, 1000), load.signal);
  }
}

/**
 * Sends a request head a byte at a time: every 50 ms (done within the head
 * timeout: 200) or every 300 ms (too slow: 408 at the head timeout). Left
 * open when the load stops.
 */
async function slowHead(load: Load): Promise<void> {
  let slow = false;
  while (!load.stopped) {
    slow = !slow;
    const conn = await load.connect("HTTP slow head", load.httpPort, true);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    const r = new Reader(conn);
    const head = enc.encode(
      `GET /api/state HTTP/1.1\r\nHost: ${load.hostHeader()}\r\nUser-Agent: ledctl-soak slow head\r\n` +
        "Connection: close\r\n\r\n",
    );
    const stepMs = slow ? 300 : 50;
    const label = slow
      ? `HTTP head sent 1 byte/300 ms (${(head.length * 0.3).toFixed(0)} s)`
      : `HTTP head sent 1 byte/50 ms (${(head.length * 0.05).toFixed(1)} s)`;
    try {
      const response = readResponse(r, HTTP_HEAD_MS + 5000);
      let answered = false;
      response.finally(() => answered = true).catch(() => {});
      const t0 = performance.now();
      for (let i = 0; i < head.length && !answered; i++) {
        try {
          await writeAll(conn, head.subarray(i, i + 1));
        } catch (e) {
          if (isCut(e)) break;
          throw e;
        }
        await sleep(stepMs, load.hardSignal);
      }
      const res = await response;
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      if (res === TIMEOUT) throw new Error(`${label}: no response in ${HTTP_HEAD_MS + 5000} ms`);
      if (res === null) throw new Error(`${label}: closed after ${s} s without a response`);
      load.httpReplies++;
      const want = slow ? 408 : 200;
      if (res.status !== want) throw new Error(`${label}: ${res.status} after ${s} s, not ${want}`);
      load.note(`${label}: ${want}${slow ? " at the head timeout" : ""}`);
    } catch (e) {
      load.fail("HTTP slow head", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(100, 1000), load.signal);
  }
}

/** POST with `Content-Length: 64` and 19 bytes of body, then silence: 408 at the body timeout. */
async function shortBody(load: Load): Promise<void> {
  const body = '{"command":"blink",';
  while (!load.stopped) {
    const conn = await load.connect("HTTP short body", load.httpPort, true);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    const r = new Reader(conn);
    try {
      const t0 = performance.now();
      await writeAll(
        conn,
        `POST /api/led HTTP/1.1\r\nHost: ${load.hostHeader()}\r\nContent-Type: application/json\r\n` +
          `Content-Length: 64\r\n\r\n${body}`,
      );
      const res = await readResponse(r, HTTP_BODY_MS + 5000);
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      if (res === TIMEOUT) throw new Error(`no response in ${HTTP_BODY_MS + 5000} ms`);
      if (res === null) throw new Error(`closed after ${s} s without a response`);
      load.httpReplies++;
      if (res.status !== 408) throw new Error(`${res.status} after ${s} s, not 408`);
      if ((await r.untilClosed(REPLY_MS)) !== "closed") throw new Error("still open after its 408");
      load.note("HTTP body shorter than Content-Length: 408 at the body timeout, closed");
    } catch (e) {
      load.fail("HTTP short body", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(100, 1000), load.signal);
  }
}

/** `status`, then silence: `ERR idle-timeout` and the end at the idle timeout. Left open at stop. */
async function idleTcp(load: Load): Promise<void> {
  while (!load.stopped) {
    const conn = await load.connect("TCP idle", load.tcpPort, true);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    const r = new Reader(conn);
    try {
      // From before the last byte is sent: the server's idle clock starts
      // later (when the byte arrives), so a close measured under the timeout
      // from here is early for sure, whatever this busy process's own delays.
      const t0 = performance.now();
      await writeAll(conn, "status\n");
      const reply = await r.line(REPLY_MS);
      if (typeof reply !== "string" || !reply.startsWith("OK ")) {
        throw new Error(`status → ${String(reply)}`);
      }
      load.tcpReplies++;
      const line = await r.line(TCP_IDLE_MS + 5000);
      const s = (performance.now() - t0) / 1000;
      if (line === TIMEOUT) throw new Error(`still open ${s.toFixed(1)} s after its last byte`);
      if (typeof line !== "string" || !line.startsWith("ERR idle-timeout")) {
        throw new Error(`idle: ${String(line)} instead of ERR idle-timeout`);
      }
      if ((await r.line(REPLY_MS)) !== null) throw new Error("still open after ERR idle-timeout");
      if (s < TCP_IDLE_MS / 1000) {
        throw new Error(`closed ${s.toFixed(2)} s after its last byte: too early`);
      }
      load.note(
        `TCP idle after one command: ERR idle-timeout, closed at the ${
          TCP_IDLE_MS / 1000
        } s idle timeout`,
      );
    } catch (e) {
      load.fail("TCP idle", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(100, 2000), load.signal);
  }
}

/**
 * HTTP connections left idle: after one kept-alive request (closed at the
 * keep-alive timeout), or before sending anything (408 or a plain close at
 * the head timeout). Left open when the load stops.
 */
async function idleHttp(load: Load): Promise<void> {
  let afterRequest = false;
  while (!load.stopped) {
    afterRequest = !afterRequest;
    const conn = await load.connect("HTTP idle", load.httpPort, true);
    if (!conn) {
      await sleep(500, load.signal);
      continue;
    }
    const r = new Reader(conn);
    try {
      if (afterRequest) {
        await writeAll(conn, `GET /api/state HTTP/1.1\r\nHost: ${load.hostHeader()}\r\n\r\n`);
        const res = await readResponse(r, REPLY_MS);
        if (res === TIMEOUT || res === null || res.status !== 200) {
          throw new Error(`GET /api/state → ${res === TIMEOUT ? "timeout" : res?.status}`);
        }
        load.httpReplies++;
        const t0 = performance.now();
        const state = await r.untilClosed(HTTP_KEEPALIVE_MS + 5000);
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        if (state !== "closed") {
          throw new Error(`kept-alive connection still open after ${s} s idle`);
        }
        load.note(
          `HTTP idle after a kept-alive request: closed at the ${
            HTTP_KEEPALIVE_MS / 1000
          } s keep-alive timeout`,
        );
      } else {
        const t0 = performance.now();
        const res = await readResponse(r, HTTP_HEAD_MS + 5000);
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        if (res === TIMEOUT) throw new Error(`silent connection still open after ${s} s`);
        if (res !== null) {
          load.httpReplies++;
          if (res.status !== 408) throw new Error(`silent connection got ${res.status}`);
        }
        load.note(
          `HTTP connection that sends nothing: ${res ? "408, " : ""}closed at the ${
            HTTP_HEAD_MS / 1000
          } s head timeout`,
        );
      }
    } catch (e) {
      load.fail("HTTP idle", e, conn);
    } finally {
      load.release(conn);
    }
    await sleep(randInt(100, 2000), load.signal);
  }
}

/** The clients of the load: how many loops of each. */
const MIX: { what: string; loops: number; run: (load: Load) => Promise<void> }[] = [
  {
    what: "TCP clients: connect, 1–6 commands (blink/on/off/status/hello), quit or close",
    loops: 50,
    run: tcpChurn,
  },
  {
    what: "HTTP over kept-alive connections (fetch): GET /api/state, GET /, POST /api/led",
    loops: 6,
    run: httpKeepAlive,
  },
  {
    what: "HTTP one request per connection (HTTP/1.0 or Connection: close)",
    loops: 4,
    run: httpOneShot,
  },
  { what: "event streams read 0.5–8 s, then dropped", loops: 6, run: sseDropper },
  {
    what: "event streams that never read (held 45–150 s)",
    loops: 3,
    run: (l) => nonReader(l, "event stream"),
  },
  { what: "watch connections that read, then quit after 10–60 s", loops: 15, run: watcher },
  {
    what: "watch connections that never read (held 45–150 s)",
    loops: 5,
    run: (l) => nonReader(l, "watch"),
  },
  { what: "TCP clients pipelining help without reading", loops: 3, run: helpPipeliner },
  { what: "HTTP heads sent a byte at a time (50 ms or 300 ms per byte)", loops: 3, run: slowHead },
  { what: "HTTP bodies shorter than their Content-Length", loops: 3, run: shortBody },
  { what: "TCP connections idle after one command", loops: 8, run: idleTcp },
  { what: "HTTP connections idle after a request, or before any", loops: 4, run: idleHttp },
];

// ---------------------------------------------------------------- the server

interface Server {
  pid: number;
  tcpPort: number;
  httpPort: number;
  /** The TCP engine it runs and why (its `tcp engine:` line), if it said. */
  engine: string;
  log: string[];
  /** Counts of log lines worth a look (descriptor exhaustion, errors, dropped lines). */
  notable: Map<string, number>;
  /** The first lines of each kind counted in `notable`. */
  notableLines: Map<string, string[]>;
  exited: Promise<Deno.CommandStatus>;
  running(): boolean;
  child: Deno.ChildProcess;
}

const NOTABLE: [RegExp, string][] = [
  [/cannot accept new connections/, "descriptor exhaustion"],
  [/fatal error/, "fatal error"],
  [/log lines? dropped/, "log lines dropped (output not read fast enough)"],
  [/connections open \(the limit\)/, "HTTP connection limit reached"],
  [/internal error|Uncaught|Error:/, "error"],
  [/wrong token/, "wrong token"],
  [/did not close in time/, "slow shutdown"],
];

async function startLedctl(trace: string, denoFlags: string[]): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      ...denoFlags,
      `${ROOT}main.ts`,
      "serve",
      "--port",
      "0",
      "--http",
      "0",
      "--led",
      `mock?trace=${trace}`,
      // No state file: the soak must not restore, nor overwrite, the user's own.
      "--state-file",
      "off",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const log: string[] = [];
  const notable = new Map<string, number>();
  const notableLines = new Map<string, string[]>();
  let tcpPort = 0, httpPort = 0, engine = "not said";
  const ready = Promise.withResolvers<void>();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        log.push(line);
        if (log.length > 60) log.shift();
        for (const [re, what] of NOTABLE) {
          if (!re.test(line) || /^\S+ LED /.test(line)) continue;
          notable.set(what, (notable.get(what) ?? 0) + 1);
          const seen = notableLines.get(what) ?? [];
          if (seen.length < 3) notableLines.set(what, [...seen, line.slice(0, 300)]);
        }
        const eng = /tcp engine: (.+)$/.exec(line);
        if (eng) engine = eng[1];
        const tcp = /ledctl listening on \S+:(\d+)/.exec(line);
        if (tcp) tcpPort = Number(tcp[1]);
        const web = /web page on http:\/\/\S+:(\w+)\//.exec(line);
        if (web) {
          httpPort = Number(web[1]);
          ready.resolve();
        }
      }
    }
  };
  drain(child.stdout).catch(() => {});
  drain(child.stderr).catch(() => {});
  let gone = false;
  const exited = child.status;
  exited.then(() => gone = true);
  let t: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready.promise.then(() => "ok" as const),
    exited.then(() => "exited" as const),
    new Promise<"timeout">((r) => t = setTimeout(() => r("timeout"), 30_000)),
  ]);
  clearTimeout(t);
  if (outcome !== "ok" || !(tcpPort > 0) || !(httpPort > 0)) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await exited;
    throw new Error(
      `ledctl serve did not start (${outcome}; TCP port ${tcpPort}, web port ${httpPort}):\n` +
        log.join("\n"),
    );
  }
  return {
    pid: child.pid,
    tcpPort,
    httpPort,
    engine,
    log,
    notable,
    notableLines,
    exited,
    running: () => !gone,
    child,
  };
}

/** RSS in KiB, open descriptors and CPU seconds used of `pid`; NaN once it is gone. */
async function procStats(pid: number): Promise<{ rssKb: number; fds: number; cpuS: number }> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s*(\d+)/.exec(status)?.[1] ?? NaN);
    // Fields 14 and 15 of /proc/PID/stat, after the parenthesised name: utime, stime (ticks).
    const stat = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
    const cpuS = (Number(stat[11]) + Number(stat[12])) / CLOCK_TICKS;
    let fds = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
    return { rssKb, fds, cpuS };
  } catch {
    return { rssKb: NaN, fds: NaN, cpuS: NaN };
  }
}

/** `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** The probe's worker: connects, sends `status`, times the reply line on its own thread. */
const PROBE_WORKER = `
const enc = new TextEncoder();
const dec = new TextDecoder();
self.onmessage = async (e) => {
  const { id, hostname, port } = e.data;
  const t0 = performance.now();
  let conn;
  try {
    conn = await Deno.connect({ hostname, port });
    const req = enc.encode("status\\n");
    for (let off = 0; off < req.length;) off += await conn.write(req.subarray(off));
    let text = "";
    const buf = new Uint8Array(1024);
    while (!text.includes("\\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
    const ms = performance.now() - t0;
    const done = text.includes("\\n");
    self.postMessage({
      id,
      ms: done ? ms : NaN,
      reply: done ? text.split("\\n")[0].replace(/\\r$/, "") : "closed without a reply",
    });
  } catch (err) {
    self.postMessage({ id, ms: NaN, reply: String(err) });
  } finally {
    try { conn?.close(); } catch { /* closed */ }
  }
};
`;

/**
 * Times a fresh connection's `status` from a worker thread, so that the
 * load generator's own busy event loop does not count in the figure.
 */
class Prober {
  readonly #worker: Worker;
  readonly #url: string;
  readonly #waiting = new Map<number, (r: { ms: number; reply: string }) => void>();
  #next = 0;

  constructor() {
    this.#url = URL.createObjectURL(new Blob([PROBE_WORKER], { type: "application/javascript" }));
    this.#worker = new Worker(this.#url, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<{ id: number; ms: number; reply: string }>) => {
      this.#waiting.get(e.data.id)?.(e.data);
      this.#waiting.delete(e.data.id);
    };
  }

  /** Milliseconds a fresh connection's `status` took (NaN if it failed), and the reply. */
  async probe(port: number): Promise<{ ms: number; reply: string }> {
    const id = ++this.#next;
    const answer = new Promise<{ ms: number; reply: string }>((r) => this.#waiting.set(id, r));
    this.#worker.postMessage({ id, hostname: HOST, port });
    const got = await within(answer, REPLY_MS);
    if (got !== TIMEOUT) return got;
    this.#waiting.delete(id);
    return { ms: NaN, reply: `no reply in ${REPLY_MS} ms` };
  }

  close(): void {
    this.#worker.terminate();
    URL.revokeObjectURL(this.#url);
  }
}

async function probeHttp(port: number): Promise<string> {
  try {
    const res = await fetch(`http://${HOST}:${port}/api/state`, {
      signal: AbortSignal.timeout(REPLY_MS),
    });
    const body = await res.text();
    return `${res.status} ${body.trim()}`;
  } catch (e) {
    return message(e);
  }
}

// ---------------------------------------------------------------- the run

interface Sample {
  /** `performance.now()` when taken. */
  at: number;
  phase: "start" | "baseline" | "load" | "after";
  rssMb: number;
  fds: number;
  /** The server's CPU use since the previous sample, % of one core. */
  cpuPct: number;
  tcp: number;
  http: number;
  errors: number;
  /** Milliseconds a fresh connection's `status` took (NaN: not probed, or failed). */
  probeMs: number;
  /** Client-side connections open. */
  open: number;
}

function clock(t: number): string {
  const s = Math.round(Math.abs(t));
  return `${t < 0 && s > 0 ? "−" : ""}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A rough stamp of the machine. */
async function machine(): Promise<string> {
  const memKb = Number(
    /MemTotal:\s*(\d+)/.exec(await Deno.readTextFile("/proc/meminfo").catch(() => ""))?.[1] ??
      NaN,
  );
  const cpu = /model name\s*:\s*(.+)/.exec(
    await Deno.readTextFile("/proc/cpuinfo").catch(() => ""),
  )?.[1] ?? "unknown CPU";
  return `${navigator.hardwareConcurrency} × ${cpu}, ${fix(memKb / 1024 / 1024, 1)} GiB RAM, ` +
    `${Deno.build.arch}, Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}`;
}

/** Starts every loop of {@linkcode MIX} on `load`. */
function launch(load: Load): Promise<unknown> {
  const loops: Promise<void>[] = [];
  for (const m of MIX) {
    for (let i = 0; i < m.loops; i++) {
      loops.push(m.run(load).catch((e) => load.fail(`${m.what} (loop crashed)`, e)));
    }
  }
  return Promise.all(loops);
}

/** How long the warm-up load runs before the baseline is taken. */
const WARMUP_MS = 20_000;
/** How long the server rests after the warm-up before the baseline is taken. */
const WARM_REST_MS = 30_000;

/**
 * Runs the soak; returns the exit status (0 whatever the verdict, as for
 * the benchmark; 1 when the server could not be started).
 */
export async function runSoak(options: SoakOptions): Promise<number> {
  const say = options.say ?? ((l: string) => console.log(l));
  const loadMs = Math.round(options.minutes * 60_000);
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const box = await machine();
  say(`ledctl soak · ${date} · ${options.minutes} min of load · ${box}`);
  const tmp = await Deno.makeTempDir({ prefix: "ledctl-soak-" });
  const trace = `${tmp}/led.trace`;
  let server: Server;
  try {
    server = await startLedctl(trace, options.denoFlags ?? []);
  } catch (e) {
    say(message(e));
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    return 1;
  }
  say(
    `ledctl serve pid ${server.pid}: TCP port ${server.tcpPort} (engine ${server.engine}), ` +
      `web port ${server.httpPort}`,
  );
  const samples: Sample[] = [];
  const loads: Load[] = [];
  const prober = new Prober();
  let prev = { at: performance.now(), cpuS: 0 };
  let t0 = NaN; // when the load started
  const selfCpu0 = (await procStats(Deno.pid)).cpuS;
  const sample = async (phase: Sample["phase"], load?: Load, probe = true): Promise<Sample> => {
    const st = await procStats(server.pid);
    const at = performance.now();
    const cpuPct = (st.cpuS - prev.cpuS) / ((at - prev.at) / 1000) * 100;
    prev = { at, cpuS: st.cpuS };
    const s: Sample = {
      at,
      phase,
      rssMb: st.rssKb / 1024,
      fds: st.fds,
      cpuPct,
      tcp: load?.tcpReplies ?? 0,
      http: load?.httpReplies ?? 0,
      errors: load?.errors ?? 0,
      probeMs: probe ? (await prober.probe(server.tcpPort)).ms : NaN,
      open: load?.open ?? 0,
    };
    samples.push(s);
    return s;
  };
  const show = (s: Sample) =>
    say(
      `  ${(Number.isNaN(t0) ? "" : clock((s.at - t0) / 1000)).padStart(5)}  ${s.phase.padEnd(8)} ${
        fix(s.rssMb).padStart(7)
      }  ${String(s.fds).padStart(5)}  ${fix(s.cpuPct, 0).padStart(5)}  ${
        int(s.tcp).padStart(11)
      }  ${int(s.http).padStart(12)}  ${String(s.errors).padStart(6)}  ${
        fix(s.probeMs).padStart(8)
      }  ${String(s.open).padStart(4)}`,
    );
  try {
    say(
      "   time  phase      RSS MB    fds  CPU %  TCP replies  HTTP replies  errors  probe ms  open",
    );
    // --- a fresh server, then one that has run: the baseline ---
    await sleep(2000);
    prev = { at: performance.now(), cpuS: (await procStats(server.pid)).cpuS };
    await sleep(500);
    show(await sample("start"));
    say(
      `warm-up: ${WARMUP_MS / 1000} s of the same load, all closed, ${
        WARM_REST_MS / 1000
      } s of rest; the baseline is taken after it`,
    );
    const warm = new Load(server.tcpPort, server.httpPort);
    loads.push(warm);
    const warmLoops = launch(warm);
    await sleep(WARMUP_MS);
    warm.stop(true);
    await within(warmLoops, 20_000);
    warm.closeAll();
    await sleep(WARM_REST_MS);
    const baseline = await sample("baseline");
    show(baseline);

    // --- the load ---
    const l = new Load(server.tcpPort, server.httpPort);
    loads.push(l);
    t0 = l.started;
    const loops = launch(l);
    let died = !server.running();
    for (let k = 1; !died && k * SAMPLE_MS <= loadMs; k++) {
      await sleep(t0 + k * SAMPLE_MS - performance.now());
      if (!server.running()) died = true;
      else show(await sample("load", l));
    }
    const loadEnd = performance.now();

    // --- after the load: ours closed, the slow and idle ones left to the server ---
    l.stop();
    say(
      `load stopped: ${l.open} slow or idle client connections left open for the server's timeouts`,
    );
    const rssLimit = baseline.rssMb + Math.max(RSS_SLACK_MB, baseline.rssMb * RSS_SLACK_SHARE);
    const fdLimit = baseline.fds + FD_SLACK;
    /** Seconds after the load when descriptors, then RSS, were first back. */
    let fdsBackS: number | undefined, rssBackS: number | undefined;
    let shownAt = loadEnd;
    let last: Sample | undefined;
    for (;;) {
      const waited = performance.now() - loadEnd;
      if (died || waited >= SETTLE_RSS_MS || (fdsBackS === undefined && waited >= SETTLE_FDS_MS)) {
        break;
      }
      await sleep(1000);
      if (!server.running()) {
        died = true;
        break;
      }
      last = await sample("after", l, false);
      const s = (last.at - loadEnd) / 1000;
      if (fdsBackS === undefined && last.fds <= fdLimit) fdsBackS = s;
      if (rssBackS === undefined && last.rssMb <= rssLimit) rssBackS = s;
      const back = fdsBackS !== undefined && rssBackS !== undefined;
      if (back || last.at - shownAt >= SAMPLE_MS - 100) {
        shownAt = last.at;
        show(last);
      } else samples.pop(); // sampled every second, kept every 5 s
      if (back) break;
    }
    if (last && samples[samples.length - 1] !== last) {
      samples.push(last);
      show(last);
    }
    // The left-open clients finish their current step (bounded by their own timeouts).
    await within(loops, 40_000);
    const leftOpen = l.open;
    l.closeAll();

    // --- still answering? then SIGTERM ---
    const tcpAfter = died ? { ms: NaN, reply: "server gone" } : await prober.probe(server.tcpPort);
    const httpAfter = died ? "server gone" : await probeHttp(server.httpPort);
    const stopT0 = performance.now();
    try {
      server.child.kill("SIGTERM");
    } catch { /* gone */ }
    const status = await within(server.exited, 5000);
    const stopMs = performance.now() - stopT0;
    if (status === TIMEOUT) {
      try {
        server.child.kill("SIGKILL");
      } catch { /* gone */ }
      await server.exited;
    }
    const traceText = await Deno.readTextFile(trace).catch(() => "");
    const edges = traceText.trim().split("\n").filter((x) => /^\s*[0-9.]+,[01]\s*$/.test(x));
    const lastEdge = edges[edges.length - 1] ?? "(none)";
    const selfCpuPct = ((await procStats(Deno.pid)).cpuS - selfCpu0) /
      ((performance.now() - samples[0].at) / 1000) * 100;

    // --- verdict ---
    const loadSamples = samples.filter((s) => s.phase === "load");
    const peak = loadSamples.reduce(
      (a, s) => ({ rss: Math.max(a.rss, s.rssMb), fds: Math.max(a.fds, s.fds) }),
      { rss: baseline.rssMb, fds: baseline.fds },
    );
    const probes = loadSamples.map((s) => s.probeMs);
    const worstProbe = probes.some((x) => !Number.isFinite(x)) ? NaN : Math.max(0, ...probes);
    const meanCpu = loadSamples.reduce((a, s) => a + s.cpuPct, 0) / loadSamples.length;
    const half = loadSamples.filter((s) => s.at - t0 >= loadMs / 2);
    const errors = warm.errors + l.errors;
    const end = last ?? samples[samples.length - 1];
    const check = (name: string, measured: string, pass: boolean) => ({ name, measured, pass });
    const checks = [
      check(
        "server alive through the load",
        died ? `exited (${server.log.slice(-3).join(" / ")})` : `${fix(loadMs / 60_000, 1)} min`,
        !died,
      ),
      check(
        "no unexpected reply, status, close or timeout (warm-up and load)",
        `${errors} errors`,
        errors === 0,
      ),
      check(
        "a fresh connection's status answered in every sample, each under 1 s",
        `worst ${fix(worstProbe)} ms`,
        Number.isFinite(worstProbe) && worstProbe < 1000,
      ),
      check(
        `descriptors back within ${FD_SLACK} of the baseline (${baseline.fds}) within ${
          SETTLE_FDS_MS / 1000
        } s, with the slow and idle clients left open`,
        `${end.fds} (peak ${peak.fds})${
          fdsBackS !== undefined ? `, ${fix(fdsBackS, 0)} s after the load` : ""
        }`,
        fdsBackS !== undefined && end.fds <= fdLimit,
      ),
      check(
        `RSS back under ${fix(rssLimit)} MB (baseline ${
          fix(baseline.rssMb)
        } + max(${RSS_SLACK_MB} MB, ${RSS_SLACK_SHARE * 100} %)) within ${SETTLE_RSS_MS / 1000} s`,
        `${fix(end.rssMb)} MB (peak ${fix(peak.rss)})${
          rssBackS !== undefined ? `, ${fix(rssBackS, 0)} s after the load` : ""
        }`,
        rssBackS !== undefined && end.rssMb <= rssLimit,
      ),
      check(
        "still answers after the load (TCP status, GET /api/state)",
        `"${tcpAfter.reply}" · "${httpAfter.slice(0, 40)}…"`,
        tcpAfter.reply.startsWith("OK ") && httpAfter.startsWith("200 "),
      ),
      check(
        "SIGTERM: exit status 0 within 2 s",
        status === TIMEOUT
          ? "no exit in 5 s (killed)"
          : `${status.code} after ${fix(stopMs, 0)} ms`,
        status !== TIMEOUT && status.code === 0 && stopMs < 2000,
      ),
      check(
        "LED left off: the trace's last edge is ,0",
        `${int(edges.length)} edges, last "${lastEdge.trim()}"`,
        /,0\s*$/.test(lastEdge),
      ),
    ];
    const pass = checks.every((c) => c.pass);
    const verdict = pass
      ? "PASS: bounded under the load, back to the baseline after it, clean exit with the LED off"
      : `FAIL: ${checks.filter((c) => !c.pass).map((c) => c.name).join("; ")}`;

    // --- tables ---
    const every = Math.max(1, Math.ceil(loadSamples.length / 20));
    const peakSample = loadSamples.find((s) => s.rssMb === peak.rss);
    const shown = samples.filter((s) => {
      if (s.phase !== "load") return true;
      const k = loadSamples.indexOf(s);
      return k === 0 || (k + 1) % every === 0 || k === loadSamples.length - 1 || s === peakSample;
    });
    const sampleTable: Table = {
      title: `Samples: every ${SAMPLE_MS / 1000} s during the load${
        every > 1 ? ` (every ${every}th shown, and the RSS peak)` : ""
      }; time from the start of the load; replies counted from it; CPU = the server's, % of one core; probe = a fresh connection's status`,
      head: [
        "time",
        "phase",
        "RSS MB",
        "fds",
        "CPU %",
        "TCP replies",
        "HTTP replies",
        "errors",
        "probe ms",
      ],
      rows: shown.map((s) => [
        clock((s.at - t0) / 1000),
        s.phase + (s === peakSample ? " (peak)" : ""),
        fix(s.rssMb),
        String(s.fds),
        fix(s.cpuPct, 0),
        int(s.tcp),
        int(s.http),
        String(s.errors),
        fix(s.probeMs),
      ]),
    };
    const mixTable: Table = {
      title: "The load: loops running at once, each pausing between requests",
      head: ["clients", "loops"],
      rows: MIX.map((m) => [m.what, String(m.loops)]),
    };
    const outcomeTable: Table = {
      title: `What happened to the clients during the load (and ${
        int(l.events)
      } EVENT lines and SSE events read)`,
      head: ["outcome", "times"],
      rows: [...l.outcomes].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, int(v)]),
    };
    const checkTable: Table = {
      title: "Checks",
      head: ["check", "measured", "result"],
      rows: checks.map((c) => [c.name, c.measured, c.pass ? "PASS" : "FAIL"]),
    };
    const rate = (n: number) => int(n / (loadMs / 1000));
    const notes = [
      `start: ${fix(samples[0].rssMb)} MB, ${samples[0].fds} descriptors; after the ${
        WARMUP_MS / 1000
      } s warm-up (the baseline): ${fix(baseline.rssMb)} MB, ${baseline.fds}`,
      `rates: ${rate(l.tcpReplies)} TCP replies/s, ${rate(l.httpReplies)} HTTP responses/s, ${
        rate(l.events)
      } events/s; the server used ${fix(meanCpu, 0)} % of a core on average, the load generator ${
        fix(selfCpuPct, 0)
      } %`,
      `RSS over the second half of the load: ${
        half.length >= 2 ? fix(half[half.length - 1].rssMb - half[0].rssMb) : "—"
      } MB (${half.length ? fix(half[0].rssMb) : "—"} → ${
        half.length ? fix(half[half.length - 1].rssMb) : "—"
      })`,
      `${leftOpen} client connections still open ${
        fix((performance.now() - loadEnd) / 1000, 0)
      } s after the load (closed by the soak)`,
      ...loads.flatMap((ld, i) =>
        [...ld.errorKinds].map(([k, v]) => `${i === 0 ? "warm-up " : ""}errors: ${k} × ${v}`)
      ),
      ...loads.flatMap((ld, i) =>
        ld.errorSamples.map((e) => `${i === 0 ? "warm-up " : ""}error: ${e}`)
      ),
      ...[...server.notable].flatMap(([k, v]) => [
        `server log: ${k} × ${v}`,
        ...(server.notableLines.get(k) ?? []).map((line) => `server log line: ${line}`),
      ]),
    ];
    const tables = [sampleTable, outcomeTable, checkTable];
    say("");
    for (const t of tables) say(textTable(t) + "\n");
    for (const n of notes) say(`note: ${n}`);
    say(`verdict: ${verdict}`);
    if (options.out) {
      const md = [
        `Soak run ${date}: ${options.minutes} min of load on ${box}; ` +
        `TCP engine ${server.engine}.`,
        "",
        markdownTable(mixTable),
        "",
        ...tables.flatMap((t) => [markdownTable(t), ""]),
        ...notes.map((n) => `- ${n}`),
        "",
        `**Verdict: ${verdict}**`,
      ].join("\n") + "\n";
      await Deno.writeTextFile(options.out, md);
      say(`markdown written to ${options.out}`);
    }
    return 0;
  } finally {
    prober.close();
    for (const ld of loads) {
      ld.stop(true);
      ld.closeAll();
    }
    if (server.running()) {
      try {
        server.child.kill("SIGKILL");
      } catch { /* gone */ }
      await server.exited;
    }
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
