/**
 * The libc calls the serial backend needs, through Deno FFI: open a tty,
 * set it to raw mode and a baud rate, wait for it without blocking the event
 * loop (`poll` as a nonblocking FFI call, run on a worker thread), read,
 * write, close. Only `--allow-ffi` is needed: Deno's own file APIs would ask
 * for `--allow-all` for anything under `/dev`.
 *
 * Calls that fail return `-1` and leave their code in `errno`, which
 * {@linkcode errno} reads right after the call, on the same thread.
 *
 * @module
 */

const symbols = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** Runs on a worker thread; the promise settles when poll returns. */
  pollAsync: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  tcsetattr: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  tcflush: { parameters: ["i32", "i32"], result: "i32" },
  cfmakeraw: { parameters: ["buffer"], result: "void" },
  cfsetspeed: { parameters: ["buffer", "u32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The loaded symbols. */
export type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

let lib: Libc | undefined;

/**
 * Loads libc on first use. Throws `Deno.errors.NotCapable` without
 * `--allow-ffi`, and an `Error` where there is no glibc (`libc.so.6`).
 *
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * libc().close(-1); // -1 (EBADF)
 * ```
 */
export function libc(): Libc {
  lib ??= Deno.dlopen("libc.so.6", symbols).symbols;
  return lib;
}

/** `open(2)` flags, identical on x86_64 and aarch64. */
export const O_RDWR = 0o2;
/** Do not make the tty our controlling terminal. */
export const O_NOCTTY = 0o400;
/** Reads and writes return EAGAIN instead of blocking. */
export const O_NONBLOCK = 0o4000;
/** Spawned programs do not inherit the fd. */
export const O_CLOEXEC = 0o2000000;

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

/** errno values the backend tells apart. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENOTTY: 25,
} as const;

const errnoNames = new Map<number, string>(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

/**
 * The calling thread's errno. Call it immediately after the call that failed.
 *
 * @example
 * ```ts
 * import { errno, libc } from "./libc.ts";
 * if (libc().close(-1) < 0) console.log(errno()); // 9
 * ```
 */
export function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/**
 * `strerror(errno)` and the symbolic name, e.g. `Permission denied (EACCES)`.
 *
 * @example
 * ```ts
 * import { describeErrno } from "./libc.ts";
 * describeErrno(2); // "No such file or directory (ENOENT)"
 * ```
 */
export function describeErrno(code: number): string {
  const name = errnoNames.get(code) ?? `errno ${code}`;
  try {
    const p = libc().strerror(code);
    if (p) return `${Deno.UnsafePointerView.getCString(p)} (${name})`;
  } catch {
    // no FFI: the bare name
  }
  return name;
}

/**
 * A failed libc call, with the errno it left.
 *
 * @example
 * ```ts
 * import { SysError } from "./libc.ts";
 * new SysError("open", "/dev/ttyACM0", 13).message; // "open /dev/ttyACM0: Permission denied (EACCES)"
 * ```
 */
export class SysError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** Records `code` for `call` on `target`. */
  constructor(call: string, target: string, code: number) {
    super(`${call} ${target}: ${describeErrno(code)}`);
    this.name = "SysError";
    this.errno = code;
  }
}

/**
 * A NUL-terminated C string for a `buffer` parameter.
 *
 * @example
 * ```ts
 * import { cString } from "./libc.ts";
 * cString("ab"); // Uint8Array [97, 98, 0]
 * ```
 */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

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
