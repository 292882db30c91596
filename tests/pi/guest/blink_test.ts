/**
 * The software blinker on a real GPIO line (emulated Pi, line 17): the
 * kernel's view of the line toggles at the asked frequency. The line is
 * sampled on a Worker (its own thread and event loop), not on the blinker's
 * event loop, so a stalled blinker shows as missing edges instead of
 * stalling the sampler along with it. Tolerances: `assertBlinks` (probe.ts),
 * from a measured run.
 */
import { assertEquals } from "./assert.ts";
import { SoftwareBlinker } from "../../../hal/blinker.ts";
import { openGpioOutput } from "../../../hal/gpio/mod.ts";
import { assertBlinks, lineInfo, readFreeLine, sampleInWorker } from "./probe.ts";

const HZ = 5;
const WINDOW_MS = 2000;

Deno.test("blinking at 5 Hz toggles the line 10 times a second, seen from another thread", async () => {
  const line = openGpioOutput("GPIO17", new URLSearchParams());
  const blinker = new SoftwareBlinker(line);
  try {
    await blinker.apply({ mode: "blink", hz: HZ });
    const stats = await sampleInWorker({
      name: "GPIO17",
      fd: line.fd,
      forMs: WINDOW_MS,
      everyMs: 2,
      halfMs: 500 / HZ,
    });
    assertEquals(Object.keys(stats).sort(), ["GET_VALUES", "debugfs"]);
    for (const [label, s] of Object.entries(stats)) assertBlinks(label, s, HZ, WINDOW_MS);
    await blinker.apply({ mode: "on" });
    assertEquals(line.get(), true);
  } finally {
    await blinker[Symbol.asyncDispose]();
  }
  assertEquals(lineInfo(17).consumer, "", "released");
  assertEquals(readFreeLine(17), false, "left off");
});
