/**
 * The TCP server of wire protocol v1: concurrent sessions, one reply line per
 * request in order, idle timeout, frame timeout for clients that send a
 * command without newline, a connection cap, bounded buffers.
 *
 * Built on `node:net` rather than `Deno.listen`: under load, `Deno.Conn`
 * reads were served unfairly (at 1,000 busy clients some connections got no
 * reply for a second while others got hundreds; see docs/PERFORMANCE.md),
 * and `node:net` sockets cost about half the memory per connection.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import { type Clock, realClock, type TimerId } from "../hal/clock.ts";
import { formatState } from "../hal/types.ts";
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

/** How long a closing connection may still send before it is cut, in ms. */
const LINGER_MS = 1000;
/** How much a closing connection may still send before it is cut. */
const LINGER_BYTES = 1 << 20;
/** How long a refused (busy) connection is kept to read its ERR line, in ms. */
const REFUSE_LINGER_MS = 200;
/** Unsent bytes a watcher may let pile up before it is dropped. */
const WATCH_BACKLOG = 64 * 1024;

/** Turns node's listen errors into the `Deno.errors` the CLI explains. */
function listenError(e: NodeJS.ErrnoException): Error {
  const message = e.message;
  switch (e.code) {
    case "EADDRINUSE":
      return new Deno.errors.AddrInUse(message);
    case "EADDRNOTAVAIL":
    case "EINVAL": // what Deno's node:net reports for an address not on this machine
      return new Deno.errors.AddrNotAvailable(message);
    case "EACCES":
    case "EPERM":
      return new Deno.errors.PermissionDenied(message);
    default:
      return e;
  }
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
 * const server = await TcpServer.listen(service, { port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export class TcpServer {
  readonly #server: Server;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #sessions = new Set<Session>();
  #nextId = 1;
  #closing: Promise<void> | undefined;

  private constructor(server: Server, service: LedService, opts: Opts) {
    this.#server = server;
    this.#service = service;
    this.#opts = opts;
    server.on("connection", (socket: Socket) => this.#accept(socket));
    // Accept failures (EMFILE…) do not stop the server: say so and go on.
    server.on(
      "error",
      (e: Error) => this.#opts.log(`accept failed: ${e.message}; still listening`),
    );
  }

  /**
   * Starts listening. Rejects with `Deno.errors.AddrInUse`,
   * `AddrNotAvailable` or `PermissionDenied` (the CLI turns them into one
   * clear line), `RangeError` for bad options.
   */
  static listen(service: LedService, options: TcpServerOptions = {}): Promise<TcpServer> {
    const opts: Opts = {
      idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
      frameTimeoutMs: options.frameTimeoutMs ?? 100,
      maxClients: options.maxClients ?? 1000,
      clock: options.clock ?? realClock,
      log: options.log ?? ((l) => console.log(l)),
      verbose: options.verbose ?? false,
      token: options.token,
    };
    for (
      const [k, v] of [["idleTimeoutMs", opts.idleTimeoutMs], [
        "frameTimeoutMs",
        opts.frameTimeoutMs,
      ]] as const
    ) {
      if (!(v >= 0 && Number.isFinite(v))) {
        return Promise.reject(new RangeError(`${k} must be ≥ 0 ms, got ${v}`));
      }
    }
    if (!(Number.isInteger(opts.maxClients) && opts.maxClients >= 1)) {
      return Promise.reject(
        new RangeError(`maxClients must be a whole number ≥ 1, got ${opts.maxClients}`),
      );
    }
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => reject(listenError(e));
      server.once("error", onError);
      server.listen({ host: options.hostname ?? "127.0.0.1", port: options.port ?? 10000 }, () => {
        server.off("error", onError);
        resolve(new TcpServer(server, service, opts));
      });
    });
  }

  /** The port actually bound. */
  get port(): number {
    const a = this.#server.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** The address actually bound. */
  get hostname(): string {
    const a = this.#server.address();
    return typeof a === "object" && a ? a.address : "";
  }

  #accept(socket: Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.#closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    if (this.#sessions.size >= this.#opts.maxClients) {
      if (this.#opts.verbose) {
        this.#opts.log(`refused ${remote}: ${this.#sessions.size} clients (the limit)`);
      }
      const line = err(
        "busy",
        `server has ${this.#opts.maxClients} clients (its limit); try again later`,
      );
      socket.on("error", () => {});
      socket.end(line + "\n");
      lingerThenDestroy(socket, REFUSE_LINGER_MS);
      return;
    }
    const session = new Session(socket, { id: this.#nextId++, remote }, this.#service, this.#opts);
    this.#sessions.add(session);
    this.#service.countClient(1);
    session.finished.then(() => {
      this.#sessions.delete(session);
      this.#service.countClient(-1);
    });
  }

  /** Stops listening and closes every connection (FIN). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((r) => this.#server.close(() => r()));
      for (const s of this.#sessions) s.abort();
      await Promise.all([...this.#sessions].map((s) => s.finished));
      await stopped;
    })();
    return this.#closing;
  }
}

/**
 * After our FIN: read and drop what the peer still sends (bounded), and cut
 * the connection at its FIN or after `ms`, whichever comes first. Closing
 * with unread data would send a reset that could destroy our last reply.
 */
function lingerThenDestroy(socket: Socket, ms: number): void {
  let bytes = 0;
  const timer = setTimeout(() => socket.destroy(), ms);
  socket.removeAllListeners("data");
  socket.on("data", (chunk: Uint8Array) => {
    bytes += chunk.length;
    if (bytes > LINGER_BYTES) socket.destroy();
  });
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
  socket.resume();
}

class Session {
  readonly #socket: Socket;
  readonly #client: ClientInfo;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #framer = new LineFramer(MAX_LINE);
  /** Replies that had to wait for the LED; the socket is paused meanwhile. */
  #work: Promise<void> | undefined;
  #lastByte: number;
  #idleTimer: TimerId | undefined;
  #frameTimer: TimerId | undefined;
  /** No more requests are read: a closing reply was sent, or the peer is gone. */
  #ended = false;
  /** Set once the client sent `watch`: stops its EVENT lines. */
  #unwatch: (() => void) | undefined;
  readonly finished: Promise<void>;

  constructor(socket: Socket, client: ClientInfo, service: LedService, opts: Opts) {
    this.#socket = socket;
    this.#client = client;
    this.#service = service;
    this.#opts = opts;
    this.#lastByte = opts.clock.now();
    this.finished = new Promise((resolve) => {
      socket.once("close", () => {
        this.#ended = true;
        this.#clearTimers();
        this.#unwatch?.();
        if (opts.verbose) opts.log(`disconnected ${describeClient(client)}`);
        resolve();
      });
    });
    socket.on("error", () => socket.destroy()); // reset by peer, write after close…
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    if (opts.verbose) opts.log(`connected ${describeClient(client)}`);
    this.#armIdle(opts.idleTimeoutMs);
  }

  #onData(chunk: Uint8Array): void {
    if (this.#ended) return;
    this.#lastByte = this.#opts.clock.now();
    this.#clearFrameTimer();
    const frames = this.#framer.push(chunk);
    if (frames.length > 0) this.#answer(frames);
    this.#armFrameTimerIfPending();
  }

  /** The peer half-closed: a pending partial line is complete; answer it, then FIN. */
  async #onEnd(): Promise<void> {
    if (this.#work) await this.#work;
    if (this.#ended) return;
    this.#clearFrameTimer();
    const rest = this.#framer.flush();
    if (rest) {
      this.#answer([{ kind: "line", bytes: rest }]);
      if (this.#work) await this.#work;
    }
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.end(); // FIN after the replies; "close" follows
  }

  /**
   * Answers `frames` in order with one write. Replies that need no LED
   * change are computed synchronously; when one must wait (the LED), the
   * socket is paused so later requests stay behind it.
   */
  #answer(frames: Frame[]): void {
    let text = "";
    for (let i = 0; i < frames.length; i++) {
      const o = this.#outcome(frames[i]);
      if (o instanceof Promise) {
        // Keep the rest: the frames may be views of a buffer that gets reused.
        const rest = frames.slice(i + 1).map((f): Frame =>
          f.kind === "line" ? { kind: "line", bytes: f.bytes.slice() } : f
        );
        this.#socket.pause();
        this.#work = this.#answerSlowly(text, o, rest).finally(() => {
          this.#work = undefined;
          if (!this.#ended) {
            this.#socket.resume();
            this.#armFrameTimerIfPending();
          }
        });
        return;
      }
      text += o.reply + "\n";
      if (o.close) return this.#closeWith(text);
      if (o.watch) this.#watch();
    }
    this.#send(text);
  }

  async #answerSlowly(text: string, first: Promise<Outcome>, rest: Frame[]): Promise<void> {
    let o = await first;
    for (let i = 0;; i++) {
      if (this.#ended) return; // the peer went away meanwhile
      text += o.reply + "\n";
      if (o.close) return this.#closeWith(text);
      if (o.watch) this.#watch();
      if (i >= rest.length) break;
      o = await this.#outcome(rest[i]);
    }
    this.#send(text);
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

  /** Sends `EVENT <state>` at each LED change from now on (idempotent). */
  #watch(): void {
    if (this.#unwatch) return;
    this.#socket.setKeepAlive(true, 30_000);
    this.#unwatch = this.#service.subscribe((e) => {
      if (e.type !== "state" || this.#ended) return;
      // A watcher that stopped reading is dropped rather than buffered for.
      if (this.#socket.writableLength > WATCH_BACKLOG) return this.abort();
      this.#socket.write(`EVENT ${formatState(e.state)}\n`);
    });
  }

  /** Writes; a peer that does not read makes the socket pause reading until it drains. */
  #send(text: string): void {
    if (this.#socket.write(text)) return;
    this.#socket.pause();
    this.#socket.once("drain", () => {
      if (!this.#ended && !this.#work) this.#socket.resume();
    });
  }

  /** Sends the last reply, then FIN, then lingers. */
  #closeWith(text: string): void {
    this.#ended = true;
    this.#clearTimers();
    this.#socket.end(text);
    lingerThenDestroy(this.#socket, LINGER_MS);
  }

  #armFrameTimerIfPending(): void {
    if (this.#ended || this.#work || !this.#framer.pending || this.#frameTimer !== undefined) {
      return;
    }
    const { frameTimeoutMs, clock } = this.#opts;
    this.#frameTimer = clock.setTimeout(() => {
      this.#frameTimer = undefined;
      if (this.#ended || this.#work) return;
      const rest = this.#framer.flush();
      if (rest) this.#answer([{ kind: "line", bytes: rest }]);
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
    if (this.#ended) return;
    const { idleTimeoutMs, clock, verbose, log } = this.#opts;
    const silent = clock.now() - this.#lastByte;
    // A watcher listens: it is not idle (TCP keepalive finds a dead one).
    if (silent < idleTimeoutMs || this.#unwatch) return this.#armIdle(idleTimeoutMs - silent);
    if (verbose) log(`idle timeout for ${describeClient(this.#client)}`);
    if (this.#work || this.#socket.writableLength > 0) {
      // Stuck: waiting on the LED or on a peer that does not read. Drop it.
      this.abort();
      return;
    }
    this.#closeWith(
      err("idle-timeout", `no data for ${formatDuration(idleTimeoutMs)}; closing`) + "\n",
    );
  }

  #clearTimers(): void {
    this.#clearFrameTimer();
    if (this.#idleTimer !== undefined) this.#opts.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Closes now, without a reply (shutdown, or a peer that does not read): FIN, then cut. */
  abort(): void {
    if (this.#socket.destroyed) return;
    this.#ended = true;
    this.#clearTimers();
    this.#socket.end();
    lingerThenDestroy(this.#socket, 100);
  }
}
