/**
 * The GPIO backend's libc helpers (open, ioctl, directory listing, small
 * file reads), over the shared FFI binding in `../libc.ts`, whose names are
 * re-exported here. Each helper captures errno right after the failing
 * call, in a {@linkcode SysError}.
 *
 * @module
 */

export {
  cString,
  describeErrno,
  Errno,
  errno,
  libc,
  O_CLOEXEC,
  O_RDONLY,
  O_RDWR,
  SysError,
} from "../../sys/libc.ts";
import { cString, Errno, errno, libc, O_CLOEXEC, O_RDONLY, SysError } from "../../sys/libc.ts";

/** `access(2)` mode bits. */
export const R_OK = 4;
/** Write permission for `access(2)`. */
export const W_OK = 2;

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
