import assert from "node:assert/strict";
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

Deno.test("openLed('mock') gives a working driver", async () => {
  await using led = await openLed("mock");
  assert.equal(led.description, "mock");
  await led.apply({ mode: "on" });
});
