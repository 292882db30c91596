/**
 * The protocol session of wire protocol v1, apart from any socket API: one
 * reply line per request in order, the idle timeout, the frame timeout for
 * a command sent without newline, `auth`, `watch`, and a bound on the
 * replies a client that does not read may cost. A TCP engine (node:net,
 * epoll) gives it a {@linkcode Connection} and feeds it the connection's
 * events; every timer goes through the injected clock.
 *
 * @module
 */
import type { LogFn } from "../core/log.ts";
import type { Clock, TimerId } from "../hal/clock.ts";
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
import { countOutcome, errorKey, requestKey, WATCHERS_KEY } from "../core/tally.ts";
import type { LedControl } from "../core/led_service.ts";
import type { AuthLimiter } from "./auth_limit.ts";
import type { RefusalLog } from "./refusal_log.ts";

/**
 * What a session needs of a connection. Engines implement it over their
 * sockets.
 */
export interface Connection {
  /** Queues `text` for sending. */
  write(text: string): void;
  /** Bytes accepted by {@linkcode Connection.write} and not yet handed to the kernel. */
  readonly writableLength: number;
  /** Stops delivering data (the session calls `onData` no more until resumed). */
  pause(): void;
  /** Delivers data again. */
  resume(): void;
  /**
   * Sends `text`, then FIN; then reads and drops what the peer still sends
   * (bounded) until its FIN or `lingerMs` (0: until its FIN), and closes.
   * Closing with unread data would send a reset that could destroy the
   * last reply.
   */
  end(text: string, lingerMs: number): void;
  /** True once the connection is closed. */
  readonly closed: boolean;
  /** Turns on TCP keepalive, to find a peer that vanished (watchers). */
  keepAlive(): void;
}

/** What a session is told by its engine; see `TcpServerOptions` for the meanings. */
export interface SessionOptions {
  idleTimeoutMs: number;
  frameTimeoutMs: number;
  clock: Clock;
  log: LogFn;
  verbose: boolean;
  token?: string;
  maxWatchers: number;
  authLimiter: AuthLimiter;
  /** Where refused requests (no token, a locked-out address) are logged, bounded. Default: nowhere. */
  refusals?: RefusalLog;
}

/** How long a closing connection may still send before it is cut, in ms. */
export const LINGER_MS = 1000;
/** The same, when the server closes without a reply (shutdown, a peer that does not read). */
const ABORT_LINGER_MS = 100;
/** Unsent bytes a watcher may let pile up before it is dropped. */
const WATCH_BACKLOG = 64 * 1024;
/**
 * Unsent reply bytes past which a connection's requests stop being
 * answered and its socket stops being read, until the peer reads.
 */
export const OUTPUT_BOUND = 64 * 1024;

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

export interface SessionClient extends ClientInfo {
  /** The peer's address without the port, for the wrong-token limiter. */
  readonly address: string;
}

/**
 * One client's protocol session over a {@linkcode Connection}: framing,
 * one reply per request in order, idle and frame timeouts, `auth` with the
 * wrong-token limiter, `watch`, and the output bound. The engine feeds it
 * the connection's events.
 *
 * @example
 * ```ts
 * // An engine, for each accepted connection:
 * // const session = new Session(conn, client, service, options, watchers);
 * // conn.on("data", (b) => session.onData(b)); … session.onClose() when it closes.
 * ```
 */
export class Session {
  readonly #socket: Connection;
  readonly #client: SessionClient;
  readonly #service: LedControl;
  readonly #opts: SessionOptions;
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
  /** Settles once the connection has closed. */
  readonly finished: Promise<void>;
  readonly #closed = Promise.withResolvers<void>();
  #gone = false;
  /** Called at the next drain (a half-closed peer waiting on held requests). */
  readonly #drainWaiters: (() => void)[] = [];

  constructor(
    socket: Connection,
    client: SessionClient,
    service: LedControl,
    opts: SessionOptions,
    watchers: Set<unknown>,
  ) {
    this.#socket = socket;
    this.#client = client;
    this.#service = service;
    this.#opts = opts;
    this.#watchers = watchers;
    this.#lastByte = opts.clock.now();
    this.finished = this.#closed.promise;
    if (opts.verbose) opts.log(`connected ${describeClient(client)}`, "debug");
    this.#armIdle(opts.idleTimeoutMs);
  }

  /** The connection closed (either side): stop everything. Idempotent. */
  onClose(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#ended = true;
    this.#held = undefined;
    this.#clearTimers();
    this.#unwatch?.();
    if (this.#watchers.delete(this)) this.#service.tally(WATCHERS_KEY, -1);
    if (this.#opts.verbose) this.#opts.log(`disconnected ${describeClient(this.#client)}`, "debug");
    this.#closed.resolve();
  }

  /** Bytes from the peer. */
  onData(chunk: Uint8Array): void {
    if (this.#ended) return;
    this.#lastByte = this.#opts.clock.now();
    this.#clearFrameTimer();
    const frames = this.#framer.push(chunk);
    if (frames.length > 0) this.#answer(frames);
    this.#armFrameTimerIfPending();
  }

  /** The peer read some replies: answer what was held back, then read again. */
  onDrain(): void {
    const waiters = this.#drainWaiters.splice(0);
    for (const w of waiters) w();
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
  async onEnd(): Promise<void> {
    if (this.#work) await this.#work;
    if (this.#held) {
      // Not reading its replies and done sending: nothing more will be read.
      await new Promise<void>((r) => {
        const check = () => (!this.#held || this.#ended) ? r() : this.#drainWaiters.push(check);
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
    this.#socket.end("", 0); // FIN after the replies; the close follows
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
        // The replies so far go first: a watcher's EVENT lines, written as
        // the LED changes, must not overtake the replies to earlier requests.
        if (text) this.#socket.write(text);
        this.#work = this.#answerSlowly(o, rest).finally(() => {
          this.#work = undefined;
          if (!this.#ended) this.onDrain();
        });
        return;
      }
      text += o.reply + "\n";
      if (o.close) return this.#closeWith(text);
      if (o.watch) text = this.#watch(text);
    }
    this.#send(text);
  }

  /**
   * Answers `first`, then `rest`, in order. What is computed goes out in
   * one write, except before each wait for the LED: then what came before
   * is written first, so that the EVENT a change sends a watcher comes
   * after the replies to earlier requests and just before its own `OK`.
   */
  async #answerSlowly(first: Promise<Outcome>, rest: Frame[]): Promise<void> {
    let text = "";
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
      const next = this.#outcome(rest[i]);
      if (next instanceof Promise) {
        if (text) this.#socket.write(text);
        text = "";
        o = await next;
      } else {
        o = next;
      }
    }
    if (text) this.#socket.write(text);
  }

  #outcome(frame: Frame): Outcome | Promise<Outcome> {
    if (frame.kind === "too-long") {
      const o = errOutcome("line-too-long", `line exceeds ${MAX_LINE} bytes; closing`, true);
      countOutcome(this.#service, "tcp", undefined, o);
      return o;
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
      this.#opts.refusals?.refused("auth-limited", this.#client.address, `${wait} s left`);
    } else {
      outcome = execute(cmd, this.#service, this.#client, this.#opts.token);
      if (cmd.verb === "auth" && this.#opts.token !== undefined && !this.#client.authed) {
        limiter.fail(this.#client.address, "tcp");
      } else if (cmd.verb !== "auth" && !(outcome instanceof Promise) && outcome.code === "auth") {
        this.#opts.refusals?.refused("no-token", this.#client.address);
      }
    }
    // A watch is counted once #watch knows whether it is taken (or busy).
    if (outcome instanceof Promise || !outcome.watch) {
      countOutcome(this.#service, "tcp", cmd, outcome);
    }
    if (this.#opts.verbose) {
      const shown = cmd.verb === "error" ? "(bad request)" : cmd.verb;
      const log = (o: Outcome) =>
        this.#opts.log(`${describeClient(this.#client)}: ${shown} → ${o.reply}`, "debug");
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
    if (this.#unwatch) {
      this.#service.tally(requestKey("tcp", "watch", "ok"));
      return text;
    }
    if (this.#watchers.size >= this.#opts.maxWatchers) {
      this.#service.tally(requestKey("tcp", "watch", "busy"));
      const ok = text.lastIndexOf("OK watching");
      return text.slice(0, ok) +
        err(
          "busy",
          `server has ${this.#opts.maxWatchers} watchers (its limit); try again later`,
        ) + "\n";
    }
    this.#watchers.add(this);
    this.#service.tally(requestKey("tcp", "watch", "ok"));
    this.#service.tally(WATCHERS_KEY);
    this.#socket.keepAlive();
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
    this.#socket.end(text, LINGER_MS);
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
    if (verbose) log(`idle timeout for ${describeClient(this.#client)}`, "debug");
    if (this.#work || this.#held || this.#socket.writableLength > 0) {
      // Stuck: waiting on the LED or on a peer that does not read. Drop it.
      this.abort();
      return;
    }
    this.#service.tally(errorKey("idle-timeout"));
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
    if (this.#socket.closed) return;
    this.#ended = true;
    this.#held = undefined;
    this.#clearTimers();
    this.#socket.end("", ABORT_LINGER_MS);
  }
}
