/**
 * The LED's state across restarts (`serve --state-file`, `--restore`), with
 * real `ledctl serve` processes killed by real signals, and the mock LED's
 * trace as the witness.
 *
 * Bad inputs tried: a state file holding garbage, one holding a frequency
 * out of range, a state file under a path that cannot be a directory.
 */
import assert from "node:assert/strict";
import { RawClient, ServerProcess, waitForTraceEdges } from "./harness.ts";
import type { Edge } from "../hal/mock.ts";

/** Waits (on file events, bounded) until the state file mentions `text`. */
async function waitForFile(path: string, text: string, ms = 10_000): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const watcher = Deno.watchFs(dir);
  const timer = setTimeout(() => watcher.close(), ms);
  const holds = async () => (await Deno.readTextFile(path).catch(() => "")).includes(text);
  try {
    if (await holds()) return;
    for await (const _ of watcher) if (await holds()) return;
    throw new Error(`${path} did not come to hold ${text} within ${ms} ms`);
  } finally {
    clearTimeout(timer);
    watcher.close();
  }
}

/** The intervals between edges, in ms. */
function gaps(edges: Edge[]): number[] {
  return edges.slice(1).map((e, i) => e.t - edges[i].t);
}

/**
 * Asserts a trace blinks at `hz` from its first high edge, which comes
 * within `ms` of the start (the mock records the line's first, low, write
 * at open).
 */
function assertBlinksFromStart(trace: Edge[], hz: number, ms: number): void {
  const edges = trace.slice(trace.findIndex((e) => e.level));
  assert.ok(edges.length >= 4, `blinking: ${JSON.stringify(trace)}`);
  assert.ok(edges[0].t < ms, `first edge at ${edges[0].t.toFixed(0)} ms after the process began`);
  const half = 1000 / hz / 2;
  for (const g of gaps(edges)) {
    assert.ok(Math.abs(g - half) < half / 2, `gap ${g} ms, want ${half}`);
  }
}

async function withStateDir(f: (stateFile: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ledctl-restore-" });
  try {
    await f(`${dir}/state.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const signal of ["SIGKILL", "SIGTERM"] as const) {
  Deno.test(`after ${signal}, the restarted server blinks at 2 Hz again within 1 s, unasked`, async () => {
    await withStateDir(async (stateFile) => {
      {
        await using first = await ServerProcess.start(["--state-file", stateFile]);
        using c = await RawClient.connect(first.port);
        assert.match(await c.ask("blink 2") ?? "", /^OK blink 2 Hz/);
        await first.waitForEdges(2);
        // SIGKILL leaves no time to save: only a state already on disk can come back.
        if (signal === "SIGKILL") await waitForFile(stateFile, '"hz":2');
        assert.equal(await first.stop(signal), signal === "SIGKILL" ? 137 : 0);
        const last = (await first.trace()).at(-1);
        if (signal === "SIGTERM") assert.equal(last?.level, false, "SIGTERM turned it off");
      }
      await using second = await ServerProcess.start(["--state-file", stateFile]);
      await second.stdout.waitFor(/LED blink 2 Hz +← restore last \(client #1/);
      assertBlinksFromStart(await second.waitForEdges(6), 2, 1000);
      using c = await RawClient.connect(second.port);
      assert.match(await c.ask("status") ?? "", /blink 2 Hz/);
    });
  });
}

Deno.test("a corrupt state file is a warning; the LED starts off and the server serves", async () => {
  await withStateDir(async (stateFile) => {
    for (const junk of ["{not json", '{"version":1,"state":{"mode":"blink","hz":100000}}']) {
      await Deno.writeTextFile(stateFile, junk);
      await using server = await ServerProcess.start(["--state-file", stateFile]);
      await server.stdout.waitFor(/ignoring the state file .*: the LED starts off/);
      assert.deepEqual((await server.trace().catch(() => [])).filter((e) => e.level), []);
      using c = await RawClient.connect(server.port);
      assert.match(await c.ask("on") ?? "", /^OK on/);
      await waitForFile(stateFile, '"mode":"on"');
    }
  });
});

Deno.test("--restore off keeps the LED off, --restore on lights it; both keep saving", async () => {
  await withStateDir(async (stateFile) => {
    await Deno.writeTextFile(
      stateFile,
      '{"version":1,"state":{"mode":"blink","hz":3},"by":"test","time":"2026-01-01T00:00:00Z"}\n',
    );
    {
      await using off = await ServerProcess.start(["--state-file", stateFile, "--restore", "off"]);
      using c = await RawClient.connect(off.port);
      assert.match(await c.ask("status") ?? "", /\boff\b/);
      assert.deepEqual((await off.trace().catch(() => [])).filter((e) => e.level), []);
    }
    {
      await using on = await ServerProcess.start(["--state-file", stateFile, "--restore", "on"]);
      const edges = await waitForTraceEdges(on.tracePath!, 2);
      assert.equal(edges.at(-1)?.level, true);
      using c = await RawClient.connect(on.port);
      assert.match(await c.ask("off") ?? "", /^OK off/);
      await waitForFile(stateFile, '"mode":"off"');
    }
  });
});

Deno.test("a state file that cannot be written is one warning; commands still work", async () => {
  const file = await Deno.makeTempFile();
  try {
    await using server = await ServerProcess.start(["--state-file", `${file}/state.json`]);
    using c = await RawClient.connect(server.port);
    assert.match(await c.ask("on") ?? "", /^OK on/);
    await server.stdout.waitFor(/cannot save the LED state to .*pick another --state-file/);
    assert.match(await c.ask("off") ?? "", /^OK off/);
    assert.match(await c.ask("blink 1") ?? "", /^OK blink 1 Hz/);
  } finally {
    await Deno.remove(file);
  }
});
