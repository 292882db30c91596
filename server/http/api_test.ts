import assert from "node:assert/strict";
import { commandFromFields, runLedRequest, webClientName } from "./api.ts";
import { LedService } from "../../core/led_service.ts";
import { openLed } from "../../hal/select.ts";
import { parseCommand } from "../../protocol/command.ts";

Deno.test("fields become the same command the TCP line would", () => {
  assert.deepEqual(commandFromFields({ command: "blink", hz: "2,5" }), { verb: "blink", hz: 2.5 });
  assert.deepEqual(commandFromFields({ command: "Clignote", hz: 2.5 }), { verb: "blink", hz: 2.5 });
  assert.deepEqual(commandFromFields({ command: "off", hz: "whatever the field holds" }), {
    verb: "off",
  });
  assert.deepEqual(commandFromFields({ command: "blink 3" }), { verb: "blink", hz: 3 });
  assert.deepEqual(commandFromFields({ command: "blink", hz: "x" }), parseCommand("blink x"));
  assert.deepEqual(commandFromFields({ command: "eteind" }), { verb: "off" });
});

Deno.test("the seed's form fields map to commands", () => {
  assert.deepEqual(commandFromFields({ clignote: "", freq: "2,5" }), { verb: "blink", hz: 2.5 });
  assert.deepEqual(commandFromFields({ eteindre: "", freq: "" }), { verb: "off" });
  assert.deepEqual(commandFromFields({ allume: "" }), { verb: "on" });
});

Deno.test("a field cannot smuggle a second command or a huge line", () => {
  assert.equal(commandFromFields({ command: "blink", hz: "2\noff" }).verb, "error");
  const long = commandFromFields({ command: "blink", hz: "1".repeat(2000) });
  assert.deepEqual(long, {
    verb: "error",
    code: "line-too-long",
    text: "line exceeds 1024 bytes",
  });
  assert.equal(commandFromFields({ command: { evil: true } }).verb, "error");
});

Deno.test("a web request's change is named web #N, in the log, the event and the reply", async () => {
  const lines: string[] = [];
  const service = new LedService(await openLed("mock"), { log: (l) => lines.push(l) });
  try {
    const events: string[] = [];
    service.subscribe((e) => e.type === "state" && events.push(e.by));
    const r = await runLedRequest(
      { command: "blink", hz: "2,5" },
      service,
      { id: 1, remote: "127.0.0.1:5000" },
    );
    assert.equal(r.body.reply, "OK blink 2.5 Hz");
    assert.equal(r.body.client, "web #1 127.0.0.1:5000");
    assert.deepEqual(events, ["web #1 127.0.0.1:5000"]);
    assert.deepEqual(lines, ["LED blink 2.5 Hz  ← web #1 127.0.0.1:5000"]);
    assert.equal(webClientName({ id: 7, remote: "[::1]:80" }), "web #7 [::1]:80");
  } finally {
    await service.close();
  }
});
