import assert from "node:assert/strict";
import { HalError } from "../types.ts";
import { FakeBoard, type FakeBoardMode } from "./fake_board.ts";
import { HEARTBEAT_ENV, heartbeatFromEnv, openBoardLink } from "./mod.ts";
import { parseTcpTarget } from "./tcp.ts";

/** A fake board on a real loopback socket. */
function tcpBoard(mode: FakeBoardMode) {
  const board = new FakeBoard();
  board.mode = mode;
  const tcp = board.listenTcp();
  return {
    port: tcp.port,
    received: board.received,
    get state() {
      return board.state;
    },
    dropClients: tcp.dropClients,
    close: tcp.close,
  };
}

/** A log sink whose lines can be waited for (bounded). */
function logSink() {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  return {
    lines,
    log: (l: string) => {
      lines.push(l);
      for (const w of waiters.splice(0)) {
        if (w.re.test(l)) w.resolve();
        else waiters.push(w);
      }
    },
    waitFor(re: RegExp, ms = 5000): Promise<void> {
      if (lines.some((l) => re.test(l))) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no log line ${re}; saw ${lines}`)), ms);
        waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
  };
}

Deno.test("parseTcpTarget: host:port, [v6]:port, default port 7000, errors", () => {
  assert.deepEqual(parseTcpTarget("192.168.1.50:7000"), { host: "192.168.1.50", port: 7000 });
  assert.deepEqual(parseTcpTarget("board.local"), { host: "board.local", port: 7000 });
  assert.deepEqual(parseTcpTarget("[fe80::1]:7001"), { host: "fe80::1", port: 7001 });
  assert.throws(() => parseTcpTarget("a:b:c"), /expected host:port/);
  assert.throws(() => parseTcpTarget("host:99999"), /port must be 1 to 65535/);
});

Deno.test("tcp link over loopback: apply, lose the connection, reconnect and reapply", async () => {
  const board = tcpBoard("ok");
  const sink = logSink();
  const led = await openBoardLink("tcp", `127.0.0.1:${board.port}`, new URLSearchParams(), {
    log: sink.log,
  });
  try {
    assert.equal(led.description, `tcp:127.0.0.1:${board.port}`);
    await led.apply({ mode: "blink", hz: 3 });
    assert.equal(board.state, "blink 3 Hz");
    board.dropClients();
    await sink.waitFor(/disconnected: the board closed the link/);
    assert.match(led.note ?? "", /board link down/);
    await led.apply({ mode: "on" }); // remembered while down
    await sink.waitFor(/connected; LED on/);
    assert.equal(board.state, "on");
    assert.equal(led.note, undefined);
    assert(sink.lines.some((l) => /retrying in 0\.[4-6] s/.test(l)), sink.lines.join("\n"));
  } finally {
    await led[Symbol.asyncDispose]();
    await board.close();
  }
});

Deno.test("tcp board that says nothing or garbage: HalError within the reply timeout", async () => {
  for (const [mode, kind] of [["silent", "timeout"], ["garbage", "io"]] as const) {
    const board = tcpBoard(mode);
    const t0 = performance.now();
    try {
      await assert.rejects(
        openBoardLink("tcp", `127.0.0.1:${board.port}`, new URLSearchParams(), { log: () => {} }),
        (e) => e instanceof HalError && e.kind === kind,
      );
      assert(performance.now() - t0 < 4000, "bounded by the 2 s reply timeout");
      assert.match(board.received[0], /^sync-[0-9a-f]{6}$/);
    } finally {
      await board.close();
    }
  }
});

Deno.test("tcp: nothing listening is 'unavailable' and says what to check", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    openBoardLink("tcp", `127.0.0.1:${port}`, new URLSearchParams()),
    (e) =>
      e instanceof HalError && e.kind === "unavailable" && /connection refused/.test(e.message),
  );
});

Deno.test("openBoardLink: a malformed target or option is a TypeError", async () => {
  await assert.rejects(openBoardLink("tcp", "a:b:c", new URLSearchParams()), TypeError);
  await assert.rejects(
    openBoardLink("serial", "/dev/ttyACM0", new URLSearchParams("baud=7")),
    TypeError,
  );
});

Deno.test("heartbeatFromEnv: unset is 3 s; whole ms from 100 to 9000; anything else is a TypeError", () => {
  const env = (v: string | undefined) => (name: string) => name === HEARTBEAT_ENV ? v : undefined;
  assert.equal(HEARTBEAT_ENV, "LEDCTL_STM32_HEARTBEAT_MS");
  assert.equal(heartbeatFromEnv(env(undefined)), 3000);
  assert.equal(heartbeatFromEnv(env("")), 3000);
  assert.equal(heartbeatFromEnv(env("100")), 100);
  assert.equal(heartbeatFromEnv(env("6000")), 6000);
  assert.equal(heartbeatFromEnv(env("9000")), 9000);
  for (const bad of ["99", "9001", "10000", "1.5", "-5", "5 s", "0x100"]) {
    assert.throws(
      () => heartbeatFromEnv(env(bad)),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith(`LEDCTL_STM32_HEARTBEAT_MS=${JSON.stringify(bad)}: want a whole`),
      bad,
    );
  }
});

Deno.test("openBoardLink takes the heartbeat from LEDCTL_STM32_HEARTBEAT_MS", async () => {
  const board = tcpBoard("ok");
  const before = Deno.env.get(HEARTBEAT_ENV);
  Deno.env.set(HEARTBEAT_ENV, "150");
  let led;
  try {
    led = await openBoardLink("tcp", `127.0.0.1:${board.port}`, new URLSearchParams(), {
      log: () => {},
    });
  } finally {
    if (before === undefined) Deno.env.delete(HEARTBEAT_ENV);
    else Deno.env.set(HEARTBEAT_ENV, before);
  }
  try {
    const t0 = performance.now();
    while (board.received.filter((l) => l === "status").length < 2) {
      assert(performance.now() - t0 < 2000, `two heartbeats within 2 s: ${board.received}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await led[Symbol.asyncDispose]();
    await board.close();
  }
});
