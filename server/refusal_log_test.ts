/**
 * The refusal log on fake time: the first refusal per address is logged,
 * the rest counted and summed up once the minute ends; a flood from many
 * addresses stays a bounded number of lines.
 *
 * Bad inputs tried: 5,000 refusals from one address, refusals from 1,000
 * addresses, a window of 0 ms, a negative address cap.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../hal/clock.ts";
import { RefusalLog } from "./refusal_log.ts";

function setup(options: { maxAddresses?: number } = {}) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const log = new RefusalLog({ clock, log: (l) => lines.push(l), ...options });
  return { clock, lines, log };
}

const BUSY = "server has 1 clients (its limit)";

Deno.test("the first refusal of an address is logged; the rest are counted, then summed", () => {
  const { clock, lines, log } = setup();
  for (let i = 0; i < 5000; i++) log.refused("busy", "10.0.0.9", BUSY);
  log.refused("no-token", "10.0.0.9");
  assert.deepEqual(lines, [
    `tcp: refused a client from 10.0.0.9: ${BUSY} (more in the next 60 s are counted, not logged)`,
    "tcp: refused a request without a token from 10.0.0.9 " +
    "(more in the next 60 s are counted, not logged)",
  ]);
  clock.advance(59_999);
  assert.equal(lines.length, 2, "nothing more within the minute");
  clock.advance(1);
  assert.deepEqual(lines.slice(2), [
    "tcp: refused 4999 more clients in the last 60 s: 10.0.0.9 ×4999",
  ]);
  // A new minute: its first refusal is logged again.
  log.refused("busy", "10.0.0.9", BUSY);
  assert.equal(lines.length, 4);
  assert.match(lines[3], /^tcp: refused a client from 10\.0\.0\.9: /);
  log.close();
  assert.equal(lines.length, 4, "nothing counted: no summary");
});

Deno.test("a flood from many addresses stays a bounded number of lines", () => {
  const { lines, log } = setup({ maxAddresses: 3 });
  for (let i = 0; i < 1000; i++) log.refused("busy", `10.0.${i >> 8}.${i & 255}`, BUSY);
  log.refused("busy", "10.0.0.1", BUSY);
  log.close();
  assert.equal(lines.length, 4, lines.join("\n"));
  assert.equal(
    lines[3],
    "tcp: refused 998 more clients in the last 60 s: 10.0.0.1 ×1, 997 from other addresses",
  );
  log.refused("busy", "10.9.9.9", BUSY);
  assert.equal(lines.length, 4, "nothing after close");
});

Deno.test("one more refusal is said in the singular", () => {
  const { clock, lines, log } = setup();
  log.refused("no-token", "::1");
  log.refused("no-token", "::1");
  clock.advance(60_000);
  assert.equal(lines[1], "tcp: refused 1 more request without a token in the last 60 s: ::1 ×1");
});

Deno.test("bad options are a RangeError", () => {
  assert.throws(() => new RefusalLog({ windowMs: 0 }), RangeError);
  assert.throws(() => new RefusalLog({ maxAddresses: -1 }), RangeError);
});
