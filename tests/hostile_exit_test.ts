/**
 * Whatever ends `ledctl serve`, the LED is off afterwards: checked on the
 * mock LED's trace after each way of ending the process. The faults are
 * raised through the `LEDCTL_TEST_FAULT` hook (SIGUSR2 then throws or
 * rejects inside the server), since no client input can cause one.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ledctlCommand,
  Lines,
  RawClient,
  ServerProcess,
  tcpTest,
  waitForTraceEdges,
} from "./harness.ts";
import { readTrace } from "../hal/mock.ts";

async function lightUp(server: ServerProcess): Promise<void> {
  using c = await RawClient.connect(server.port);
  assert.equal(await c.ask("on"), "OK on");
  const edges = await server.waitForEdges(1);
  assert.equal(edges.at(-1)!.level, true);
}

async function assertLedOff(server: ServerProcess): Promise<void> {
  const edges = await server.trace();
  assert.ok(edges.length > 0 && !edges.at(-1)!.level, `LED left lit: ${JSON.stringify(edges)}`);
}

tcpTest("SIGHUP turns the LED off and exits 0", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  await lightUp(server);
  assert.equal(await server.stop("SIGHUP"), 0);
  await assertLedOff(server);
  assert.ok(server.stdout.all.some((l) => /SIGHUP: turning the LED off/.test(l)));
  // The service itself turned it off (the mock's release would hide it otherwise).
  assert.ok(
    server.stdout.all.some((l) => /LED off {2}← shutdown/.test(l)),
    server.stdout.all.join("\n"),
  );
});

for (const kind of ["throw", "reject"] as const) {
  const what = kind === "throw" ? "an uncaught error" : "an unhandled rejection";
  tcpTest(`${what} turns the LED off, prints one line and exits 1`, async (engine) => {
    await using server = await ServerProcess.start([], {
      engine,
      env: { LEDCTL_TEST_FAULT: kind },
    });
    await lightUp(server);
    server.child.kill("SIGUSR2");
    const { code } = await server.child.status;
    await Promise.all([server.stdout.done, server.stderr.done]);
    assert.equal(code, 1);
    await assertLedOff(server);
    const lines = server.stderr.all.filter((l) => l.trim() !== "");
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(
      lines[0],
      /^ledctl serve: fatal error, stopped \(the LED is off\): Error: injected fault/,
    );
  });
}

tcpTest("a second signal during shutdown does not skip turning the LED off", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  await lightUp(server);
  server.child.kill("SIGINT");
  server.child.kill("SIGINT");
  const { code } = await server.child.status;
  await Promise.all([server.stdout.done, server.stderr.done]);
  assert.equal(code, 0);
  await assertLedOff(server);
});

Deno.test("ledctl led on: SIGHUP turns the LED off before exiting", async () => {
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const child = ledctlCommand(["led", "--led", `mock?trace=${trace}`, "on"]).spawn();
    const out = new Lines(child.stdout);
    const err = new Lines(child.stderr);
    assert.equal((await waitForTraceEdges(trace, 2)).at(-1)!.level, true); // opened low, then lit
    child.kill("SIGHUP");
    const { code } = await child.status;
    await Promise.all([out.done, err.done]);
    assert.equal(code, 0, err.all.join("\n"));
    assert.equal((await readTrace(trace)).at(-1)!.level, false);
  } finally {
    await Deno.remove(trace);
  }
});
