import assert from "node:assert/strict";
import { echo, helloName, parseCommand, parseHz } from "./command.ts";
import { formatHz } from "../core/state.ts";
import { parseReply } from "./reply.ts";

Deno.test("parseHz accepts both decimal separators and rejects the rest", () => {
  assert.deepEqual(parseHz("2,5"), 2.5);
  assert.deepEqual(parseHz("2.5"), 2.5);
  for (const bad of ["NaN", "inf", "-1", "0", "1e9", "3kHz", "0x10", "", " ", "1_000", "Hz"]) {
    assert.deepEqual(typeof parseHz(bad), "object", bad);
  }
});

Deno.test("parseHz takes an optional Hz unit after the digits, in any case", () => {
  for (const w of ["2.5Hz", "2,5hz", "2.5HZ", "2.5hZ"]) assert.deepEqual(parseHz(w), 2.5, w);
  assert.deepEqual(typeof parseHz("2.5Hz", { unit: false }), "object");
  assert.deepEqual(typeof parseHz("2.5HzHz"), "object");
  assert.deepEqual(parseCommand("blink 2.5 Hz"), { verb: "blink", hz: 2.5 });
  assert.deepEqual(parseCommand("blink 2.5Hz Hz").verb, "error");
});

Deno.test("parseHz checks the range on the exact decimal value, however many digits", () => {
  for (const out of ["500.00000000000001", "500,000000000000000000001", "0.0499999999999999999"]) {
    assert.deepEqual(typeof parseHz(out), "object", out);
  }
  for (const edge of ["500.00000000000000000000", "0.05000000000000000000", ",05"]) {
    assert.deepEqual(parseHz(edge), edge.startsWith("5") ? 500 : 0.05, edge);
  }
  assert.deepEqual(parseHz("499.99999999999999999"), 500);
  assert.deepEqual(parseHz("0.05000000000000000001"), 0.05);
  // A thousand zeros before the last 1 still count.
  assert.deepEqual(typeof parseHz(`500.${"0".repeat(1000)}1`), "object");
  assert.deepEqual(parseHz(`0,05${"0".repeat(1000)}1`), 0.05);
});

Deno.test("parseHz rounds past 15 significant digits half-up before it takes the double", () => {
  assert.deepEqual(parseHz("1.23456789012345678"), 1.23456789012346);
  assert.deepEqual(parseHz("9.9999999999999999"), 10);
  assert.deepEqual(parseHz("2.0000000000000049999"), 2);
  assert.deepEqual(parseHz("2.000000000000005"), 2.00000000000001);
  // 15 digits or fewer: the nearest double of the value as written.
  assert.deepEqual(parseHz("0.333333333333333"), 0.333333333333333);
  // Rounded to 15 digits this is the tie 99.99995, whose double lies below it.
  const hz = parseHz("99.999950000000000000000001");
  assert.deepEqual(typeof hz === "number" ? formatHz(hz) : hz, "99.9999");
});

Deno.test("a byte order mark is ignored first on a line and refused anywhere else", () => {
  const bytes = (...parts: (string | number[])[]) =>
    new Uint8Array(
      parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
    );
  const bom = [0xef, 0xbb, 0xbf];
  for (const line of [bytes(bom, "off"), "\uFEFFoff", bytes(bom, "off\r"), "\uFEFF  off"]) {
    assert.deepEqual(parseCommand(line), { verb: "off" });
  }
  assert.deepEqual(parseCommand(bytes(bom, "blink 2,5")), { verb: "blink", hz: 2.5 });
  for (const line of [bytes(bom), "\uFEFF", "\uFEFF\r"]) {
    assert.deepEqual(parseCommand(line), {
      verb: "error",
      code: "unknown-command",
      text: "empty line (try: help)",
    });
  }
  for (
    const line of [bytes(bom, bom, "off"), bytes(" ", bom, "off"), "off\uFEFF", "hello A\uFEFFda"]
  ) {
    assert.deepEqual(parseCommand(line), {
      verb: "error",
      code: "bad-encoding",
      text: "line has a byte order mark (U+FEFF) after its start: remove it",
    });
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
