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

Deno.test("a TCP command reaches the web event stream; SIGTERM ends it and exits 0", async () => {
  await using server = await startWeb();
  const page = await fetch(server.url);
  assert.match(await page.text(), /<form id="led-form" method="post" action="\/api\/led"/);
  const events = await fetch(`${server.url}api/events`);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes('"count":0}')) text += (await reader.read()).value ?? "";
  using tcp = await RawClient.connect(server.port);
  await tcp.write("clignote 2,5\n");
  assert.equal(await tcp.readLine(), "OK blink 2.5 Hz");
  while (!text.includes("blink 2.5 Hz")) text += (await reader.read()).value ?? "";
  assert.match(text, /"by":"client #1 127\.0\.0\.1:\d+"/);
  assert.match(text, /event: clients\ndata: \{"count":1\}/);

  assert.equal(await server.stop("SIGTERM"), 0);
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  assert.ok(server.stdout.all.some((l) => l.includes("stopped")), server.stdout.all.join("\n"));
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
