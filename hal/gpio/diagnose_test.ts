import { deepStrictEqual, equal, match } from "node:assert/strict";
import { HalError } from "../types.ts";
import {
  consoleOnGpio14,
  consoles,
  diagnose,
  type Facts,
  type Finding,
  gatherFacts,
} from "./diagnose.ts";
import { FakeGpio, piChip } from "./fake_gpio.ts";
import { openGpioOutput } from "./mod.ts";
import { parsePin } from "./pins.ts";

const chip = { path: "/dev/gpiochip0", name: "gpiochip0", label: "pinctrl-bcm2835", lines: 54 };

function pi(over: Partial<Facts> = {}): Facts {
  return {
    os: "linux",
    arch: "aarch64",
    model: "Raspberry Pi 3 Model B Rev 1.2",
    pageSize: 4096,
    chips: [chip],
    chipProblems: [],
    cmdline: "console=tty1 root=PARTUUID=1234-02 rootfstype=ext4",
    led: "gpio:BOARD11",
    pin: parsePin("BOARD11"),
    line: { chip, offset: 17, info: { name: "GPIO17", consumer: "", offset: 17, flags: 4n } },
    access: true,
    uid: 1000,
    ...over,
  };
}

const byTopic = (fs: Finding[], topic: string) => fs.filter((f) => f.topic === topic);

Deno.test("a healthy Pi 3 passes every check", () => {
  const fs = diagnose(pi());
  deepStrictEqual(fs.map((f) => [f.status, f.topic]), [
    ["ok", "board"],
    ["ok", "page size"],
    ["ok", "GPIO chip"],
    ["ok", "pin"],
    ["ok", "access"],
    ["ok", "serial"],
  ]);
  equal(
    byTopic(fs, "pin")[0].text,
    'GPIO17 (BOARD11) is line 17 "GPIO17" of /dev/gpiochip0 [pinctrl-bcm2835], free',
  );
  equal(byTopic(fs, "GPIO chip")[0].text, "/dev/gpiochip0  pinctrl-bcm2835  54 lines");
});

Deno.test("a Pi 5 on 16 KB pages fails with the kernel8.img fix", () => {
  const [, page] = diagnose(pi({ model: "Raspberry Pi 5 Model B Rev 1.0", pageSize: 16384 }));
  equal(page.status, "fail");
  match(page.text, /16 KB pages: prebuilt Deno binaries .* crash/);
  match(page.fix!, /kernel=kernel8\.img/);
  const [, ok] = diagnose(pi({ model: "Raspberry Pi 5 Model B Rev 1.0", pageSize: 4096 }));
  equal(ok.status, "ok");
});

Deno.test("a line in use names its consumer", () => {
  const info = { name: "GPIO17", consumer: "ledctl", offset: 17, flags: 1n | 8n };
  const [pin] = byTopic(diagnose(pi({ line: { chip, offset: 17, info } })), "pin");
  equal(pin.status, "fail");
  match(pin.text, /in use by "ledctl"$/);
  match(pin.fix!, /ledctl is already running/);
  const kernel = { name: "GPIO17", consumer: "", offset: 17, flags: 1n };
  match(
    byTopic(diagnose(pi({ line: { chip, offset: 17, info: kernel } })), "pin")[0].text,
    /in use by the kernel/,
  );
});

Deno.test("no access to the chip gives the gpio group and udev advice", () => {
  const fs = diagnose(
    pi({
      access: 13,
      chipProblems: [{ path: "/dev/gpiochip1", errno: 13, message: "Permission denied (EACCES)" }],
    }),
  );
  const [access] = byTopic(fs, "access");
  equal(access.status, "fail");
  match(access.fix!, /usermod -aG gpio/);
  equal(byTopic(fs, "GPIO chip")[1].status, "fail");
  equal(
    byTopic(diagnose(pi({ uid: 0 })), "access")[0].status,
    "warn",
    "root works but is not advised",
  );
});

Deno.test("GPIO14 with a serial console on it fails, except a Pi 5's serial0", () => {
  const board8 = { led: "gpio:BOARD8", pin: parsePin("BOARD8") };
  const cmdline = "console=serial0,115200 console=tty1 root=PARTUUID=1234-02";
  const liveConsoles = consoles(cmdline);
  deepStrictEqual(liveConsoles, ["serial0", "tty1"]);
  const [serial] = byTopic(diagnose(pi({ ...board8, cmdline, liveConsoles })), "serial");
  equal(serial.status, "fail");
  match(serial.text, /GPIO14 \(BOARD8\) is the serial console's TX pin \(console=serial0, tty1\)/);
  match(serial.fix!, /choose another pin, e.g. --led gpio:BOARD11/);
  const noUart = { ...board8, cmdline, liveConsoles: ["tty1"] }; // serial0 absent: enable_uart=0
  equal(byTopic(diagnose(pi(noUart)), "serial")[0].status, "ok");
  equal(consoleOnGpio14(["serial0"], "Raspberry Pi 5 Model B Rev 1.0"), false);
  equal(consoleOnGpio14(["ttyAMA0"], "Raspberry Pi 5 Model B Rev 1.0"), true);
  equal(consoleOnGpio14(["ttyS1"], "Raspberry Pi 3 Model B"), true);
  equal(consoleOnGpio14(["tty1"], "Raspberry Pi 3 Model B"), false);
});

Deno.test("off a Pi with the mock: information only, no advice to use the mock", () => {
  const fs = diagnose({
    os: "linux",
    arch: "x86_64",
    pageSize: 4096,
    chips: [],
    chipProblems: [],
    cmdline: "console=ttyS0",
    led: "mock",
  });
  deepStrictEqual(fs.map((f) => f.status), ["info", "ok", "info", "info"]);
  equal(fs.some((f) => /--led mock/.test(`${f.text} ${f.fix ?? ""}`)), false, fs[0].fix ?? "");
  match(fs[0].text, /not a Raspberry Pi/);
});

Deno.test("off a Pi with a GPIO LED: a warning that suggests --led mock", () => {
  const fs = diagnose({
    os: "linux",
    arch: "x86_64",
    pageSize: 4096,
    chips: [],
    chipProblems: [],
    led: "gpio:BOARD8",
    pin: parsePin("BOARD8"),
    line: new HalError("unavailable", "gpio:BOARD8: no Raspberry Pi GPIO controller"),
  });
  equal(fs[0].status, "warn");
  match(fs[0].fix!, /--led mock/);
});

Deno.test("no GPIO chip: the pin's fix names no list, and suggests --led mock", async () => {
  using none = FakeGpio.create();
  const fs = diagnose(gatherFacts("gpio:BOARD8", none.system));
  const [pin] = byTopic(fs, "pin");
  equal(pin.status, "fail");
  equal(/list above/.test(pin.fix!), false, pin.fix ?? "");
  equal(/\?chip=/.test(`${pin.text} ${pin.fix}`), false, `${pin.text} → ${pin.fix}`);
  match(pin.fix!, /--led mock/);

  // With chips listed above, the list is there to choose from.
  using other = FakeGpio.create({ dev: { gpiochip0: piChip("gpio-mockup-A", 8) } });
  const withChips = diagnose(gatherFacts("gpio:BOARD8", other.system));
  equal(byTopic(withChips, "GPIO chip").length, 1);
  match(byTopic(withChips, "pin")[0].fix!, /\?chip=.*the GPIO chips? above/);
  await Promise.resolve();
});

Deno.test("a bad pin or a missing line fails with the reason", () => {
  const bad = new HalError(
    "unavailable",
    "gpio:BOARD6: header pin 6 is ground, not a GPIO. Valid pins: …",
  );
  const fs = diagnose(pi({ led: "gpio:BOARD6", pin: bad, line: undefined, access: undefined }));
  equal(fs.at(-1)!.status, "fail");
  match(fs.at(-1)!.text, /ground/);
  const missing = new HalError("unavailable", "gpio:GPIO17: no line named GPIO17");
  equal(byTopic(diagnose(pi({ line: missing })), "pin")[0].status, "fail");
});

Deno.test("without FFI the checks stop at the ffi finding", () => {
  const fs = diagnose({
    os: "linux",
    arch: "aarch64",
    ffiError: "no FFI permission",
    chips: [],
    chipProblems: [],
    led: "gpio:BOARD8",
  });
  equal(fs.at(-1)!.topic, "ffi");
  match(fs.at(-1)!.fix!, /--allow-ffi/);
});

Deno.test("gatherFacts reads the board, the chips and the pin's line from the system it is given", async () => {
  using gpio = FakeGpio.create({
    dev: { gpiochip0: piChip(), gpiochip1: "not-a-chip" },
    model: "Raspberry Pi 3 Model B Rev 1.2",
  });
  await using _held = openGpioOutput("GPIO18", new URLSearchParams(), gpio.system);
  const facts = gatherFacts("gpio:BOARD12", gpio.system);
  equal(facts.model, "Raspberry Pi 3 Model B Rev 1.2");
  deepStrictEqual(facts.chips.map((c) => [c.path, c.label]), [
    [`${gpio.root}/dev/gpiochip0`, "pinctrl-bcm2835"],
  ]);
  deepStrictEqual(facts.chipProblems.map((p) => [p.path, p.errno]), [
    [`${gpio.root}/dev/gpiochip1`, 25],
  ]);
  const line = facts.line;
  if (!line || line instanceof HalError) throw new Error(`no line: ${line}`);
  equal(line.offset, 18);
  equal(line.info.consumer, "ledctl", "BOARD12 is GPIO18, held above");
  equal(facts.access, true);
});
