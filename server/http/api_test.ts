import assert from "node:assert/strict";
import { commandFromFields } from "./api.ts";
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
