/**
 * The software blinker on a real GPIO line (emulated Pi, line 17): the
 * kernel's view of the line toggles at the asked frequency.
 */
import { assert, assertEquals } from "./assert.ts";
import { SoftwareBlinker } from "../../../hal/blinker.ts";
import { openGpioOutput } from "../../../hal/gpio/mod.ts";
import { debugfsLine } from "./debugfs.ts";
import { lineInfo, readFreeLine, sampleEdges } from "./probe.ts";

Deno.test("blinking at 5 Hz toggles the line about 10 times a second", async () => {
  const line = openGpioOutput("GPIO17", new URLSearchParams());
  const blinker = new SoftwareBlinker(line);
  try {
    await blinker.apply({ mode: "blink", hz: 5 });
    const viaFd = await sampleEdges(() => line.get(), 1000);
    const viaDebugfs = await sampleEdges(() => debugfsLine("GPIO17")?.high ?? false, 1000);
    assertEquals([...viaFd.seen].sort(), [false, true], "line.get() saw both levels");
    assertEquals([...viaDebugfs.seen].sort(), [false, true], "debugfs saw both levels");
    // 10 edges/s expected; emulation jitter and sampling allow some slack.
    assert(viaFd.edges >= 5 && viaFd.edges <= 12, `edges via GET_VALUES in 1 s: ${viaFd.edges}`);
    assert(
      viaDebugfs.edges >= 4 && viaDebugfs.edges <= 12,
      `edges via debugfs in 1 s: ${viaDebugfs.edges}`,
    );
    await blinker.apply({ mode: "on" });
    assertEquals(line.get(), true);
  } finally {
    await blinker[Symbol.asyncDispose]();
  }
  assertEquals(lineInfo(17).consumer, "", "released");
  assertEquals(readFreeLine(17), false, "left off");
});
