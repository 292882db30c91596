import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { HalError } from "../types.ts";
import { FakeBoard } from "./fake_board.ts";
import { BoardLink, commandFor, LINK_DOWN_NOTE } from "./link.ts";

// Lets promise chains and the fake board's replies run; time stands still.
const flush = () => new Promise<void>((r) => setTimeout(r, 0));

/** Awaits `p`, which must reject with a HalError; returns it. */
async function halError(p: Promise<unknown>): Promise<HalError> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof HalError, `expected a HalError, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

function setup() {
  const clock = new FakeClock();
  const board = new FakeBoard();
  const logs: string[] = [];
  let tags = 0;
  const open = () =>
    BoardLink.open({
      name: "fake:board",
      connect: () => board.connect(),
      clock,
      log: (l) => logs.push(l),
      backoff: { random: () => 0.5 }, // no spread: 0.5 s, 1 s, 2 s…
      syncTag: () => `sync-${String(++tags).padStart(6, "0")}`,
    });
  /** Advances fake time in steps, letting the link react between them. */
  const advance = async (ms: number, step = 100) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await flush();
    }
  };
  const logged = (re: RegExp) => logs.some((l) => re.test(l));
  return { clock, board, logs, open, advance, logged };
}

Deno.test("commandFor: the firmware's command for each state", () => {
  assert.deepEqual(commandFor({ mode: "off" }), "off");
  assert.deepEqual(commandFor({ mode: "on" }), "on");
  assert.deepEqual(commandFor({ mode: "blink", hz: 2.5 }), "blink 2.5");
  assert.deepEqual(commandFor({ mode: "blink", hz: 1 / 3 }), "blink 0.333333");
});

Deno.test("open: syncs past stale replies, turns the LED off, logs connected", async () => {
  const { board, open, logs } = setup();
  board.state = "blink 9 Hz";
  board.stale = ["OK blink 9 Hz", "OK off", 'ERR unknown-command "sync-999999" (try: help)'];
  await using link = await open();
  assert.deepEqual(board.received, ["sync-000001", "off"]);
  assert.deepEqual(board.state, "off");
  assert.deepEqual(link.note, undefined);
  assert(link.connected);
  assert.deepEqual(logs, ["board fake:board: connected; LED off"]);
});

Deno.test("apply: one command, one OK; ERR from the board is a HalError and keeps the state", async () => {
  const { board, open } = setup();
  await using link = await open();
  await link.apply({ mode: "blink", hz: 2.5 });
  assert.deepEqual(board.received.at(-1), "blink 2.5");
  assert.deepEqual(board.state, "blink 2.5 Hz");
  const e = await halError(link.apply({ mode: "blink", hz: 999 }));
  assert.deepEqual(e.kind, "io");
  assert.match(e.message, /refused "blink 999": ERR bad-argument/);
  assert.deepEqual(link.wanted, { mode: "blink", hz: 2.5 });
  assert(link.connected, "a refusal does not drop the link");
});

Deno.test("heartbeat: status every 3 s; a board that lost its state gets it back", async () => {
  const { board, open, advance, logged } = setup();
  await using link = await open();
  await link.apply({ mode: "blink", hz: 3 });
  const before = board.received.length;
  await advance(2900);
  assert.deepEqual(board.received.length, before, "no heartbeat before 3 s");
  await advance(100);
  assert.deepEqual(board.received.slice(before), ["status"]);
  board.state = "off"; // the board was reset behind our back
  await advance(3000);
  assert.deepEqual(board.received.slice(before + 1), ["status", "blink 3"]);
  assert.deepEqual(board.state, "blink 3 Hz");
  assert(logged(/reports "off", expected "blink 3 Hz": applying it again/));
  assert(link.connected);
});

Deno.test("silent board: heartbeat times out, apply resolves while down, state applied on reconnect", async () => {
  const { board, open, advance, logged, logs } = setup();
  await using link = await open();
  await link.apply({ mode: "on" });
  board.mode = "silent";
  await advance(3000 + 2000);
  assert(
    logged(/^board fake:board: disconnected: heartbeat: no reply to "status" within 2000 ms$/),
    logs.join("\n"),
  );
  assert(logged(/^board fake:board: retrying in 0\.5 s$/), logs.join("\n"));
  assert.deepEqual(link.note, LINK_DOWN_NOTE);
  assert(board.closedByLink, "the dead connection is closed");
  const sent = board.received.length;
  await link.apply({ mode: "blink", hz: 5 }); // resolves at once, remembered
  assert.deepEqual(board.received.length, sent, "nothing is sent while down");
  board.mode = "ok";
  await advance(500);
  assert.deepEqual(board.connections, 2);
  assert.deepEqual(board.received.slice(-2), ["sync-000002", "blink 5"]);
  assert.deepEqual(board.state, "blink 5 Hz");
  assert.deepEqual(link.note, undefined);
  assert.match(logs.at(-1)!, /connected; LED blink 5 Hz$/);
});

Deno.test("a command that gets no reply drops the link but apply still resolves", async () => {
  const { board, open, clock, logged } = setup();
  await using link = await open();
  board.mode = "silent";
  const p = link.apply({ mode: "blink", hz: 4 });
  await flush();
  clock.advance(2000);
  await p;
  assert(logged(/disconnected: no reply to "blink 4" within 2000 ms/));
  assert.deepEqual(link.note, LINK_DOWN_NOTE);
  assert.deepEqual(link.wanted, { mode: "blink", hz: 4 });
});

Deno.test("garbage reply drops the link; reconnection resyncs and reapplies", async () => {
  const { board, open, advance, logged } = setup();
  await using link = await open();
  board.mode = "garbage";
  await link.apply({ mode: "on" });
  assert(logged(/disconnected: the board answered garbage to "on"/));
  board.mode = "ok";
  await advance(500);
  assert(link.connected);
  assert.deepEqual(board.state, "on");
});

Deno.test("board hangs up: noticed at once; backoff doubles to 10 s with the board away", async () => {
  const { board, open, advance, logs, clock } = setup();
  await using link = await open();
  await link.apply({ mode: "blink", hz: 2 });
  board.reachable = false;
  board.hangUp();
  await flush();
  assert.deepEqual(link.note, LINK_DOWN_NOTE, "EOF is noticed without waiting for the heartbeat");
  assert(logs.includes("board fake:board: disconnected: the board closed the link"));
  await advance(500 + 1000 + 2000 + 4000 + 8000 + 10000 + 10000);
  const waits = logs.filter((l) => l.includes("retrying in")).map((l) =>
    l.split("retrying in ")[1]
  );
  assert.deepEqual(waits, [
    "0.5 s",
    "1.0 s",
    "2.0 s",
    "4.0 s",
    "8.0 s",
    "10.0 s",
    "10.0 s",
    "10.0 s",
  ]);
  assert.equal(
    logs.filter((l) => /still down: fake board unplugged/.test(l)).length,
    1,
    "the same failure is logged once, not at every attempt",
  );
  board.reachable = true;
  await link.apply({ mode: "blink", hz: 7 });
  await advance(10000);
  assert.deepEqual(board.state, "blink 7 Hz");
  assert.deepEqual(link.note, undefined);
  // After a success the backoff starts over.
  board.hangUp();
  await flush();
  assert.match(logs.at(-1)!, /retrying in 0\.5 s$/);
  assert(clock.pending >= 1);
});

Deno.test("a state asked for while reconnecting is not lost", async () => {
  const { board, open, advance } = setup();
  await using link = await open();
  await link.apply({ mode: "on" });
  board.hangUp();
  await flush();
  // The board hears the reconnection's "on"; meanwhile a client asks for blink 6.
  board.onLine = (line) => {
    if (line === "on") {
      board.onLine = undefined;
      void link.apply({ mode: "blink", hz: 6 });
    }
  };
  await advance(500);
  assert.deepEqual(board.received.slice(-3), ["sync-000002", "on", "blink 6"]);
  assert.deepEqual(board.state, "blink 6 Hz");
  assert(link.connected);
});

Deno.test("open fails with a HalError and no hang: silent, garbage, busy, unreachable", async () => {
  {
    const { board, open, clock } = setup();
    board.mode = "silent";
    const p = open();
    await flush();
    clock.advance(2000);
    const e = await halError(p);
    assert.deepEqual(e.kind, "timeout");
    assert.match(e.message, /does not answer \(nothing within 2000 ms\)/);
    assert(board.closedByLink);
  }
  {
    const { board, open, clock } = setup();
    board.mode = "garbage";
    const p = open();
    await flush();
    clock.advance(2000);
    const e = await halError(p);
    assert.deepEqual(e.kind, "io");
    assert.match(e.message, /answers, but not in the ledctl protocol/);
  }
  {
    const { board, open } = setup();
    board.stale = ["ERR busy board has 4 clients (its limit); try again later"];
    const e = await halError(open());
    assert.deepEqual(e.kind, "busy");
  }
  {
    const { board, open } = setup();
    board.reachable = false;
    const e = await halError(open());
    assert.deepEqual(e.kind, "unavailable");
  }
});

Deno.test("dispose stops heartbeat and reconnection; apply then rejects", async () => {
  const { board, open, clock, advance } = setup();
  const link = await open();
  board.hangUp();
  await flush();
  assert(clock.pending >= 1, "a reconnection is scheduled");
  await link[Symbol.asyncDispose]();
  assert.deepEqual(clock.pending, 0);
  const connections = board.connections;
  await advance(20000);
  assert.deepEqual(board.connections, connections);
  const e = await halError(link.apply({ mode: "on" }));
  assert.equal(e.kind, "unavailable");
  assert.deepEqual(link.note, undefined);
});

Deno.test("dispose turns the board's LED off when the link is up", async () => {
  const { board, open, logs } = setup();
  const link = await open();
  await link.apply({ mode: "blink", hz: 3 });
  await link[Symbol.asyncDispose]();
  assert.equal(board.received.at(-1), "off");
  assert.equal(board.state, "off");
  assert(board.closedByLink);
  await link[Symbol.asyncDispose](); // idempotent
  assert(!logs.some((l) => /could not|link down at exit/.test(l)), logs.join("\n"));
});

Deno.test("link: up, then down with why, then up again with the reconnection counted", async () => {
  const { board, open, advance } = setup();
  const link = await open();
  assert.deepEqual(link.link, { up: true, reconnects: 0 });
  board.reachable = false;
  board.hangUp();
  await flush();
  assert.deepEqual(link.link, {
    up: false,
    reconnects: 0,
    reason: "the board closed the link",
  });
  await advance(500);
  assert.deepEqual(link.link, { up: false, reconnects: 0, reason: "fake board unplugged" });
  board.reachable = true;
  await advance(1000);
  assert.deepEqual(link.link, { up: true, reconnects: 1 });
  board.hangUp();
  await flush();
  await advance(500);
  assert.deepEqual(link.link, { up: true, reconnects: 2 });
  await link[Symbol.asyncDispose]();
  assert.deepEqual(link.link, {
    up: false,
    reconnects: 2,
    reason: "the board link is closed",
  });
});
