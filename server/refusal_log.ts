/**
 * Logging refusals (a client above `--max-clients`, a request without a
 * token, a token from a locked-out address) at the default level, bounded
 * so that a flood cannot flood the log.
 *
 * Rule, per kind of refusal: the first refusal of an address in a window
 * (default 60 s, from the kind's first refusal) writes one line; later ones
 * from it are counted. At most {@linkcode RefusalLogOptions.maxAddresses}
 * addresses (default 10) get their own line per window; refusals from
 * others are counted together. When the window ends (or the log is closed),
 * one line gives the counts, if any. So each kind writes at most
 * `maxAddresses + 1` lines a minute, however many refusals there are.
 *
 * @module
 */
import { type Clock, realClock, type TimerId } from "../hal/clock.ts";

/** The kinds of refusal this log knows how to say. */
export type RefusalKind = "busy" | "no-token" | "auth-limited";

/** How each kind is said: its first line, and its count. */
const WORDS: Record<RefusalKind, { one: string; many: string }> = {
  busy: { one: "a client", many: "clients" },
  "no-token": { one: "a request without a token", many: "requests without a token" },
  "auth-limited": {
    one: "a token from a locked-out address",
    many: "tokens from locked-out addresses",
  },
};

/** Options for {@linkcode RefusalLog}. */
export interface RefusalLogOptions {
  /** Window length in ms. Default 60 000. */
  windowMs?: number;
  /** Addresses per kind and window that get a line of their own. Default 10. */
  maxAddresses?: number;
  /** What each line starts with, e.g. `tcp`. Default `tcp`. */
  transport?: string;
  /** Clock for the windows' timers. Default: the real one. */
  clock?: Clock;
  /** Log sink (info level). Default `console.log`. */
  log?: (line: string) => void;
}

interface Window {
  /** Refusals after the first, per address that got a line. */
  readonly counted: Map<string, number>;
  /** Refusals from addresses past the first `maxAddresses`. */
  others: number;
  readonly timer: TimerId;
}

/**
 * Logs refusals, bounded (see the module's rule).
 *
 * @example
 * ```ts
 * import { RefusalLog } from "./refusal_log.ts";
 * const refusals = new RefusalLog({ log: (l) => console.log(l) });
 * refusals.refused("busy", "10.0.0.9", "server has 1000 clients (its limit)");
 * // tcp: refused a client from 10.0.0.9: server has 1000 clients (its limit) (more in …)
 * refusals.refused("busy", "10.0.0.9", "server has 1000 clients (its limit)"); // counted
 * refusals.close(); // tcp: refused 1 more client in the last 60 s: 10.0.0.9 ×1
 * ```
 */
export class RefusalLog {
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #transport: string;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #windows = new Map<RefusalKind, Window>();
  #closed = false;

  /** See {@linkcode RefusalLogOptions} for the defaults. */
  constructor(options: RefusalLogOptions = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10;
    this.#transport = options.transport ?? "tcp";
    this.#clock = options.clock ?? realClock;
    this.#log = options.log ?? ((l) => console.log(l));
    if (!(this.#windowMs > 0 && Number.isFinite(this.#windowMs))) {
      throw new RangeError(`windowMs must be a number of ms > 0, got ${this.#windowMs}`);
    }
    if (!(Number.isInteger(this.#maxAddresses) && this.#maxAddresses >= 0)) {
      throw new RangeError(`maxAddresses must be a whole number ≥ 0, got ${this.#maxAddresses}`);
    }
  }

  /**
   * Records one refusal of `kind` from `address`; `detail` (e.g. `server
   * has 1000 clients (its limit)`) goes on its line when it gets one.
   */
  refused(kind: RefusalKind, address: string, detail?: string): void {
    if (this.#closed) return;
    let w = this.#windows.get(kind);
    if (!w) {
      const timer = this.#clock.setTimeout(() => this.#flush(kind), this.#windowMs);
      w = { counted: new Map(), others: 0, timer };
      this.#windows.set(kind, w);
    }
    const n = w.counted.get(address);
    if (n !== undefined) {
      w.counted.set(address, n + 1);
      return;
    }
    if (w.counted.size >= this.#maxAddresses) {
      w.others++;
      return;
    }
    w.counted.set(address, 0);
    this.#log(
      `${this.#transport}: refused ${WORDS[kind].one} from ${address}${
        detail ? `: ${detail}` : ""
      } (more in the next ${this.#windowMs / 1000} s are counted, not logged)`,
    );
  }

  /** Ends `kind`'s window: one line with its counts, if any. */
  #flush(kind: RefusalKind): void {
    const w = this.#windows.get(kind);
    if (!w) return;
    this.#windows.delete(kind);
    this.#clock.clearTimeout(w.timer);
    const parts = [...w.counted].filter(([, n]) => n > 0).map(([a, n]) => `${a} ×${n}`);
    if (w.others > 0) parts.push(`${w.others} from other addresses`);
    const total = w.others + [...w.counted.values()].reduce((s, n) => s + n, 0);
    if (total === 0) return;
    const words = WORDS[kind];
    const what = total === 1 ? words.many.replace(/^(\w+)s\b/, "$1") : words.many;
    this.#log(
      `${this.#transport}: refused ${total} more ${what} in the last ${this.#windowMs / 1000} s: ${
        parts.join(", ")
      }`,
    );
  }

  /** Writes the counts not written yet and stops the timers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const kind of [...this.#windows.keys()]) this.#flush(kind);
    this.#closed = true;
  }
}
