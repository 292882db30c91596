/**
 * A hostile log reader: `ledctl serve` whose stdout is a pipe nobody reads
 * (a stalled log collector, a terminal paused with Ctrl-S) must keep serving.
 * Its log lines are dropped and counted, and the count is logged once the
 * output is read again.
 *
 * The test never reads the server's stdout until the end, so it cannot wait
 * for the "listening" line: it picks a free port itself and connects with a
 * bounded retry loop.
 */
import assert from "node:assert/strict";
import { ledctlCommand, Lines, RawClient } from "./harness.ts";

/** A TCP port that was free a moment ago. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/**
 * Connects to `port`, retrying while the connection is refused (the server
 * is starting): at most `tries` attempts with a short backoff, within `ms`.
 * Fails at once if the server exits.
 */
async function connectWhenUp(
  port: number,
  exited: Promise<Deno.CommandStatus>,
  { tries = 200, ms = 15_000 } = {},
): Promise<RawClient> {
  let gone: Deno.CommandStatus | undefined;
  exited.then((s) => gone = s);
  const deadline = Date.now() + ms;
  let backoff = 10;
  for (let i = 1;; i++) {
    if (gone) throw new Error(`ledctl serve exited (${gone.code}) before listening`);
    try {
      return await RawClient.connect(port);
    } catch (e) {
      if (!(e instanceof Deno.errors.ConnectionRefused)) throw e;
      if (i >= tries || Date.now() >= deadline) {
        throw new Error(`ledctl serve not listening on ${port} after ${i} tries`);
      }
    }
    // Backoff between refused connects: a retry, not a wait for an event.
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 100);
  }
}

Deno.test("a stdout nobody reads does not stop the server: lines are dropped and counted", async () => {
  const port = freePort();
  const child = ledctlCommand(["serve", "--port", String(port), "--http", "off", "--led", "mock"])
    .spawn();
  const stderr = new Lines(child.stderr);
  let stdout: Lines | undefined;
  try {
    using c = await connectWhenUp(port, child.status);
    // 5,000 LED changes, each logged: far more than a pipe holds (64 KiB,
    // about 1,400 lines). Each must be answered, and quickly.
    const n = 5_000;
    for (let i = 0; i < n; i++) {
      const verb = i % 2 === 0 ? "on" : "off";
      await c.write(verb + "\n");
      const reply = await c.readLine(5_000).catch((e) => `no reply within 5 s (${e.name})`);
      assert.ok(
        reply?.startsWith("OK "),
        `command ${i + 1} of ${n} (${verb}) got ${JSON.stringify(reply)}; stderr:\n` +
          stderr.all.join("\n"),
      );
    }

    // Now read the output: the server catches up and says what it dropped.
    stdout = new Lines(child.stdout);
    const m = await stdout.waitFor(
      /\(([\d,]+) log lines? dropped: the output was not being read\)$/,
      10_000,
    );
    const dropped = Number(m[1].replaceAll(",", ""));
    assert.ok(dropped > 0, `dropped ${dropped}`);
    const changes = stdout.all.filter((l) => / LED o(n|ff) {2}← /.test(l)).length;
    assert.ok(changes < n, `all ${changes} changes logged: nothing was dropped?`);

    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0, `exit code; stderr:\n${stderr.all.join("\n")}`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    if (!stdout) await child.stdout.cancel();
    await Promise.all([stdout?.done, stderr.done]);
  }
});
