/**
 * Test double for a machine's GPIO: a temporary directory laid out like the
 * real roots (`dev/gpiochipN`, `proc/device-tree/model`) plus an ioctl that
 * plays the kernel's GPIO character device for the chips it was given. Chip
 * discovery, line lookup, the line request and set/get then run on any
 * machine, CI included, through the same code as on a Pi: only the ioctl
 * and the root paths differ (a {@linkcode GpioSystem}).
 *
 * The files are real (listed, opened and closed through libc); the ioctl
 * finds which one an fd is through `/proc/self/fd`, so this is Linux-only,
 * like the backend. A requested line is a real fd on a file of its own; the
 * line counts as held while any fd of the process is open on that file.
 * Used by the tests; not part of the backend.
 *
 * @module
 */
import { Errno, O_RDWR, openFd, SysError } from "./libc.ts";
import type { GpioSystem } from "./system.ts";
import {
  CHIP_INFO_SIZE,
  GPIO_GET_CHIPINFO_IOCTL,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_GET_LINEINFO_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL,
  LineAttrId,
  LineFlag,
  LineInfoOffset,
  LineRequestOffset,
  readName,
  writeName,
} from "./uapi.ts";

/** A fake chip: its label and the names of its lines (`""` for unnamed). */
export interface FakeChip {
  /** Driver label, e.g. `pinctrl-bcm2835`. */
  label: string;
  /** One name per line; the chip has `lines.length` lines. */
  lines: string[];
}

/** What the fake machine has. */
export interface FakeGpioOptions {
  /**
   * Entries of the fake `/dev` by name: a chip, or `"not-a-chip"` for a
   * plain file whose ioctls fail with ENOTTY (as a wrong device's would).
   */
  dev?: Record<string, FakeChip | "not-a-chip">;
  /** The device-tree model (written NUL-terminated, as the kernel does); none if absent. */
  model?: string;
}

/** One line request the fake kernel granted, and what happened to the line since. */
export interface FakeLine {
  /** Path of the chip it was requested from. */
  readonly chip: string;
  /** Line offset. */
  readonly offset: number;
  /** Consumer label in the request. */
  readonly consumer: string;
  /** `config.flags` of the request ({@linkcode LineFlag} bits). */
  readonly flags: bigint;
  /** The line fd handed out. */
  readonly fd: number;
  /** Logical value now (what GET_VALUES returns). */
  value: boolean;
  /**
   * The physical pin level at request time, then each change of it: the
   * logical value, inverted when the request was active-low (as the kernel does).
   */
  readonly physical: boolean[];
}

/** A chip like a Pi's pin controller: line `n` named `GPIO<n>` (Raspberry Pi OS style). */
export function piChip(label = "pinctrl-bcm2835", lines = 54): FakeChip {
  return { label, lines: Array.from({ length: lines }, (_, i) => `GPIO${i}`) };
}

/**
 * A fake GPIO machine in a temporary directory; dispose to remove it.
 *
 * @example
 * ```ts
 * import { FakeGpio, piChip } from "./fake_gpio.ts";
 * import { openGpioOutput } from "./mod.ts";
 * using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
 * await using line = openGpioOutput("GPIO17", new URLSearchParams("active-low"), gpio.system);
 * gpio.lines[0].physical; // [true]: LED off = pin high
 * ```
 */
export class FakeGpio implements Disposable {
  /** The temporary root: `dev/` and `proc/device-tree/` below it. */
  readonly root: string;
  /** The roots and ioctl to pass to the backend. */
  readonly system: GpioSystem;
  /** Every line request granted, in order. */
  readonly lines: FakeLine[] = [];
  readonly #chips = new Map<string, FakeChip>();
  readonly #lineFiles = new Map<string, FakeLine>();

  private constructor(root: string, chips: Map<string, FakeChip>) {
    this.root = root;
    this.#chips = chips;
    this.system = Object.freeze({
      dev: `${root}/dev`,
      deviceTree: `${root}/proc/device-tree`,
      ioctl: (fd: number, request: number, arg: Uint8Array<ArrayBuffer>, name: string) =>
        this.#ioctl(fd, request, arg, name),
    });
  }

  /** Lays out the fake machine's files. */
  static create(options: FakeGpioOptions = {}): FakeGpio {
    // Canonical, so that it matches what /proc/self/fd shows.
    const root = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ledctl-fake-gpio-" }));
    Deno.mkdirSync(`${root}/dev`);
    Deno.mkdirSync(`${root}/lines`);
    Deno.mkdirSync(`${root}/proc/device-tree`, { recursive: true });
    if (options.model !== undefined) {
      Deno.writeTextFileSync(`${root}/proc/device-tree/model`, `${options.model}\0`);
    }
    const chips = new Map<string, FakeChip>();
    for (const [name, entry] of Object.entries(options.dev ?? {})) {
      const path = `${root}/dev/${name}`;
      Deno.writeTextFileSync(path, "");
      if (entry !== "not-a-chip") chips.set(path, entry);
    }
    return new FakeGpio(root, chips);
  }

  /** True while some fd of this process is open on `line`'s fd file. */
  held(line: FakeLine): boolean {
    const file = [...this.#lineFiles].find(([, l]) => l === line)?.[0];
    return file !== undefined && openPaths().has(file);
  }

  /** Removes the temporary directory. */
  [Symbol.dispose](): void {
    Deno.removeSync(this.root, { recursive: true });
  }

  #ioctl(fd: number, request: number, arg: Uint8Array<ArrayBuffer>, name: string): void {
    const path = pathOf(fd);
    if (path === undefined) throw new SysError(name, `fd ${fd}`, Errno.EBADF);
    const chip = this.#chips.get(path);
    if (chip) return this.#chipIoctl(path, chip, fd, request, arg, name);
    const line = this.#lineFiles.get(path);
    if (line) return lineIoctl(line, fd, request, arg, name);
    throw new SysError(name, `fd ${fd}`, Errno.ENOTTY);
  }

  #chipIoctl(
    path: string,
    chip: FakeChip,
    fd: number,
    request: number,
    arg: Uint8Array<ArrayBuffer>,
    name: string,
  ): void {
    const view = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
    if (request === GPIO_GET_CHIPINFO_IOCTL && arg.length === CHIP_INFO_SIZE) {
      writeName(arg, 0, path.slice(path.lastIndexOf("/") + 1));
      writeName(arg, 32, chip.label);
      view.setUint32(64, chip.lines.length, true);
      return;
    }
    if (request === GPIO_V2_GET_LINEINFO_IOCTL) {
      const offset = view.getUint32(LineInfoOffset.offset, true);
      if (offset >= chip.lines.length) throw new SysError(name, `fd ${fd}`, Errno.EINVAL);
      const held = this.#heldLine(path, offset);
      writeName(arg, LineInfoOffset.name, chip.lines[offset]);
      writeName(arg, LineInfoOffset.consumer, held?.consumer ?? "");
      const flags = held
        ? LineFlag.USED | (held.flags & (LineFlag.OUTPUT | LineFlag.INPUT | LineFlag.ACTIVE_LOW))
        : LineFlag.INPUT;
      view.setBigUint64(LineInfoOffset.flags, flags, true);
      return;
    }
    if (request === GPIO_V2_GET_LINE_IOCTL) {
      const o = LineRequestOffset;
      const offset = view.getUint32(o.offsets, true);
      if (view.getUint32(o.numLines, true) !== 1 || offset >= chip.lines.length) {
        throw new SysError(name, `fd ${fd}`, Errno.EINVAL);
      }
      if (this.#heldLine(path, offset)) throw new SysError(name, `fd ${fd}`, Errno.EBUSY);
      const flags = view.getBigUint64(o.configFlags, true);
      let value = false;
      for (let i = 0; i < view.getUint32(o.configNumAttrs, true); i++) {
        const at = o.configAttrs + i * 24;
        const mask = view.getBigUint64(at + 16, true);
        if (view.getUint32(at, true) === LineAttrId.OUTPUT_VALUES && (mask & 1n)) {
          value = (view.getBigUint64(at + 8, true) & 1n) === 1n;
        }
      }
      const file = `${this.root}/lines/${this.lines.length}-${offset}`;
      Deno.writeTextFileSync(file, "");
      const lineFd = openFd(file, O_RDWR);
      const line: FakeLine = {
        chip: path,
        offset,
        consumer: readName(arg, o.consumer),
        flags,
        fd: lineFd,
        value,
        physical: [physical(flags, value)],
      };
      this.lines.push(line);
      this.#lineFiles.set(file, line);
      view.setInt32(o.fd, lineFd, true);
      return;
    }
    throw new SysError(name, `fd ${fd}`, Errno.EINVAL);
  }

  #heldLine(chip: string, offset: number): FakeLine | undefined {
    const ever = [...this.#lineFiles].filter(([, l]) => l.chip === chip && l.offset === offset);
    if (ever.length === 0) return undefined;
    const open = openPaths();
    return ever.find(([file]) => open.has(file))?.[1];
  }
}

function physical(flags: bigint, value: boolean): boolean {
  return (flags & LineFlag.ACTIVE_LOW) !== 0n ? !value : value;
}

function lineIoctl(
  line: FakeLine,
  fd: number,
  request: number,
  arg: Uint8Array<ArrayBuffer>,
  name: string,
): void {
  const view = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
  if (request === GPIO_V2_LINE_SET_VALUES_IOCTL) {
    if ((line.flags & LineFlag.OUTPUT) === 0n) throw new SysError(name, `fd ${fd}`, Errno.EPERM);
    if ((view.getBigUint64(8, true) & 1n) === 0n) return;
    line.value = (view.getBigUint64(0, true) & 1n) === 1n;
    const level = physical(line.flags, line.value);
    if (line.physical.at(-1) !== level) line.physical.push(level);
    return;
  }
  if (request === GPIO_V2_LINE_GET_VALUES_IOCTL) {
    view.setBigUint64(0, line.value ? 1n : 0n, true);
    return;
  }
  throw new SysError(name, `fd ${fd}`, Errno.EINVAL);
}

/** What `fd` is open on, or undefined when it is not open. */
function pathOf(fd: number): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Every path an fd of this process is open on. */
function openPaths(): Set<string> {
  const paths = new Set<string>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    const p = pathOf(Number(e.name));
    if (p !== undefined) paths.add(p);
  }
  return paths;
}
