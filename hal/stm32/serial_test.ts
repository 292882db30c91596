import assert from "node:assert/strict";
import { DEFAULT_BAUD, parseBaud } from "./serial.ts";

Deno.test("parseBaud: default 115200, supported rates, clear error otherwise", () => {
  assert.equal(parseBaud(new URLSearchParams()), DEFAULT_BAUD);
  assert.equal(parseBaud(new URLSearchParams("baud=9600")), 9600);
  assert.equal(parseBaud(new URLSearchParams("baud=921600")), 921600);
  assert.throws(
    () => parseBaud(new URLSearchParams("baud=12345")),
    /unsupported baud=12345: use one of .*115200/,
  );
  assert.throws(() => parseBaud(new URLSearchParams("baud=fast")), TypeError);
});
