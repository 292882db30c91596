import assert from "node:assert/strict";
import { SoftwareBlinker } from "./blinker.ts";
import { FakeClock } from "./clock.ts";
import { MockLine } from "./mock.ts";
import { HalError, type OutputLine } from "./types.ts";

function rig() {
  const clock = new FakeClock(1000);
  const line = new MockLine({ clock });
  const led = new SoftwareBlinker(line, { clock });
  return { clock, line, led };
}

Deno.test("10,000 edges at 50 Hz land exactly on schedule", async () => {
  const { clock, line, led } = rig();
  await led.apply({ mode: "blink", hz: 50 });
  const t0 = clock.now();
  // Advance in uneven steps, as a busy event loop would deliver them.
  while (line.edges.length < 10_001) clock.advance(7.3);
  const edges = line.edges.slice(1, 10_001); // [0] is the initial off
  for (let k = 0; k < edges.length; k++) {
    assert.equal(edges[k].level, k % 2 === 0, `edge ${k} level`);
    const want = t0 + k * 10; // 50 Hz → an edge every 10 ms
    assert.ok(Math.abs(edges[k].t - want) < 1e-6, `edge ${k} at ${edges[k].t}, want ${want}`);
  }
  await led[Symbol.asyncDispose]();
});

Deno.test("a late timer skips missed edges instead of bursting, and stays on the grid", async () => {
  const { clock, line, led } = rig();
  await led.apply({ mode: "blink", hz: 10 }); // an edge every 50 ms
  const t0 = clock.now();
  clock.stall(260); // the event loop was stuck: edges 1..5 are overdue
  clock.advance(0);
  // One edge, late, at the level edge 5 has (odd → low); no burst of five.
  assert.deepEqual(line.edges.slice(1), [{ t: t0, level: true }, { t: t0 + 260, level: false }]);
  clock.advance(40); // edge 6 is due at t0 + 300: back on the grid
  assert.deepEqual(line.edges.at(-1), { t: t0 + 300, level: true });
  await led[Symbol.asyncDispose]();
});

Deno.test("changing the frequency or turning off mid-blink never leaves the LED on", async () => {
  const { clock, line, led } = rig();
  for (let i = 0; i < 200; i++) {
    await led.apply({ mode: "blink", hz: 1 + (i % 7) });
    clock.advance(37 + (i * 13) % 300);
    await led.apply({ mode: "off" });
    assert.equal(line.level, false, `round ${i}: off must be low`);
    const pending = clock.pending;
    assert.equal(pending, 0, `round ${i}: no timer may survive "off"`);
    clock.advance(1000);
    assert.equal(line.level, false, `round ${i}: still low a second later`);
  }
  await led[Symbol.asyncDispose]();
});

Deno.test("a new blink restarts from its own origin, lit at once", async () => {
  const { clock, line, led } = rig();
  await led.apply({ mode: "blink", hz: 1 });
  clock.advance(700); // now low (edge at +500)
  assert.equal(line.level, false);
  await led.apply({ mode: "blink", hz: 2 });
  assert.equal(line.level, true);
  const t1 = clock.now();
  clock.advance(250);
  assert.equal(line.edges.at(-1)!.t, t1 + 250);
  await led[Symbol.asyncDispose]();
});

Deno.test("dispose turns the LED off and releases the line; later applies fail", async () => {
  const { clock, line, led } = rig();
  await led.apply({ mode: "on" });
  await led[Symbol.asyncDispose]();
  assert.equal(line.level, false);
  assert.equal(line.closed, true);
  assert.equal(clock.pending, 0);
  await assert.rejects(led.apply({ mode: "on" }), HalError);
});

Deno.test("a line failing while blinking reports a fault and stops the timer", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const line: OutputLine = {
    description: "flaky",
    set() {
      if (++calls > 3) throw new HalError("io", "gone");
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const faults: HalError[] = [];
  const led = new SoftwareBlinker(line, { clock, onFault: (e) => faults.push(e) });
  await led.apply({ mode: "blink", hz: 10 });
  clock.advance(1000);
  assert.equal(faults.length, 1);
  assert.equal(faults[0].kind, "io");
  assert.equal(clock.pending, 0);
});

Deno.test("apply rejects a non-finite frequency with RangeError", async () => {
  const { led } = rig();
  await assert.rejects(led.apply({ mode: "blink", hz: Infinity }), RangeError);
  await assert.rejects(led.apply({ mode: "blink", hz: 0 }), RangeError);
});
