/**
 * The Linux ABI the epoll engine speaks through FFI, as data: constants,
 * `struct epoll_event` per architecture, `sockaddr_in`/`sockaddr_in6`, and
 * IP address text. No FFI here, so all of it is tested on any machine
 * (`epoll_test.ts` checks both layouts whatever the host).
 *
 * The constants are the same on x86-64 and aarch64 (both use the generic
 * values for sockets, epoll and errno); `struct epoll_event` is not: it is
 * packed on x86-64 (12 bytes, data at offset 4) and naturally aligned on
 * aarch64 (16 bytes, data at offset 8).
 *
 * @module
 */

/** `AF_INET`, `AF_INET6`. */
export const AF_INET = 2;
export const AF_INET6 = 10;
/** `SOCK_STREAM`, and the flags `socket`/`accept4` take. */
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
/** `SOL_SOCKET` options. */
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
/** `IPPROTO_TCP` and `TCP_NODELAY`. */
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
/** `send` flag: no SIGPIPE when the peer is gone (EPIPE instead). */
export const MSG_NOSIGNAL = 0x4000;
/** `shutdown` how: no more sends (our FIN). */
export const SHUT_WR = 1;
/** `epoll_create1` flag. */
export const EPOLL_CLOEXEC = 0o2000000;
/** `epoll_ctl` operations. */
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
/** epoll event bits. */
export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
/** `eventfd` flags. */
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
/** The accept queue `listen` asks for (the kernel caps it at `somaxconn`). */
export const LISTEN_BACKLOG = 4096;

/** Where `struct epoll_event`'s fields are, on one architecture. */
export interface EpollLayout {
  /** The architecture, as `Deno.build.arch` names it. */
  readonly arch: "x86_64" | "aarch64";
  /** `sizeof(struct epoll_event)`. */
  readonly size: number;
  /** Offset of `uint32_t events`. */
  readonly eventsOffset: number;
  /** Offset of `epoll_data_t data` (64 bits; little-endian on both). */
  readonly dataOffset: number;
}

/**
 * `struct epoll_event { uint32_t events; epoll_data_t data; }` per
 * architecture: x86-64 declares it `__attribute__((packed))`
 * (`EPOLL_PACKED` in glibc's sys/epoll.h), aarch64 does not.
 */
export const EPOLL_LAYOUTS: { readonly [A in EpollLayout["arch"]]: EpollLayout } = {
  x86_64: { arch: "x86_64", size: 12, eventsOffset: 0, dataOffset: 4 },
  aarch64: { arch: "aarch64", size: 16, eventsOffset: 0, dataOffset: 8 },
};

/**
 * The layout for `arch` (default: this machine's), or undefined where the
 * engine has none.
 *
 * @example
 * ```ts
 * import { epollLayout } from "./epoll_abi.ts";
 * epollLayout("aarch64")?.size; // 16
 * ```
 */
export function epollLayout(arch: string = Deno.build.arch): EpollLayout | undefined {
  return arch === "x86_64" || arch === "aarch64" ? EPOLL_LAYOUTS[arch] : undefined;
}

/**
 * An array of `struct epoll_event` over one buffer, read and written as
 * 32-bit words (every field is 4-byte aligned in both layouts). The
 * 64-bit data holds the descriptor in its low half and a generation in its
 * high half, so an event for a descriptor closed and reused since is told
 * apart (see `fd_table.ts`).
 *
 * @example
 * ```ts
 * import { EPOLL_LAYOUTS, EPOLLIN, EventArray } from "./epoll_abi.ts";
 * const one = new EventArray(EPOLL_LAYOUTS.x86_64, 1);
 * one.set(0, EPOLLIN, 7, 2);
 * [one.events(0), one.fd(0), one.gen(0)]; // [1, 7, 2]
 * ```
 */
export class EventArray {
  /** The raw bytes, for `epoll_wait` and `epoll_ctl`. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** How many events fit. */
  readonly capacity: number;
  readonly #words: Uint32Array;
  readonly #stride: number;
  readonly #ev: number;
  readonly #data: number;

  /** Room for `capacity` events in `layout`. */
  constructor(layout: EpollLayout, capacity: number) {
    this.capacity = capacity;
    this.bytes = new Uint8Array(layout.size * capacity);
    this.#words = new Uint32Array(this.bytes.buffer);
    this.#stride = layout.size / 4;
    this.#ev = layout.eventsOffset / 4;
    this.#data = layout.dataOffset / 4;
  }

  /** The event bits of entry `i`. */
  events(i: number): number {
    return this.#words[i * this.#stride + this.#ev];
  }

  /** The descriptor in entry `i`'s data. */
  fd(i: number): number {
    return this.#words[i * this.#stride + this.#data];
  }

  /** The generation in entry `i`'s data. */
  gen(i: number): number {
    return this.#words[i * this.#stride + this.#data + 1];
  }

  /** Fills entry `i` (for `epoll_ctl`, or a test). */
  set(i: number, events: number, fd: number, gen: number): void {
    const at = i * this.#stride;
    this.#words[at + this.#ev] = events >>> 0;
    this.#words[at + this.#data] = fd >>> 0;
    this.#words[at + this.#data + 1] = gen >>> 0;
  }
}

/** `sizeof(struct sockaddr_in)` and `sizeof(struct sockaddr_in6)`. */
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** Room for any socket address `accept4` returns (`sizeof(struct sockaddr_storage)`). */
export const SOCKADDR_STORAGE_SIZE = 128;

/** The 4 bytes of a dotted IPv4 address, or undefined when `text` is not one. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/**
 * The 16 bytes of an IPv6 address (`::1`, `fe80::1`, `::ffff:10.0.0.1`;
 * no zone), or undefined when `text` is not one.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || text.split("::").length > 2) return undefined;
  let tail = text;
  let v4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.indexOf(".", lastColon) !== -1) {
    v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = text.slice(0, lastColon + 1) + "0:0";
  }
  const [head, rest] = tail.includes("::") ? tail.split("::") : [tail, undefined];
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const a = groups(head);
  const b = rest === undefined ? [] : groups(rest);
  const missing = 8 - a.length - b.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const all = [...a, ...Array(rest === undefined ? 0 : missing).fill("0"), ...b];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(all[i])) return undefined;
    const n = parseInt(all[i], 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (v4) out.set(v4, 12);
  return out;
}

/** Dotted text of 4 bytes. */
export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * Text of 16 IPv6 bytes as glibc's `inet_ntop` writes it (and so node's
 * `remoteAddress`): lower-case hex, the longest run of two or more zero
 * groups as `::` (the first on a tie), and IPv4-mapped or -compatible
 * addresses with a dotted tail (`::ffff:127.0.0.1`).
 */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[2 * i] << 8) | b[2 * i + 1]);
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) best = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best !== -1 && i >= best && i < best + bestLen) {
      if (i === best) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += formatIPv4(b.subarray(12, 16));
      break;
    }
    out += w[i].toString(16);
  }
  if (best !== -1 && best + bestLen === 8) out += ":";
  return out;
}

/**
 * A socket address for `bind`, from an IP literal and a port; undefined
 * when `host` is not an IPv4 or IPv6 literal.
 *
 * @example
 * ```ts
 * import { sockaddrFor } from "./epoll_abi.ts";
 * sockaddrFor("127.0.0.1", 10000)?.bytes.length; // 16
 * ```
 */
export function sockaddrFor(
  host: string,
  port: number,
): { family: number; bytes: Uint8Array<ArrayBuffer> } | undefined {
  const v4 = parseIPv4(host);
  if (v4) {
    const bytes = new Uint8Array(SOCKADDR_IN_SIZE);
    const v = new DataView(bytes.buffer);
    v.setUint16(0, AF_INET, true);
    v.setUint16(2, port, false);
    bytes.set(v4, 4);
    return { family: AF_INET, bytes };
  }
  const v6 = parseIPv6(host);
  if (v6) {
    const bytes = new Uint8Array(SOCKADDR_IN6_SIZE);
    const v = new DataView(bytes.buffer);
    v.setUint16(0, AF_INET6, true);
    v.setUint16(2, port, false);
    bytes.set(v6, 8);
    return { family: AF_INET6, bytes };
  }
  return undefined;
}

/**
 * The address and port in a `sockaddr_in`/`sockaddr_in6` (as `accept4` or
 * `getsockname` filled it), or undefined for another family.
 *
 * @example
 * ```ts
 * import { parseSockaddr, sockaddrFor } from "./epoll_abi.ts";
 * parseSockaddr(sockaddrFor("::1", 80)!.bytes); // { address: "::1", port: 80 }
 * ```
 */
export function parseSockaddr(b: Uint8Array): { address: string; port: number } | undefined {
  const family = b[0] | (b[1] << 8);
  const port = (b[2] << 8) | b[3];
  if (family === AF_INET) return { address: formatIPv4(b.subarray(4, 8)), port };
  if (family === AF_INET6) return { address: formatIPv6(b.subarray(8, 24)), port };
  return undefined;
}
