/**
 * Raspberry Pi GPIO backend: the Linux GPIO character device (uAPI v2)
 * through Deno FFI into libc, with no helper program, no sysfs and no native
 * addon. Needs only `--allow-ffi`.
 *
 * `gpio:<pin>[?chip=<label|path>&active-low]`: the pin is `BOARD<n>`,
 * `GPIO<n>` or `BCM<n>`; the chip is found by label (`pinctrl-bcm2835`,
 * `pinctrl-bcm2711`, `pinctrl-rp1`) unless given, the line by name.
 *
 * @module
 */
import type { OutputLine } from "../types.ts";
import { boardModel, isRaspberryPiModel } from "./board.ts";
import { findChip, findLine } from "./chip.ts";
import { toHalError } from "./errors.ts";
import { closeFd, O_RDWR, openFd } from "./libc.ts";
import { GpioOutputLine, requestOutput } from "./line.ts";
import { parsePin, pinLabel } from "./pins.ts";
import { type GpioSystem, REAL_SYSTEM } from "./system.ts";

export { GpioOutputLine, REAL_SYSTEM };
export type { GpioSystem, OutputLine };

/**
 * Opens the GPIO line named by `pin` (`BOARD8`, `GPIO14`, `BCM14`) as an
 * output with consumer `ledctl`, LED off. `params` may hold `chip` (label,
 * `gpiochipN` or path) and `active-low` (a flag: bare, or any value but
 * `false`). `sys` is where to look (tests pass a fake). Rejects with a
 * {@linkcode HalError} whose message says what to do.
 *
 * @example
 * ```ts
 * import { openGpioLine } from "./mod.ts";
 * await using line = await openGpioLine("BOARD11", new URLSearchParams("chip=pinctrl-bcm2835"));
 * line.set(true);
 * ```
 */
export function openGpioLine(
  pin: string,
  params: URLSearchParams,
  sys: GpioSystem = REAL_SYSTEM,
): Promise<OutputLine> {
  try {
    return Promise.resolve(openGpioOutput(pin, params, sys));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * The synchronous core of {@linkcode openGpioLine}, returning the concrete
 * line (which can also read its value back with `get()`).
 *
 * @example
 * ```ts
 * import { openGpioOutput } from "./mod.ts";
 * await using line = openGpioOutput("GPIO17", new URLSearchParams());
 * line.set(true);
 * console.log(line.get()); // true
 * ```
 */
export function openGpioOutput(
  pin: string,
  params: URLSearchParams,
  sys: GpioSystem = REAL_SYSTEM,
): GpioOutputLine {
  const what = `gpio:${pin}`;
  const parsed = parsePin(pin);
  const activeLow = params.has("active-low") && params.get("active-low") !== "false";
  try {
    const chip = findChip(params.get("chip") ?? undefined, what, sys);
    const fd = openFd(chip.path, O_RDWR);
    try {
      const line = findLine(fd, chip, parsed, what, sys);
      const description = `gpio:${chip.path} ${pinLabel(parsed)}${activeLow ? " active-low" : ""}`;
      return requestOutput({
        chipFd: fd,
        offset: line.offset,
        activeLow,
        description,
        system: sys,
      });
    } finally {
      closeFd(fd);
    }
  } catch (e) {
    throw toHalError(e, what);
  }
}

/**
 * True when running on a Raspberry Pi: reads `/proc/device-tree/model`
 * (under `sys.deviceTree`) through libc (only `--allow-ffi` needed); false
 * on any error.
 *
 * @example
 * ```ts
 * import { isRaspberryPi } from "./mod.ts";
 * const defaultLed = isRaspberryPi() ? "gpio:BOARD8" : "mock";
 * ```
 */
export function isRaspberryPi(sys: GpioSystem = REAL_SYSTEM): boolean {
  try {
    return isRaspberryPiModel(boardModel(sys.deviceTree));
  } catch {
    return false;
  }
}
