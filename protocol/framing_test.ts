import assert from "node:assert/strict";
import { type Frame, LineFramer, MAX_LINE } from "./framing.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const lines = (frames: Frame[]) =>
  frames.map((f) => (f.kind === "line" ? new TextDecoder().decode(f.bytes) : "<too-long>"));

Deno.test("framer cuts lines at LF, keeps CR for the parser, holds partials", () => {
  const f = new LineFramer();
  assert.deepEqual(lines(f.push(enc("on\r\nblink 2\nsta"))), ["on\r", "blink 2"]);
  assert.deepEqual(f.pending, true);
  assert.deepEqual(lines(f.push(enc("tus\n"))), ["status"]);
  assert.deepEqual(f.pending, false);
});

Deno.test("framer joins a line split over many chunks, byte by byte", () => {
  const f = new LineFramer();
  const out: string[] = [];
  for (const b of enc("clignote 2,5\n")) out.push(...lines(f.push(new Uint8Array([b]))));
  assert.deepEqual(out, ["clignote 2,5"]);
});

Deno.test("flush hands out the partial line once (half-close / frame timeout)", () => {
  const f = new LineFramer();
  f.push(enc("clignote 3"));
  assert.deepEqual(new TextDecoder().decode(f.flush()!), "clignote 3");
  assert.deepEqual(f.flush(), undefined);
});

Deno.test("a line of exactly MAX_LINE bytes passes, with or without CR", () => {
  const f = new LineFramer();
  const line = "x".repeat(MAX_LINE);
  assert.deepEqual(lines(f.push(enc(line + "\n"))), [line]);
  assert.deepEqual(lines(f.push(enc(line + "\r\n"))), [line + "\r"]);
});

Deno.test("one byte over MAX_LINE is too long, even before its LF arrives", () => {
  const f = new LineFramer();
  assert.deepEqual(lines(f.push(enc("x".repeat(MAX_LINE + 1)))), ["<too-long>"]);
  // Spent: nothing more comes out.
  assert.deepEqual(lines(f.push(enc("on\n"))), []);
  assert.deepEqual(f.flush(), undefined);
});

Deno.test("a 64 KB line is refused after at most MAX_LINE+1 buffered bytes", () => {
  const f = new LineFramer();
  const frames = f.push(enc("a".repeat(65536) + "\n"));
  assert.deepEqual(lines(frames), ["<too-long>"]);
});

Deno.test("lines before a too-long one are still delivered", () => {
  const f = new LineFramer(8);
  assert.deepEqual(lines(f.push(enc("on\n123456789\n"))), ["on", "<too-long>"]);
});

Deno.test("maxLine must be a positive integer", () => {
  assert.throws(() => new LineFramer(0), RangeError);
});
