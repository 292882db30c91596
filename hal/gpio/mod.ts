/**
 * Raspberry Pi GPIO backend (Linux GPIO character device, uAPI v2, via FFI).
 * Placeholder until the backend lands: every call reports "unavailable".
 *
 * @module
 */
import { HalError, type OutputLine } from "../types.ts";

/**
 * Opens the GPIO line named by `pin` (`BOARD8`, `GPIO14`, `BCM14`) as an
 * output; `params` may hold `chip` (label or path) and `active-low`.
 */
export function openGpioLine(pin: string, _params: URLSearchParams): Promise<OutputLine> {
  return Promise.reject(new HalError("unavailable", `gpio:${pin}: the GPIO backend is not built yet`));
}

/** True when running on a Raspberry Pi (reads the device-tree model). */
export function isRaspberryPi(): boolean {
  return false;
}
