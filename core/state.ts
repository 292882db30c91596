/**
 * The LED state every part of ledctl shares: what it is, its wire text
 * (`off`, `on`, `blink 2.5 Hz`), and which state a protocol command asks
 * for. One home for each, so the TCP and HTTP servers, the board link and
 * the CLI cannot drift apart.
 *
 * @module
 */
import type { Command } from "../protocol/command.ts";

/** What the LED should do. `hz` is the number of full on/off cycles per second. */
export type LedState =
  | { readonly mode: "off" }
  | { readonly mode: "on" }
  | { readonly mode: "blink"; readonly hz: number };

/** The LED off: the state at start-up and on exit. */
export const LED_OFF: LedState = Object.freeze({ mode: "off" });

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
 * import { formatHz } from "./state.ts";
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

/**
 * The state a protocol command asks for, or undefined for commands that do
 * not change the LED (`status`, `hello`, …).
 *
 * @example
 * ```ts
 * import { stateFor } from "./state.ts";
 * import { parseCommand } from "../protocol/command.ts";
 * stateFor(parseCommand("clignote 2,5")); // { mode: "blink", hz: 2.5 }
 * stateFor(parseCommand("status"));       // undefined
 * ```
 */
export function stateFor(cmd: Command | { verb: string }): LedState | undefined {
  const c = cmd as Command;
  switch (c.verb) {
    case "blink":
      return { mode: "blink", hz: c.hz };
    case "on":
    case "off":
      return { mode: c.verb };
    default:
      return undefined;
  }
}
