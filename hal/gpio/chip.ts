/**
 * GPIO chips and their lines: list `/dev/gpiochip*`, pick the Raspberry Pi's
 * pin controller by label (never by number: it is gpiochip0 or gpiochip4
 * depending on the model and kernel), and find a line by name.
 *
 * @module
 */
import { HalError } from "../types.ts";
import { toHalError } from "./errors.ts";
import { closeFd, listDir, O_RDWR, openFd, SysError } from "./libc.ts";
import { type Pin, pinLabel } from "./pins.ts";
import { type GpioSystem, REAL_SYSTEM } from "./system.ts";
import {
  CHIP_INFO_SIZE,
  type ChipInfo,
  decodeChipInfo,
  decodeLineInfo,
  encodeLineInfoQuery,
  GPIO_GET_CHIPINFO_IOCTL,
  GPIO_V2_GET_LINEINFO_IOCTL,
  type LineInfo,
} from "./uapi.ts";

/** Labels of the Raspberry Pi pin controllers whose line offset is the BCM number. */
export const PI_CHIP_LABELS: readonly string[] = [
  "pinctrl-bcm2835", // Pi 1–3, Zero
  "pinctrl-bcm2711", // Pi 4, 400, CM4
  "pinctrl-rp1", // Pi 5 (gpiochip4 on older kernels, gpiochip0 on newer)
];

/** A chip found under /dev (or the `dev` of a {@linkcode GpioSystem}). */
export interface ChipEntry extends ChipInfo {
  /** `/dev/gpiochipN`. */
  path: string;
}

/** A chip that could not be opened, and why. */
export interface ChipProblem {
  /** `/dev/gpiochipN`. */
  path: string;
  /** The failure. */
  error: SysError;
}

/**
 * The `/dev/gpiochipN` paths (under `sys.dev`), in numeric order.
 *
 * @example
 * ```ts
 * import { chipPaths } from "./chip.ts";
 * chipPaths(); // ["/dev/gpiochip0"] on a Pi 3
 * ```
 */
export function chipPaths(sys: GpioSystem = REAL_SYSTEM): string[] {
  let names: string[];
  try {
    names = listDir(sys.dev);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^gpiochip\d+$/.test(n))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
    .map((n) => `${sys.dev}/${n}`);
}

/**
 * `GPIO_GET_CHIPINFO_IOCTL` on an open chip fd; throws {@linkcode SysError}.
 *
 * @example
 * ```ts
 * import { readChipInfo } from "./chip.ts";
 * import { O_RDWR, openFd } from "./libc.ts";
 * readChipInfo(openFd("/dev/gpiochip0", O_RDWR)).label; // "pinctrl-bcm2835"
 * ```
 */
export function readChipInfo(fd: number, sys: GpioSystem = REAL_SYSTEM): ChipInfo {
  const buf = new Uint8Array(CHIP_INFO_SIZE);
  sys.ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, buf, "GPIO_GET_CHIPINFO_IOCTL");
  return decodeChipInfo(buf);
}

/**
 * `GPIO_V2_GET_LINEINFO_IOCTL` for line `offset`; throws {@linkcode SysError}.
 *
 * @example
 * ```ts
 * import { readLineInfo } from "./chip.ts";
 * import { O_RDWR, openFd } from "./libc.ts";
 * readLineInfo(openFd("/dev/gpiochip0", O_RDWR), 17).consumer; // "" when free
 * ```
 */
export function readLineInfo(
  fd: number,
  offset: number,
  sys: GpioSystem = REAL_SYSTEM,
): LineInfo {
  const buf = encodeLineInfoQuery(offset);
  sys.ioctl(fd, GPIO_V2_GET_LINEINFO_IOCTL, buf, "GPIO_V2_GET_LINEINFO_IOCTL");
  return decodeLineInfo(buf);
}

/**
 * Every chip under /dev with its label and line count, plus the ones that
 * could not be opened (permission, …).
 *
 * @example
 * ```ts
 * import { listChips } from "./chip.ts";
 * const { chips } = listChips();
 * for (const c of chips) console.log(c.path, c.label, c.lines);
 * ```
 */
export function listChips(
  sys: GpioSystem = REAL_SYSTEM,
): { chips: ChipEntry[]; problems: ChipProblem[] } {
  const chips: ChipEntry[] = [];
  const problems: ChipProblem[] = [];
  for (const path of chipPaths(sys)) {
    try {
      const fd = openFd(path, O_RDWR);
      try {
        chips.push({ path, ...readChipInfo(fd, sys) });
      } finally {
        closeFd(fd);
      }
    } catch (e) {
      if (e instanceof SysError) problems.push({ path, error: e });
      else throw e;
    }
  }
  return { chips, problems };
}

/**
 * `gpiochip0 [pinctrl-bcm2835] (54 lines)`, for messages.
 *
 * @example
 * ```ts
 * import { chipLabel } from "./chip.ts";
 * chipLabel({ path: "/dev/gpiochip0", name: "gpiochip0", label: "pinctrl-bcm2835", lines: 54 });
 * // "/dev/gpiochip0 [pinctrl-bcm2835] (54 lines)"
 * ```
 */
export function chipLabel(c: ChipEntry): string {
  return `${c.path} [${c.label}] (${c.lines} lines)`;
}

function describeChips(chips: ChipEntry[], problems: ChipProblem[], sys: GpioSystem): string {
  const parts = [
    ...chips.map(chipLabel),
    ...problems.map((p) => `${p.path} (cannot open: ${p.error.message})`),
  ];
  return parts.length
    ? `chips here: ${parts.join("; ")}`
    : `there is no ${sys.dev}/gpiochip* on this machine`;
}

/**
 * Picks the chip: `want` is a path (`/dev/gpiochip4`), a kernel name
 * (`gpiochip4`) or a label (`pinctrl-rp1`); without it, the first chip with
 * a Raspberry Pi label. Throws a {@linkcode HalError} listing what exists.
 *
 * @example
 * ```ts
 * import { findChip } from "./chip.ts";
 * const chip = findChip(undefined, "gpio:GPIO17"); // { path: "/dev/gpiochip0", label: "pinctrl-bcm2835", … }
 * ```
 */
export function findChip(
  want: string | undefined,
  what: string,
  sys: GpioSystem = REAL_SYSTEM,
): ChipEntry {
  if (want && (want.startsWith("/") || /^gpiochip\d+$/.test(want))) {
    const path = want.startsWith("/") ? want : `${sys.dev}/${want}`;
    try {
      const fd = openFd(path, O_RDWR);
      try {
        return { path, ...readChipInfo(fd, sys) };
      } finally {
        closeFd(fd);
      }
    } catch (e) {
      const err = toHalError(e, `${what}: chip ${path}`);
      if (err.kind !== "unavailable") throw err;
      const { chips, problems } = listChips(sys);
      throw new HalError(err.kind, `${err.message}; ${describeChips(chips, problems, sys)}`, {
        cause: e,
      });
    }
  }
  const { chips, problems } = listChips(sys);
  const labels = want ? [want] : PI_CHIP_LABELS;
  const found = chips.find((c) => labels.includes(c.label));
  if (found) return found;
  const denied = problems.find((p) => p.error.errno === 13 || p.error.errno === 1);
  if (denied && chips.length === 0) {
    throw toHalError(denied.error, `${what}: cannot read GPIO chips`);
  }
  const looking = want
    ? `no GPIO chip labelled "${want}"`
    : `no Raspberry Pi GPIO controller (${PI_CHIP_LABELS.join(", ")})`;
  // No chip at all: nothing to choose with ?chip=; this is no machine for GPIO.
  const advice = chips.length === 0 && problems.length === 0
    ? ": GPIO needs a Raspberry Pi (or another board with a GPIO chip); " +
      "to run ledctl without one, use --led mock"
    : ". Choose one with ?chip=<label or path>, or use --led mock to run without GPIO";
  throw new HalError(
    "unavailable",
    `${what}: ${looking}; ${describeChips(chips, problems, sys)}${advice}`,
  );
}

/** A line located on a chip. */
export interface LineEntry {
  /** Line offset on the chip. */
  offset: number;
  /** Its current info (name, consumer, flags). */
  info: LineInfo;
}

/**
 * Finds `pin` on an open chip: the line named `GPIO<n>` (Raspberry Pi OS
 * device trees), else — on a Raspberry Pi pin controller, whose upstream
 * device trees name lines by function (`TXD1`, `SPI_CE0_N`) — the line at
 * offset `<n>`. Throws a {@linkcode HalError} naming the lines that exist.
 *
 * @example
 * ```ts
 * import { findChip, findLine } from "./chip.ts";
 * import { closeFd, openFd, O_RDWR } from "./libc.ts";
 * import { parsePin } from "./pins.ts";
 * const chip = findChip(undefined, "gpio:GPIO17");
 * const fd = openFd(chip.path, O_RDWR);
 * console.log(findLine(fd, chip, parsePin("GPIO17"), "gpio:GPIO17").offset); // 17
 * closeFd(fd);
 * ```
 */
export function findLine(
  fd: number,
  chip: ChipEntry,
  pin: Pin,
  what: string,
  sys: GpioSystem = REAL_SYSTEM,
): LineEntry {
  const infos: LineInfo[] = [];
  for (let offset = 0; offset < chip.lines; offset++) {
    const info = readLineInfo(fd, offset, sys);
    if (info.name.toUpperCase() === pin.name) return { offset, info };
    infos.push(info);
  }
  if (PI_CHIP_LABELS.includes(chip.label) && pin.bcm < chip.lines) {
    return { offset: pin.bcm, info: infos[pin.bcm] };
  }
  const names = infos.map((i) => i.name).filter((n) => n !== "");
  const shown = names.length > 24 ? `${names.slice(0, 24).join(", ")}, …` : names.join(", ");
  throw new HalError(
    "unavailable",
    `${what}: no line named ${pinLabel(pin)} on ${chipLabel(chip)}; ` +
      (names.length ? `its lines are named: ${shown}` : "its lines have no names") +
      ". On a Raspberry Pi, choose its pin controller with ?chip=<label>",
  );
}
