/**
 * The GPIO backend against a real kernel: runs inside the emulated
 * Raspberry Pi 3B (QEMU raspi3b), on /dev/gpiochip0 = pinctrl-bcm2835.
 * Line 17 is used: 14/15 carry the serial console there.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { HalError } from "../../../hal/types.ts";
import { isRaspberryPi, openGpioLine, openGpioOutput } from "../../../hal/gpio/mod.ts";
import { findChip, readLineInfo } from "../../../hal/gpio/chip.ts";
import { closeFd, O_RDWR, openFd } from "../../../hal/gpio/libc.ts";
import { LineFlag } from "../../../hal/gpio/uapi.ts";
import { debugfsLine } from "./debugfs.ts";
import { readFreeLine } from "./probe.ts";

const none = new URLSearchParams();

function lineInfo(offset: number) {
  const chip = findChip(undefined, "test");
  const fd = openFd(chip.path, O_RDWR);
  try {
    return readLineInfo(fd, offset);
  } finally {
    closeFd(fd);
  }
}

Deno.test("the emulated board is a Raspberry Pi with the bcm2835 pin controller", () => {
  assert(isRaspberryPi(), "isRaspberryPi() should be true on raspi3b");
  const chip = findChip(undefined, "test");
  assertEquals(chip.label, "pinctrl-bcm2835");
  assertEquals(chip.lines, 54);
});

Deno.test("set on and off reads back through the kernel", async () => {
  await using line = openGpioOutput("GPIO17", none);
  assertMatch(line.description, /^gpio:\/dev\/gpiochip\d+ GPIO17 \(BOARD11\)$/);
  assertEquals(line.get(), false, "requested with the LED off");
  assertEquals(debugfsLine("GPIO17"), {
    name: "GPIO17",
    consumer: "ledctl",
    direction: "out",
    high: false,
  });
  const info = lineInfo(17);
  assertEquals(info.consumer, "ledctl");
  assert((info.flags & LineFlag.OUTPUT) !== 0n && (info.flags & LineFlag.USED) !== 0n);
  line.set(true);
  assertEquals(line.get(), true);
  assertEquals(debugfsLine("GPIO17")?.high, true);
  line.set(false);
  assertEquals(line.get(), false);
  assertEquals(debugfsLine("GPIO17")?.high, false);
});

Deno.test("BOARD11 is GPIO17, and disposing turns the LED off and frees the line", async () => {
  const line = await openGpioLine("BOARD11", new URLSearchParams("chip=pinctrl-bcm2835"));
  line.set(true);
  assertEquals(debugfsLine("GPIO17")?.high, true);
  await line[Symbol.asyncDispose]();
  assertEquals(debugfsLine("GPIO17"), undefined, "released");
  const info = lineInfo(17);
  assertEquals(info.consumer, "");
  assertEquals(info.flags & LineFlag.USED, 0n);
  assertEquals(readFreeLine(17), false, "left off");
  await line[Symbol.asyncDispose](); // twice is fine
});

Deno.test("the probe sees a line released high as high (so 'left off' checks can fail)", async () => {
  const line = openGpioOutput("GPIO17", none);
  line.set(true);
  closeFd(line.fd); // release without turning off, as a careless program would
  try {
    assertEquals(readFreeLine(17), true);
  } finally {
    await openGpioOutput("GPIO17", none)[Symbol.asyncDispose]();
  }
  assertEquals(readFreeLine(17), false);
});

Deno.test("active-low inverts the physical level", async () => {
  await using line = openGpioOutput("GPIO17", new URLSearchParams("active-low"));
  assertEquals(debugfsLine("GPIO17")?.high, true, "LED off = pin high");
  line.set(true);
  assertEquals(line.get(), true);
  assertEquals(debugfsLine("GPIO17")?.high, false, "LED on = pin low");
});

Deno.test("a second request of a held line is busy and names ledctl", async () => {
  await using _held = openGpioOutput("GPIO17", none);
  let err: unknown;
  try {
    await openGpioLine("GPIO17", none);
  } catch (e) {
    err = e;
  }
  assert(err instanceof HalError, `expected a HalError, got ${err}`);
  assertEquals(err.kind, "busy");
  assertMatch(err.message, /GPIO17 \(BOARD11\) is in use by "ledctl"/);
});

Deno.test("an unknown chip label lists the chips that exist", async () => {
  let err: unknown;
  try {
    await openGpioLine("GPIO17", new URLSearchParams("chip=pinctrl-rp1"));
  } catch (e) {
    err = e;
  }
  assert(err instanceof HalError);
  assertEquals(err.kind, "unavailable");
  assertMatch(err.message, /no GPIO chip labelled "pinctrl-rp1".*\[pinctrl-bcm2835\] \(54 lines\)/);
});
