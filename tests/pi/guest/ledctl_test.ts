/**
 * ledctl itself in the emulated Pi: `serve --led gpio:GPIO17` answers
 * `send` over loopback and drives the line; SIGTERM leaves it off and free;
 * `doctor` reports the board. Runs main.ts from source (type-checked on the host).
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { debugfsLine } from "./debugfs.ts";
import { HalError } from "../../../hal/types.ts";
import { openGpioLine } from "../../../hal/gpio/mod.ts";
import { assertBlinks, lineInfo, readFreeLine, sampleInWorker } from "./probe.ts";

const main = new URL("../../../main.ts", import.meta.url).pathname;
const deno = Deno.execPath();

function ledctl(args: string[], stdout: "piped" | "null" = "piped") {
  return new Deno.Command(deno, {
    args: ["run", "-A", "--no-check", "--no-config", main, ...args],
    stdout,
    stderr: "piped",
    env: { NO_COLOR: "1", LEDCTL_STATE_FILE: "off" }, // each serve starts with the LED off
  });
}

/** Reads `stream` until a line matches `re`; returns the match and keeps draining. */
async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  re: RegExp,
  sink: string[],
): Promise<RegExpMatchArray> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`output ended before ${re}:\n${sink.join("")}${buf}`);
    buf += value;
    const m = buf.match(re);
    if (m) {
      sink.push(buf);
      (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          sink.push(r.value);
        }
      })();
      return m;
    }
  }
}

async function send(port: number, ...command: string[]): Promise<string> {
  const out = await ledctl(["send", "--port", String(port), ...command]).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assertEquals(
    out.code,
    0,
    `send ${command.join(" ")}: ${text} ${new TextDecoder().decode(out.stderr)}`,
  );
  return text;
}

Deno.test("serve --led gpio:GPIO17 answers send over loopback; SIGTERM leaves the LED off and the line free", async () => {
  const child = ledctl([
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--http",
    "off",
    "--led",
    "gpio:GPIO17",
  ]).spawn();
  const log: string[] = [];
  const stderr: string[] = [];
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) stderr.push(c);
  })();
  let exited = false;
  try {
    const m = await waitForLine(child.stdout, /listening on 127\.0\.0\.1:(\d+)/, log);
    const port = Number(m[1]);
    assertEquals(debugfsLine("GPIO17"), {
      name: "GPIO17",
      consumer: "ledctl",
      direction: "out",
      high: false,
    });
    // Another program asking for the line is told who holds it.
    const busy = await openGpioLine("GPIO17", new URLSearchParams()).then(
      (line) => line[Symbol.asyncDispose]().then(() => undefined),
      (e: unknown) => e,
    );
    assert(busy instanceof HalError, `expected a busy HalError, got ${busy}`);
    assertEquals(busy.kind, "busy");
    assertMatch(
      busy.message,
      /GPIO17 \(BOARD11\) is in use by "ledctl": another ledctl is running/,
    );

    assertMatch(await send(port, "on"), /^OK on$/);
    assertEquals(debugfsLine("GPIO17")?.high, true);

    assertMatch(await send(port, "blink", "3"), /^OK blink 3 Hz$/);
    // Sampled from this process, on a Worker, while ledctl blinks in its own
    // (tolerances: assertBlinks in probe.ts, from a measured run).
    const { debugfs } = await sampleInWorker({
      name: "GPIO17",
      forMs: 2000,
      everyMs: 2,
      halfMs: 500 / 3,
    });
    assertBlinks("serve debugfs", debugfs, 3, 2000);

    assertMatch(await send(port, "on"), /^OK on$/);
    assertEquals(
      debugfsLine("GPIO17")?.high,
      true,
      "on before SIGTERM, so 'left off' means something",
    );

    child.kill("SIGTERM");
    const status = await child.status;
    exited = true;
    assertEquals(status.code, 0, `exit code after SIGTERM; stderr: ${stderr.join("")}`);
    assertEquals(debugfsLine("GPIO17"), undefined, "no longer requested");
    assertEquals(lineInfo(17).consumer, "");
    assertEquals(readFreeLine(17), false, "left off");
  } finally {
    if (!exited) {
      child.kill("SIGKILL");
      await child.status;
      console.error(log.join(""), stderr.join(""));
    }
  }
});

Deno.test("doctor on the emulated Pi reports the board, the chip and a free pin", async () => {
  const out = await ledctl(["doctor", "--led", "gpio:GPIO17"]).output();
  const text = new TextDecoder().decode(out.stdout);
  assertMatch(text, /✓ board +Raspberry Pi 3 Model B/);
  assertMatch(text, /✓ page size +4 KB/);
  assertMatch(text, /✓ GPIO chip +\/dev\/gpiochip0 +pinctrl-bcm2835 +54 lines/);
  assertMatch(
    text,
    /✓ pin +GPIO17 \(BOARD11\) is line 17 "GPIO17" of \/dev\/gpiochip0 \[pinctrl-bcm2835\], free/,
  );
  assertMatch(text, /✓ serial +GPIO17 \(BOARD11\) is not a serial console pin/);
  const board8 = await ledctl(["doctor"]).output();
  const t8 = new TextDecoder().decode(board8.stdout);
  assertMatch(t8, /checking gpio:BOARD8/, "a Pi defaults to BOARD8");
  assertMatch(t8, /✗ serial +GPIO14 \(BOARD8\) is the serial console's TX pin \(console=ttyS1\)/);
  assertEquals(board8.code, 1);
  console.log(text);
});
