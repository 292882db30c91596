/**
 * The LED model shared by every backend: the state a client asks for, the
 * driver the server talks to, the single output line a pin-level backend
 * exposes, and the one error type for hardware faults.
 *
 * @module
 */

/** What the LED should do. `hz` is the number of full on/off cycles per second. */
export type LedState =
  | { readonly mode: "off" }
  | { readonly mode: "on" }
  | { readonly mode: "blink"; readonly hz: number };

/** The LED off: the state at start-up and on exit. */
export const LED_OFF: LedState = Object.freeze({ mode: "off" });

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

/** Formats a state the way the wire protocol does: `off`, `on`, `blink 2.5 Hz`. */
export function formatState(state: LedState): string {
  return state.mode === "blink" ? `blink ${formatHz(state.hz)} Hz` : state.mode;
}

/**
 * Formats a frequency with at most 6 significant digits and no trailing
 * zeros, as C's `%g` does (the firmware prints the same text).
 *
 * @example
 * ```ts
 * import { formatHz } from "./types.ts";
 * formatHz(2.5);   // "2.5"
 * formatHz(1 / 3); // "0.333333"
 * ```
 */
export function formatHz(hz: number): string {
  return String(Number(hz.toPrecision(6)));
}

/** True when two states are the same (blink frequencies compared exactly). */
export function sameState(a: LedState, b: LedState): boolean {
  if (a.mode !== b.mode) return false;
  return a.mode !== "blink" || a.hz === (b as { hz: number }).hz;
}
