import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { HalError } from "../types.ts";
import { LineChannel } from "./lines.ts";
import type { Port } from "./port.ts";

/** A port fed by the test, chunk by chunk. */
class ScriptPort implements Port {
  chunks: (Uint8Array | null)[] = [];
  written: string[] = [];
  #wake: (() => void) | undefined;
  closed = false;
  feed(data: string | null) {
    this.chunks.push(data === null ? null : new TextEncoder().encode(data));
    this.#wake?.();
  }
  async read(buf: Uint8Array): Promise<number | null> {
    while (this.chunks.length === 0 && !this.closed) {
      await new Promise<void>((r) => (this.#wake = r));
    }
    if (this.closed) return null;
    const c = this.chunks.shift()!;
    if (c === null) return null;
    buf.set(c);
    return c.length;
  }
  write(data: Uint8Array): Promise<void> {
    this.written.push(new TextDecoder().decode(data));
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    this.#wake?.();
    return Promise.resolve();
  }
}

const flush = () => new Promise<void>((r) => setTimeout(r, 0));

Deno.test("LineChannel: splits chunks into lines, drops CR, queues unasked lines", async () => {
  const port = new ScriptPort();
  const ch = new LineChannel(port, { clock: new FakeClock() });
  await ch.send("status");
  assert.deepEqual(port.written, ["status\n"]);
  port.feed("OK bl");
  port.feed("ink 3 Hz\r\nOK off\nERR x y\n");
  assert.equal(await ch.next(1000), "OK blink 3 Hz");
  await flush();
  assert.deepEqual(ch.drain(), ["OK off", "ERR x y"]);
  assert.deepEqual(ch.drain(), []);
  await ch.close();
});

Deno.test("LineChannel: next times out on the injected clock", async () => {
  const clock = new FakeClock();
  const ch = new LineChannel(new ScriptPort(), { clock });
  const p = ch.next(2000);
  clock.advance(1999);
  let settled = false;
  p.catch(() => {}).finally(() => (settled = true));
  await flush();
  assert(!settled, "not before 2000 ms");
  clock.advance(1);
  await assert.rejects(p, (e) => e instanceof HalError && e.kind === "timeout");
  await ch.close();
});

Deno.test("LineChannel: end of stream rejects the waiter and reports once", async () => {
  const port = new ScriptPort();
  const ends: string[] = [];
  const ch = new LineChannel(port, { clock: new FakeClock(), onEnd: (r) => ends.push(r) });
  const p = ch.next(1000);
  port.feed(null);
  await assert.rejects(p, (e) => e instanceof HalError && e.kind === "io");
  assert.deepEqual(ends, ["the board closed the link"]);
  assert.equal(ch.ended, "the board closed the link");
  await assert.rejects(ch.send("on"), HalError);
  await ch.close();
  assert.equal(ends.length, 1);
});

Deno.test("LineChannel: a line longer than the limit ends the channel", async () => {
  const port = new ScriptPort();
  const ch = new LineChannel(port, { clock: new FakeClock(), maxLine: 16 });
  const p = ch.next(1000);
  port.feed("x".repeat(40));
  await assert.rejects(p, /longer than 16 bytes/);
  await ch.close();
});
