import { deepEqual, equal } from "node:assert/strict";
import { SoftwareBlinker } from "../blinker.ts";
import { FakeClock } from "../clock.ts";
import { FakeGpio, piChip } from "./fake_gpio.ts";
import { openGpioOutput, REAL_SYSTEM } from "./mod.ts";
import { LineFlag } from "./uapi.ts";

// The line request is observed in a fake kernel (fake_gpio.ts): the flags
// the request carries, and the physical level the kernel would drive.

Deno.test("active-low reaches the line request: bare, empty or true sets it; false or absent does not", async () => {
  const cases: [string, boolean][] = [
    ["", false],
    ["active-low", true],
    ["active-low=", true],
    ["active-low=true", true],
    ["chip=pinctrl-bcm2835&active-low", true],
    ["active-low=false", false],
  ];
  for (const [query, activeLow] of cases) {
    using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
    await using line = openGpioOutput("GPIO17", new URLSearchParams(query), gpio.system);
    equal(gpio.lines.length, 1, query);
    const req = gpio.lines[0];
    equal(req.offset, 17, query);
    equal(req.consumer, "ledctl", query);
    equal(req.flags, activeLow ? LineFlag.OUTPUT | LineFlag.ACTIVE_LOW : LineFlag.OUTPUT, query);
    deepEqual(req.physical, [activeLow], `${query}: requested with the LED off`);
    equal(
      line.description,
      `gpio:${gpio.root}/dev/gpiochip0 GPIO17 (BOARD11)${activeLow ? " active-low" : ""}`,
    );
  }
});

Deno.test("?active-low: the LED on drives the pin low, off and release leave it high", async () => {
  using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
  const line = openGpioOutput("BOARD11", new URLSearchParams("active-low"), gpio.system);
  const req = gpio.lines[0];
  line.set(true);
  equal(line.get(), true, "the value read back is the LED's, not the pin's");
  line.set(false);
  line.set(true);
  await line[Symbol.asyncDispose]();
  deepEqual(req.physical, [true, false, true, false, true]);
  equal(gpio.held(req), false, "released");
});

Deno.test("blinking an active-low line inverts every edge the kernel drives", async () => {
  using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
  const clock = new FakeClock();
  const line = openGpioOutput("GPIO17", new URLSearchParams("active-low"), gpio.system);
  const blinker = new SoftwareBlinker(line, { clock });
  await blinker.apply({ mode: "blink", hz: 5 });
  for (let i = 0; i < 4; i++) clock.advance(100);
  await blinker[Symbol.asyncDispose]();
  // Request (off = high), blink starts lit (low), 4 edges of 100 ms, then off (high).
  deepEqual(gpio.lines[0].physical, [true, false, true, false, true, false, true]);
});

Deno.test("the real system is /dev and /proc/device-tree", () => {
  equal(REAL_SYSTEM.dev, "/dev");
  equal(REAL_SYSTEM.deviceTree, "/proc/device-tree");
});
