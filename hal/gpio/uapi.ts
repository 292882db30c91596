/**
 * The Linux GPIO character device uAPI v2 (`<linux/gpio.h>`, Linux ≥ 5.10):
 * ioctl numbers and the byte layout of the structs the backend exchanges
 * with the kernel. The layout is the same on x86_64 and aarch64 (fixed-size
 * fields, explicit padding, little-endian on every Raspberry Pi).
 *
 * @module
 */

/** Bytes in the kernel's fixed-size name fields (`GPIO_MAX_NAME_SIZE`). */
export const NAME_SIZE = 32;
/** Most lines one request can hold (`GPIO_V2_LINES_MAX`). */
export const LINES_MAX = 64;
/** Most attributes in a line config (`GPIO_V2_LINE_NUM_ATTRS_MAX`). */
export const NUM_ATTRS_MAX = 10;

/** `struct gpiochip_info`: name[32], label[32], lines u32. */
export const CHIP_INFO_SIZE = 68;
/** `struct gpio_v2_line_info`. */
export const LINE_INFO_SIZE = 256;
/** `struct gpio_v2_line_request`. */
export const LINE_REQUEST_SIZE = 592;
/** `struct gpio_v2_line_values`: bits u64, mask u64. */
export const LINE_VALUES_SIZE = 16;
/** `struct gpio_v2_line_config_attribute`: attribute (16 bytes) + mask u64. */
export const CONFIG_ATTR_SIZE = 24;

/** Field offsets in `struct gpio_v2_line_info`. */
export const LineInfoOffset = {
  name: 0,
  consumer: 32,
  offset: 64,
  numAttrs: 68,
  flags: 72,
  attrs: 80,
} as const;

/** Field offsets in `struct gpio_v2_line_request`. */
export const LineRequestOffset = {
  offsets: 0,
  consumer: 256,
  config: 288,
  /** `config.flags` (u64). */
  configFlags: 288,
  /** `config.num_attrs` (u32). */
  configNumAttrs: 288 + 8,
  /** `config.attrs[0]`; each is {@linkcode CONFIG_ATTR_SIZE} bytes. */
  configAttrs: 288 + 32,
  numLines: 560,
  eventBufferSize: 564,
  fd: 588,
} as const;

/** `enum gpio_v2_line_flag` bits. */
export const LineFlag = {
  USED: 1n << 0n,
  ACTIVE_LOW: 1n << 1n,
  INPUT: 1n << 2n,
  OUTPUT: 1n << 3n,
  EDGE_RISING: 1n << 4n,
  EDGE_FALLING: 1n << 5n,
  OPEN_DRAIN: 1n << 6n,
  OPEN_SOURCE: 1n << 7n,
  BIAS_PULL_UP: 1n << 8n,
  BIAS_PULL_DOWN: 1n << 9n,
  BIAS_DISABLED: 1n << 10n,
} as const;

/** `enum gpio_v2_line_attr_id`. */
export const LineAttrId = { FLAGS: 1, OUTPUT_VALUES: 2, DEBOUNCE: 3 } as const;

const IOC_WRITE = 1;
const IOC_READ = 2;

/**
 * Linux's generic `_IOC(dir, type, nr, size)` (dir bits 30–31, size bits 16–29).
 *
 * @example
 * ```ts
 * import { ioc } from "./uapi.ts";
 * ioc(2, 0xb4, 0x01, 68).toString(16); // "8044b401"
 * ```
 */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) >>> 0) + (size << 16) + (type << 8) + nr;
}

const GPIO_IOCTL_TYPE = 0xb4;

/** `_IOR(0xB4, 0x01, struct gpiochip_info)`. */
export const GPIO_GET_CHIPINFO_IOCTL: number = ioc(IOC_READ, GPIO_IOCTL_TYPE, 0x01, CHIP_INFO_SIZE);
/** `_IOWR(0xB4, 0x05, struct gpio_v2_line_info)`. */
export const GPIO_V2_GET_LINEINFO_IOCTL: number = ioc(
  IOC_READ | IOC_WRITE,
  GPIO_IOCTL_TYPE,
  0x05,
  LINE_INFO_SIZE,
);
/** `_IOWR(0xB4, 0x07, struct gpio_v2_line_request)`. */
export const GPIO_V2_GET_LINE_IOCTL: number = ioc(
  IOC_READ | IOC_WRITE,
  GPIO_IOCTL_TYPE,
  0x07,
  LINE_REQUEST_SIZE,
);
/** `_IOWR(0xB4, 0x0E, struct gpio_v2_line_values)`. */
export const GPIO_V2_LINE_GET_VALUES_IOCTL: number = ioc(
  IOC_READ | IOC_WRITE,
  GPIO_IOCTL_TYPE,
  0x0e,
  LINE_VALUES_SIZE,
);
/** `_IOWR(0xB4, 0x0F, struct gpio_v2_line_values)`. */
export const GPIO_V2_LINE_SET_VALUES_IOCTL: number = ioc(
  IOC_READ | IOC_WRITE,
  GPIO_IOCTL_TYPE,
  0x0f,
  LINE_VALUES_SIZE,
);

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Reads a NUL-padded fixed-size C string field.
 *
 * @example
 * ```ts
 * import { readName } from "./uapi.ts";
 * readName(new TextEncoder().encode("GPIO17\0\0"), 0, 8); // "GPIO17"
 * ```
 */
export function readName(buf: Uint8Array, offset: number, size = NAME_SIZE): string {
  const field = buf.subarray(offset, offset + size);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/**
 * Writes `s` into a fixed-size C string field, truncated to leave a NUL.
 *
 * @example
 * ```ts
 * import { readName, writeName } from "./uapi.ts";
 * const buf = new Uint8Array(32);
 * writeName(buf, 0, "ledctl");
 * readName(buf, 0); // "ledctl"
 * ```
 */
export function writeName(buf: Uint8Array, offset: number, s: string, size = NAME_SIZE): void {
  const bytes = encoder.encode(s).subarray(0, size - 1);
  buf.fill(0, offset, offset + size);
  buf.set(bytes, offset);
}

/** Decoded `struct gpiochip_info`. */
export interface ChipInfo {
  /** Kernel name, e.g. `gpiochip0`. */
  name: string;
  /** Driver label, e.g. `pinctrl-bcm2835`. */
  label: string;
  /** Number of lines. */
  lines: number;
}

/**
 * Decodes `struct gpiochip_info`.
 *
 * @example
 * ```ts
 * import { CHIP_INFO_SIZE, decodeChipInfo } from "./uapi.ts";
 * decodeChipInfo(new Uint8Array(CHIP_INFO_SIZE)); // { name: "", label: "", lines: 0 }
 * ```
 */
export function decodeChipInfo(buf: Uint8Array): ChipInfo {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { name: readName(buf, 0), label: readName(buf, 32), lines: view.getUint32(64, true) };
}

/** Decoded `struct gpio_v2_line_info` (attributes omitted). */
export interface LineInfo {
  /** Line name from the device tree, e.g. `GPIO17`; may be empty. */
  name: string;
  /** Who holds it, e.g. `ledctl`; empty when free. */
  consumer: string;
  /** Offset of the line on its chip. */
  offset: number;
  /** {@linkcode LineFlag} bits. */
  flags: bigint;
}

/**
 * A `struct gpio_v2_line_info` asking about line `offset` (the rest zeroed,
 * as the kernel requires).
 *
 * @example
 * ```ts
 * import { encodeLineInfoQuery } from "./uapi.ts";
 * const buf = encodeLineInfoQuery(17); // pass to GPIO_V2_GET_LINEINFO_IOCTL
 * ```
 */
export function encodeLineInfoQuery(offset: number): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(LINE_INFO_SIZE);
  new DataView(buf.buffer).setUint32(LineInfoOffset.offset, offset, true);
  return buf;
}

/**
 * Decodes `struct gpio_v2_line_info`.
 *
 * @example
 * ```ts
 * import { decodeLineInfo, encodeLineInfoQuery } from "./uapi.ts";
 * decodeLineInfo(encodeLineInfoQuery(3)).offset; // 3
 * ```
 */
export function decodeLineInfo(buf: Uint8Array): LineInfo {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    name: readName(buf, LineInfoOffset.name),
    consumer: readName(buf, LineInfoOffset.consumer),
    offset: view.getUint32(LineInfoOffset.offset, true),
    flags: view.getBigUint64(LineInfoOffset.flags, true),
  };
}

/** What to request: one line as an output. */
export interface OutputRequest {
  /** Line offset on the chip. */
  offset: number;
  /** Consumer label shown to other programs (at most 31 bytes). */
  consumer: string;
  /** Ask the kernel to invert the line (LED wired to 3V3). */
  activeLow: boolean;
  /** Logical value the line starts at. */
  initial: boolean;
}

/**
 * Encodes a `struct gpio_v2_line_request` for one output line, with its
 * initial value set through an OUTPUT_VALUES attribute so the line never
 * glitches to the wrong level.
 *
 * @example
 * ```ts
 * import { encodeOutputRequest, LineRequestOffset } from "./uapi.ts";
 * const req = encodeOutputRequest({ offset: 17, consumer: "ledctl", activeLow: false, initial: false });
 * // after GPIO_V2_GET_LINE_IOCTL: new DataView(req.buffer).getInt32(LineRequestOffset.fd, true)
 * ```
 */
export function encodeOutputRequest(req: OutputRequest): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(LINE_REQUEST_SIZE);
  const view = new DataView(buf.buffer);
  const o = LineRequestOffset;
  view.setUint32(o.offsets, req.offset, true);
  writeName(buf, o.consumer, req.consumer);
  let flags = LineFlag.OUTPUT;
  if (req.activeLow) flags |= LineFlag.ACTIVE_LOW;
  view.setBigUint64(o.configFlags, flags, true);
  view.setUint32(o.configNumAttrs, 1, true);
  // attrs[0] = { attr: { id: OUTPUT_VALUES, padding, values }, mask: line 0 }
  view.setUint32(o.configAttrs, LineAttrId.OUTPUT_VALUES, true);
  view.setBigUint64(o.configAttrs + 8, req.initial ? 1n : 0n, true);
  view.setBigUint64(o.configAttrs + 16, 1n, true);
  view.setUint32(o.numLines, 1, true);
  view.setInt32(o.fd, -1, true);
  return buf;
}

/**
 * Encodes a `struct gpio_v2_line_request` for one input line (used by tests
 * and diagnostics to read a line's level once no one holds it).
 *
 * @example
 * ```ts
 * import { encodeInputRequest } from "./uapi.ts";
 * const req = encodeInputRequest(17, "ledctl-test");
 * ```
 */
export function encodeInputRequest(offset: number, consumer: string): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(LINE_REQUEST_SIZE);
  const view = new DataView(buf.buffer);
  view.setUint32(LineRequestOffset.offsets, offset, true);
  writeName(buf, LineRequestOffset.consumer, consumer);
  view.setBigUint64(LineRequestOffset.configFlags, LineFlag.INPUT, true);
  view.setUint32(LineRequestOffset.numLines, 1, true);
  view.setInt32(LineRequestOffset.fd, -1, true);
  return buf;
}

/**
 * The line fd the kernel wrote into a request after `GPIO_V2_GET_LINE_IOCTL`.
 *
 * @example
 * ```ts
 * import { encodeOutputRequest, requestFd } from "./uapi.ts";
 * requestFd(encodeOutputRequest({ offset: 17, consumer: "ledctl", activeLow: false, initial: false })); // -1 until the kernel fills it
 * ```
 */
export function requestFd(buf: Uint8Array): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getInt32(
    LineRequestOffset.fd,
    true,
  );
}

/**
 * Encodes `struct gpio_v2_line_values` for line 0 of a request.
 *
 * @example
 * ```ts
 * import { encodeLineValues } from "./uapi.ts";
 * encodeLineValues(true); // bits = 1, mask = 1
 * ```
 */
export function encodeLineValues(high: boolean): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(LINE_VALUES_SIZE);
  const view = new DataView(buf.buffer);
  view.setBigUint64(0, high ? 1n : 0n, true);
  view.setBigUint64(8, 1n, true);
  return buf;
}

/**
 * Line 0's bit in a `struct gpio_v2_line_values` after GET_VALUES.
 *
 * @example
 * ```ts
 * import { decodeLineValue, encodeLineValues } from "./uapi.ts";
 * decodeLineValue(encodeLineValues(true)); // true
 * ```
 */
export function decodeLineValue(buf: Uint8Array): boolean {
  return (new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true) & 1n) ===
    1n;
}
