/**
 * A serial device (tty, USB CDC-ACM, pseudo-terminal) opened through libc:
 * `O_RDWR | O_NOCTTY | O_NONBLOCK`, an exclusive `flock`, raw mode and the
 * baud rate via termios. Reads wait in `poll(2)` on a worker thread (a
 * nonblocking FFI call with a short timeout), so the event loop never
 * freezes and a close is noticed within one poll period.
 *
 * @module
 */
import { HalError } from "../types.ts";
import {
  BAUD_CONSTANTS,
  CLOCAL,
  CREAD,
  cString,
  Errno,
  errno,
  libc,
  LOCK_EX,
  LOCK_NB,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SysError,
  TCIOFLUSH,
  TCSANOW,
  TERMIOS_CFLAG,
  TERMIOS_SIZE,
} from "./libc.ts";
import type { Port } from "./port.ts";

/** How long one `poll` waits before checking whether the tty was closed. */
const POLL_MS = 200;

/**
 * Turns an `open`/`tcgetattr` failure on `path` into a {@linkcode HalError}
 * that says what to do.
 *
 * @example
 * ```ts
 * import { openError } from "./tty.ts";
 * openError("/dev/ttyACM0", 13).kind; // "permission"
 * ```
 */
export function openError(path: string, code: number, call = "open"): HalError {
  const cause = new SysError(call, path, code);
  switch (code) {
    case Errno.ENOENT:
    case Errno.ENODEV:
    case Errno.ENXIO:
      return new HalError(
        "unavailable",
        `${path} does not exist: is the board plugged in (ST-LINK USB) and powered? ` +
          `(ls /dev/ttyACM*)`,
        { cause },
      );
    case Errno.EACCES:
    case Errno.EPERM:
      return new HalError(
        "permission",
        `no permission to open ${path}: add yourself to its group ` +
          `(sudo usermod -aG dialout $USER, then log in again)`,
        { cause },
      );
    case Errno.EBUSY:
    case Errno.EAGAIN:
      return new HalError(
        "busy",
        `${path} is in use by another program (another ledctl, a serial console, ModemManager?): ` +
          `stop it first (fuser -v ${path})`,
        { cause },
      );
    case Errno.ENOTTY:
    case Errno.EISDIR:
    case Errno.EINVAL:
      return new HalError("unavailable", `${path} is not a serial port (${cause.message})`, {
        cause,
      });
    default:
      return new HalError("io", `cannot open ${path}: ${cause.message}`, { cause });
  }
}

/**
 * An open serial device. Not safe for two concurrent reads or writes.
 *
 * @example
 * ```ts
 * import { Tty } from "./tty.ts";
 * const tty = Tty.open("/dev/ttyACM0", 115200);
 * await tty.write(new TextEncoder().encode("status\n"));
 * await tty.close();
 * ```
 */
export class Tty implements Port {
  /** The device path. */
  readonly path: string;
  #fd: number;
  #closing = false;
  readonly #polls = new Set<Promise<unknown>>();
  // struct pollfd { int fd; short events, revents; }, one per direction
  readonly #readPoll = new Uint8Array(8);
  readonly #writePoll = new Uint8Array(8);

  private constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
  }

  /**
   * Opens `path` at `baud` (8N1, raw, no flow control). Throws
   * {@linkcode HalError}: `unavailable` (no such device / not a tty),
   * `permission`, `busy` (locked by another program), `io`.
   */
  static open(path: string, baud: number): Tty {
    const speed = BAUD_CONSTANTS.get(baud);
    if (speed === undefined) {
      throw new HalError(
        "unavailable",
        `unsupported baud rate ${baud} for ${path}: use one of ${
          [...BAUD_CONSTANTS.keys()].join(", ")
        }`,
      );
    }
    const c = libc();
    const fd = c.open(cString(path), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw openError(path, errno());
    try {
      if (c.flock(fd, LOCK_EX | LOCK_NB) < 0) throw openError(path, Errno.EBUSY, "flock");
      const tio = new Uint8Array(TERMIOS_SIZE);
      if (c.tcgetattr(fd, tio) < 0) throw openError(path, errno(), "tcgetattr");
      c.cfmakeraw(tio);
      if (c.cfsetspeed(tio, speed) < 0) throw openError(path, errno(), "cfsetspeed");
      const view = new DataView(tio.buffer);
      const cflag = view.getUint32(TERMIOS_CFLAG, true);
      view.setUint32(TERMIOS_CFLAG, cflag | CLOCAL | CREAD, true);
      if (c.tcsetattr(fd, TCSANOW, tio) < 0) throw openError(path, errno(), "tcsetattr");
      c.tcflush(fd, TCIOFLUSH); // stale bytes from before we came
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return new Tty(path, fd);
  }

  /** Waits (≤ POLL_MS) for `events` on a worker thread; returns revents, 0 on timeout. */
  async #poll(pollfd: Uint8Array<ArrayBuffer>, events: number): Promise<number> {
    const view = new DataView(pollfd.buffer);
    view.setInt32(0, this.#fd, true);
    view.setInt16(4, events, true);
    view.setInt16(6, 0, true);
    const p = libc().pollAsync(pollfd, 1n, POLL_MS);
    this.#polls.add(p);
    try {
      const rc = await p;
      if (rc < 0) return 0; // EINTR on the worker thread: try again
      return rc === 0 ? 0 : view.getInt16(6, true);
    } finally {
      this.#polls.delete(p);
    }
  }

  /** Reads what is there, waiting for at least one byte; `null` once closed. */
  async read(buf: Uint8Array): Promise<number | null> {
    while (!this.#closing) {
      const revents = await this.#poll(this.#readPoll, POLLIN);
      if (this.#closing) break;
      if (revents === 0) continue;
      if (revents & POLLNVAL) throw new HalError("io", `${this.path}: the device was closed`);
      const n = Number(libc().read(this.#fd, buf, BigInt(buf.length)));
      if (n > 0) return n;
      if (n === 0) {
        throw new HalError("io", `${this.path} hung up (device unplugged or other end closed)`);
      }
      const e = errno();
      if (e === Errno.EAGAIN || e === Errno.EINTR) {
        if (revents & (POLLHUP | POLLERR)) {
          throw new HalError("io", `${this.path} hung up (device gone or other end closed)`);
        }
        continue;
      }
      throw new HalError(
        "io",
        `${this.path} failed: ${new SysError("read", this.path, e).message} ` +
          `(device unplugged or other end closed)`,
      );
    }
    return null;
  }

  /** Writes all of `data`, waiting while the output queue is full. */
  async write(data: Uint8Array): Promise<void> {
    const bytes = data.slice();
    let off = 0;
    while (off < bytes.length) {
      if (this.#closing) throw new HalError("io", `${this.path} is closed`);
      const rest = bytes.subarray(off);
      const n = Number(libc().write(this.#fd, rest, BigInt(rest.length)));
      if (n > 0) {
        off += n;
        continue;
      }
      const e = errno();
      if (n < 0 && (e === Errno.EAGAIN || e === Errno.EINTR)) {
        const revents = await this.#poll(this.#writePoll, POLLOUT);
        if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
          throw new HalError("io", `${this.path} hung up while writing`);
        }
        continue;
      }
      throw new HalError(
        "io",
        `${this.path} failed: ${new SysError("write", this.path, e).message}`,
      );
    }
  }

  /** Closes the device once pending polls have returned (≤ 200 ms). Idempotent. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#polls.size > 0) await Promise.allSettled([...this.#polls]);
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}
