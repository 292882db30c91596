/**
 * What board this is, from the device tree, read through libc so that only
 * `--allow-ffi` is needed.
 *
 * @module
 */
import { readSmallFile } from "./libc.ts";
import { REAL_SYSTEM } from "./system.ts";

/**
 * The device-tree model (`<deviceTree>/model`, real root
 * `/proc/device-tree`), e.g. `Raspberry Pi 4 Model B Rev 1.4`, or
 * `undefined` when there is none (not a device-tree machine, no FFI).
 *
 * @example
 * ```ts
 * import { boardModel } from "./board.ts";
 * console.log(boardModel() ?? "not a device-tree board");
 * ```
 */
export function boardModel(deviceTree: string = REAL_SYSTEM.deviceTree): string | undefined {
  try {
    const raw = new TextDecoder().decode(readSmallFile(`${deviceTree}/model`, 4096));
    const model = raw.replace(/\0+$/, "").trim();
    return model || undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the device-tree model names a Raspberry Pi; false on any error.
 *
 * @example
 * ```ts
 * import { isRaspberryPiModel } from "./board.ts";
 * isRaspberryPiModel("Raspberry Pi 5 Model B Rev 1.0"); // true
 * ```
 */
export function isRaspberryPiModel(model: string | undefined): boolean {
  return model !== undefined && model.startsWith("Raspberry Pi");
}

/**
 * True on a Raspberry Pi 5 (its default kernel uses 16 KB pages).
 *
 * @example
 * ```ts
 * import { isPi5Model } from "./board.ts";
 * isPi5Model("Raspberry Pi 5 Model B Rev 1.0"); // true
 * ```
 */
export function isPi5Model(model: string | undefined): boolean {
  return model !== undefined && /^Raspberry Pi (5|500|Compute Module 5)\b/.test(model);
}
