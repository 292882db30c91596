/**
 * The board link: a {@linkcode LedDriver} that talks wire protocol v1 (the
 * `led` subset) to the STM32 firmware over any {@linkcode Port}, and keeps
 * the board in the last state asked for, whatever the link does.
 *
 * - One command, one reply, with a timeout. `ERR` from the board rejects
 *   `apply` with a {@linkcode HalError}; a timeout, garbage or a closed
 *   stream means the link is lost.
 * - On (re)connection a sync line with a fresh tag (`sync-3f9a1c`, which the
 *   board answers `ERR unknown-command "sync-3f9a1c" …`) skips any stale
 *   replies still in the pipe, then the wanted state is applied.
 * - A heartbeat (`status`) every few seconds; a board that reports another
 *   state than the wanted one (it was reset) gets the wanted one again.
 * - Link lost: `apply` still resolves and remembers the state, `note` says
 *   so, and reconnection is tried with exponential backoff and jitter.
 * - Log lines: `connected`, `disconnected: <why>`, `retrying in N s`, and
 *   `still down: <why>` when a reconnection fails for a new reason.
 *
 * Time (timeouts, heartbeat, backoff) comes from an injected {@linkcode Clock}.
 *
 * @module
 */
import { type Clock, realClock, type TimerId } from "../clock.ts";
import { parseReply } from "../../protocol/reply.ts";
import { HalError, type LedDriver, type LinkStatus } from "../types.ts";
import { formatHz, formatState, LED_OFF, type LedState, sameState } from "../../core/state.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { LineChannel } from "./lines.ts";
import type { Connector } from "./port.ts";
import { quote, randomTag, syncBoard } from "./sync.ts";

/** The `note` while the link is down. */
export const LINK_DOWN_NOTE = "board link down; will apply on reconnect";

/** Options for {@linkcode BoardLink.open}. */
export interface LinkOptions {
  /** The link as the user named it, e.g. `serial:/dev/ttyACM0`. */
  name: string;
  /** Opens a fresh byte stream to the board. */
  connect: Connector;
  /** Time source for timeouts, heartbeat and backoff. Default: the real clock. */
  clock?: Clock;
  /** Log sink. Default: stderr. */
  log?: (line: string) => void;
  /** How long the board has to answer one command, ms. Default 2000. */
  replyTimeoutMs?: number;
  /** Pause between heartbeats, ms. Default 3000 (the firmware drops a client silent for 10 s). */
  heartbeatMs?: number;
  /** Reconnection waits. Default 0.5 s doubling to 10 s, ±20 %. */
  backoff?: BackoffOptions;
  /** Makes the sync tag. Default: `sync-` and 6 random hex digits. */
  syncTag?: () => string;
}

/** The board answered `ERR …`: the link is fine, the command was refused. */
class Refusal extends HalError {}

/**
 * The protocol command that puts the board in `state`.
 *
 * @example
 * ```ts
 * import { commandFor } from "./link.ts";
 * commandFor({ mode: "blink", hz: 2.5 }); // "blink 2.5"
 * ```
 */
export function commandFor(state: LedState): string {
  return state.mode === "blink" ? `blink ${formatHz(state.hz)}` : state.mode;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A board reached over a serial line or TCP.
 *
 * @example
 * ```ts
 * import { BoardLink } from "./link.ts";
 * import { connectTcp } from "./tcp.ts";
 * await using led = await BoardLink.open({
 *   name: "tcp:192.168.1.50:7000",
 *   connect: () => connectTcp("192.168.1.50", 7000, 3000),
 * });
 * await led.apply({ mode: "blink", hz: 3 }); // the board blinks at 3 Hz
 * led.note; // undefined while the link is up
 * ```
 */
export class BoardLink implements LedDriver {
  /** `serial:/dev/ttyACM0`, `tcp:192.168.1.50:7000`. */
  readonly description: string;
  readonly #connect: Connector;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #replyMs: number;
  readonly #heartbeatMs: number;
  readonly #backoff: Backoff;
  readonly #syncTag: () => string;
  #channel: LineChannel | undefined;
  #wanted: LedState = LED_OFF;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: TimerId | undefined;
  #attempt: Promise<void> | undefined;
  #closed = false;
  /** The last reconnection failure logged, so a repeat is not logged again. */
  #lastFailure: string | undefined;
  /** Why the link is down: the loss, then the last failed reconnection. */
  #downReason = "";
  #reconnects = 0;

  private constructor(options: LinkOptions) {
    this.description = options.name;
    this.#connect = options.connect;
    this.#clock = options.clock ?? realClock;
    this.#log = options.log ?? ((l) => console.error(l));
    this.#replyMs = options.replyTimeoutMs ?? 2000;
    this.#heartbeatMs = options.heartbeatMs ?? 3000;
    this.#backoff = new Backoff(options.backoff);
    this.#syncTag = options.syncTag ?? randomTag;
  }

  /**
   * Connects, checks that the board speaks the protocol and turns its LED
   * off (the server starts from off). Rejects with {@linkcode HalError} when
   * the board cannot be reached (`unavailable`, `permission`, `busy`),
   * does not answer (`timeout`) or answers garbage (`io`).
   */
  static async open(options: LinkOptions): Promise<BoardLink> {
    const link = new BoardLink(options);
    const ch = await link.#establish();
    try {
      link.#install(ch);
    } catch (e) {
      await ch.close();
      throw e;
    }
    return link;
  }

  /** True while the link is up. */
  get connected(): boolean {
    return this.#channel !== undefined;
  }

  /** {@linkcode LINK_DOWN_NOTE} while the link is down, else `undefined`. */
  get note(): string | undefined {
    return this.#channel || this.#closed ? undefined : LINK_DOWN_NOTE;
  }

  /**
   * The link for `/healthz` and `/metrics`: up or down (and why), and how
   * many times it came back after a loss.
   */
  get link(): LinkStatus {
    if (this.#channel) return { up: true, reconnects: this.#reconnects };
    const reason = this.#closed ? "the board link is closed" : this.#downReason;
    return { up: false, reconnects: this.#reconnects, reason };
  }

  /** The state the board is (or will be, once back) in. */
  get wanted(): LedState {
    return this.#wanted;
  }

  /**
   * Puts the board in `state`. Link up: resolves once the board said OK,
   * rejects with {@linkcode HalError} if it said ERR (the previous state is
   * kept). Link down, or lost during the command: resolves at once and the
   * state is applied on reconnection ({@linkcode BoardLink.note} says so).
   */
  apply(state: LedState): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new HalError("unavailable", "the board link is closed"));
    }
    const previous = this.#wanted;
    this.#wanted = state;
    return this.#exclusive(async () => {
      const ch = this.#channel;
      if (!ch || this.#wanted !== state) return;
      try {
        await this.#set(ch, state);
      } catch (e) {
        if (e instanceof Refusal) {
          if (this.#wanted === state) this.#wanted = previous;
          throw new HalError(e.kind, e.message);
        }
        this.#lost(ch, (e as Error).message);
      }
    });
  }

  /**
   * Turns the board's LED off (if the link is up: a released LED should not
   * keep blinking), stops heartbeat and reconnection, and closes the link.
   * Idempotent.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    await this.#attempt;
    await this.#queue;
    const ch = this.#channel;
    this.#channel = undefined;
    if (ch) {
      try {
        await this.#set(ch, LED_OFF);
      } catch (e) {
        this.#log(`board ${this.description}: could not turn the LED off: ${(e as Error).message}`);
      }
    } else {
      this.#log(`board ${this.description}: link down at exit; the board's LED stays as it is`);
    }
    await ch?.close();
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => {});
    return p;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One command, one reply: the reply's text after `OK`. */
  async #request(ch: LineChannel, line: string): Promise<string> {
    for (const stale of ch.drain()) {
      this.#log(`board ${this.description}: unasked: ${quote(stale)}`);
    }
    await ch.send(line);
    let reply: string;
    try {
      reply = await ch.next(this.#replyMs);
    } catch (e) {
      if (e instanceof HalError && e.kind === "timeout") {
        throw new HalError("timeout", `no reply to "${line}" within ${this.#replyMs} ms`);
      }
      throw e;
    }
    const r = parseReply(reply);
    if (r.ok) return r.text;
    if (r.code === "bad-reply") {
      throw new HalError("io", `the board answered garbage to "${line}": ${quote(reply)}`);
    }
    throw new Refusal(r.code === "busy" ? "busy" : "io", `the board refused "${line}": ${reply}`);
  }

  async #set(ch: LineChannel, state: LedState): Promise<void> {
    await this.#request(ch, commandFor(state));
  }

  /** Connects, syncs and applies the wanted state; the channel is not installed yet. */
  async #establish(): Promise<LineChannel> {
    const port = await this.#connect();
    let ch: LineChannel | undefined = undefined;
    ch = new LineChannel(port, {
      clock: this.#clock,
      onEnd: (reason) => queueMicrotask(() => this.#lost(ch!, reason)),
    });
    try {
      await syncBoard(ch, {
        name: this.description,
        timeoutMs: this.#replyMs,
        clock: this.#clock,
        tag: this.#syncTag(),
      });
      for (;;) {
        const state = this.#wanted;
        try {
          await this.#set(ch, state);
        } catch (e) {
          if (!(e instanceof Refusal)) throw e;
          this.#log(`board ${this.description}: ${e.message}`);
        }
        if (sameState(state, this.#wanted)) break;
      }
      if (ch.ended !== undefined) throw new HalError("io", ch.ended);
      if (this.#closed) throw new HalError("unavailable", "the board link is closed");
    } catch (e) {
      await ch.close();
      throw e;
    }
    return ch;
  }

  /** Makes `ch` the link; throws if it ended while being set up. */
  #install(ch: LineChannel): void {
    if (ch.ended !== undefined) throw new HalError("io", ch.ended);
    this.#channel = ch;
    this.#backoff.reset();
    this.#lastFailure = undefined;
    this.#log(`board ${this.description}: connected; LED ${formatState(this.#wanted)}`);
    this.#scheduleHeartbeat();
  }

  #scheduleHeartbeat(): void {
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#beat();
    }, this.#heartbeatMs);
  }

  async #beat(): Promise<void> {
    await this.#exclusive(async () => {
      const ch = this.#channel;
      if (!ch) return;
      try {
        const text = await this.#request(ch, "status");
        const want = formatState(this.#wanted);
        if (text !== want) {
          this.#log(
            `board ${this.description}: reports "${text}", expected "${want}": applying it again`,
          );
          await this.#set(ch, this.#wanted);
        }
      } catch (e) {
        if (e instanceof Refusal) this.#log(`board ${this.description}: ${e.message}`);
        else this.#lost(ch, `heartbeat: ${(e as Error).message}`);
      }
    });
    if (this.#channel && !this.#closed && this.#timer === undefined) this.#scheduleHeartbeat();
  }

  /** The installed channel `ch` failed: note it, close it, start reconnecting. */
  #lost(ch: LineChannel, reason: string): void {
    if (this.#closed || this.#channel !== ch) return;
    this.#channel = undefined;
    this.#clearTimer();
    this.#downReason = reason;
    this.#log(`board ${this.description}: disconnected: ${reason}`);
    ch.close().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const ms = this.#backoff.next();
    this.#log(`board ${this.description}: retrying in ${seconds(ms)}`);
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#attempt = this.#reconnect();
    }, ms);
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    try {
      const ch = await this.#establish();
      if (this.#closed) {
        await ch.close();
        return;
      }
      try {
        this.#install(ch);
      } catch (e) {
        await ch.close();
        throw e;
      }
      this.#reconnects++;
    } catch (e) {
      if (this.#closed) return;
      const why = (e as Error).message;
      this.#downReason = why;
      if (why !== this.#lastFailure) this.#log(`board ${this.description}: still down: ${why}`);
      this.#lastFailure = why;
      this.#scheduleReconnect();
    }
  }
}
