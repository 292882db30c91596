import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("durations parse with and without units", () => {
  assert.equal(parseDuration("10s"), 10_000);
  assert.equal(parseDuration("300ms"), 300);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("7"), 7000);
});

Deno.test("bad durations say how to write one", () => {
  for (const bad of ["", "ten", "-1s", "1h", "1e3", "99999999999m"]) {
    assert.throws(() => parseDuration(bad, "--idle-timeout"), RangeError, bad);
  }
});

Deno.test("durations format for messages", () => {
  assert.equal(formatDuration(10_000), "10 s");
  assert.equal(formatDuration(300), "300 ms");
  assert.equal(formatDuration(1500), "1.5 s");
});
