import assert from "node:assert/strict";
import { SafetyNet } from "./safety.ts";

function setup(ledOff: () => Promise<void>, timeoutMs = 50) {
  const lines: string[] = [];
  const exits: number[] = [];
  const net = new SafetyNet({
    command: "serve",
    ledOff,
    timeoutMs,
    error: (l) => lines.push(l),
    exit: (c) => exits.push(c),
    signals: [],
  });
  return { net, lines, exits };
}

Deno.test("a fault turns the LED off first, then prints one line and exits 1", async () => {
  const order: string[] = [];
  const { net, lines, exits } = setup(() => (order.push("off"), Promise.resolve()));
  try {
    await net.fatal(new TypeError("boom"));
    assert.deepEqual(order, ["off"]);
    assert.deepEqual(exits, [1]);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      /^ledctl serve: fatal error, stopped \(the LED is off\): TypeError: boom/,
    );
  } finally {
    net.dispose();
  }
});

Deno.test("the LED is turned off once, whoever asks", async () => {
  let calls = 0;
  const { net } = setup(() => (calls++, Promise.resolve()));
  try {
    assert.equal(await net.turnLedOff(), true);
    await net.fatal(new Error("later"));
    assert.equal(await net.turnLedOff(), true);
    assert.equal(calls, 1);
  } finally {
    net.dispose();
  }
});

Deno.test("a stuck or failing LED does not hold the exit back", async () => {
  const stuck = setup(() => new Promise<void>(() => {}), 20);
  try {
    await stuck.net.fatal(new Error("x"));
    assert.deepEqual(stuck.exits, [1]);
    assert.match(stuck.lines[0], /could not confirm the LED off/);
  } finally {
    stuck.net.dispose();
  }
  const failing = setup(() => Promise.reject(new Error("gpio gone")));
  try {
    assert.equal(await failing.net.turnLedOff(), false);
  } finally {
    failing.net.dispose();
  }
});
