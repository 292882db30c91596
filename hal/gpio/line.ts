/**
 * One GPIO line requested as an output: the {@linkcode OutputLine} the
 * software blinker drives. It holds the line fd the kernel returned; closing
 * that fd releases the line.
 *
 * @module
 */
import { HalError, type OutputLine } from "../types.ts";
import { toHalError } from "./errors.ts";
import { closeFd, Errno, SysError } from "./libc.ts";
import { readLineInfo } from "./chip.ts";
import { type GpioSystem, type Ioctl, REAL_SYSTEM } from "./system.ts";
import {
  decodeLineValue,
  encodeLineValues,
  encodeOutputRequest,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL,
  LINE_VALUES_SIZE,
  requestFd,
} from "./uapi.ts";

/** The consumer label other programs see on a line ledctl holds. */
export const CONSUMER = "ledctl";

/** What {@linkcode requestOutput} needs to know. */
export interface OutputLineOptions {
  /** An open chip fd (it may be closed once the line is requested). */
  chipFd: number;
  /** Line offset on that chip. */
  offset: number;
  /** Invert the line in the kernel (LED between the pin and 3V3). */
  activeLow: boolean;
  /** For messages and `description`, e.g. `gpio:/dev/gpiochip0 GPIO17 (BOARD11)`. */
  description: string;
  /** Where the ioctls go. Default: {@linkcode REAL_SYSTEM}. */
  system?: GpioSystem;
}

/**
 * A requested output line. `set` and `get` are synchronous ioctls;
 * disposing drives the LED off, then closes the line fd (releasing it).
 *
 * @example
 * ```ts
 * import { requestOutput } from "./line.ts";
 * import { closeFd, openFd, O_RDWR } from "./libc.ts";
 * const chipFd = openFd("/dev/gpiochip0", O_RDWR);
 * await using line = requestOutput({ chipFd, offset: 17, activeLow: false, description: "GPIO17" });
 * closeFd(chipFd);
 * line.set(true);
 * console.log(line.get()); // true
 * ```
 */
export class GpioOutputLine implements OutputLine {
  /** e.g. `gpio:/dev/gpiochip0 GPIO17 (BOARD11)`. */
  readonly description: string;
  #fd: number;
  readonly #ioctl: Ioctl;

  /** Wraps an already requested line fd; `ioctl` defaults to libc's. */
  constructor(fd: number, description: string, ioctl: Ioctl = REAL_SYSTEM.ioctl) {
    this.#fd = fd;
    this.description = description;
    this.#ioctl = ioctl;
  }

  /** The line fd, or -1 once released. */
  get fd(): number {
    return this.#fd;
  }

  /** Drives the LED: `true` = on (the kernel applies active-low). Throws {@linkcode HalError}. */
  set(high: boolean): void {
    if (this.#fd < 0) throw new HalError("io", `${this.description}: the line was released`);
    try {
      this.#ioctl(
        this.#fd,
        GPIO_V2_LINE_SET_VALUES_IOCTL,
        encodeLineValues(high),
        "GPIO_V2_LINE_SET_VALUES_IOCTL",
      );
    } catch (e) {
      throw toHalError(e, `${this.description}: cannot set the line`);
    }
  }

  /** Reads the line's logical value back from the kernel (GET_VALUES). */
  get(): boolean {
    if (this.#fd < 0) throw new HalError("io", `${this.description}: the line was released`);
    const buf = encodeLineValues(false);
    try {
      this.#ioctl(this.#fd, GPIO_V2_LINE_GET_VALUES_IOCTL, buf, "GPIO_V2_LINE_GET_VALUES_IOCTL");
    } catch (e) {
      throw toHalError(e, `${this.description}: cannot read the line`);
    }
    return decodeLineValue(buf.subarray(0, LINE_VALUES_SIZE));
  }

  /** Drives the LED off, then releases the line. Safe to call twice. */
  [Symbol.asyncDispose](): Promise<void> {
    const fd = this.#fd;
    if (fd < 0) return Promise.resolve();
    let failure: HalError | undefined;
    try {
      this.#ioctl(
        fd,
        GPIO_V2_LINE_SET_VALUES_IOCTL,
        encodeLineValues(false),
        "GPIO_V2_LINE_SET_VALUES_IOCTL",
      );
    } catch (e) {
      failure = toHalError(e, `${this.description}: cannot turn the LED off`);
    }
    this.#fd = -1;
    try {
      closeFd(fd);
    } catch (e) {
      failure ??= toHalError(e, `${this.description}: cannot release the line`);
    }
    return failure ? Promise.reject(failure) : Promise.resolve();
  }
}

/**
 * Requests line `offset` of an open chip as an output, starting off, with
 * consumer `ledctl`. A busy line gives a `busy` {@linkcode HalError} naming
 * the program that holds it (from line info).
 *
 * @example
 * ```ts
 * import { requestOutput } from "./line.ts";
 * import { openFd, O_RDWR } from "./libc.ts";
 * const line = requestOutput({ chipFd: openFd("/dev/gpiochip0", O_RDWR), offset: 17, activeLow: false, description: "GPIO17" });
 * ```
 */
export function requestOutput(opts: OutputLineOptions): GpioOutputLine {
  const sys = opts.system ?? REAL_SYSTEM;
  const req = encodeOutputRequest({
    offset: opts.offset,
    consumer: CONSUMER,
    activeLow: opts.activeLow,
    initial: false,
  });
  try {
    sys.ioctl(opts.chipFd, GPIO_V2_GET_LINE_IOCTL, req, "GPIO_V2_GET_LINE_IOCTL");
  } catch (e) {
    if (e instanceof SysError && e.errno === Errno.EBUSY) throw busyError(opts, e, sys);
    throw toHalError(e, `${opts.description}: cannot request the line`);
  }
  return new GpioOutputLine(requestFd(req), opts.description, sys.ioctl);
}

function busyError(opts: OutputLineOptions, cause: SysError, sys: GpioSystem): HalError {
  let consumer = "";
  try {
    consumer = readLineInfo(opts.chipFd, opts.offset, sys).consumer;
  } catch {
    // keep the generic message
  }
  const who = consumer
    ? `"${consumer}"`
    : "another program or a kernel driver (no consumer name given)";
  const advice = consumer === CONSUMER
    ? "another ledctl is running: stop it (e.g. systemctl stop ledctl) or pick another pin"
    : "stop that program, or remove the overlay that claims the pin, or pick another pin";
  return new HalError("busy", `${opts.description} is in use by ${who}: ${advice}`, { cause });
}
