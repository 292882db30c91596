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
import type { Socket } from "node:net";
import { type Clock, realClock, type TimerId } from "../hal/clock.ts";
import { formatState } from "../core/state.ts";
import { parseCommand } from "../protocol/command.ts";
import { type Frame, LineFramer, MAX_LINE } from "../protocol/framing.ts";
import { err } from "../protocol/reply.ts";
import {
  type ClientInfo,
  describeClient,
  errOutcome,
  execute,
  type Outcome,
} from "../core/commands.ts";
import { formatDuration } from "./duration.ts";
import type { LedService } from "../core/led_service.ts";
import { AuthLimiter } from "./auth_limit.ts";
import { GuardedListener, keepAlive } from "./listener.ts";

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
  /**
   * Most connections in `watch` mode at once (they are exempt from the idle
   * timeout); a `watch` above it gets `ERR busy`. Default: 100, or
   * `maxClients - 1` when that is smaller.
   */
  maxWatchers?: number;
  /** Wrong-token limiter, shared with HTTP. Default: 5 wrong tokens per address per minute. */
  authLimiter?: AuthLimiter;
}

type Opts =
  & Required<Omit<TcpServerOptions, "hostname" | "port" | "token" | "authLimiter">>
  & { token?: string; authLimiter: AuthLimiter };

/** How long a closing connection may still send before it is cut, in ms. */
const LINGER_MS = 1000;
/** How much a closing connection may still send before it is cut. */
const LINGER_BYTES = 1 << 20;
/** How long a refused (busy) connection is kept to read its ERR line, in ms. */
const REFUSE_LINGER_MS = 200;
/** Unsent bytes a watcher may let pile up before it is dropped. */
const WATCH_BACKLOG = 64 * 1024;
/**
 * Unsent reply bytes past which a connection's requests stop being
 * answered and its socket stops being read, until the peer reads.
 */
export const OUTPUT_BOUND = 64 * 1024;
/** Refused (busy) connections being answered at once; more are closed without a word. */
const MAX_REFUSING = 32;

/**
 * A running server.
 *
 * @example
 * ```ts
 * import { TcpServer } from "./tcp.ts";
 * import { LedService } from "../core/led_service.ts";
 * import { openLed } from "../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const server = await TcpServer.listen(service, { port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export class TcpServer {
  #listener!: GuardedListener;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #sessions = new Set<Session>();
  /** Sessions in `watch` mode. */
  readonly watchers = new Set<unknown>();
  #refusing = 0;
  #nextId = 1;
  #closing: Promise<void> | undefined;

  private constructor(service: LedService, opts: Opts) {
    this.#service = service;
    this.#opts = opts;
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
      maxWatchers: options.maxWatchers ??
        Math.max(1, Math.min(100, (options.maxClients ?? 1000) - 1)),
      authLimiter: options.authLimiter ?? new AuthLimiter({ log: options.log }),
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
    if (!(Number.isInteger(opts.maxWatchers) && opts.maxWatchers >= 1)) {
      return Promise.reject(
        new RangeError(`maxWatchers must be a whole number ≥ 1, got ${opts.maxWatchers}`),
      );
    }
    const server = new TcpServer(service, opts);
    return GuardedListener.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 10000,
      name: "tcp",
      log: opts.log,
      clock: opts.clock,
      server: { allowHalfOpen: true, pauseOnConnect: false },
    }, (socket) => server.#accept(socket)).then((listener) => {
      server.#listener = listener;
      return server;
    });
  }

  /** The port actually bound. */
  get port(): number {
    return this.#listener.port;
  }

  /** The address actually bound. */
  get hostname(): string {
    return this.#listener.hostname;
  }

  #accept(socket: Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.#closing) {
      socket.destroy();
      return;
    }
    socket.on("error", () => socket.destroy()); // reset by peer, write after close…
    if (this.#sessions.size >= this.#opts.maxClients) {
      if (this.#opts.verbose) {
        this.#opts.log(`refused ${remote}: ${this.#sessions.size} clients (the limit)`);
      }
      // A flood of refusals must not hold descriptors: past a few at once, no reply.
      if (this.#refusing >= MAX_REFUSING) {
        socket.destroy();
        return;
      }
      this.#refusing++;
      socket.once("close", () => this.#refusing--);
      const line = err(
        "busy",
        `server has ${this.#opts.maxClients} clients (its limit); try again later`,
      );
      socket.end(line + "\n");
      lingerThenDestroy(socket, REFUSE_LINGER_MS);
      return;
    }
    socket.setNoDelay(true);
    const session = new Session(
      socket,
      { id: this.#nextId++, remote, address: socket.remoteAddress ?? "?" },
      this.#service,
      this.#opts,
      this.watchers,
    );
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
      const stopped = this.#listener.close();
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

/** `frames[from…]` as one buffer of LF-terminated lines (see {@linkcode unhold}). */
function hold(frames: Frame[], from: number): { bytes: Uint8Array; tooLong: boolean } {
  let size = 0;
  let tooLong = false;
  for (let i = from; i < frames.length; i++) {
    const f = frames[i];
    if (f.kind === "line") size += f.bytes.length + 1;
    else tooLong = true;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (let i = from; i < frames.length; i++) {
    const f = frames[i];
    if (f.kind !== "line") continue;
    bytes.set(f.bytes, at);
    bytes[at + f.bytes.length] = 10;
    at += f.bytes.length + 1;
  }
  return { bytes, tooLong };
}

/** The frames {@linkcode hold} kept, as views of its buffer. */
function unhold(held: { bytes: Uint8Array; tooLong: boolean }): Frame[] {
  const frames: Frame[] = [];
  const b = held.bytes;
  for (let start = 0; start < b.length;) {
    const lf = b.indexOf(10, start);
    frames.push({ kind: "line", bytes: b.subarray(start, lf) });
    start = lf + 1;
  }
  if (held.tooLong) frames.push({ kind: "too-long" });
  return frames;
}

interface SessionClient extends ClientInfo {
  /** The peer's address without the port, for the wrong-token limiter. */
  readonly address: string;
}

class Session {
  readonly #socket: Socket;
  readonly #client: SessionClient;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #watchers: Set<unknown>;
  readonly #framer = new LineFramer(MAX_LINE);
  /** Replies that had to wait for the LED; the socket is paused meanwhile. */
  #work: Promise<void> | undefined;
  /**
   * Requests read but not yet answered because the peer does not read its
   * replies (more than {@linkcode OUTPUT_BOUND} unsent): the socket is
   * paused until it drains. One buffer of LF-terminated lines (at most one
   * read's worth), plus whether a too-long line ends it.
   */
  #held: { bytes: Uint8Array; tooLong: boolean } | undefined;
  #lastByte: number;
  #idleTimer: TimerId | undefined;
  #frameTimer: TimerId | undefined;
  /** No more requests are read: a closing reply was sent, or the peer is gone. */
  #ended = false;
  /** Set once the client sent `watch`: stops its EVENT lines. */
  #unwatch: (() => void) | undefined;
  readonly finished: Promise<void>;

  constructor(
    socket: Socket,
    client: SessionClient,
    service: LedService,
    opts: Opts,
    watchers: Set<unknown>,
  ) {
    this.#socket = socket;
    this.#client = client;
    this.#service = service;
    this.#opts = opts;
    this.#watchers = watchers;
    this.#lastByte = opts.clock.now();
    this.finished = new Promise((resolve) => {
      socket.once("close", () => {
        this.#ended = true;
        this.#held = undefined;
        this.#clearTimers();
        this.#unwatch?.();
        this.#watchers.delete(this);
        if (opts.verbose) opts.log(`disconnected ${describeClient(client)}`);
        resolve();
      });
    });
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("drain", () => this.#onDrain());
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

  /** The peer read some replies: answer what was held back, then read again. */
  #onDrain(): void {
    if (this.#ended || this.#work) return;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#answer(unhold(held));
    if (!this.#ended && !this.#work && !this.#held) {
      this.#socket.resume();
      this.#armFrameTimerIfPending();
    }
  }

  /** The peer half-closed: a pending partial line is complete; answer it, then FIN. */
  async #onEnd(): Promise<void> {
    if (this.#work) await this.#work;
    if (this.#held) {
      // Not reading its replies and done sending: nothing more will be read.
      await new Promise<void>((r) => {
        const check = () => (!this.#held || this.#ended) ? r() : this.#socket.once("drain", check);
        check();
      });
      if (this.#work) await this.#work;
    }
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

  /** Copies of `frames`: they may be views of a buffer that gets reused. */
  #keep(frames: Frame[]): Frame[] {
    return frames.map((f): Frame =>
      f.kind === "line" ? { kind: "line", bytes: f.bytes.slice() } : f
    );
  }

  /**
   * Answers `frames` in order with one write. Replies that need no LED
   * change are computed synchronously; when one must wait (the LED), the
   * socket is paused so later requests stay behind it. Once the unsent
   * output passes {@linkcode OUTPUT_BOUND}, the rest is held and the socket
   * paused until the peer reads.
   */
  #answer(frames: Frame[]): void {
    let text = "";
    const queued = this.#socket.writableLength;
    for (let i = 0; i < frames.length; i++) {
      if (queued + text.length > OUTPUT_BOUND) {
        this.#held = hold(frames, i);
        this.#socket.pause();
        this.#socket.write(text);
        return;
      }
      const o = this.#outcome(frames[i]);
      if (o instanceof Promise) {
        const rest = this.#keep(frames.slice(i + 1));
        this.#socket.pause();
        this.#work = this.#answerSlowly(text, o, rest).finally(() => {
          this.#work = undefined;
          if (!this.#ended) this.#onDrain();
        });
        return;
      }
      text += o.reply + "\n";
      if (o.close) return this.#closeWith(text);
      if (o.watch) text = this.#watch(text);
    }
    this.#send(text);
  }

  async #answerSlowly(text: string, first: Promise<Outcome>, rest: Frame[]): Promise<void> {
    let o = await first;
    for (let i = 0;; i++) {
      if (this.#ended) return; // the peer went away meanwhile
      text += o.reply + "\n";
      if (o.close) return this.#closeWith(text);
      if (o.watch) text = this.#watch(text);
      if (i >= rest.length) break;
      if (this.#socket.writableLength + text.length > OUTPUT_BOUND) {
        this.#held = hold(rest, i);
        break;
      }
      o = await this.#outcome(rest[i]);
    }
    this.#socket.write(text);
  }

  #outcome(frame: Frame): Outcome | Promise<Outcome> {
    if (frame.kind === "too-long") {
      return errOutcome("line-too-long", `line exceeds ${MAX_LINE} bytes; closing`, true);
    }
    const cmd = parseCommand(frame.bytes);
    let outcome: Outcome | Promise<Outcome>;
    const limiter = this.#opts.authLimiter;
    const wait = cmd.verb === "auth" && this.#opts.token !== undefined
      ? limiter.retryAfterS(this.#client.address)
      : 0;
    if (wait > 0) {
      outcome = errOutcome(
        "auth-limited",
        `too many wrong tokens from ${this.#client.address}; try again in ${wait} s`,
        true,
      );
    } else {
      outcome = execute(cmd, this.#service, this.#client, this.#opts.token);
      if (cmd.verb === "auth" && this.#opts.token !== undefined && !this.#client.authed) {
        limiter.fail(this.#client.address, "tcp");
      }
    }
    if (this.#opts.verbose) {
      const shown = cmd.verb === "error" ? "(bad request)" : cmd.verb;
      const log = (o: Outcome) =>
        this.#opts.log(`${describeClient(this.#client)}: ${shown} → ${o.reply}`);
      if (outcome instanceof Promise) outcome.then(log);
      else log(outcome);
    }
    return outcome;
  }

  /**
   * Puts the connection in watch mode (idempotent): `EVENT <state>` at
   * each LED change from now on, no idle timeout, TCP keepalive to find a
   * dead peer. Above the watcher cap, the `OK` in `text` becomes `ERR busy`.
   */
  #watch(text: string): string {
    if (this.#unwatch) return text;
    if (this.#watchers.size >= this.#opts.maxWatchers) {
      const ok = text.lastIndexOf("OK watching");
      return text.slice(0, ok) +
        err(
          "busy",
          `server has ${this.#opts.maxWatchers} watchers (its limit); try again later`,
        ) + "\n";
    }
    this.#watchers.add(this);
    keepAlive(this.#socket);
    if (this.#idleTimer !== undefined) this.#opts.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#unwatch = this.#service.subscribe((e) => {
      if (e.type !== "state" || this.#ended) return;
      // A watcher that stopped reading is dropped rather than buffered for.
      if (this.#socket.writableLength > WATCH_BACKLOG) return this.abort();
      this.#socket.write(`EVENT ${formatState(e.state)}\n`);
    });
    return text;
  }

  /** Writes; past the bound, reading pauses until the peer drains its replies. */
  #send(text: string): void {
    if (text) this.#socket.write(text);
    if (this.#socket.writableLength > OUTPUT_BOUND) this.#socket.pause();
  }

  /** Sends the last reply, then FIN, then lingers. */
  #closeWith(text: string): void {
    this.#ended = true;
    this.#held = undefined;
    this.#clearTimers();
    this.#socket.end(text);
    lingerThenDestroy(this.#socket, LINGER_MS);
  }

  #armFrameTimerIfPending(): void {
    if (
      this.#ended || this.#work || this.#held || !this.#framer.pending ||
      this.#frameTimer !== undefined
    ) {
      return;
    }
    const { frameTimeoutMs, clock } = this.#opts;
    this.#frameTimer = clock.setTimeout(() => {
      this.#frameTimer = undefined;
      if (this.#ended || this.#work || this.#held) return;
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
    // A watcher listens: it is not idle (keepalive finds a dead one).
    if (this.#ended || this.#unwatch) return;
    const { idleTimeoutMs, clock, verbose, log } = this.#opts;
    const silent = clock.now() - this.#lastByte;
    if (silent < idleTimeoutMs) return this.#armIdle(idleTimeoutMs - silent);
    if (verbose) log(`idle timeout for ${describeClient(this.#client)}`);
    if (this.#work || this.#held || this.#socket.writableLength > 0) {
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
    this.#held = undefined;
    this.#clearTimers();
    this.#socket.end();
    lingerThenDestroy(this.#socket, 100);
  }
}
