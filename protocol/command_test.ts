import assert from "node:assert/strict";
import { echo, helloName, parseCommand, parseHz } from "./command.ts";
import { parseReply } from "./reply.ts";

Deno.test("parseHz accepts both decimal separators and rejects the rest", () => {
  assert.deepEqual(parseHz("2,5"), 2.5);
  assert.deepEqual(parseHz("2.5"), 2.5);
  for (const bad of ["NaN", "inf", "-1", "0", "1e9", "3Hz", "0x10", "", " ", "1_000"]) {
    assert.deepEqual(typeof parseHz(bad), "object", bad);
  }
});

Deno.test("echo cuts long words at a UTF-8 boundary", () => {
  assert.deepEqual(echo("é".repeat(20)), "é".repeat(16) + "...");
  assert.deepEqual(echo("short"), "short");
});

Deno.test("hello takes the name after the last 'from'", () => {
  assert.deepEqual(helloName("server! from Client 1", "x"), "Client 1");
  assert.deepEqual(helloName("from a from b", "x"), "b");
  assert.deepEqual(helloName("", "client #4"), "client #4");
  assert.deepEqual(helloName("Ada", "x"), "Ada");
});

Deno.test("string requests parse like byte requests", () => {
  assert.deepEqual(parseCommand("clignote 2,5"), { verb: "blink", hz: 2.5 });
  assert.deepEqual(parseCommand("auth s3cret"), { verb: "auth", token: "s3cret" });
});

Deno.test("parseReply splits OK and ERR lines", () => {
  assert.deepEqual(parseReply("OK blink 2 Hz"), { ok: true, text: "blink 2 Hz" });
  assert.deepEqual(parseReply("ERR busy full\r"), { ok: false, code: "busy", text: "full" });
  assert.deepEqual(parseReply("garbage"), { ok: false, code: "bad-reply", text: "garbage" });
});
