/**
 * Exponential backoff with jitter for reconnecting to the board: the wait
 * doubles after each failed attempt up to a ceiling, and each wait is spread
 * by ±jitter so several hosts do not retry in lockstep.
 *
 * @module
 */

/** Options for {@linkcode Backoff}. */
export interface BackoffOptions {
  /** First wait, ms. Default 500. */
  initialMs?: number;
  /** Ceiling before jitter, ms. Default 10 000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Relative spread: a wait is scaled by a factor in [1 − jitter, 1 + jitter]. Default 0.2. */
  jitter?: number;
  /** Uniform random number in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * The waits between reconnection attempts.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const b = new Backoff({ jitter: 0 });
 * b.next(); // 500
 * b.next(); // 1000
 * b.reset();
 * b.next(); // 500
 * ```
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  /** Checks the options; throws `RangeError` for nonsense. */
  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 500;
    this.#max = options.maxMs ?? 10_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
    if (!(this.#initial > 0 && this.#max >= this.#initial && this.#factor >= 1)) {
      throw new RangeError("backoff needs 0 < initialMs <= maxMs and factor >= 1");
    }
    if (!(this.#jitter >= 0 && this.#jitter < 1)) {
      throw new RangeError("backoff jitter must be in [0, 1)");
    }
  }

  /** Failed attempts since the last {@linkcode Backoff.reset}. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The wait before the next attempt, in ms; each call counts one attempt. */
  next(): number {
    const base = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    const spread = 1 - this.#jitter + 2 * this.#jitter * this.#random();
    return Math.round(base * spread);
  }

  /** Back to the first wait (after a successful connection). */
  reset(): void {
    this.#attempt = 0;
  }
}
