import assert from "node:assert/strict";
import { SoftwareBlinker } from "./blinker.ts";
import { FakeClock } from "./clock.ts";
import { FakeGpio, piChip } from "./gpio/fake_gpio.ts";
import { openGpioLine } from "./gpio/mod.ts";
import { LineFlag } from "./gpio/uapi.ts";
import { readTrace } from "./mock.ts";
import { defaultLedUri, openLed, parseLedUri } from "./select.ts";

Deno.test("LED URIs split into scheme, target and options", () => {
  const u = parseLedUri("gpio:GPIO17?chip=pinctrl-bcm2835&active-low");
  assert.equal(u.scheme, "gpio");
  assert.equal(u.target, "GPIO17");
  assert.equal(u.params.get("chip"), "pinctrl-bcm2835");
  assert.equal(u.params.has("active-low"), true);
  assert.equal(parseLedUri("tcp:192.168.1.50:7000").target, "192.168.1.50:7000");
  assert.equal(parseLedUri("serial:/dev/ttyACM0?baud=115200").target, "/dev/ttyACM0");
  assert.equal(parseLedUri("mock?trace=/tmp/t").params.get("trace"), "/tmp/t");
});

Deno.test("bad LED URIs say what is valid", () => {
  const cases: [string, RegExp][] = [
    ["bogus:1", /unknown LED backend "bogus".*mock, gpio, serial, tcp/],
    ["gpio:", /needs a pin/],
    ["tcp:", /needs host:port/],
    ["mock:/tmp/x", /mock\?trace=/],
    ["gpio:BOARD8?colour=red", /unknown option "colour" \(valid: chip, active-low\)/],
  ];
  for (const [uri, re] of cases) {
    assert.throws(
      () => parseLedUri(uri),
      (e: unknown) => e instanceof TypeError && re.test((e as Error).message),
      uri,
    );
  }
});

Deno.test("the default LED off a Raspberry Pi is the mock", () => {
  assert.equal(defaultLedUri(), "mock");
});

Deno.test("openLed('mock?trace=…'): each apply shows in the trace the mock writes", async () => {
  const path = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const clock = new FakeClock(1000);
    const drawn: boolean[] = [];
    const led = await openLed(`mock?trace=${path}`, { clock, draw: (l) => drawn.push(l) });
    assert.equal(led.description, `mock (trace: ${path})`);
    await led.apply({ mode: "on" });
    clock.advance(10);
    await led.apply({ mode: "off" });
    clock.advance(10);
    await led.apply({ mode: "blink", hz: 2 }); // edges every 250 ms, starting lit
    clock.advance(500);
    await led[Symbol.asyncDispose]();
    assert.deepEqual(await readTrace(path), [
      { t: 1000, level: false }, // opened off
      { t: 1000, level: true },
      { t: 1010, level: false },
      { t: 1020, level: true },
      { t: 1270, level: false },
      { t: 1520, level: true },
      { t: 1520, level: false }, // released off
    ]);
    assert.deepEqual(drawn, [false, true, false, true, false, true, false]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("gpio:GPIO17?active-low: the URI's option reaches the line request", async () => {
  using gpio = FakeGpio.create({ dev: { gpiochip0: piChip() } });
  const { scheme, target, params } = parseLedUri("gpio:GPIO17?active-low");
  assert.equal(scheme, "gpio");
  const line = await openGpioLine(target, params, gpio.system);
  const led = new SoftwareBlinker(line);
  await led.apply({ mode: "on" });
  await led[Symbol.asyncDispose]();
  assert.equal(gpio.lines[0].flags, LineFlag.OUTPUT | LineFlag.ACTIVE_LOW);
  assert.deepEqual(gpio.lines[0].physical, [true, false, true], "off high, on low, off high");
});
