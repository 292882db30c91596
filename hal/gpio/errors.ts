/**
 * Turns a failed libc call ({@linkcode SysError}) into a {@linkcode HalError}
 * of the right kind, with a message that says what to do.
 *
 * @module
 */
import { HalError, type HalErrorKind } from "../types.ts";
import { Errno, SysError } from "./libc.ts";

/**
 * The {@linkcode HalError} kind for an errno: EACCES/EPERM → `permission`,
 * EBUSY → `busy`, ENOENT/ENODEV/ENXIO → `unavailable`, ETIMEDOUT → `timeout`,
 * anything else → `io`.
 *
 * @example
 * ```ts
 * import { kindOfErrno } from "./errors.ts";
 * kindOfErrno(16); // "busy"
 * ```
 */
export function kindOfErrno(errno: number): HalErrorKind {
  switch (errno) {
    case Errno.EACCES:
    case Errno.EPERM:
      return "permission";
    case Errno.EBUSY:
      return "busy";
    case Errno.ENOENT:
    case Errno.ENODEV:
    case Errno.ENXIO:
      return "unavailable";
    case Errno.ETIMEDOUT:
      return "timeout";
    default:
      return "io";
  }
}

/** What a user can do about a permission error on a GPIO chip. */
export const PERMISSION_ADVICE: string =
  "add the user to the gpio group (sudo usermod -aG gpio $USER, then log in again), " +
  'or install a udev rule giving that group the chip: SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660" ' +
  "(see docs/hardware.md)";

/**
 * Wraps a {@linkcode SysError} (anything else is returned as an `io` error)
 * into a {@linkcode HalError} whose message starts with `what` and ends with
 * advice for the kinds that have one (`permission`; `busy` callers give
 * their own, naming the consumer).
 *
 * @example
 * ```ts
 * import { toHalError } from "./errors.ts";
 * import { SysError } from "./libc.ts";
 * const e = toHalError(new SysError("open", "/dev/gpiochip0", 13), "gpio:GPIO17");
 * console.log(e.kind); // "permission"
 * ```
 */
export function toHalError(err: unknown, what: string): HalError {
  if (err instanceof HalError) return err;
  if (err instanceof SysError) {
    const kind = kindOfErrno(err.errno);
    const advice = kind === "permission" ? `: ${PERMISSION_ADVICE}` : "";
    return new HalError(kind, `${what}: ${err.message}${advice}`, { cause: err });
  }
  if (err instanceof Deno.errors.NotCapable) {
    return new HalError(
      "permission",
      `${what}: the GPIO backend calls libc through FFI: run with --allow-ffi`,
      { cause: err },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new HalError("io", `${what}: ${message}`, { cause: err });
}
