import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";

Deno.test("backoff doubles from 0.5 s to the 10 s ceiling and starts over on reset", () => {
  const b = new Backoff({ jitter: 0 });
  const waits = Array.from({ length: 8 }, () => b.next());
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  assert.equal(b.attempts, 8);
  b.reset();
  assert.equal(b.next(), 500);
});

Deno.test("backoff jitter spreads each wait by ±20 % and stays inside it", () => {
  const low = new Backoff({ random: () => 0 });
  const high = new Backoff({ random: () => 0.999999 });
  assert.equal(low.next(), 400);
  assert.equal(high.next(), 600);
  const b = new Backoff();
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    b.reset();
    const w = b.next();
    assert(w >= 400 && w <= 600, `wait ${w} outside 400..600`);
    seen.add(w);
  }
  assert(seen.size > 5, "Math.random jitter varies");
});

Deno.test("backoff rejects nonsense options", () => {
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
  assert.throws(() => new Backoff({ initialMs: 100, maxMs: 50 }), RangeError);
  assert.throws(() => new Backoff({ jitter: 1 }), RangeError);
});
