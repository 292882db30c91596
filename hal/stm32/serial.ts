/**
 * The serial side of the board link: `serial:<device>?baud=N` parsed, and
 * the device opened as a {@linkcode Port} (raw 8N1 through libc, see
 * {@linkcode Tty}).
 *
 * @module
 */
import { BAUD_CONSTANTS } from "./libc.ts";
import type { Port } from "./port.ts";
import { Tty } from "./tty.ts";

/** The firmware's UART speed. */
export const DEFAULT_BAUD = 115200;

/**
 * The baud rate from `?baud=N` (default 115200). Throws `TypeError` naming
 * the supported rates.
 *
 * @example
 * ```ts
 * import { parseBaud } from "./serial.ts";
 * parseBaud(new URLSearchParams("baud=9600")); // 9600
 * parseBaud(new URLSearchParams(""));          // 115200
 * ```
 */
export function parseBaud(params: URLSearchParams): number {
  const raw = params.get("baud");
  if (raw === null) return DEFAULT_BAUD;
  const baud = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!BAUD_CONSTANTS.has(baud)) {
    throw new TypeError(
      `--led serial: unsupported baud=${raw}: use one of ${
        [...BAUD_CONSTANTS.keys()].join(", ")
      } ` +
        `(the firmware uses ${DEFAULT_BAUD})`,
    );
  }
  return baud;
}

/**
 * Opens the serial device; rejects with {@linkcode HalError} as
 * {@linkcode Tty.open} does.
 *
 * @example
 * ```ts
 * import { openSerial } from "./serial.ts";
 * const port = await openSerial("/dev/ttyACM0", 115200);
 * await port.close();
 * ```
 */
export function openSerial(path: string, baud: number): Promise<Port> {
  try {
    return Promise.resolve(Tty.open(path, baud));
  } catch (e) {
    return Promise.reject(e);
  }
}
