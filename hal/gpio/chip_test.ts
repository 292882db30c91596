import { deepEqual, equal, match, throws } from "node:assert/strict";
import { halError } from "./testing.ts";
import { chipPaths, findChip, findLine, listChips } from "./chip.ts";
import { FakeGpio, piChip } from "./fake_gpio.ts";
import { closeFd, Errno, O_RDWR, openFd } from "./libc.ts";
import { openGpioLine, openGpioOutput } from "./mod.ts";
import { parsePin } from "./pins.ts";

// Chips are a fake /dev in a temporary directory (fake_gpio.ts), so every
// test here runs the same on CI as on a Pi. The same checks against the
// machine's own /dev and device tree are in tests/pi/guest/system_test.ts,
// which the emulated Pi runs ("needs a GPIO chip").

/** The Pi 5 layout: the SoC's own GPIO first, the RP1's header pins on gpiochip4. */
const PI5 = {
  gpiochip0: { label: "gpio-brcmstb@107d508500", lines: ["", "", "", ""] },
  gpiochip4: piChip("pinctrl-rp1", 54),
};

Deno.test("chip paths: only gpiochipN nodes, in numeric order, under the given /dev", () => {
  using gpio = FakeGpio.create({
    dev: {
      gpiochip10: piChip("a", 1),
      gpiochip2: piChip("b", 1),
      gpiochip0: piChip("c", 1),
      gpiochipX: "not-a-chip",
      ttyS0: "not-a-chip",
    },
  });
  const dev = gpio.system.dev;
  deepEqual(chipPaths(gpio.system), [`${dev}/gpiochip0`, `${dev}/gpiochip2`, `${dev}/gpiochip10`]);
  using empty = FakeGpio.create();
  deepEqual(chipPaths(empty.system), []);
  deepEqual(chipPaths({ ...empty.system, dev: `${empty.root}/missing` }), []);
});

Deno.test("listChips: label and line count of each chip; a node that is not a chip is a problem", () => {
  using gpio = FakeGpio.create({ dev: { ...PI5, gpiochip5: "not-a-chip" } });
  const { chips, problems } = listChips(gpio.system);
  deepEqual(chips, [
    {
      path: `${gpio.root}/dev/gpiochip0`,
      name: "gpiochip0",
      label: "gpio-brcmstb@107d508500",
      lines: 4,
    },
    { path: `${gpio.root}/dev/gpiochip4`, name: "gpiochip4", label: "pinctrl-rp1", lines: 54 },
  ]);
  equal(problems.length, 1);
  equal(problems[0].path, `${gpio.root}/dev/gpiochip5`);
  equal(problems[0].error.errno, Errno.ENOTTY);
});

Deno.test("findChip: the Pi's pin controller by label, whatever its number; or the one asked for", () => {
  using gpio = FakeGpio.create({ dev: PI5 });
  const dev = gpio.system.dev;
  equal(findChip(undefined, "gpio:GPIO17", gpio.system).path, `${dev}/gpiochip4`);
  equal(findChip("pinctrl-rp1", "gpio:GPIO17", gpio.system).path, `${dev}/gpiochip4`);
  equal(findChip("gpiochip0", "gpio:GPIO17", gpio.system).label, "gpio-brcmstb@107d508500");
  equal(findChip(`${dev}/gpiochip0`, "gpio:GPIO17", gpio.system).name, "gpiochip0");
});

Deno.test("findChip: a missing chip or label is unavailable and lists the chips that exist", () => {
  using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
  const dev = gpio.system.dev.replaceAll("/", "\\/");
  const here = `chips here: ${dev}\\/gpiochip0 \\[pinctrl-bcm2835\\] \\(54 lines\\)`;
  throws(
    () => findChip("gpiochip99", "gpio:GPIO17", gpio.system),
    halError(
      "unavailable",
      new RegExp(
        `^gpio:GPIO17: chip ${dev}\\/gpiochip99: open ${dev}\\/gpiochip99: No such file or directory \\(ENOENT\\); ${here}$`,
      ),
    ),
  );
  throws(
    () => findChip("pinctrl-rp1", "gpio:GPIO17", gpio.system),
    halError(
      "unavailable",
      new RegExp(
        `^gpio:GPIO17: no GPIO chip labelled "pinctrl-rp1"; ${here}\\. Choose one with \\?chip=`,
      ),
    ),
  );
});

Deno.test("findChip: a machine without chips, or with no Pi controller, says so", async () => {
  using none = FakeGpio.create();
  const dev = none.system.dev.replaceAll("/", "\\/");
  throws(
    () => findChip(undefined, "gpio:BOARD8", none.system),
    halError(
      "unavailable",
      new RegExp(
        `^gpio:BOARD8: no Raspberry Pi GPIO controller \\(pinctrl-bcm2835, pinctrl-bcm2711, pinctrl-rp1\\); there is no ${dev}\\/gpiochip\\* on this machine`,
      ),
    ),
  );
  using other = FakeGpio.create({ dev: { gpiochip0: piChip("gpio-mockup-A", 8) } });
  await openGpioLine("BOARD8", new URLSearchParams(), other.system).then(
    () => {
      throw new Error("should have failed");
    },
    halError("unavailable", /no Raspberry Pi GPIO controller .*\[gpio-mockup-A\] \(8 lines\)/),
  );
});

Deno.test("a path that is not a GPIO chip is an io error", () => {
  using gpio = FakeGpio.create({ dev: { gpiochip0: "not-a-chip" } });
  throws(
    () => findChip("gpiochip0", "gpio:GPIO17", gpio.system),
    halError("io", /chip \S+\/dev\/gpiochip0: GPIO_GET_CHIPINFO_IOCTL .*ENOTTY/),
  );
  // The real ioctl on a real non-GPIO device fails the same way.
  throws(
    () => findChip("/dev/null", "gpio:GPIO17"),
    halError("io", /chip \/dev\/null: GPIO_GET_CHIPINFO_IOCTL .*ENOTTY/),
  );
});

Deno.test("findLine: by name; on a Pi controller with function names, by BCM offset; else the names", () => {
  const upstream = piChip("pinctrl-bcm2835");
  upstream.lines[14] = "TXD1";
  upstream.lines[17] = "GPIO_GEN0";
  using gpio = FakeGpio.create({
    dev: {
      gpiochip0: upstream,
      gpiochip1: { label: "raspberrypi-exp-gpio", lines: ["BT_ON", "WL_ON", "GPIO17"] },
      gpiochip2: { label: "gpio-mockup-A", lines: ["LED", "BUTTON"] },
    },
  });
  const line = (chip: string, pin: string) => {
    const entry = findChip(chip, "t", gpio.system);
    const fd = openFd(entry.path, O_RDWR);
    try {
      return findLine(fd, entry, parsePin(pin), `gpio:${pin}`, gpio.system);
    } finally {
      closeFd(fd);
    }
  };
  equal(line("gpiochip1", "GPIO17").offset, 2, "by name, wherever it is");
  const bcm17 = line("gpiochip0", "GPIO17");
  equal(bcm17.offset, 17, "by offset on the Pi controller");
  equal(bcm17.info.name, "GPIO_GEN0");
  equal(line("gpiochip0", "BOARD8").offset, 14);
  throws(
    () => line("gpiochip2", "GPIO17"),
    halError(
      "unavailable",
      /^gpio:GPIO17: no line named GPIO17 \(BOARD11\) on \S+\/gpiochip2 \[gpio-mockup-A\] \(2 lines\); its lines are named: LED, BUTTON\. On a Raspberry Pi/,
    ),
  );
});

Deno.test("a held line is busy and names its holder; released, it can be had again", async () => {
  using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
  const none = new URLSearchParams();
  const first = openGpioOutput("GPIO17", none, gpio.system);
  throws(
    () => openGpioOutput("BOARD11", none, gpio.system),
    halError("busy", /GPIO17 \(BOARD11\) is in use by "ledctl": another ledctl is running/),
  );
  await first[Symbol.asyncDispose]();
  equal(gpio.held(gpio.lines[0]), false);
  await using second = openGpioOutput("GPIO17", none, gpio.system);
  equal(gpio.lines.length, 2);
  equal(gpio.lines[1].fd, second.fd);
  equal(gpio.held(gpio.lines[1]), true);
});

Deno.test("a bad pin fails before any chip is touched", async () => {
  try {
    await openGpioLine("BOARD6", new URLSearchParams("chip=/nonexistent"));
    throw new Error("should have failed");
  } catch (e) {
    halError("unavailable", /^gpio:BOARD6: header pin 6 is ground/)(e);
  }
});

Deno.test("no GPIO chip at all: says GPIO needs a Pi and suggests --led mock, not ?chip=", async () => {
  using none = FakeGpio.create();
  const e = await openGpioLine("BOARD8", new URLSearchParams(), none.system).then(
    () => {
      throw new Error("should have failed");
    },
    (e) => e,
  );
  halError("unavailable", /no \S+\/gpiochip\* on this machine/)(e);
  const message = (e as Error).message;
  match(message, /--led mock/);
  match(message, /Raspberry Pi/);
  equal(/\?chip=/.test(message), false, `nothing to choose with ?chip=: ${message}`);

  // With chips but no Pi controller: ?chip= is the way, and --led mock too.
  using other = FakeGpio.create({ dev: { gpiochip0: piChip("gpio-mockup-A", 8) } });
  throws(
    () => findChip(undefined, "gpio:BOARD8", other.system),
    halError("unavailable", /Choose one with \?chip=<label or path>.*--led mock/),
  );
});
