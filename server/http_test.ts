import assert from "node:assert/strict";
import { startHttpServer } from "./http.ts";
import { LedService } from "./led_service.ts";
import { execute } from "./commands.ts";
import { openLed } from "../hal/select.ts";
import { parseCommand } from "../protocol/command.ts";
import { HalError } from "../hal/types.ts";
import { FakeClock } from "../hal/clock.ts";

/** A mock LED service and the HTTP server on a free loopback port. */
async function setup(token?: string) {
  const lines: string[] = [];
  const service = new LedService(await openLed("mock"), { log: (l) => lines.push(l) });
  const http = await startHttpServer(service, { port: 0, token, log: (l) => lines.push(l) });
  const base = `http://127.0.0.1:${http.port}`;
  return {
    service,
    base,
    lines,
    async [Symbol.asyncDispose]() {
      await http.close();
      await service.close();
    },
  };
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** Reads an event stream until `done(text so far)` holds; returns the text. */
async function readEvents(
  response: Response,
  done: (text: string) => boolean,
): Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!done(text)) {
      const { value, done: end } = await reader.read();
      if (end) break;
      text += value;
    }
  } finally {
    await reader.cancel();
  }
  return text;
}

Deno.test("GET /api/state describes the LED, its state and the clients", async () => {
  await using s = await setup();
  const r = await fetch(`${s.base}/api/state`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type")!, /^application\/json/);
  assert.deepEqual(await r.json(), {
    state: { mode: "off" },
    text: "off",
    clients: 0,
    viewers: 0,
    led: "mock",
  });
});

Deno.test("POST /api/led with JSON blinks the LED at 2,5 Hz", async () => {
  await using s = await setup();
  const r = await postJson(`${s.base}/api/led`, { command: "blink", hz: "2,5" });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), {
    ok: true,
    reply: "OK blink 2.5 Hz",
    state: { mode: "blink", hz: 2.5 },
    text: "blink 2.5 Hz",
  });
  assert.deepEqual(s.service.state, { mode: "blink", hz: 2.5 });
  assert.ok(s.lines.some((l) => /LED blink 2\.5 Hz .*web page/.test(l)), s.lines.join("\n"));
});

Deno.test("POST /api/led accepts a JSON number, on, off and the French verbs", async () => {
  await using s = await setup();
  for (
    const [body, reply] of [
      [{ command: "blink", hz: 4 }, "OK blink 4 Hz"],
      [{ command: "allume" }, "OK on"],
      [{ command: "off", hz: "ignored for off" }, "OK off"],
      [{ command: "clignote", hz: "0,5" }, "OK blink 0.5 Hz"],
      [{ command: "status" }, "OK blink 0.5 Hz"],
    ] as const
  ) {
    const r = await postJson(`${s.base}/api/led`, body);
    assert.equal((await r.json()).reply, reply, JSON.stringify(body));
    assert.equal(r.status, 200);
  }
});

Deno.test("bad input gets 400 with the TCP ERR line, and the LED is unchanged", async () => {
  await using s = await setup();
  await s.service.request({ mode: "on" }, "test");
  const client = { id: 1, remote: "test" };
  for (
    const [body, line] of [
      [{ command: "blink", hz: "abc" }, "blink abc"],
      [{ command: "blink", hz: "9999" }, "blink 9999"],
      [{ command: "blink", hz: "" }, "blink"],
      [{ command: "blink", hz: "2 3" }, "blink 2 3"],
      [{ command: "dance" }, "dance"],
      [{ command: "on\noff" }, "on\noff"],
    ] as const
  ) {
    const r = await postJson(`${s.base}/api/led`, body);
    const json = await r.json();
    const tcp = await execute(parseCommand(line), s.service, client);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(json.ok, false);
    assert.equal(json.reply, tcp.reply, JSON.stringify(body));
    assert.match(json.reply, /^ERR /);
    assert.deepEqual(json.state, { mode: "on" });
  }
  assert.deepEqual(s.service.state, { mode: "on" });
});

Deno.test("commands that only make sense on a connection are refused over HTTP", async () => {
  await using s = await setup();
  for (const command of ["hello", "quit", "auth abcdefgh", "help"]) {
    const r = await postJson(`${s.base}/api/led`, { command });
    assert.equal(r.status, 400);
    assert.match((await r.json()).reply, /^ERR unknown-command .*not available over HTTP/);
  }
  const r = await postJson(`${s.base}/api/led`, { hz: "3" });
  assert.equal(r.status, 400);
  assert.match((await r.json()).reply, /^ERR bad-argument say what to do/);
  const wrongType = await postJson(`${s.base}/api/led`, { command: "blink", hz: [1] });
  assert.equal(wrongType.status, 400);
  assert.match((await wrongType.json()).reply, /"hz" must be a string or a number/);
});

Deno.test("a form post from the page without JavaScript redirects back with the result", async () => {
  await using s = await setup();
  const r = await fetch(`${s.base}/api/led`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html,application/xhtml+xml",
      origin: s.base,
      "sec-fetch-site": "same-origin",
    },
    body: "hz=2%2C5&command=blink",
  });
  await r.body?.cancel();
  assert.equal(r.status, 303);
  assert.equal(r.headers.get("location"), "/");
  assert.deepEqual(s.service.state, { mode: "blink", hz: 2.5 });
  const cookie = r.headers.get("set-cookie")!.split(";")[0];
  const page = await fetch(`${s.base}/`, { headers: { cookie } });
  const html = await page.text();
  assert.match(html, /class="message ok"[^>]*>Done: OK blink 2\.5 Hz</);
  assert.match(html, /value="2,5"/);
  assert.match(page.headers.get("set-cookie")!, /^ledctl_flash=; .*Max-Age=0/);
});

Deno.test("the seed's own form fields work: clignote + freq, eteindre", async () => {
  await using s = await setup();
  const form = (body: string) =>
    fetch(`${s.base}/api/led`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    }).then((r) => r.json());
  assert.equal((await form("freq=3&clignote=")).reply, "OK blink 3 Hz");
  assert.equal((await form("freq=&eteindre=")).reply, "OK off");
});

Deno.test("cross-origin POSTs are refused with 403 and leave the LED alone", async () => {
  await using s = await setup();
  for (
    const headers of [
      { origin: "https://evil.example" } as Record<string, string>,
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site", origin: s.base.replace("127.0.0.1", "localhost") },
    ]
  ) {
    const r = await postJson(`${s.base}/api/led`, { command: "on" }, headers);
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.match((await r.json()).error, /cross-origin request refused/);
  }
  assert.deepEqual(s.service.state, { mode: "off" });
  assert.ok(s.lines.some((l) => l.startsWith("web: refused POST /api/led")));
  const same = await postJson(`${s.base}/api/led`, { command: "on" }, {
    origin: s.base,
    "sec-fetch-site": "same-origin",
  });
  assert.equal(same.status, 200);
  await same.body?.cancel();
});

Deno.test("a host name that could be DNS-rebound is refused", async () => {
  await using s = await setup();
  const port = new URL(s.base).port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  await conn.write(
    new TextEncoder().encode(
      `GET /api/state HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`,
    ),
  );
  const reply = new TextDecoder().decode(
    await new Response(conn.readable).arrayBuffer(),
  );
  assert.match(reply, /^HTTP\/1\.1 403/);
  assert.match(reply, /host name \\"evil\.example:\d+\\" refused/);
});

Deno.test("bodies over 4 KiB get 413, other types 415, bad JSON 400", async () => {
  await using s = await setup();
  const big = await postJson(`${s.base}/api/led`, { command: "on", pad: "x".repeat(5000) });
  assert.equal(big.status, 413);
  assert.match((await big.json()).error, /at most 4096 bytes/);
  // No Content-Length: the stream is cut as soon as it passes the limit.
  const chunks = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(1000)));
      c.close();
    },
  });
  const streamed = await fetch(`${s.base}/api/led`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: chunks,
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  const plain = await fetch(`${s.base}/api/led`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "on",
  });
  assert.equal(plain.status, 415);
  await plain.body?.cancel();
  const broken = await postJson(`${s.base}/api/led`, undefined);
  assert.equal(broken.status, 400);
  await broken.body?.cancel();
  assert.deepEqual(s.service.state, { mode: "off" });
});

Deno.test("unknown paths get 404, wrong methods 405 with Allow", async () => {
  await using s = await setup();
  const missing = await fetch(`${s.base}/index.php`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  for (
    const [method, path, allow] of [
      ["GET", "/api/led", "POST"],
      ["DELETE", "/api/state", "GET, HEAD"],
      ["POST", "/", "GET, HEAD"],
    ]
  ) {
    const r = await fetch(`${s.base}${path}`, { method });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.headers.get("allow"), allow);
    await r.body?.cancel();
  }
});

Deno.test("the page and its files are served, with a strict CSP", async () => {
  await using s = await setup();
  const page = await fetch(`${s.base}/`);
  const html = await page.text();
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  const csp = page.headers.get("content-security-policy")!;
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  const nonce = /'nonce-([^']+)'/.exec(csp)![1];
  assert.ok(html.includes(`<style nonce="${nonce}">`));
  assert.match(html, /<form id="led-form" method="post" action="\/api\/led"/);
  assert.doesNotMatch(html, /\{\{/);
  for (const [path, type] of [["/app.js", "javascript"], ["/style.css", "css"]]) {
    const r = await fetch(`${s.base}${path}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type")!, new RegExp(type));
    assert.ok((await r.text()).length > 100);
  }
});

Deno.test("the page speaks French to a French browser", async () => {
  await using s = await setup();
  await s.service.request({ mode: "blink", hz: 2.5 }, "test");
  const html = await (await fetch(`${s.base}/`, {
    headers: { "accept-language": "fr-FR,fr;q=0.9,en;q=0.5" },
  })).text();
  assert.match(html, /<html lang="fr">/);
  assert.match(html, /Clignote à 2,5 Hz/);
  assert.match(html, />Clignoter</);
  assert.match(html, /--period: 0\.4s;/);
});

Deno.test("the event stream sends the present, then every change whoever made it", async () => {
  await using s = await setup();
  await s.service.request({ mode: "on" }, "cli");
  const r = await fetch(`${s.base}/api/events`);
  assert.match(r.headers.get("content-type")!, /^text\/event-stream/);
  const seen = readEvents(r, (t) => t.includes('"count":2}') && t.includes("blink 3 Hz"));
  // The stream is subscribed once its headers arrived: a TCP client's change, and counts.
  s.service.countClient(1);
  s.service.countClient(1);
  await s.service.request({ mode: "blink", hz: 3 }, "client #7 127.0.0.1:5555");
  const text = await seen;
  assert.match(text, /event: state\ndata: \{"state":\{"mode":"on"\},"text":"on"\}\n\n/);
  assert.match(text, /event: clients\ndata: \{"count":0\}/);
  assert.match(text, /event: viewers\ndata: \{"count":1\}/);
  assert.match(
    text,
    /event: state\ndata: \{"state":\{"mode":"blink","hz":3\},"text":"blink 3 Hz","by":"client #7 127\.0\.0\.1:5555"\}/,
  );
  assert.match(text, /event: clients\ndata: \{"count":2\}/);
});

Deno.test("close() ends open event streams", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const http = await startHttpServer(service, { port: 0, log: () => {} });
  const r = await fetch(`http://127.0.0.1:${http.port}/api/events`);
  const reader = r.body!.getReader();
  await reader.read(); // the present state
  await http.close();
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  await service.close();
});

Deno.test("with a token, the API needs the Bearer header or the session cookie", async () => {
  const token = "s3cret-token";
  await using s = await setup(token);
  const none = await fetch(`${s.base}/api/state`);
  assert.equal(none.status, 401);
  assert.match((await none.json()).error, /Authorization: Bearer/);
  const wrong = await postJson(`${s.base}/api/led`, { command: "on" }, {
    authorization: "Bearer nope-nope",
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const events = await fetch(`${s.base}/api/events`);
  assert.equal(events.status, 401);
  await events.body?.cancel();
  assert.deepEqual(s.service.state, { mode: "off" });

  const right = await postJson(`${s.base}/api/led`, { command: "on" }, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(right.status, 200);
  await right.body?.cancel();
  assert.deepEqual(s.service.state, { mode: "on" });

  // The page shows the sign-in form, not the controls.
  const page = await (await fetch(`${s.base}/`)).text();
  assert.match(page, /<form id="led-form"[^>]* hidden/);
  assert.doesNotMatch(page, /<form id="login-form"[^>]* hidden/);
  // A wrong token on the form: back to the page with the message, no session.
  const login = (t: string) =>
    fetch(`${s.base}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: s.base },
      body: new URLSearchParams({ token: t }),
    });
  const bad = await login("wrong-one");
  assert.equal(bad.status, 303);
  assert.match(bad.headers.get("set-cookie")!, /^ledctl_flash=/);
  const badPage = await (await fetch(`${s.base}/`, {
    headers: { cookie: bad.headers.get("set-cookie")!.split(";")[0] },
  })).text();
  assert.match(badPage, /role="alert">Wrong token\.</);
  // The right one: a session cookie (not the token itself) that opens the API.
  const good = await login(token);
  assert.equal(good.status, 303);
  const session = good.headers.get("set-cookie")!;
  assert.match(session, /^ledctl_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
  assert.ok(!session.includes(token));
  const cookie = session.split(";")[0];
  const state = await fetch(`${s.base}/api/state`, { headers: { cookie } });
  assert.equal(state.status, 200);
  await state.body?.cancel();
  const signedIn = await (await fetch(`${s.base}/`, { headers: { cookie } })).text();
  assert.match(signedIn, /<form id="login-form"[^>]* hidden/);
});

Deno.test("a hardware fault is 503 with the ERR led-fault line; the state stays", async () => {
  const driver = {
    description: "flaky",
    apply: (state: { mode: string }) =>
      state.mode === "off"
        ? Promise.resolve()
        : Promise.reject(new HalError("io", "flaky: the pin went away")),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const service = new LedService(driver, { log: () => {} });
  const http = await startHttpServer(service, { port: 0, log: () => {} });
  try {
    const r = await postJson(`http://127.0.0.1:${http.port}/api/led`, { command: "on" });
    assert.equal(r.status, 503);
    const body = await r.json();
    assert.equal(body.reply, "ERR led-fault flaky: the pin went away");
    assert.deepEqual(body.state, { mode: "off" });
  } finally {
    await http.close();
    await service.close();
  }
});

/** A raw request on a fresh connection; returns everything until the server closes. */
async function rawExchange(port: number, bytes: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(bytes));
  return new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
}

Deno.test("a Host that is not a host name gets 400, not 500, and no stack trace", async () => {
  await using s = await setup();
  const port = Number(new URL(s.base).port);
  const reply = await rawExchange(
    port,
    "GET /api/state HTTP/1.1\r\nHost: 127.0.0.1 evil.example\r\n\r\n",
  );
  assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(reply, /invalid Host header "127\.0\.0\.1 evil\.example"/);
  assert.ok(!s.lines.some((l) => /error|\n\s+at /i.test(l)), s.lines.join("\n"));
  assert.equal((await fetch(`${s.base}/api/state`).then((r) => r.json())).text, "off");
});

/** A log that can wait for a line (verbose servers log each connection). */
function waitableLog() {
  const lines: string[] = [];
  const waiters: [RegExp, () => void][] = [];
  return {
    lines,
    log: (line: string) => {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w[0].test(line)) waiters.splice(waiters.indexOf(w), 1) && w[1]();
      }
    },
    waitFor: (re: RegExp) =>
      lines.some((l) => re.test(l))
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push([re, resolve])),
  };
}

Deno.test("a client dropping mid-body: one quiet line, no stack trace, LED untouched", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const w = waitableLog();
  const http = await startHttpServer(service, { port: 0, log: w.log, verbose: true });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
    const port = (conn.localAddr as Deno.NetAddr).port;
    await conn.write(
      new TextEncoder().encode(
        "POST /api/led HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
          'Content-Length: 40\r\n\r\n{"command":',
      ),
    );
    await w.waitFor(new RegExp(`:${port} POST /api/led$`));
    conn.close();
    await w.waitFor(new RegExp(`:${port} closed: `));
    const about = w.lines.filter((l) => l.includes(`:${port} closed`));
    assert.deepEqual(about, [`web: 127.0.0.1:${port} closed: went away mid-body`]);
    assert.ok(!w.lines.some((l) => /error|\n\s+at /i.test(l)), w.lines.join("\n"));
    assert.deepEqual(service.state, { mode: "off" });
  } finally {
    await http.close();
    await service.close();
  }
});

Deno.test("close() returns within 1 s with a stalled body and an event stream open", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const http = await startHttpServer(service, { port: 0, log: () => {} });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
  await conn.write(
    new TextEncoder().encode(
      "POST /api/led HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Content-Length: 40\r\n\r\n{"command":',
    ),
  );
  const events = await fetch(`http://127.0.0.1:${http.port}/api/events`);
  const reader = events.body!.getReader();
  await reader.read();
  const t0 = performance.now();
  await http.close();
  const took = performance.now() - t0;
  assert.ok(took < 1000, `close() took ${took} ms`);
  while (!(await reader.read()).done) { /* the stream ends */ }
  await new Response(conn.readable).arrayBuffer(); // and the stalled request is closed
  await service.close();
});

Deno.test("the connection limits are passed to the transport", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const clock = new FakeClock();
  const w = waitableLog();
  const http = await startHttpServer(service, {
    port: 0,
    log: w.log,
    verbose: true,
    clock,
    maxConnections: 1,
    headerTimeoutMs: 1000,
  });
  try {
    const first = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
    await w.waitFor(/connection from /);
    assert.equal(http.connections, 1);
    // The limit: a second connection is refused while the first is open.
    const refused = await rawExchange(http.port, "");
    assert.match(refused, /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*retry-after: 5\r\n/);
    // The head timeout, in fake time: 408 (or a plain close if the bytes came late).
    await first.write(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    clock.advance(1000);
    const reply = new TextDecoder().decode(await new Response(first.readable).arrayBuffer());
    assert.match(reply, /^(HTTP\/1\.1 408 Request Timeout\r\n[^]*)?$/);
  } finally {
    const closed = http.close();
    clock.advance(500);
    await closed;
    await service.close();
  }
});
