/**
 * The process's descriptor limit, as the server sees it: raise the soft
 * limit to the hard one at start, count descriptors in use, and read a
 * listening socket's accept queue. Through the shared libc FFI binding;
 * every function degrades to "unknown" (undefined) without `--allow-ffi`.
 *
 * @module
 */
import { errno, libc } from "../sys/libc.ts";

/** `RLIMIT_NOFILE` (the same on x86_64 and aarch64 Linux). */
const RLIMIT_NOFILE = 7;
/** `SOL_TCP` and `TCP_INFO`. */
const SOL_TCP = 6;
const TCP_INFO = 11;
/** Offset of `tcpi_unacked` in `struct tcp_info`: for a listening socket, its accept queue. */
const TCPI_UNACKED = 24;

/** Soft and hard descriptor limits. */
export interface FdLimits {
  /** The limit in force (`ulimit -n`). */
  soft: number;
  /** How far the soft limit may be raised without privileges. */
  hard: number;
}

function ffi(): ReturnType<typeof libc> | undefined {
  try {
    return libc();
  } catch {
    return undefined;
  }
}

/**
 * The descriptor limits, or undefined without FFI.
 *
 * @example
 * ```ts
 * import { fdLimits } from "./fd_limit.ts";
 * console.log(fdLimits()); // { soft: 1024, hard: 524288 }
 * ```
 */
export function fdLimits(): FdLimits | undefined {
  const c = ffi();
  if (!c) return undefined;
  const buf = new BigUint64Array(2);
  if (c.getrlimit(RLIMIT_NOFILE, buf) !== 0) return undefined;
  const n = (v: bigint) => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v));
  return { soft: n(buf[0]), hard: n(buf[1]) };
}

/**
 * Raises the soft descriptor limit to the hard one. Returns the limits
 * before and after, or undefined without FFI.
 *
 * @example
 * ```ts
 * import { raiseFdLimit } from "./fd_limit.ts";
 * const r = raiseFdLimit();
 * if (r) console.log(`descriptors: ${r.before.soft} → ${r.after.soft}`);
 * ```
 */
export function raiseFdLimit(): { before: FdLimits; after: FdLimits } | undefined {
  const c = ffi();
  const before = fdLimits();
  if (!c || !before) return undefined;
  if (before.soft < before.hard) {
    const buf = new BigUint64Array(2);
    c.getrlimit(RLIMIT_NOFILE, buf);
    buf[0] = buf[1];
    if (c.setrlimit(RLIMIT_NOFILE, buf) !== 0) errno(); // keep the old limit
  }
  return { before, after: fdLimits() ?? before };
}

/**
 * Descriptors this process has open now (entries of `/proc/self/fd`), or
 * undefined where that cannot be read. Costs one directory read: call it
 * when something is wrong, not per request.
 *
 * @example
 * ```ts
 * import { fdsInUse } from "./fd_limit.ts";
 * console.log(fdsInUse()); // 23
 * ```
 */
export function fdsInUse(): number | undefined {
  // When every descriptor is taken, give back the spare one for the read.
  if (spare) {
    spare.close();
    spare = undefined;
  }
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return Math.max(0, n - 1); // the directory read holds one itself
  } catch {
    return undefined;
  } finally {
    keepSpareFd();
  }
}

/** A descriptor held back so that {@linkcode fdsInUse} can count when none is free. */
let spare: Deno.FsFile | undefined;

/**
 * Holds one descriptor (`/dev/null`) in reserve for {@linkcode fdsInUse}.
 * Called by it; call it once at start so the reserve exists before any
 * exhaustion.
 *
 * @example
 * ```ts
 * import { keepSpareFd } from "./fd_limit.ts";
 * keepSpareFd();
 * ```
 */
export function keepSpareFd(): void {
  if (spare) return;
  try {
    spare = Deno.openSync("/dev/null");
  } catch { /* none free now: the next count tries again */ }
}

/**
 * `in use N of limit L`, for log lines about descriptors.
 *
 * @example
 * ```ts
 * import { describeFdUse } from "./fd_limit.ts";
 * describeFdUse(); // "1020 descriptors in use, limit 1024"
 * ```
 */
export function describeFdUse(): string {
  const used = fdsInUse();
  const limit = fdLimits()?.soft;
  return `${used ?? "?"} descriptors in use, limit ${limit ?? "?"}`;
}

/**
 * Connections waiting in the accept queue of the listening socket `fd`
 * (`tcpi_unacked` of `TCP_INFO`), or undefined when it cannot be read.
 *
 * @example
 * ```ts
 * import { acceptQueueLength } from "./fd_limit.ts";
 * acceptQueueLength(3); // 0 when the server keeps up
 * ```
 */
export function acceptQueueLength(fd: number): number | undefined {
  const c = ffi();
  if (!c) return undefined;
  const info = new Uint8Array(256);
  const len = new Uint32Array([info.length]);
  if (c.getsockopt(fd, SOL_TCP, TCP_INFO, info, len) !== 0) return undefined;
  if (len[0] < TCPI_UNACKED + 4) return undefined;
  return new DataView(info.buffer).getUint32(TCPI_UNACKED, true);
}

/** `SOL_SOCKET`, `SO_KEEPALIVE`, and the `SOL_TCP` keepalive knobs (Linux). */
const SOL_SOCKET = 1;
const SO_KEEPALIVE = 9;
const TCP_KEEPIDLE = 4;
const TCP_KEEPINTVL = 5;
const TCP_KEEPCNT = 6;

/**
 * Turns on TCP keepalive on socket `fd`: the first probe after `idleS`
 * seconds of silence, then every `intervalS`, and the connection fails
 * after `count` unanswered probes. Returns false when it could not be set
 * (no FFI, or not a TCP socket).
 *
 * @example
 * ```ts
 * import { setKeepAlive } from "./fd_limit.ts";
 * setKeepAlive(7, { idleS: 30, intervalS: 10, count: 3 }); // a dead peer is found in ~60 s
 * ```
 */
export function setKeepAlive(
  fd: number,
  { idleS, intervalS, count }: { idleS: number; intervalS: number; count: number },
): boolean {
  const c = ffi();
  if (!c) return false;
  const set = (level: number, name: number, value: number) =>
    c.setsockopt(fd, level, name, new Int32Array([value]), 4) === 0;
  return set(SOL_SOCKET, SO_KEEPALIVE, 1) && set(SOL_TCP, TCP_KEEPIDLE, idleS) &&
    set(SOL_TCP, TCP_KEEPINTVL, intervalS) && set(SOL_TCP, TCP_KEEPCNT, count);
}

/**
 * Closes descriptor `fd` (one this module's callers got from a duplicate).
 *
 * @example
 * ```ts
 * import { closeFd } from "./fd_limit.ts";
 * closeFd(42);
 * ```
 */
export function closeFd(fd: number): void {
  ffi()?.close(fd);
}
