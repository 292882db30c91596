/**
 * The software blinker: turns one {@linkcode OutputLine} into a
 * {@linkcode LedDriver}. Blink edges are scheduled from a fixed origin on a
 * monotonic clock — edge k at `t0 + k / (2·hz)` — so timer lateness never
 * accumulates into drift.
 *
 * @module
 */
import { type Clock, realClock, type TimerId } from "./clock.ts";
import { HalError, type LedDriver, type OutputLine } from "./types.ts";
import type { LedState } from "../core/state.ts";

/** Options for {@linkcode SoftwareBlinker}. */
export interface BlinkerOptions {
  /** Time source and timers. Default: {@linkcode realClock}. */
  clock?: Clock;
  /**
   * Called when the line fails while blinking (from a timer, where no caller
   * can catch it). The blinker has stopped; the LED is in an unknown state.
   * Default: log to stderr.
   */
  onFault?: (error: HalError) => void;
}

/**
 * A LED driver for pin-level backends.
 *
 * @example
 * ```ts
 * import { SoftwareBlinker } from "./blinker.ts";
 * import { MockLine } from "./mock.ts";
 * await using led = new SoftwareBlinker(new MockLine());
 * await led.apply({ mode: "blink", hz: 2 }); // edges every 250 ms
 * ```
 */
export class SoftwareBlinker implements LedDriver {
  readonly #line: OutputLine;
  readonly #clock: Clock;
  readonly #onFault: (error: HalError) => void;
  #timer: TimerId | undefined;
  #t0 = 0;
  #k = 0;
  #hz = 0;
  #disposed = false;

  /** Drives `line`; it is turned off at once. */
  constructor(line: OutputLine, options: BlinkerOptions = {}) {
    this.#line = line;
    this.#clock = options.clock ?? realClock;
    this.#onFault = options.onFault ??
      ((e) => console.error(`ledctl: LED fault while blinking: ${e.message}`));
    line.set(false);
  }

  /** The wrapped line's description. */
  get description(): string {
    return this.#line.description;
  }

  /** Sets the state; a blink starts lit, at once, from a new origin. */
  apply(state: LedState): Promise<void> {
    if (this.#disposed) {
      return Promise.reject(new HalError("unavailable", "the LED was released; restart ledctl"));
    }
    this.#stop();
    try {
      if (state.mode === "blink") {
        if (!(state.hz > 0 && Number.isFinite(state.hz))) {
          throw new RangeError(`blink needs a finite frequency > 0, got ${state.hz}`);
        }
        this.#hz = state.hz;
        this.#t0 = this.#clock.now();
        this.#k = 0;
        this.#line.set(true);
        this.#schedule();
      } else {
        this.#line.set(state.mode === "on");
      }
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  /** Time of edge k, in clock ms. Computed from the origin each time: no drift. */
  #edgeTime(k: number): number {
    return this.#t0 + (k * 500) / this.#hz;
  }

  #schedule(): void {
    const due = this.#edgeTime(this.#k + 1);
    this.#timer = this.#clock.setTimeout(() => this.#tick(), due - this.#clock.now());
  }

  #tick(): void {
    this.#timer = undefined;
    // Late by more than an edge (a stalled event loop)? Skip to the edge that
    // is due now instead of replaying the missed ones in a burst.
    const now = this.#clock.now();
    const behind = Math.floor(((now - this.#t0) * this.#hz) / 500);
    this.#k = Math.max(this.#k + 1, behind);
    try {
      this.#line.set(this.#k % 2 === 0);
    } catch (e) {
      this.#onFault(
        e instanceof HalError ? e : new HalError("io", String(e), { cause: e }),
      );
      return;
    }
    this.#schedule();
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops blinking, turns the LED off and releases the line. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stop();
    try {
      this.#line.set(false);
    } finally {
      await this.#line[Symbol.asyncDispose]();
    }
  }
}
