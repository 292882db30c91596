/**
 * Injected time. Code whose behaviour depends on time takes a
 * {@linkcode Clock} so tests can run it in fake time ({@linkcode FakeClock}).
 *
 * @module
 */

/** An opaque timer handle. */
export type TimerId = ReturnType<typeof setTimeout> | number;

/** A monotonic clock and its timers. */
export interface Clock {
  /** Milliseconds on a monotonic clock (never jumps with the wall clock). */
  now(): number;
  /** Calls `fn` once `ms` from now; returns a handle for {@linkcode Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a pending timer; unknown handles are ignored. */
  clearTimeout(id: TimerId): void;
}

/**
 * The real clock: `performance.now()` and the runtime's timers.
 *
 * @example
 * ```ts
 * import { realClock } from "./clock.ts";
 * const t0 = realClock.now();
 * realClock.setTimeout(() => console.log(realClock.now() - t0), 10);
 * ```
 */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (id) => clearTimeout(id as number),
};

/**
 * A clock that only moves when told to. Timers fire in time order during
 * {@linkcode FakeClock.advance}, each seeing `now()` equal to its due time.
 *
 * @example
 * ```ts
 * import { FakeClock } from "./clock.ts";
 * const clock = new FakeClock();
 * let fired = 0;
 * clock.setTimeout(() => fired++, 100);
 * clock.advance(99);  // fired === 0
 * clock.advance(1);   // fired === 1
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, { due: number; seq: number; fn: () => void }>();
  #seq = 0;

  /** Starts at `start` ms (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current fake time in ms. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at `now() + ms` (negative counts as 0). */
  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, {
      due: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fn,
    });
    return id;
  }

  /** Cancels a timer. */
  clearTimeout(id: TimerId): void {
    this.#timers.delete(id as number);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms` without firing anything, like an event loop
   * that is stuck; the next {@linkcode FakeClock.advance} fires the overdue
   * timers late, at the current time.
   */
  stall(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`stall() needs ms >= 0, got ${ms}`);
    this.#now += ms;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance() needs ms >= 0, got ${ms}`);
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { due: number; seq: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        const t = entry[1];
        if (t.due > end) continue;
        if (!next || t.due < next[1].due || (t.due === next[1].due && t.seq < next[1].seq)) {
          next = entry;
        }
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].due);
      next[1].fn();
    }
    this.#now = end;
  }
}
