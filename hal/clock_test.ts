import assert from "node:assert/strict";
import { FakeClock, realClock } from "./clock.ts";

Deno.test("fake timers fire in time order, each seeing its due time", () => {
  const c = new FakeClock();
  const seen: [string, number][] = [];
  c.setTimeout(() => seen.push(["b", c.now()]), 20);
  c.setTimeout(() => seen.push(["a", c.now()]), 10);
  const id = c.setTimeout(() => seen.push(["x", c.now()]), 15);
  c.clearTimeout(id);
  c.setTimeout(() => c.setTimeout(() => seen.push(["nested", c.now()]), 5), 12);
  c.advance(30);
  assert.deepEqual(seen, [["a", 10], ["nested", 17], ["b", 20]]);
  assert.equal(c.now(), 30);
  assert.throws(() => c.advance(-1), RangeError);
});

Deno.test("the real clock's timer fires", async () => {
  const t0 = realClock.now();
  await new Promise<void>((r) => realClock.setTimeout(r, 5));
  assert.ok(realClock.now() - t0 >= 4);
});
