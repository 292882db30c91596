/**
 * Rate limit for wrong tokens, per source address, shared by TCP `auth`
 * and HTTP (Bearer header, sign-in form).
 *
 * Rule: an address that sends {@linkcode AuthLimiterOptions.maxFailures}
 * wrong tokens (default 5) within one window (default 60 s, counted from
 * its first wrong token) is refused every token, right or wrong, until the
 * window ends. Logging is aggregated: the first wrong token of a window
 * writes one line; the others are counted, and their number is written
 * with the first one of the next window. The table holds at most
 * {@linkcode AuthLimiterOptions.maxAddresses} addresses (default 10,000);
 * the oldest window goes first when it is full.
 *
 * @module
 */
import { type Clock, realClock } from "../hal/clock.ts";

/** Options for {@linkcode AuthLimiter}. */
export interface AuthLimiterOptions {
  /** Wrong tokens allowed per window and address. Default 5. */
  maxFailures?: number;
  /** Window length in ms. Default 60 000. */
  windowMs?: number;
  /** Most addresses tracked at once. Default 10 000. */
  maxAddresses?: number;
  /** Clock. Default: the real one. */
  clock?: Clock;
  /** Log sink. Default `console.log`. */
  log?: (line: string) => void;
}

interface Window {
  start: number;
  failures: number;
}

/**
 * Counts wrong tokens per address.
 *
 * @example
 * ```ts
 * import { AuthLimiter } from "./auth_limit.ts";
 * const limiter = new AuthLimiter({ maxFailures: 2 });
 * limiter.fail("10.0.0.9", "tcp");
 * limiter.fail("10.0.0.9", "tcp");
 * limiter.retryAfterS("10.0.0.9"); // 60: refused for the rest of the minute
 * ```
 */
export class AuthLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #windows = new Map<string, Window>();

  /** See {@linkcode AuthLimiterOptions} for the defaults. */
  constructor(options: AuthLimiterOptions = {}) {
    this.#max = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#clock = options.clock ?? realClock;
    this.#log = options.log ?? ((l) => console.log(l));
    if (!(Number.isInteger(this.#max) && this.#max >= 1)) {
      throw new RangeError(`maxFailures must be a whole number ≥ 1, got ${this.#max}`);
    }
  }

  /** The current window of `address`, if one is open. */
  #current(address: string): Window | undefined {
    const w = this.#windows.get(address);
    if (w && this.#clock.now() - w.start >= this.#windowMs) {
      if (w.failures <= 1) this.#windows.delete(address); // nothing left to report
      return undefined;
    }
    return w;
  }

  /**
   * Seconds until `address` may try a token again; 0 when it may now.
   */
  retryAfterS(address: string): number {
    const w = this.#current(address);
    if (!w || w.failures < this.#max) return 0;
    return Math.max(1, Math.ceil((w.start + this.#windowMs - this.#clock.now()) / 1000));
  }

  /** Records a wrong token from `address` over `transport` (`tcp`, `web`), for the log. */
  fail(address: string, transport: string): void {
    const now = this.#clock.now();
    let w = this.#current(address);
    if (!w) {
      const old = this.#windows.get(address);
      // The previous window's wrong tokens beyond its first, not yet logged.
      const carried = old ? old.failures - 1 : 0;
      this.#windows.delete(address);
      if (this.#windows.size >= this.#maxAddresses) {
        this.#windows.delete(this.#windows.keys().next().value!);
      }
      w = { start: now, failures: 0 };
      this.#windows.set(address, w);
      const more = carried > 0 ? `; ${carried} more in the minute before` : "";
      this.#log(
        `${transport}: wrong token from ${address}${more} ` +
          `(more in the next ${this.#windowMs / 1000} s are counted, not logged; ` +
          `${this.#max} lock it out until then)`,
      );
    }
    w.failures++;
  }
}
