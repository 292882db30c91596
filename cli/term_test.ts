/**
 * Terminal with a stand-in sink that can stall like a pipe nobody reads:
 * the queue bound, the dropped-lines count, status coalescing, flush.
 * Writes are released by resolving promises, never by sleeping.
 */
import assert from "node:assert/strict";
import {
  displayWidth,
  LOG_FORMATS,
  LOG_LEVELS,
  parseLogFormat,
  parseLogLevel,
  Terminal,
  type TerminalSink,
  truncateToWidth,
} from "./term.ts";

const dec = new TextDecoder();

/** A sink that takes everything at once, or holds every write while stalled. */
class FakeSink implements TerminalSink {
  /** Each write as text, in the order it was taken. */
  readonly writes: string[] = [];
  /** Writes waiting for `release()`. */
  readonly held: { bytes: Uint8Array; resolve: (n: number) => void }[] = [];
  stalled: boolean;
  /** Takes at most this many bytes per write (a pipe with little room). */
  maxPerWrite = Infinity;

  constructor({ stalled = false } = {}) {
    this.stalled = stalled;
  }

  write(bytes: Uint8Array): Promise<number> {
    const taken = bytes.slice(0, Math.min(bytes.length, this.maxPerWrite));
    if (!this.stalled) {
      this.writes.push(dec.decode(taken));
      return Promise.resolve(taken.length);
    }
    return new Promise((resolve) => this.held.push({ bytes: taken, resolve }));
  }

  /** The reader comes back: held writes complete, and later ones at once. */
  release(): void {
    this.stalled = false;
    for (const { bytes, resolve } of this.held.splice(0)) {
      this.writes.push(dec.decode(bytes));
      resolve(bytes.length);
    }
  }

  get text(): string {
    return this.writes.join("");
  }
}

function terminal(sink: TerminalSink, options: Record<string, unknown> = {}): Terminal {
  return new Terminal({ sink, live: false, timestamps: false, ...options });
}

Deno.test("normal case: the same bytes as direct writes", async () => {
  const sink = new FakeSink();
  const term = terminal(sink, { live: true });
  term.status("● LED on");
  assert.equal(await term.flush(1000), true);
  term.log("LED on  ← cli");
  assert.equal(await term.flush(1000), true);
  term.end();
  assert.equal(await term.flush(1000), true);
  assert.deepEqual(sink.writes, [
    "\r\x1b[K● LED on",
    "\r\x1b[KLED on  ← cli\n● LED on",
    "\r\x1b[K",
  ]);
});

Deno.test("not live: plain lines, no status, no escape codes", async () => {
  const sink = new FakeSink();
  const term = terminal(sink);
  term.status("ignored");
  term.log("one");
  term.log("two");
  term.end();
  await term.flush(1000);
  assert.equal(sink.text, "one\ntwo\n");
});

Deno.test("timestamps: HH:MM:SS before each line", async () => {
  const sink = new FakeSink();
  const term = terminal(sink, { timestamps: true });
  term.log("hello");
  await term.flush(1000);
  assert.match(sink.text, /^\d\d:\d\d:\d\d hello\n$/);
});

Deno.test("a burst while a write is in progress goes out in one write, in order", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { live: true });
  term.status("S1");
  term.log("a");
  term.log("b");
  term.status("S2");
  term.end();
  assert.equal(sink.held.length, 1, "one write at a time");
  sink.release();
  assert.equal(await term.flush(1000), true);
  assert.deepEqual(sink.writes, ["\r\x1b[KS1", "\r\x1b[Ka\nb\n"]);
});

Deno.test("stalled output: lines beyond the bound are dropped, counted, reported once", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { maxQueuedLines: 5 });
  for (let i = 1; i <= 12; i++) term.log(`line ${i}`); // 1 in the write, 2–5 queued
  assert.equal(sink.held.length, 1);
  assert.equal(sink.writes.length, 0, "nothing written while stalled");

  sink.release();
  assert.equal(await term.flush(1000), true);
  term.log("after");
  await term.flush(1000);
  assert.equal(
    sink.text,
    "line 1\nline 2\nline 3\nline 4\nline 5\n" +
      "(7 log lines dropped: the output was not being read)\n" +
      "after\n",
  );
});

Deno.test("the byte bound drops too, and 1 line is singular; counts have separators", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { maxQueuedBytes: 10 });
  term.log("aaa"); // 4 bytes, in the write
  term.log("bbb"); // 8 bytes queued
  term.log("ccc"); // 12 > 10: dropped
  sink.release();
  await term.flush(1000);
  assert.equal(sink.text, "aaa\nbbb\n(1 log line dropped: the output was not being read)\n");

  const sink2 = new FakeSink({ stalled: true });
  const term2 = terminal(sink2, { maxQueuedLines: 1 });
  for (let i = 0; i < 1235; i++) term2.log("x");
  sink2.release();
  await term2.flush(1000);
  assert.equal(sink2.text, "x\n(1,234 log lines dropped: the output was not being read)\n");
});

Deno.test("a new gap gets its own count line", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { maxQueuedLines: 2 });
  for (const l of ["a", "b", "c", "d"]) term.log(l);
  sink.release();
  await term.flush(1000);
  sink.stalled = true;
  for (const l of ["e", "f", "g"]) term.log(l);
  sink.release();
  await term.flush(1000);
  assert.equal(
    sink.text,
    "a\nb\n(2 log lines dropped: the output was not being read)\n" +
      "e\nf\n(1 log line dropped: the output was not being read)\n",
  );
});

Deno.test("status is coalesced: only the newest is drawn, and it is never dropped", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { live: true, maxQueuedLines: 2 });
  term.log("first"); // in the write
  for (let i = 0; i < 1000; i++) term.status(`status ${i}`);
  term.log("second"); // queued, fills the bound
  term.log("third"); // dropped
  for (let i = 1000; i < 2000; i++) term.status(`status ${i}`);
  assert.equal(sink.held.length, 1);
  sink.release();
  await term.flush(1000);
  assert.deepEqual(sink.writes, [
    "\r\x1b[Kfirst\n",
    "\r\x1b[Ksecond\n(1 log line dropped: the output was not being read)\nstatus 1999",
  ]);
});

Deno.test("status alone while stalled: one write once the output drains", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { live: true });
  term.status("a");
  term.status("b");
  term.status("c");
  sink.release();
  await term.flush(1000);
  assert.deepEqual(sink.writes, ["\r\x1b[Ka", "\r\x1b[Kc"]);
});

Deno.test("flush: true at once when idle", async () => {
  const term = terminal(new FakeSink());
  assert.equal(await term.flush(0), true);
  term.log("x");
  assert.equal(await term.flush(60_000), true);
});

Deno.test("flush: resolves when the output drains, long before its time limit", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink);
  term.log("stopped");
  let settled = false;
  const flushed = term.flush(60_000).then((ok) => (settled = true, ok));
  await Promise.resolve();
  assert.equal(settled, false, "still waiting while stalled");
  sink.release();
  // The 60 s timer is cleared: the test's timer sanitizer would catch it.
  assert.equal(await flushed, true);
  assert.equal(sink.text, "stopped\n");
});

Deno.test("flush: gives up after its time limit when the output stays stalled", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink);
  term.log("stopped");
  const t0 = performance.now();
  assert.equal(await term.flush(30), false);
  const took = performance.now() - t0;
  assert.ok(took >= 25 && took < 5_000, `flush(30) took ${took} ms`);
  // Release the held write so nothing is left pending.
  sink.release();
  assert.equal(await term.flush(1000), true);
});

Deno.test("partial writes are continued; a failing sink loses its write, not later ones", async () => {
  const sink = new FakeSink();
  sink.maxPerWrite = 3;
  const term = terminal(sink);
  term.log("partial writes");
  await term.flush(1000);
  assert.equal(sink.text, "partial writes\n");

  let fail = true;
  const lines: string[] = [];
  const flaky: TerminalSink = {
    write(bytes) {
      if (fail) {
        fail = false;
        return Promise.reject(new Deno.errors.BrokenPipe("gone"));
      }
      lines.push(dec.decode(bytes));
      return Promise.resolve(bytes.length);
    },
  };
  const term2 = terminal(flaky);
  term2.log("lost");
  term2.log("kept");
  assert.equal(await term2.flush(1000), true);
  assert.deepEqual(lines, ["kept\n"]);
});

Deno.test("log() queues and returns at once, whatever the sink does", () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { maxQueuedLines: 100 });
  for (let i = 0; i < 10_000; i++) term.log(`line ${i}`);
  assert.equal(sink.held.length, 1, "one write in progress, the rest queued or dropped");
  sink.release();
  return term.flush(1000).then((ok) => {
    assert.equal(ok, true);
    assert.match(sink.text, /\(9,900 log lines dropped: the output was not being read\)\n$/);
  });
});

Deno.test("log level: lines below the level are dropped before they are queued", async () => {
  const sink = new FakeSink({ stalled: true });
  const term = terminal(sink, { level: "warn", maxQueuedLines: 3 });
  term.log("e1", "error");
  for (let i = 0; i < 100; i++) {
    term.log(`info ${i}`); // the default level of every existing caller
    term.log(`debug ${i}`, "debug");
  }
  term.log("w1", "warn");
  term.log("e2", "error");
  sink.release();
  await term.flush(1000);
  // Nothing dropped for lack of room: the info and debug lines never took any.
  assert.equal(sink.text, "e1\nw1\ne2\n");
  assert.equal(term.level, "warn");

  const sink2 = new FakeSink();
  const term2 = terminal(sink2); // default: info
  term2.log("shown");
  term2.log("hidden", "debug");
  term2.log("also shown", "error");
  await term2.flush(1000);
  assert.equal(sink2.text, "shown\nalso shown\n");
  assert.equal(term2.level, "info");

  const sink3 = new FakeSink();
  const term3 = terminal(sink3, { level: "debug" });
  term3.log("d", "debug");
  await term3.flush(1000);
  assert.equal(sink3.text, "d\n");
});

Deno.test("json format: one object per line, no status line, no colour", async () => {
  const sink = new FakeSink();
  const term = terminal(sink, { format: "json", live: true, timestamps: true });
  assert.equal(term.live, false, "no status line in JSON mode");
  term.status("● LED on");
  term.log(`LED ${term.paint("on", "green")} ← "cli"\n`);
  term.log("careful", "warn");
  term.end();
  await term.flush(1000);
  assert.equal(sink.text.includes("\x1b"), false, JSON.stringify(sink.text));
  const lines = sink.text.split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  assert.equal(lines.length, 2);
  const [a, b] = lines.map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(a), ["time", "level", "msg"]);
  assert.equal(a.level, "info");
  assert.equal(a.msg, 'LED on ← "cli"\n');
  assert.equal(new Date(a.time).toISOString(), a.time, "an ISO time");
  assert.ok(Math.abs(Date.parse(a.time) - Date.now()) < 60_000);
  assert.deepEqual([b.level, b.msg], ["warn", "careful"]);
});

Deno.test("LOG_LEVELS, LOG_FORMATS and their parsers", () => {
  assert.deepEqual(LOG_LEVELS, ["error", "warn", "info", "debug"]);
  assert.deepEqual(LOG_FORMATS, ["text", "json"]);
  for (const l of LOG_LEVELS) assert.equal(parseLogLevel(l), l);
  for (const f of LOG_FORMATS) assert.equal(parseLogFormat(f), f);
  assert.equal(parseLogLevel("WARN"), "warn");
  assert.throws(
    () => parseLogLevel("verbose"),
    (e) =>
      e instanceof RangeError &&
      /error, warn, info, debug/.test(e.message) && /"verbose"/.test(e.message),
  );
  assert.throws(
    () => parseLogFormat("xml"),
    (e) => e instanceof RangeError && /text, json/.test(e.message) && /"xml"/.test(e.message),
  );
  assert.throws(() => new Terminal({ level: "loud" as "info" }), RangeError);
  assert.throws(() => new Terminal({ format: "yaml" as "json" }), RangeError);
});

Deno.test("status: cut to the terminal's width with an ellipsis, counted in display cells", async () => {
  let columns: number | undefined = 20;
  const sink = new FakeSink();
  const term = terminal(sink, { live: true, columns: () => columns });
  const long = "● LED on · 1 client · mock?trace=/tmp/a/very/long/path";
  term.status(long);
  await term.flush(1000);
  // At most columns − 1 cells, so the cursor never reaches the last column.
  assert.equal(sink.writes.at(-1), "\r\x1b[K● LED on · 1 clien…");
  assert.equal(displayWidth("● LED on · 1 clien…"), 19);

  // Wide characters count two cells; colour codes count none and are closed.
  term.status("\x1b[32m●\x1b[0m 漢字漢字漢字漢字漢字漢字");
  await term.flush(1000);
  assert.equal(sink.writes.at(-1), "\r\x1b[K\x1b[32m●\x1b[0m 漢字漢字漢字漢字…\x1b[0m");

  // Short enough: untouched. Not a terminal (no width): untouched.
  term.status("short");
  await term.flush(1000);
  assert.equal(sink.writes.at(-1), "\r\x1b[Kshort");
  columns = undefined;
  term.status(long);
  await term.flush(1000);
  assert.equal(sink.writes.at(-1), `\r\x1b[K${long}`);
});

Deno.test("displayWidth and truncateToWidth", () => {
  assert.equal(displayWidth("abc"), 3);
  assert.equal(displayWidth("\x1b[1mabc\x1b[0m"), 3);
  assert.equal(displayWidth("漢字"), 4);
  assert.equal(displayWidth("e\u0301"), 1, "a combining accent takes no cell");
  assert.equal(truncateToWidth("abcdef", 6), "abcdef");
  assert.equal(truncateToWidth("abcdefg", 6), "abcde…");
  assert.equal(truncateToWidth("漢字漢字", 6), "漢字…");
  assert.equal(truncateToWidth("abc", 0), "");
  assert.throws(() => truncateToWidth("abc", -1), RangeError);
});

Deno.test("after end(), the status line is never drawn again, and log lines stay plain", async () => {
  const sink = new FakeSink();
  const term = terminal(sink, { live: true });
  term.status("● LED on");
  await term.flush(1000);
  term.end();
  term.log("SIGINT: turning the LED off and closing");
  term.status("○ LED off"); // the LED going off redraws, as serve does
  term.log("stopped");
  await term.flush(1000);
  const after = sink.writes.slice(1).join("");
  assert.equal(after, "\r\x1b[KSIGINT: turning the LED off and closing\nstopped\n");
  assert.ok(sink.text.endsWith("stopped\n"));
});
