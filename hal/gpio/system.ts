/**
 * Where the GPIO backend looks and how it talks to GPIO devices: the
 * directory of the `gpiochipN` nodes, the device-tree root, and the ioctl
 * that reaches chips and lines. The real machine is
 * {@linkcode REAL_SYSTEM}; tests pass a fake one (see `fake_gpio.ts`), so
 * that chip discovery, line lookup and the line request run without a GPIO
 * chip. (The backend reads nothing under `/sys`.)
 *
 * @module
 */
import { ioctl } from "./libc.ts";

/** `ioctl(fd, request, arg)`, throwing a `SysError` that names `name`. */
export type Ioctl = (
  fd: number,
  request: number,
  arg: Uint8Array<ArrayBuffer>,
  name: string,
) => void;

/** The filesystem roots and the ioctl the backend uses. */
export interface GpioSystem {
  /** Directory holding the `gpiochipN` nodes. Real: `/dev`. */
  readonly dev: string;
  /** Device-tree root; the board model is `<deviceTree>/model`. Real: `/proc/device-tree`. */
  readonly deviceTree: string;
  /** ioctl on chip and line fds. Real: libc's, through FFI. */
  readonly ioctl: Ioctl;
}

/**
 * This machine: `/dev`, `/proc/device-tree` and libc's ioctl.
 *
 * @example
 * ```ts
 * import { REAL_SYSTEM } from "./system.ts";
 * import { listChips } from "./chip.ts";
 * listChips(REAL_SYSTEM); // same as listChips()
 * ```
 */
export const REAL_SYSTEM: GpioSystem = Object.freeze({
  dev: "/dev",
  deviceTree: "/proc/device-tree",
  ioctl,
});
