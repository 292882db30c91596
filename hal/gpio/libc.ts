/**
 * The few libc calls the GPIO backend needs, through Deno FFI. Only
 * `--allow-ffi` is required: Deno's own file APIs would need `--allow-all`
 * for anything under `/dev`, `/proc` or `/sys`.
 *
 * Every call that can fail returns `-1` (or null) and leaves its code in
 * `errno`; {@linkcode SysError} captures it right after the call, before any
 * other libc call can overwrite it.
 *
 * @module
 */

const symbols = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  access: { parameters: ["buffer", "i32"], result: "i32" },
  getpagesize: { parameters: [], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

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
/** Open for reading and writing. */
export const O_RDWR = 2;
/** Close on exec, so spawned programs do not inherit the fd. */
export const O_CLOEXEC = 0x80000;
/** `access(2)` mode bits. */
export const R_OK = 4;
/** Write permission for `access(2)`. */
export const W_OK = 2;

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
  EINVAL: 22,
  ENOTTY: 25,
  ETIMEDOUT: 110,
} as const;

/**
 * A failed libc call: what was called, on what, and the errno it left.
 *
 * @example
 * ```ts
 * import { SysError, Errno } from "./libc.ts";
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
  /** Records `errno` for `call` on `target`. */
  constructor(call: string, target: string, errno: number) {
    super(`${call} ${target}: ${describeErrno(errno)}`);
    this.name = "SysError";
    this.errno = errno;
    this.call = call;
    this.target = target;
  }
}

const errnoNames = new Map<number, string>(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

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
export function describeErrno(errno: number): string {
  const name = errnoNames.get(errno) ?? `errno ${errno}`;
  try {
    const p = libc().strerror(errno);
    if (p) return `${Deno.UnsafePointerView.getCString(p)} (${name})`;
  } catch {
    // no FFI: fall through to the bare name
  }
  return name;
}

/**
 * The calling thread's current errno. Call it immediately after the call
 * that failed.
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
 * A NUL-terminated C string for a `buffer` parameter.
 *
 * @example
 * ```ts
 * import { cString } from "./libc.ts";
 * cString("/dev/gpiochip0").at(-1); // 0
 * ```
 */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * `open(path, flags | O_CLOEXEC)`; throws {@linkcode SysError} on failure.
 *
 * @example
 * ```ts
 * import { closeFd, openFd, O_RDWR } from "./libc.ts";
 * const fd = openFd("/dev/gpiochip0", O_RDWR);
 * closeFd(fd);
 * ```
 */
export function openFd(path: string, flags: number): number {
  const fd = libc().open(cString(path), flags | O_CLOEXEC);
  if (fd < 0) throw new SysError("open", path, errno());
  return fd;
}

/**
 * `close(fd)`; throws {@linkcode SysError} on failure (the fd is gone either way).
 *
 * @example
 * ```ts
 * import { closeFd, O_RDONLY, openFd } from "./libc.ts";
 * closeFd(openFd("/dev/null", O_RDONLY));
 * ```
 */
export function closeFd(fd: number): void {
  if (libc().close(fd) < 0) throw new SysError("close", `fd ${fd}`, errno());
}

/**
 * `ioctl(fd, request, arg)`; throws {@linkcode SysError} naming `name` on
 * failure, retrying on EINTR.
 *
 * @example
 * ```ts
 * import { ioctl, openFd, O_RDWR } from "./libc.ts";
 * import { GPIO_GET_CHIPINFO_IOCTL, CHIP_INFO_SIZE } from "./uapi.ts";
 * const info = new Uint8Array(CHIP_INFO_SIZE);
 * ioctl(openFd("/dev/gpiochip0", O_RDWR), GPIO_GET_CHIPINFO_IOCTL, info, "GPIO_GET_CHIPINFO_IOCTL");
 * ```
 */
export function ioctl(
  fd: number,
  request: number,
  arg: Uint8Array<ArrayBuffer>,
  name: string,
): void {
  for (;;) {
    if (libc().ioctl(fd, BigInt(request), arg) >= 0) return;
    const e = errno();
    if (e !== Errno.EINTR) throw new SysError(name, `fd ${fd}`, e);
  }
}

/**
 * Reads a whole small file (e.g. `/proc/device-tree/model`) through libc,
 * so that only `--allow-ffi` is needed. Throws {@linkcode SysError}.
 *
 * @example
 * ```ts
 * import { readSmallFile } from "./libc.ts";
 * const cmdline = new TextDecoder().decode(readSmallFile("/proc/cmdline"));
 * ```
 */
export function readSmallFile(path: string, limit = 65536): Uint8Array {
  const fd = openFd(path, O_RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (total < limit) {
      const buf = new Uint8Array(Math.min(4096, limit - total));
      const n = Number(libc().read(fd, buf, BigInt(buf.length)));
      if (n < 0) {
        const e = errno();
        if (e === Errno.EINTR) continue;
        throw new SysError("read", path, e);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    libc().close(fd);
  }
}

/**
 * Names in a directory (without `.` and `..`) through `opendir`/`readdir`.
 * Throws {@linkcode SysError}.
 *
 * @example
 * ```ts
 * import { listDir } from "./libc.ts";
 * const chips = listDir("/dev").filter((n) => n.startsWith("gpiochip"));
 * ```
 */
export function listDir(path: string): string[] {
  const c = libc();
  const dir = c.opendir(cString(path));
  if (!dir) throw new SysError("opendir", path, errno());
  try {
    const names: string[] = [];
    for (;;) {
      const ent = c.readdir(dir);
      if (!ent) break;
      // struct dirent on 64-bit glibc: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[256] at 19.
      const name = new Deno.UnsafePointerView(ent).getCString(19);
      if (name !== "." && name !== "..") names.push(name);
    }
    return names;
  } finally {
    c.closedir(dir);
  }
}

/**
 * True when the process may open `path` with `mode` (`R_OK | W_OK`);
 * otherwise the errno (EACCES, ENOENT, …).
 *
 * @example
 * ```ts
 * import { accessible, R_OK, W_OK } from "./libc.ts";
 * accessible("/dev/gpiochip0", R_OK | W_OK); // true, or 13 (EACCES)
 * ```
 */
export function accessible(path: string, mode: number): true | number {
  return libc().access(cString(path), mode) === 0 ? true : errno();
}
