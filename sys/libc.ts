/**
 * The one FFI binding to libc, loaded once, for every part of ledctl that
 * needs the system directly: the GPIO character device (`hal/gpio/`), the
 * STM32 serial link (`hal/stm32/`), the server's descriptor limit,
 * listener and socket options (`server/fd_limit.ts`), and the epoll TCP
 * engine's sockets (`server/tcp/epoll*.ts`). It lives apart from
 * `hal/` so that server code does not import hardware code. Only
 * `--allow-ffi` is needed: Deno's own file APIs would ask for `--allow-all`
 * for anything under `/dev`, `/proc` or `/sys`.
 *
 * Calls that fail return `-1` (or null) and leave their code in `errno`,
 * which {@linkcode errno} reads right after the call, on the same thread.
 *
 * @module
 */

const symbols = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  getpagesize: { parameters: [], result: "i32" },
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
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  // The epoll TCP engine (server/tcp/epoll*.ts). Fast-call friendly: only
  // i32/u32 and "buffer" parameters, i32 results (a usize/i64 parameter or
  // an isize result takes V8's slow path, ~85 ns instead of ~10 ns). A
  // size_t passed as u32 relies on the upper half of the register being
  // zeroed, which holds on x86-64 and aarch64; an ssize_t read as i32 is
  // exact for the sizes passed (< 2 GiB) and for -1.
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  /** `read(2)` with the fast-call types (a u32 size, an i32 result), e.g. for an eventfd. */
  read32: { name: "read", parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** `write(2)` with the fast-call types, e.g. for an eventfd. */
  write32: { name: "write", parameters: ["i32", "buffer", "u32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** Blocks the calling thread (the epoll engine's worker) until an event or the timeout. */
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  /**
   * The same on a runtime pool thread: the promise settles when it returns.
   * Its errno is not readable (another thread's); -1 means "try again".
   */
  epoll_waitAsync: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
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
 * console.log(libc().getpagesize()); // 4096
 * ```
 */
export function libc(): Libc {
  lib ??= Deno.dlopen("libc.so.6", symbols).symbols;
  return lib;
}

/** `open(2)` flags (identical on x86_64 and aarch64). */
export const O_RDONLY = 0;
/** Read and write. */
export const O_RDWR = 0o2;
/** Do not make a tty our controlling terminal. */
export const O_NOCTTY = 0o400;
/** Reads and writes return EAGAIN instead of blocking. */
export const O_NONBLOCK = 0o4000;
/** Close on exec, so spawned programs do not inherit the fd. */
export const O_CLOEXEC = 0o2000000;

/** errno values the backends tell apart (Linux, x86_64 and aarch64). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EPIPE: 32,
  EPROTO: 71,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
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
 * if (libc().close(-1) < 0) console.log(errno()); // 9 (EBADF)
 * ```
 */
export function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/**
 * The calling thread's errno as a live one-element view, for loops that
 * check it after many calls: read `[0]` right after a call that failed.
 * errno is per thread, so the view is valid only on the thread that made
 * it (the epoll engine takes one in its worker). Throws like {@linkcode libc}.
 *
 * @example
 * ```ts
 * import { errnoView, libc } from "./libc.ts";
 * const errnoCell = errnoView();
 * if (libc().close(-1) < 0) console.log(errnoCell[0]); // 9 (EBADF)
 * ```
 */
export function errnoView(): Int32Array {
  const p = libc().__errno_location();
  if (!p) throw new Error("__errno_location() returned NULL");
  return new Int32Array(Deno.UnsafePointerView.getArrayBuffer(p, 4));
}

/**
 * `strerror(errno)` plus the symbolic name when known, e.g.
 * `Device or resource busy (EBUSY)`. Works without FFI too (then only the name).
 *
 * @example
 * ```ts
 * import { describeErrno } from "./libc.ts";
 * describeErrno(16); // "Device or resource busy (EBUSY)"
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
 * import { Errno, SysError } from "./libc.ts";
 * const e = new SysError("open", "/dev/gpiochip9", Errno.ENOENT);
 * console.log(e.message); // open /dev/gpiochip9: No such file or directory (ENOENT)
 * ```
 */
export class SysError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** The libc call that failed, e.g. `open` or `GPIO_V2_GET_LINE_IOCTL`. */
  readonly call: string;
  /** What it was called on, e.g. a path. */
  readonly target: string;
  /** Records `code` for `call` on `target`. */
  constructor(call: string, target: string, code: number) {
    super(`${call} ${target}: ${describeErrno(code)}`);
    this.name = "SysError";
    this.errno = code;
    this.call = call;
    this.target = target;
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
