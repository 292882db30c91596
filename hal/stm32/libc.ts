/**
 * The serial backend's libc constants (poll, termios, flock, baud rates)
 * over the shared FFI binding in `../libc.ts`, whose names are re-exported
 * here: open a tty, set it raw at a baud rate, wait for it without blocking
 * the event loop (`poll` as a nonblocking FFI call on a worker thread).
 *
 * @module
 */

export {
  cString,
  describeErrno,
  Errno,
  errno,
  type Libc,
  libc,
  O_CLOEXEC,
  O_NOCTTY,
  O_NONBLOCK,
  O_RDWR,
  SysError,
} from "../../sys/libc.ts";

/** `poll(2)` event bits. */
export const POLLIN = 0x1;
/** Writable without blocking. */
export const POLLOUT = 0x4;
/** Error on the fd. */
export const POLLERR = 0x8;
/** The other end hung up (e.g. the pty master closed, USB unplugged). */
export const POLLHUP = 0x10;
/** The fd is not open. */
export const POLLNVAL = 0x20;

/** `tcsetattr` action: apply now. */
export const TCSANOW = 0;
/** `tcflush` queue selector: both directions. */
export const TCIOFLUSH = 2;
/** `flock` operations: exclusive, and fail instead of waiting. */
export const LOCK_EX = 2;
/** Fail with EWOULDBLOCK instead of waiting for the lock. */
export const LOCK_NB = 4;

/** glibc's `struct termios` (60 bytes on Linux); a little room to spare. */
export const TERMIOS_SIZE = 64;
/** Offset of `c_cflag` in `struct termios`. */
export const TERMIOS_CFLAG = 8;
/** `c_cflag` bits: ignore modem control lines, enable the receiver. */
export const CLOCAL = 0o4000;
/** Enable the receiver. */
export const CREAD = 0o200;

/**
 * Linux `Bxxx` speed constants (asm-generic termbits, the same on x86_64 and
 * aarch64), by baud rate.
 */
export const BAUD_CONSTANTS: ReadonlyMap<number, number> = new Map([
  [1200, 0o11],
  [2400, 0o13],
  [4800, 0o14],
  [9600, 0o15],
  [19200, 0o16],
  [38400, 0o17],
  [57600, 0o10001],
  [115200, 0o10002],
  [230400, 0o10003],
  [460800, 0o10004],
  [500000, 0o10005],
  [576000, 0o10006],
  [921600, 0o10007],
  [1000000, 0o10010],
  [1500000, 0o10012],
  [2000000, 0o10013],
]);
