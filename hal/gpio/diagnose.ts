/**
 * The checks behind `ledctl doctor`: gather facts about this machine's GPIO
 * ({@linkcode gatherFacts}), then judge them ({@linkcode diagnose}) into
 * findings that each say what to do. Judging is pure, so every verdict is
 * unit-tested with made-up facts (a Pi 5 on 16 KB pages, a busy line, …).
 *
 * @module
 */
import { HalError } from "../types.ts";
import { boardModel, isPi5Model, isRaspberryPiModel } from "./board.ts";
import { type ChipEntry, findChip, findLine, listChips } from "./chip.ts";
import { PERMISSION_ADVICE, toHalError } from "./errors.ts";
import {
  accessible,
  closeFd,
  describeErrno,
  Errno,
  libc,
  O_RDWR,
  openFd,
  R_OK,
  readSmallFile,
  W_OK,
} from "./libc.ts";
import { parsePin, type Pin, pinLabel } from "./pins.ts";
import { type GpioSystem, REAL_SYSTEM } from "./system.ts";
import { LineFlag, type LineInfo } from "./uapi.ts";

/** What was found out about the machine. */
export interface Facts {
  /** `Deno.build.os` and `.arch`. */
  os: string;
  /** CPU architecture, e.g. `aarch64`. */
  arch: string;
  /** Device-tree model, when there is one. */
  model?: string;
  /** Kernel page size in bytes, when FFI works. */
  pageSize?: number;
  /** Why FFI (libc) is not usable, or undefined when it is. */
  ffiError?: string;
  /** GPIO chips that opened. */
  chips: ChipEntry[];
  /** Chips that did not open: path, errno and its text. */
  chipProblems: { path: string; errno: number; message: string }[];
  /** The kernel command line, when readable. */
  cmdline?: string;
  /** The `console=` devices of the command line whose `/dev` node exists. */
  liveConsoles?: string[];
  /** The `--led` URI being checked. */
  led: string;
  /** The pin of a `gpio:` URI, or why it is not valid. */
  pin?: Pin | HalError;
  /** Where that pin is: chip, line and its current info, or why it was not found. */
  line?: { chip: ChipEntry; offset: number; info: LineInfo } | HalError;
  /** Whether the chip of that line can be opened read-write: true or the errno. */
  access?: true | number;
  /** Effective user id, when known. */
  uid?: number;
}

/** One verdict: ok, a warning, a failure, or just information. */
export interface Finding {
  /** `ok` ✓, `warn` !, `fail` ✗, `info` ·. */
  status: "ok" | "warn" | "fail" | "info";
  /** Short topic, e.g. `board`, `page size`, `pin`. */
  topic: string;
  /** What was found. */
  text: string;
  /** What to do about it (for warn and fail). */
  fix?: string;
}

/**
 * Collects the facts for `led` (a `--led` URI; only `gpio:` ones get the
 * pin checks) on `sys` (default: this machine). Never throws: what cannot
 * be read is left out or recorded as an error.
 *
 * @example
 * ```ts
 * import { diagnose, gatherFacts } from "./diagnose.ts";
 * for (const f of diagnose(gatherFacts("gpio:BOARD8"))) console.log(f.status, f.topic, f.text);
 * ```
 */
export function gatherFacts(led: string, sys: GpioSystem = REAL_SYSTEM): Facts {
  const facts: Facts = {
    os: Deno.build.os,
    arch: Deno.build.arch,
    chips: [],
    chipProblems: [],
    led,
  };
  try {
    facts.pageSize = libc().getpagesize();
  } catch (e) {
    facts.ffiError = e instanceof Deno.errors.NotCapable
      ? "no FFI permission"
      : `libc cannot be loaded: ${(e as Error).message}`;
    return facts;
  }
  facts.model = boardModel(sys.deviceTree);
  try {
    facts.cmdline = new TextDecoder().decode(readSmallFile("/proc/cmdline")).trim();
    // serial0 exists only when the serial port is enabled (enable_uart=1).
    facts.liveConsoles = consoles(facts.cmdline).filter((c) =>
      accessible(`${sys.dev}/${c}`, 0) !== Errno.ENOENT
    );
  } catch {
    // not Linux, or no /proc
  }
  try {
    facts.uid = Deno.uid() ?? undefined;
  } catch {
    // no --allow-sys
  }
  const { chips, problems } = listChips(sys);
  facts.chips = chips;
  facts.chipProblems = problems.map((p) => ({
    path: p.path,
    errno: p.error.errno,
    message: describeErrno(p.error.errno),
  }));
  if (!led.startsWith("gpio:")) return facts;
  const q = led.indexOf("?");
  const target = led.slice(5, q < 0 ? undefined : q);
  const params = new URLSearchParams(q < 0 ? "" : led.slice(q + 1));
  try {
    facts.pin = parsePin(target);
  } catch (e) {
    facts.pin = toHalError(e, led);
    return facts;
  }
  try {
    const chip = findChip(params.get("chip") ?? undefined, led, sys);
    facts.access = accessible(chip.path, R_OK | W_OK);
    const fd = openFd(chip.path, O_RDWR);
    try {
      const found = findLine(fd, chip, facts.pin, led, sys);
      facts.line = { chip, offset: found.offset, info: found.info };
    } finally {
      closeFd(fd);
    }
  } catch (e) {
    facts.line = toHalError(e, led);
  }
  return facts;
}

/**
 * The `console=` devices on a kernel command line.
 *
 * @example
 * ```ts
 * import { consoles } from "./diagnose.ts";
 * consoles("console=serial0,115200 console=tty1 root=/dev/mmcblk0p2"); // ["serial0", "tty1"]
 * ```
 */
export function consoles(cmdline: string): string[] {
  return [...cmdline.matchAll(/(?:^|\s)console=([^,\s]+)/g)].map((m) => m[1]);
}

/**
 * True when one of the console devices (from `console=` on the kernel
 * command line, present in /dev) is the UART on GPIO14/15: the mini UART
 * (`ttyS0`; `ttyS1` in QEMU's raspi3b), the PL011 `ttyAMA0` when Bluetooth
 * is moved off it, or `serial0` — except on a Pi 5, whose `serial0` is the
 * separate debug connector.
 *
 * @example
 * ```ts
 * import { consoleOnGpio14 } from "./diagnose.ts";
 * consoleOnGpio14(["serial0", "tty1"], "Raspberry Pi 4 Model B"); // true
 * ```
 */
export function consoleOnGpio14(devices: string[], model: string | undefined): boolean {
  return devices.some((c) =>
    c === "ttyS0" || c === "ttyS1" || c === "ttyAMA0" || (c === "serial0" && !isPi5Model(model))
  );
}

/**
 * Judges the facts. Order: platform, page size, FFI, chips, pin, access,
 * serial console.
 *
 * @example
 * ```ts
 * import { diagnose } from "./diagnose.ts";
 * const findings = diagnose({ os: "linux", arch: "aarch64", model: "Raspberry Pi 5 Model B Rev 1.0", pageSize: 16384, chips: [], chipProblems: [], led: "gpio:BOARD8" });
 * console.log(findings[1].fix); // add kernel=kernel8.img …
 * ```
 */
export function diagnose(f: Facts): Finding[] {
  const out: Finding[] = [];
  const pi = isRaspberryPiModel(f.model);
  if (pi) {
    out.push({ status: "ok", topic: "board", text: `${f.model} (${f.os} ${f.arch})` });
  } else if (!f.led.startsWith("gpio:")) {
    // The mock needs no Raspberry Pi: nothing to warn about, nor to advise.
    out.push({
      status: "info",
      topic: "board",
      text: `not a Raspberry Pi: ${f.model ?? "no device-tree model"} (${f.os} ${f.arch})`,
    });
  } else {
    out.push({
      status: "warn",
      topic: "board",
      text: `not a Raspberry Pi: ${f.model ?? "no device-tree model"} (${f.os} ${f.arch})`,
      fix:
        "GPIO needs a Raspberry Pi (or ?chip= naming this board's GPIO chip); elsewhere use --led mock",
    });
  }

  if (f.pageSize !== undefined) {
    const kb = `${f.pageSize / 1024} KB`;
    if (f.pageSize > 4096 && f.arch === "aarch64") {
      out.push({
        status: "fail",
        topic: "page size",
        text: `${kb} pages: prebuilt Deno binaries (dist/ledctl-aarch64) crash on this kernel`,
        fix:
          "boot the 4 KB-page kernel: add kernel=kernel8.img to /boot/firmware/config.txt, then reboot",
      });
    } else {
      out.push({
        status: "ok",
        topic: "page size",
        text: kb + (isPi5Model(f.model) ? " (kernel8.img: right for Deno on a Pi 5)" : ""),
      });
    }
  }

  if (f.ffiError !== undefined) {
    out.push({
      status: "fail",
      topic: "ffi",
      text: `cannot call libc: ${f.ffiError}`,
      fix: "run with --allow-ffi (the compiled ledctl has it); GPIO goes through libc",
    });
    return out;
  }

  if (f.chips.length === 0 && f.chipProblems.length === 0) {
    out.push({
      status: pi ? "fail" : "info",
      topic: "GPIO chips",
      text: "no /dev/gpiochip* on this machine",
      fix: pi
        ? "use Raspberry Pi OS Bookworm or newer (any kernel ≥ 5.10 with CONFIG_GPIO_CDEV)"
        : undefined,
    });
  }
  for (const c of f.chips) {
    out.push({ status: "ok", topic: "GPIO chip", text: `${c.path}  ${c.label}  ${c.lines} lines` });
  }
  for (const p of f.chipProblems) {
    const denied = p.errno === 13 || p.errno === 1;
    out.push({
      status: denied ? "fail" : "warn",
      topic: "GPIO chip",
      text: `${p.path}: cannot open: ${p.message}`,
      fix: denied ? PERMISSION_ADVICE : undefined,
    });
  }

  if (f.pin === undefined) {
    out.push({ status: "info", topic: "LED", text: `${f.led}: not a GPIO LED, no pin to check` });
    return out;
  }
  if (f.pin instanceof HalError) {
    out.push({
      status: "fail",
      topic: "pin",
      text: f.pin.message,
      fix: "choose a pin from the list, e.g. --led gpio:BOARD8",
    });
    return out;
  }
  const pin = f.pin;
  if (f.line instanceof HalError) {
    out.push({ status: "fail", topic: "pin", text: f.line.message, fix: fixFor(f.line, f) });
  } else if (f.line) {
    const { chip, offset, info } = f.line;
    const where = `${pinLabel(pin)} is line ${offset}${
      info.name ? ` "${info.name}"` : ""
    } of ${chip.path} [${chip.label}]`;
    if (info.flags & LineFlag.USED) {
      const who = info.consumer ? `"${info.consumer}"` : "the kernel (no consumer name)";
      out.push({
        status: "fail",
        topic: "pin",
        text: `${where}, in use by ${who}`,
        fix: info.consumer === "ledctl"
          ? "ledctl is already running (systemctl status ledctl): stop it, or check a different pin"
          : "stop that program or remove the overlay claiming the pin, or choose another pin",
      });
    } else {
      out.push({ status: "ok", topic: "pin", text: `${where}, free` });
    }
  }

  if (f.access !== undefined) {
    const chipPath = f.line instanceof HalError || !f.line ? "the chip" : f.line.chip.path;
    if (f.access === true) {
      const root = f.uid === 0
        ? " (as root: run the service as a user in the gpio group instead)"
        : "";
      out.push({
        status: f.uid === 0 ? "warn" : "ok",
        topic: "access",
        text: `${chipPath} is readable and writable${root}`,
        fix: f.uid === 0
          ? "see docs/hardware.md for the systemd unit with User= and SupplementaryGroups=gpio"
          : undefined,
      });
    } else {
      out.push({
        status: "fail",
        topic: "access",
        text: `${chipPath}: ${describeErrno(f.access)}`,
        fix: PERMISSION_ADVICE,
      });
    }
  }

  if (!pi) {
    out.push({
      status: "info",
      topic: "serial",
      text: "not a Raspberry Pi: serial console pins not checked",
    });
  } else if (pin.bcm === 14 || pin.bcm === 15) {
    const role = pin.bcm === 14 ? "TX" : "RX";
    const live = f.liveConsoles ?? [];
    if (consoleOnGpio14(live, f.model)) {
      const which = live.join(", ");
      out.push({
        status: "fail",
        topic: "serial",
        text: `${
          pinLabel(pin)
        } is the serial console's ${role} pin (console=${which}): the kernel and the LED would fight over it`,
        fix:
          "disable the serial console (sudo raspi-config nonint do_serial_cons 1, or remove console=serial0,115200 " +
          "from /boot/firmware/cmdline.txt) and reboot, or choose another pin, e.g. --led gpio:BOARD11",
      });
    } else {
      out.push({
        status: "ok",
        topic: "serial",
        text: `${pinLabel(pin)} is a UART pin, but no serial console uses it`,
      });
    }
  } else {
    out.push({
      status: "ok",
      topic: "serial",
      text: `${pinLabel(pin)} is not a serial console pin`,
    });
  }
  return out;
}

/** What to do when the pin's line could not be had; `f` says whether there are chips to choose from. */
function fixFor(e: HalError, f: Facts): string {
  switch (e.kind) {
    case "permission":
      return PERMISSION_ADVICE;
    case "busy":
      return "stop the program holding the line, or choose another pin";
    default:
      if (f.chips.length === 0 && f.chipProblems.length === 0) {
        return "this machine has no GPIO chip: run ledctl on a Raspberry Pi, " +
          "or use --led mock to run it without GPIO";
      }
      return "check ?chip= (a label or /dev/gpiochipN of the GPIO chips above), " +
        "or choose another pin; --led mock runs without GPIO";
  }
}
