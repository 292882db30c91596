import assert from "node:assert/strict";
import { LedService, type ServiceEvent } from "./led_service.ts";
import { HalError, type LedDriver } from "../hal/types.ts";
import type { LedState } from "./state.ts";

/** A driver that records applies and can be told to fail or to be slow. */
class RecordingDriver implements LedDriver {
  description = "recording";
  applied: LedState[] = [];
  failNext = false;
  gate?: Promise<void>;
  disposed = false;
  async apply(state: LedState): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new HalError("io", "pin fell off");
    }
    this.applied.push(state);
  }
  [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true;
    return Promise.resolve();
  }
}

Deno.test("requests apply in arrival order and the last one wins", async () => {
  const d = new RecordingDriver();
  const gate = Promise.withResolvers<void>();
  d.gate = gate.promise;
  const s = new LedService(d, { log: () => {} });
  const all = [
    s.request({ mode: "on" }, "a"),
    s.request({ mode: "blink", hz: 3 }, "b"),
    s.request({ mode: "off" }, "c"),
  ];
  gate.resolve();
  await Promise.all(all);
  assert.deepEqual(d.applied, [{ mode: "on" }, { mode: "blink", hz: 3 }, { mode: "off" }]);
  assert.deepEqual(s.state, { mode: "off" });
});

Deno.test("a failing apply keeps the previous state, logs nothing, and later requests still run", async () => {
  const d = new RecordingDriver();
  const logs: string[] = [];
  const s = new LedService(d, { log: (l) => logs.push(l) });
  await s.request({ mode: "on" }, "a");
  d.failNext = true;
  await assert.rejects(s.request({ mode: "blink", hz: 2 }, "b"), HalError);
  assert.deepEqual(s.state, { mode: "on" });
  await s.request({ mode: "off" }, "c");
  assert.deepEqual(logs, ["LED on  ← a", "LED off  ← c"]);
});

Deno.test("subscribers hear state and client-count changes", async () => {
  const s = new LedService(new RecordingDriver(), { log: () => {} });
  const events: ServiceEvent[] = [];
  const off = s.subscribe((e) => events.push(e));
  s.countClient(1);
  await s.request({ mode: "on" }, "web");
  off();
  s.countClient(-1);
  assert.deepEqual(events, [
    { type: "clients", count: 1 },
    { type: "state", state: { mode: "on" }, by: "web" },
  ]);
});

Deno.test("close turns the LED off, releases the driver, and refuses later requests", async () => {
  const d = new RecordingDriver();
  const s = new LedService(d, { log: () => {} });
  await s.request({ mode: "blink", hz: 5 }, "a");
  await s.close();
  assert.deepEqual(d.applied.at(-1), { mode: "off" });
  assert.equal(d.disposed, true);
  await assert.rejects(s.request({ mode: "on" }, "late"), /shutting down/);
  await s.close(); // idempotent
});

Deno.test("the driver's note shows in command and status replies", async () => {
  const { execute } = await import("./commands.ts");
  const d = new RecordingDriver() as RecordingDriver & { note?: string };
  const s = new LedService(d, { log: () => {} });
  const client = { id: 1, remote: "127.0.0.1:1" };
  d.note = "board link down; will apply on reconnect";
  assert.equal(
    (await execute({ verb: "blink", hz: 3 }, s, client)).reply,
    "OK blink 3 Hz (board link down; will apply on reconnect)",
  );
  assert.equal(
    (await execute({ verb: "status" }, s, client)).reply,
    "OK blink 3 Hz (board link down; will apply on reconnect)",
  );
  d.note = undefined;
  assert.equal((await execute({ verb: "status" }, s, client)).reply, "OK blink 3 Hz");
});

Deno.test("a request for the state the LED is already in makes no event", async () => {
  const s = new LedService(new RecordingDriver(), { log: () => {} });
  const events: ServiceEvent[] = [];
  s.subscribe((e) => events.push(e));
  await s.request({ mode: "on" }, "a");
  await s.request({ mode: "on" }, "b");
  await s.request({ mode: "blink", hz: 2 }, "c");
  await s.request({ mode: "blink", hz: 2 }, "d");
  await s.request({ mode: "blink", hz: 2.5 }, "e");
  assert.deepEqual(events.map((e) => e.type === "state" && e.by), ["a", "c", "e"]);
});
