import assert from "node:assert/strict";
import { EventHub, sseMessage } from "./sse.ts";
import { LedService } from "../../core/led_service.ts";
import { openLed } from "../../hal/select.ts";

/** Reads `response` until `done(text)` holds, then cancels it. */
async function readUntil(response: Response, done: (t: string) => boolean): Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!done(text)) {
    const { value, done: end } = await reader.read();
    if (end) break;
    text += value;
  }
  await reader.cancel();
  return text;
}

Deno.test("an SSE message is one event line and one JSON data line", () => {
  assert.equal(
    sseMessage("state", { text: "a\nb" }),
    'event: state\ndata: {"text":"a\\nb"}\n\n',
  );
});

Deno.test("idle streams get a heartbeat; a cancelled stream is forgotten", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const hub = new EventHub(service, { heartbeatMs: 5 });
  const first = await hub.open();
  const second = await hub.open();
  assert.equal(hub.viewers, 2);
  const text = await readUntil(first, (t) => t.includes(": ping\n\n"));
  assert.match(text, /^retry: 2000\n\nevent: state\n/);
  assert.equal(hub.viewers, 1);
  const other = await readUntil(second, (t) => t.includes('"count":1}') && t.includes(": ping"));
  assert.match(other, /event: viewers\ndata: \{"count":1\}/);
  assert.equal(hub.viewers, 0);
  hub.close();
  assert.equal((await hub.open()).status, 503);
  await service.close();
});

Deno.test("more streams than maxViewers get 503 with a reason", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const hub = new EventHub(service, { maxViewers: 3 });
  const open = [await hub.open(), await hub.open(), await hub.open()];
  const extra = await hub.open();
  assert.equal(extra.status, 503);
  assert.match(await extra.text(), /too many open pages \(3\)/);
  assert.equal(hub.viewers, 3);
  await open[0].body!.cancel();
  assert.equal((await hub.open()).status, 200, "a freed place can be taken");
  hub.close();
  await service.close();
});

Deno.test("a stream whose reader stops reading is ended, not buffered forever", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const hub = new EventHub(service, { maxQueuedBytes: 2000 });
  const stalled = await hub.open(); // never read
  const live = await hub.open();
  const drained = live.body!.pipeTo(new WritableStream()); // a page that keeps reading
  // Each client-count change is an event of ~35 bytes to every stream.
  for (let i = 0; i < 200 && hub.viewers === 2; i++) {
    service.countClient(1);
    await new Promise((r) => setTimeout(r, 0)); // let the live page read
  }
  assert.equal(hub.viewers, 1, "the stalled stream was dropped, the live one kept");
  hub.close();
  await drained;
  await stalled.body!.cancel().catch(() => {});
  await service.close();
});
