/**
 * The TCP server of wire protocol v1: concurrent sessions, one reply line per
 * request in order, idle timeout, frame timeout for clients that send a
 * command without newline, a connection cap, bounded buffers.
 *
 * @module
 */
import { type Clock, realClock, type TimerId } from "../hal/clock.ts";
import { parseCommand } from "../protocol/command.ts";
import { type Frame, LineFramer, MAX_LINE } from "../protocol/framing.ts";
import { err } from "../protocol/reply.ts";
import { type ClientInfo, describeClient, execute, type Outcome } from "./commands.ts";
import { formatDuration } from "./duration.ts";
import type { LedService } from "./led_service.ts";

/** Options for {@linkcode TcpServer.listen}. */
export interface TcpServerOptions {
  /** Address to listen on. Default `127.0.0.1` (loopback only). */
  hostname?: string;
  /** Port. Default 10000; 0 picks a free one (see {@linkcode TcpServer.port}). */
  port?: number;
  /** Close a connection silent this long, in ms. 0 = never. Default 10 000. */
  idleTimeoutMs?: number;
  /** A partial line counts as complete after this long without a byte, in ms. Default 100. */
  frameTimeoutMs?: number;
  /** Most simultaneous clients; a newcomer above it gets `ERR busy`. Default 1000. */
  maxClients?: number;
  /** Clock for the timers. Default: the real one. */
  clock?: Clock;
  /** Log sink. Default `console.log`. */
  log?: (line: string) => void;
  /** Log every connection and request, not just LED changes. Default false. */
  verbose?: boolean;
  /** When set, clients must send `auth <token>` before other commands. Default: none. */
  token?: string;
}

type Opts = Required<Omit<TcpServerOptions, "hostname" | "port" | "token">> & { token?: string };

const enc = new TextEncoder();
// Per connection and held for its whole life: 512 B is plenty for short request
// lines (the framer joins longer ones) and saves ~16 MB at 10,000 connections.
const READ_BUFFER = 512;
const REPLY_BUFFER = 256;
const LINGER_MS = 1000;
const LINGER_BYTES = 1 << 20;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import { TcpServer } from "./tcp.ts";
 * import { LedService } from "./led_service.ts";
 * import { openLed } from "../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const server = TcpServer.listen(service, { port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export class TcpServer {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #sessions = new Set<Session>();
  readonly #done: Promise<void>;
  #nextId = 1;
  #closing = false;

  private constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    service: LedService,
    opts: TcpServerOptions,
  ) {
    this.#listener = listener;
    this.#service = service;
    this.#opts = {
      idleTimeoutMs: opts.idleTimeoutMs ?? 10_000,
      frameTimeoutMs: opts.frameTimeoutMs ?? 100,
      maxClients: opts.maxClients ?? 1000,
      clock: opts.clock ?? realClock,
      log: opts.log ?? ((l) => console.log(l)),
      verbose: opts.verbose ?? false,
      token: opts.token,
    };
    for (
      const [k, v] of Object.entries({
        idleTimeoutMs: this.#opts.idleTimeoutMs,
        frameTimeoutMs: this.#opts.frameTimeoutMs,
      })
    ) {
      if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${k} must be ≥ 0 ms, got ${v}`);
    }
    if (!(Number.isInteger(this.#opts.maxClients) && this.#opts.maxClients >= 1)) {
      throw new RangeError(`maxClients must be a whole number ≥ 1, got ${this.#opts.maxClients}`);
    }
    this.#done = this.#acceptLoop();
  }

  /**
   * Starts listening. Throws `Deno.errors.AddrInUse` and friends from
   * `Deno.listen` as they are; the CLI turns them into one clear line.
   */
  static listen(service: LedService, options: TcpServerOptions = {}): TcpServer {
    const listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 10000,
      transport: "tcp",
    });
    return new TcpServer(listener, service, options);
  }

  /** The port actually bound. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** The address actually bound. */
  get hostname(): string {
    return this.#listener.addr.hostname;
  }

  /** Connected clients right now. */
  get clientCount(): number {
    return this.#sessions.size;
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return;
        // EMFILE and the like: say so, back off a little, keep serving.
        this.#opts.log(`accept failed: ${(e as Error).message}; still listening`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (this.#closing) {
        conn.close();
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch { /* closed already */ }
      const remote = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
      if (this.#sessions.size >= this.#opts.maxClients) {
        if (this.#opts.verbose) {
          this.#opts.log(`refused ${remote}: ${this.#sessions.size} clients (the limit)`);
        }
        this.#refuse(conn);
        continue;
      }
      const session = new Session(conn, { id: this.#nextId++, remote }, this.#service, this.#opts);
      this.#sessions.add(session);
      this.#service.countClient(1);
      session.run().finally(() => {
        this.#sessions.delete(session);
        this.#service.countClient(-1);
      });
    }
  }

  #refuse(conn: Deno.TcpConn): void {
    const line = err(
      "busy",
      `server has ${this.#opts.maxClients} clients (its limit); try again later`,
    );
    writeAll(conn, enc.encode(line + "\n"))
      .then(() => lingerClose(conn, 200))
      .catch(() => {
        try {
          conn.close();
        } catch { /* gone */ }
      });
  }

  /** Stops listening and closes every connection (FIN). Idempotent. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      for (const s of this.#sessions) s.abort();
    }
    await this.#done;
    await Promise.all([...this.#sessions].map((s) => s.finished));
  }
}

/** Half-closes, then reads and discards what the peer still sends (bounded), then closes. */
async function lingerClose(conn: Deno.Conn, ms = LINGER_MS): Promise<void> {
  try {
    await conn.closeWrite();
  } catch { /* peer gone */ }
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  const buf = new Uint8Array(4096);
  let total = 0;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      total += n;
      if (total > LINGER_BYTES) break;
    }
  } catch { /* closed by the timer or reset */ }
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* closed */ }
}

class Session {
  readonly #conn: Deno.TcpConn;
  readonly #client: ClientInfo;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #framer = new LineFramer(MAX_LINE);
  /** Work started by a timer (frame or idle timeout) that the read loop must not overtake. */
  #side: Promise<void> | undefined;
  /** True while replies are being produced or written. */
  #busy = false;
  #lastByte: number;
  #idleTimer: TimerId | undefined;
  #frameTimer: TimerId | undefined;
  /** Reply bytes; off the V8 heap (> 64 B), reused: writes of one session never overlap. */
  #out: Uint8Array | undefined;
  #ended = false;
  #linger = false;
  #aborted = false;
  finished: Promise<void> = Promise.resolve();

  constructor(
    conn: Deno.TcpConn,
    client: ClientInfo,
    service: LedService,
    opts: Opts,
  ) {
    this.#conn = conn;
    this.#client = client;
    this.#service = service;
    this.#opts = opts;
    this.#lastByte = opts.clock.now();
  }

  run(): Promise<void> {
    this.finished = this.#run();
    return this.finished;
  }

  async #run(): Promise<void> {
    const { verbose, log } = this.#opts;
    if (verbose) log(`connected ${describeClient(this.#client)}`);
    this.#armIdle(this.#opts.idleTimeoutMs);
    const buf = new Uint8Array(READ_BUFFER);
    try {
      while (!this.#ended) {
        let n: number | null;
        try {
          n = await this.#conn.read(buf);
        } catch {
          break; // reset by peer, or closed by us
        }
        this.#clearFrameTimer();
        if (this.#side) await this.#side; // a timer's reply goes out first
        if (this.#ended) break;
        try {
          if (n === null) {
            // Half-close: a pending partial line is complete; answer it, then close.
            const rest = this.#framer.flush();
            if (rest) await this.#answer([{ kind: "line", bytes: rest }]);
            break;
          }
          this.#lastByte = this.#opts.clock.now();
          const frames = this.#framer.push(buf.subarray(0, n));
          if (frames.length > 0) await this.#answer(frames);
        } catch {
          break; // the write failed: the peer is gone
        } finally {
          this.#busy = false;
        }
        if (!this.#ended && this.#framer.pending) this.#armFrameTimer();
      }
    } finally {
      this.#clearTimers();
      if (this.#side) await this.#side;
      if (this.#linger && !this.#aborted) await lingerClose(this.#conn);
      else this.#closeConn();
      if (verbose) log(`disconnected ${describeClient(this.#client)}`);
    }
  }

  /**
   * Answers `frames` in order with one write. Replies that need no LED
   * change are computed synchronously: no promise per request on the hot path.
   */
  #answer(frames: Frame[]): Promise<void> {
    this.#busy = true;
    let text = "";
    for (let i = 0; i < frames.length; i++) {
      const o = this.#outcome(frames[i]);
      if (o instanceof Promise) return this.#answerSlowly(text, o, frames, i);
      text += o.reply + "\n";
      if (o.close) {
        this.#closeAfterReply();
        break;
      }
    }
    return this.#send(text);
  }

  /** Writes `text` whole, through the session's reusable buffer when it fits. */
  #send(text: string): Promise<void> {
    this.#out ??= new Uint8Array(REPLY_BUFFER);
    const r = enc.encodeInto(text, this.#out);
    const bytes = r.read === text.length ? this.#out.subarray(0, r.written) : enc.encode(text);
    return writeAll(this.#conn, bytes);
  }

  /** The rest of {@linkcode Session.#answer} once an outcome had to wait (the LED). */
  async #answerSlowly(
    text: string,
    first: Promise<Outcome>,
    frames: Frame[],
    i: number,
  ): Promise<void> {
    let o = await first;
    for (;;) {
      text += o.reply + "\n";
      if (o.close) {
        this.#closeAfterReply();
        break;
      }
      if (++i >= frames.length) break;
      o = await this.#outcome(frames[i]);
    }
    await this.#send(text);
  }

  #outcome(frame: Frame): Outcome | Promise<Outcome> {
    if (frame.kind === "too-long") {
      return {
        reply: err("line-too-long", `line exceeds ${MAX_LINE} bytes; closing`),
        close: true,
      };
    }
    const cmd = parseCommand(frame.bytes);
    const outcome = execute(cmd, this.#service, this.#client, this.#opts.token);
    if (this.#opts.verbose) {
      const shown = cmd.verb === "error" ? "(bad request)" : cmd.verb;
      const log = (o: Outcome) =>
        this.#opts.log(`${describeClient(this.#client)}: ${shown} → ${o.reply}`);
      if (outcome instanceof Promise) outcome.then(log);
      else log(outcome);
    }
    return outcome;
  }

  #closeAfterReply(): void {
    this.#ended = true;
    this.#linger = true;
  }

  /** Runs timer-started work so that the read loop waits for it; ends the session if it says so. */
  #sideWork(work: () => Promise<void>): void {
    this.#side = (async () => {
      this.#busy = true;
      try {
        await work();
      } catch {
        this.#ended = true; // write failed: peer gone
      } finally {
        this.#busy = false;
        this.#side = undefined;
      }
      // The read loop is parked in read(): closing the socket ends it.
      if (this.#ended) {
        this.#clearTimers();
        this.#closeConn();
      }
    })();
  }

  #armFrameTimer(): void {
    const { frameTimeoutMs, clock } = this.#opts;
    this.#frameTimer = clock.setTimeout(() => {
      this.#frameTimer = undefined;
      const rest = this.#framer.flush();
      if (rest) this.#sideWork(() => this.#answer([{ kind: "line", bytes: rest }]));
    }, frameTimeoutMs);
  }

  #clearFrameTimer(): void {
    if (this.#frameTimer !== undefined) this.#opts.clock.clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
  }

  /** The idle timer is re-armed lazily: bytes only move `#lastByte`. */
  #armIdle(ms: number): void {
    if (this.#opts.idleTimeoutMs === 0) return;
    this.#idleTimer = this.#opts.clock.setTimeout(() => this.#checkIdle(), ms);
  }

  #checkIdle(): void {
    this.#idleTimer = undefined;
    const { idleTimeoutMs, clock, verbose, log } = this.#opts;
    const silent = clock.now() - this.#lastByte;
    if (silent < idleTimeoutMs) return this.#armIdle(idleTimeoutMs - silent);
    if (verbose) log(`idle timeout for ${describeClient(this.#client)}`);
    if (this.#busy) {
      // Stuck writing to a peer that does not read: drop it.
      this.abort();
      return;
    }
    this.#sideWork(async () => {
      this.#ended = true;
      const line = err("idle-timeout", `no data for ${formatDuration(idleTimeoutMs)}; closing`);
      await this.#send(line + "\n");
    });
  }

  #clearTimers(): void {
    this.#clearFrameTimer();
    if (this.#idleTimer !== undefined) this.#opts.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #closeConn(): void {
    try {
      this.#conn.close();
    } catch { /* closed already */ }
  }

  /** Closes now, without a reply (shutdown, or a peer that does not read). */
  abort(): void {
    this.#aborted = true;
    this.#ended = true;
    this.#clearTimers();
    this.#closeConn();
  }
}
