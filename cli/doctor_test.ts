import { equal, match } from "node:assert/strict";
import { doctor, formatFindings } from "./doctor.ts";
import { runLedctl } from "../tests/harness.ts";

Deno.test("findings are aligned, with the fix under the text, and no color when told", () => {
  const text = formatFindings([
    { status: "ok", topic: "board", text: "Raspberry Pi 4 Model B" },
    { status: "fail", topic: "page size", text: "16 KB pages", fix: "use kernel8.img" },
    { status: "warn", topic: "access", text: "root" },
    { status: "info", topic: "LED", text: "mock" },
  ], false);
  equal(
    text,
    [
      "  ✓ board      Raspberry Pi 4 Model B",
      "  ✗ page size  16 KB pages",
      "               → use kernel8.img",
      "  ! access     root",
      "  · LED        mock",
    ].join("\n"),
  );
  equal(text.includes("\x1b["), false);
  equal(formatFindings([{ status: "ok", topic: "a", text: "b" }], true), "  \x1b[32m✓\x1b[0m a  b");
});

Deno.test("doctor --help exits 0 and a bad option exits 2", async () => {
  const log = console.log, error = console.error;
  let out = "";
  console.log = (s: string) => (out += s);
  console.error = (s: string) => (out += s);
  try {
    equal(await doctor(["--help"]), 0);
    equal(out.startsWith("Usage: ledctl doctor [--led URI]"), true);
    equal(await doctor(["--frobnicate"]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
});

Deno.test("doctor says which TCP engine serve would run, and why", async () => {
  const r = await runLedctl(["doctor", "--led", "mock"]);
  match(r.stdout, /TCP engine {2}(node|epoll): \S/);
});

/** Why this machine cannot stand for "no GPIO here", or undefined when it can. */
function gpioHere(): string | undefined {
  try {
    for (const e of Deno.readDirSync("/dev")) {
      if (e.name.startsWith("gpiochip")) return "this machine has a GPIO chip";
    }
  } catch { /* no /dev */ }
  return undefined;
}
const hasGpio = gpioHere();

Deno.test({
  name: "off a Pi: doctor on the mock is ready with no warning; gpio: suggests --led mock" +
    (hasGpio ? ` [unavailable: ${hasGpio}]` : ""),
  ignore: hasGpio !== undefined,
  async fn() {
    const mock = await runLedctl(["doctor"]);
    equal(mock.code, 0, mock.stdout + mock.stderr);
    match(mock.stdout, /checking mock/);
    equal(/--led mock/.test(mock.stdout), false, mock.stdout);
    match(mock.stdout, /\nready\n$/);

    const gpio = await runLedctl(["doctor", "--led", "gpio:BOARD8"]);
    equal(gpio.code, 1);
    equal(/list above/.test(gpio.stdout), false, gpio.stdout);
    equal(/\?chip=<label/.test(gpio.stdout), false, gpio.stdout);
    match(gpio.stdout, /✗ pin .*\n.*→ .*--led mock/);

    const led = await runLedctl(["led", "on", "--led", "gpio:BOARD8"]);
    equal(led.code, 1);
    match(led.stderr, /no \/dev\/gpiochip\* on this machine/);
    match(led.stderr, /--led mock/);
    equal(/\?chip=/.test(led.stderr), false, led.stderr);
  },
});
