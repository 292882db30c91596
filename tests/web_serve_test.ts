/**
 * `ledctl serve` with its web page, as a process: the page is served next to
 * the TCP server, a TCP command shows up on the event stream, and SIGTERM
 * still exits 0 promptly while a page holds an event stream open.
 */
import assert from "node:assert/strict";
import { RawClient, ServerProcess } from "./harness.ts";

async function startWeb(): Promise<ServerProcess & { url: string }> {
  const server = await ServerProcess.start(["--http", "0"]);
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
