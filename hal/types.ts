/**
 * What every LED backend implements: the driver the server talks to, the
 * single output line a pin-level backend exposes, and the one error type for
 * hardware faults. The state itself lives in `core/state.ts`.
 *
 * @module
 */
import type { LedState } from "../core/state.ts";

/**
 * A whole LED, as the server sees it. Pin-level backends get one from the
 * software blinker; board backends (STM32) implement it themselves.
 *
 * @example
 * ```ts
 * import { openLed } from "./select.ts";
 * await using led = await openLed("mock");
 * await led.apply({ mode: "blink", hz: 2 });
 * ```
 */
export interface LedDriver extends AsyncDisposable {
  /** Human-readable, e.g. `gpio:/dev/gpiochip0 GPIO14 (BOARD8)`. */
  readonly description: string;
  /** Puts the LED in `state`. Rejects with {@linkcode HalError}. */
  apply(state: LedState): Promise<void>;
  /**
   * A caveat about the LED right now, shown after replies and in `status`,
   * e.g. `board link down; will apply on reconnect`. `undefined` when all
   * is well. Board links set it; pin backends leave it out.
   */
  readonly note?: string;
  /**
   * The link to the board, for drivers that have one (the STM32 board
   * links). Drivers without a link (mock, GPIO) leave it out: their LED
   * is always reachable.
   */
  readonly link?: LinkStatus;
}

/**
 * The state of a driver's link to its board, as `/healthz` and `/metrics`
 * show it.
 *
 * @example
 * ```ts
 * import type { LinkStatus } from "./types.ts";
 * const link: LinkStatus = { up: false, reconnects: 2, reason: "heartbeat: no reply" };
 * console.log(link.up ? "up" : `down: ${link.reason}`);
 * ```
 */
export interface LinkStatus {
  /** True while the board answers. */
  readonly up: boolean;
  /** Times the link came back after being lost, since the driver opened. */
  readonly reconnects: number;
  /** While the link is down: why it went down, or why the last reconnection failed. */
  readonly reason?: string;
}

/**
 * One output pin. `set` is synchronous so the blinker can toggle it from a
 * timer without queuing; a failure throws {@linkcode HalError}. Disposing
 * drives it low (LED off) and releases it.
 */
export interface OutputLine extends AsyncDisposable {
  /** Human-readable description of the line. */
  readonly description: string;
  /** Drives the LED: `true` lights it (active-low is the backend's concern). */
  set(high: boolean): void;
}

/** What kind of hardware fault a {@linkcode HalError} reports. */
export type HalErrorKind =
  | "unavailable"
  | "permission"
  | "busy"
  | "io"
  | "timeout";

/**
 * A hardware fault. The message says what failed and what to do about it.
 *
 * @example
 * ```ts
 * import { HalError } from "./types.ts";
 * const err = new HalError("busy", "GPIO17 is used by \"ledctl\": stop that program first");
 * console.log(err.kind); // "busy"
 * ```
 */
export class HalError extends Error {
  /** The class of fault, for callers that react differently to each. */
  readonly kind: HalErrorKind;
  /** Makes a HalError of `kind`; `options.cause` keeps the underlying error. */
  constructor(kind: HalErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HalError";
    this.kind = kind;
  }
}
