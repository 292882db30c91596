/**
 * `ledctl serve` with its web page, as a process: the page is served next to
 * the TCP server, a TCP command shows up on the event stream, and SIGTERM
 * still exits 0 promptly while a page holds an event stream open.
 */
import assert from "node:assert/strict";
import { RawClient, ServerProcess } from "./harness.ts";

async function startWeb(extra: string[] = []): Promise<ServerProcess & { url: string }> {
  const server = await ServerProcess.start(["--http", "0", ...extra]);
  const m = await server.stdout.waitFor(/web page on (http:\/\/127\.0\.0\.1:\d+\/)/);
  return Object.assign(server, { url: m[1] });
}

/**
 * An event stream read with a deadline: each wait is bounded, and a stream
 * that ends (or breaks) while something is awaited fails with what was read,
 * instead of spinning on `{done: true}` forever.
 */
class EventReader {
  #reader: ReadableStreamDefaultReader<string>;
  /** Everything read so far. */
  text = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next chunk, or `undefined` at the end; rejects after `ms`. */
  async #next(ms: number, what: string): Promise<string | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} within ${ms} ms; read:\n${this.text}`)),
        ms,
      );
    });
    try {
      const { value, done } = await Promise.race([this.#reader.read(), late]);
      return done ? undefined : value;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(what)) throw e;
      throw new Error(`the event stream broke (${e}) before ${what}; read:\n${this.text}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads until the text holds `wanted`: at most `ms`, and the stream must not end first. */
  async until(wanted: string, ms = 10_000): Promise<string> {
    const deadline = performance.now() + ms;
    while (!this.text.includes(wanted)) {
      const what = `no ${JSON.stringify(wanted)} on the event stream`;
      const chunk = await this.#next(Math.max(deadline - performance.now(), 0), what);
      if (chunk === undefined) {
        throw new Error(
          `the event stream ended before ${JSON.stringify(wanted)}; read:\n${this.text}`,
        );
      }
      this.text += chunk;
    }
    return this.text;
  }

  /** Reads to the end, which must come within `ms`. */
  async end(ms = 10_000): Promise<void> {
    const deadline = performance.now() + ms;
    for (;;) {
      const what = "the event stream did not end";
      const chunk = await this.#next(Math.max(deadline - performance.now(), 0), what);
      if (chunk === undefined) return;
      this.text += chunk;
    }
  }

  /** Stops reading (closes the connection). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

Deno.test("a TCP command reaches the web event stream; SIGTERM ends it and exits 0", async () => {
  await using server = await startWeb();
  const page = await fetch(server.url);
  assert.match(await page.text(), /<form id="led-form" method="post" action="\/api\/led"/);
  const events = new EventReader((await fetch(`${server.url}api/events`)).body!);
  try {
    await events.until('"count":0}');
    using tcp = await RawClient.connect(server.port);
    await tcp.write("clignote 2,5\n");
    assert.equal(await tcp.readLine(), "OK blink 2.5 Hz");
    const text = await events.until("blink 2.5 Hz");
    assert.match(text, /"by":"client #1 127\.0\.0\.1:\d+"/);
    assert.match(text, /event: clients\ndata: \{"count":1\}/);

    assert.equal(await server.stop("SIGTERM"), 0);
    await events.end();
    assert.ok(server.stdout.all.some((l) => l.includes("stopped")), server.stdout.all.join("\n"));
  } finally {
    await events.cancel();
  }
});

Deno.test("--http off serves no web page", async () => {
  await using server = await ServerProcess.start(["--http", "off"]);
  assert.ok(!server.stdout.all.some((l) => l.includes("web page on")));
  assert.equal(await server.stop("SIGTERM"), 0);
});

/** A raw HTTP/1.1 GET with a chosen Host header (fetch would not send one). */
async function statusFor(url: string, host: string): Promise<string | null> {
  using c = await RawClient.connect(Number(new URL(url).port));
  await c.write(`GET /api/state HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  return await c.readLine();
}

Deno.test("--http-host admits a DNS name the page is reached by; others stay refused", async () => {
  await using server = await startWeb(["--http-host", "leds.example.org"]);
  assert.match((await statusFor(server.url, "leds.example.org")) ?? "", /^HTTP\/1\.1 200 /);
  assert.match((await statusFor(server.url, "evil.example.net:80")) ?? "", /^HTTP\/1\.1 403 /);
  assert.match((await statusFor(server.url, "raspberrypi.local")) ?? "", /^HTTP\/1\.1 200 /);
});
