import assert from "node:assert/strict";
import { FakeClock } from "../hal/clock.ts";
import { AuthLimiter } from "./auth_limit.ts";

function setup(maxFailures = 3) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const limiter = new AuthLimiter({
    maxFailures,
    windowMs: 60_000,
    clock,
    log: (l) => lines.push(l),
  });
  return { clock, lines, limiter };
}

Deno.test("an address is locked out after maxFailures wrong tokens, until its window ends", () => {
  const { clock, limiter } = setup(3);
  limiter.fail("10.0.0.1", "tcp");
  limiter.fail("10.0.0.1", "tcp");
  assert.equal(limiter.retryAfterS("10.0.0.1"), 0, "two of three: not yet");
  clock.advance(10_000);
  limiter.fail("10.0.0.1", "tcp");
  assert.equal(limiter.retryAfterS("10.0.0.1"), 50, "the window runs from the first wrong token");
  assert.equal(limiter.retryAfterS("10.0.0.2"), 0, "other addresses are not affected");
  clock.advance(49_999);
  assert.equal(limiter.retryAfterS("10.0.0.1"), 1);
  clock.advance(1);
  assert.equal(limiter.retryAfterS("10.0.0.1"), 0);
});

Deno.test("wrong tokens are logged once per address and window, with the count carried", () => {
  const { clock, lines, limiter } = setup(100);
  for (let i = 0; i < 7; i++) limiter.fail("10.0.0.1", "web");
  limiter.fail("10.0.0.2", "tcp");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^web: wrong token from 10\.0\.0\.1 \(/);
  assert.match(lines[1], /^tcp: wrong token from 10\.0\.0\.2 \(/);
  clock.advance(60_000);
  limiter.fail("10.0.0.1", "web");
  assert.equal(lines.length, 3);
  assert.match(lines[2], /wrong token from 10\.0\.0\.1; 6 more in the minute before/);
});

Deno.test("the table is bounded: the oldest address goes first", () => {
  const clock = new FakeClock();
  const limiter = new AuthLimiter({ maxFailures: 1, maxAddresses: 2, clock, log: () => {} });
  limiter.fail("a", "tcp");
  limiter.fail("b", "tcp");
  limiter.fail("c", "tcp");
  assert.equal(limiter.retryAfterS("a"), 0, "evicted");
  assert.ok(limiter.retryAfterS("b") > 0);
  assert.ok(limiter.retryAfterS("c") > 0);
});

Deno.test("bad options are a RangeError", () => {
  assert.throws(() => new AuthLimiter({ maxFailures: 0 }), RangeError);
});
