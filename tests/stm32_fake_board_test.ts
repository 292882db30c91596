/**
 * `ledctl serve --led tcp:…` as a real process against a misbehaving board:
 * a tiny fake board on loopback TCP (it plays the remote device) that
 * answers garbage or nothing, at start-up or mid-run. ledctl must fail or
 * degrade with a clear message, within its timeouts, never hang, and keep
 * serving its own clients.
 */
import assert from "node:assert/strict";
import { FakeBoard } from "../hal/stm32/fake_board.ts";
import { RawClient, ServerProcess } from "./harness.ts";
import { HEARTBEAT_ENV, ledctlArgv, LOSS_WINDOW_MS, Proc } from "./stm32_board.ts";

const DOWN = "(board link down; will apply on reconnect)";

/**
 * What the board received on its latest connection after the sync line:
 * right after a reconnection, the re-applied state must come first (a
 * `status` first would be the heartbeat, finding the board in the wrong state).
 */
function sinceLastSync(received: readonly string[]): string[] {
  const i = received.findLastIndex((l) => /^sync-[0-9a-f]{6}$/.test(l));
  return i < 0 ? [] : received.slice(i + 1);
}

/** Resolves with the process status, or rejects after `ms` (the process is then killed). */
async function exitWithin(p: Proc, ms: number): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${p.name} still running after ${ms} ms`)), ms);
  });
  try {
    const s = await Promise.race([p.child.status, late]);
    await Promise.all([p.stdout.done, p.stderr.done]);
    return s;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("serve against a board that says nothing or garbage: exit 1, says why, no hang", async () => {
  for (
    const [mode, kind, why] of [
      ["silent", "timeout", /does not answer \(nothing within 2000 ms\): is the board running/],
      ["garbage", "io", /answers, but not in the ledctl protocol/],
    ] as const
  ) {
    const board = new FakeBoard();
    board.mode = mode;
    const tcp = board.listenTcp();
    await using server = Proc.spawn(
      ledctlArgv(["serve", "--port", "0", "--http", "off", "--led", `tcp:127.0.0.1:${tcp.port}`]),
    );
    try {
      const status = await exitWithin(server, 15_000);
      const err = server.stderr.all.join("\n");
      assert.equal(status.code, 1, err);
      assert.match(err, new RegExp(`cannot open the LED \\(${kind}\\)`));
      assert.match(err, why);
      assert.match(board.received[0], /^sync-[0-9a-f]{6}$/);
    } finally {
      await tcp.close();
    }
  }
});

Deno.test("board silent, then garbage, mid-run: ledctl keeps serving, then restores the state", async () => {
  const board = new FakeBoard();
  const tcp = board.listenTcp();
  try {
    await using server = await ServerProcess.start(["--led", `tcp:127.0.0.1:${tcp.port}`], {
      trace: false,
      env: HEARTBEAT_ENV,
    });
    using client = await RawClient.connect(server.port);
    assert.equal(await client.ask("blink 3"), "OK blink 3 Hz");
    assert.equal(board.state, "blink 3 Hz");

    board.mode = "silent";
    await server.stdout.waitFor(
      /board tcp:\S+: disconnected: heartbeat: no reply to "status" within 2000 ms/,
      LOSS_WINDOW_MS,
    );
    assert.equal(await client.ask("status"), `OK blink 3 Hz ${DOWN}`);
    assert.equal(await client.ask("on"), `OK on ${DOWN}`);
    await server.stdout.waitFor(/board tcp:\S+: still down: .*does not answer/, 10_000);

    board.mode = "ok";
    await server.stdout.waitFor(/board tcp:\S+: connected; LED on/, 20_000);
    assert.deepEqual(sinceLastSync(board.received), ["on"], "re-applied on reconnection");
    assert.equal(board.state, "on");
    assert.equal(await client.ask("status"), "OK on");

    board.mode = "garbage";
    assert.equal(await client.ask("blink 2"), `OK blink 2 Hz ${DOWN}`);
    await server.stdout.waitFor(
      /board tcp:\S+: disconnected: the board answered garbage to "blink 2"/,
      5000,
    );
    board.mode = "ok";
    await server.stdout.waitFor(/board tcp:\S+: connected; LED blink 2 Hz/, 20_000);
    assert.deepEqual(sinceLastSync(board.received), ["blink 2"], "re-applied on reconnection");
    assert.equal(board.state, "blink 2 Hz");
  } finally {
    await tcp.close();
  }
});
