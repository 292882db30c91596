import assert from "node:assert/strict";
import { MockLine, readTrace } from "./mock.ts";
import { FakeClock } from "./clock.ts";
import { HalError } from "./types.ts";

Deno.test("the mock records edges, not repeated levels", () => {
  const clock = new FakeClock();
  const line = new MockLine({ clock });
  line.set(false);
  clock.advance(5);
  line.set(true);
  line.set(true);
  clock.advance(5);
  line.set(false);
  assert.deepEqual(line.edges, [{ t: 0, level: false }, { t: 5, level: true }, {
    t: 10,
    level: false,
  }]);
});

Deno.test("the mock writes a trace file other processes can read", async () => {
  const path = await Deno.makeTempFile({ suffix: ".trace" });
  const clock = new FakeClock(12.5);
  const drawn: boolean[] = [];
  const line = new MockLine({ clock, tracePath: path, draw: (l) => drawn.push(l) });
  line.set(true);
  clock.advance(100);
  await line[Symbol.asyncDispose]();
  assert.deepEqual(await readTrace(path), [{ t: 12.5, level: true }, { t: 112.5, level: false }]);
  assert.deepEqual(drawn, [true, false]);
  assert.throws(() => line.set(true), HalError);
  await Deno.remove(path);
});

Deno.test("an unwritable trace path is a HalError that names the file", () => {
  assert.throws(
    () => new MockLine({ tracePath: "/nonexistent-dir/x.trace" }),
    (e: unknown) => e instanceof HalError && e.message.includes("/nonexistent-dir/x.trace"),
  );
});

Deno.test("the in-memory record is bounded", () => {
  const line = new MockLine({ maxEdges: 10 });
  for (let i = 0; i < 100; i++) line.set(i % 2 === 0);
  assert.equal(line.edges.length, 10);
});
