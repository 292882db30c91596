/**
 * Raspberry Pi pin names, as gpiozero spells them: `BOARD<n>` is the
 * physical pin of the 40-pin header (the seed's numbering), `GPIO<n>` and
 * `BCM<n>` the Broadcom GPIO number, which is the line offset on the Pi's
 * pin controller and, on Raspberry Pi OS, the line's name (`GPIO17`).
 *
 * @module
 */
import { HalError } from "../types.ts";

/** What sits on each pin of the 40-pin header: a BCM GPIO number or a power/ground name. */
export const HEADER: ReadonlyMap<number, number | "3V3" | "5V" | "GND"> = new Map<
  number,
  number | "3V3" | "5V" | "GND"
>([
  [1, "3V3"],
  [2, "5V"],
  [3, 2],
  [4, "5V"],
  [5, 3],
  [6, "GND"],
  [7, 4],
  [8, 14],
  [9, "GND"],
  [10, 15],
  [11, 17],
  [12, 18],
  [13, 27],
  [14, "GND"],
  [15, 22],
  [16, 23],
  [17, "3V3"],
  [18, 24],
  [19, 10],
  [20, "GND"],
  [21, 9],
  [22, 25],
  [23, 11],
  [24, 8],
  [25, "GND"],
  [26, 7],
  [27, 0],
  [28, 1],
  [29, 5],
  [30, "GND"],
  [31, 6],
  [32, 12],
  [33, 13],
  [34, "GND"],
  [35, 19],
  [36, 16],
  [37, 26],
  [38, 20],
  [39, "GND"],
  [40, 21],
]); // deno-fmt-ignore

/** The ground pins of the header, for wiring instructions. */
export const GROUND_PINS: readonly number[] = [...HEADER].filter(([, v]) => v === "GND").map(([k]) => k);

/** A pin resolved to its Broadcom number, with its header pin when it has one. */
export interface Pin {
  /** Broadcom GPIO number: the line offset on the Pi's pin controller. */
  bcm: number;
  /** Physical header pin (1–40). */
  board: number;
  /** Canonical name, `GPIO17`. */
  name: string;
  /** What the user wrote, e.g. `BOARD11`. */
  spelled: string;
}

/** BCM GPIO numbers on the header → physical pin. */
const BOARD_OF_BCM: ReadonlyMap<number, number> = new Map(
  [...HEADER].filter((e): e is [number, number] => typeof e[1] === "number").map((
    [b, g],
  ) => [g, b]),
);

/**
 * One line listing the usable pins, for error messages.
 *
 * @example
 * ```ts
 * import { validPinsText } from "./pins.ts";
 * console.log(validPinsText()); // "BOARD3, BOARD5, … BOARD40 or GPIO0–GPIO27 (also BCM0–BCM27)"
 * ```
 */
export function validPinsText(): string {
  const boards = [...BOARD_OF_BCM.values()].sort((a, b) => a - b).map((b) => `BOARD${b}`);
  return `${boards.join(", ")} or GPIO0–GPIO27 (also BCM0–BCM27)`;
}

function invalid(spelled: string, why: string): HalError {
  return new HalError("unavailable", `gpio:${spelled}: ${why}. Valid pins: ${validPinsText()}`);
}

/**
 * Parses a pin name: `BOARD8`, `GPIO14`, `BCM14` (case-insensitive, a bare
 * number is refused as ambiguous). Power, ground and off-header pins throw a
 * {@linkcode HalError} (kind `unavailable`) listing the valid pins.
 *
 * @example
 * ```ts
 * import { parsePin } from "./pins.ts";
 * parsePin("BOARD8"); // { bcm: 14, board: 8, name: "GPIO14", spelled: "BOARD8" }
 * parsePin("gpio17").board; // 11
 * ```
 */
export function parsePin(spelled: string): Pin {
  const m = /^(BOARD|GPIO|BCM)(\d{1,2})$/i.exec(spelled.trim());
  if (!m) {
    const hint = /^\d+$/.test(spelled.trim())
      ? `a bare number is ambiguous: write BOARD${spelled.trim()} (header pin) or GPIO${spelled.trim()} (Broadcom number)`
      : "not a pin name";
    throw invalid(spelled, hint);
  }
  const kind = m[1].toUpperCase();
  const n = Number(m[2]);
  if (kind === "BOARD") {
    const what = HEADER.get(n);
    if (what === undefined) throw invalid(spelled, `the header has pins 1–40, not ${n}`);
    if (typeof what === "string") {
      throw invalid(
        spelled,
        `header pin ${n} is ${what === "GND" ? "ground" : `${what} power`}, not a GPIO`,
      );
    }
    return { bcm: what, board: n, name: `GPIO${what}`, spelled };
  }
  const board = BOARD_OF_BCM.get(n);
  if (board === undefined) throw invalid(spelled, `GPIO${n} is not on the 40-pin header`);
  return { bcm: n, board, name: `GPIO${n}`, spelled };
}

/**
 * How a pin reads in descriptions: `GPIO14 (BOARD8)`.
 *
 * @example
 * ```ts
 * import { parsePin, pinLabel } from "./pins.ts";
 * pinLabel(parsePin("BOARD8")); // "GPIO14 (BOARD8)"
 * ```
 */
export function pinLabel(pin: Pin): string {
  return `${pin.name} (BOARD${pin.board})`;
}
