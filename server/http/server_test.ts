import assert from "node:assert/strict";
import { ALLOW, startHttpServer } from "./server.ts";
import { LedService } from "../../core/led_service.ts";
import { openLed } from "../../hal/select.ts";
import { HalError } from "../../hal/types.ts";
import { FakeClock } from "../../hal/clock.ts";

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

/** Rejects with `message()` after `ms`, unless `promise` settles first. */
async function within<T>(ms: number, promise: Promise<T>, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads an event stream until `done(text so far)` holds; returns the text.
 * Fails, with what was read, if the stream ends first or `ms` pass.
 */
async function readEvents(
  response: Response,
  done: (text: string) => boolean,
  ms = 5_000,
): Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = performance.now() + ms;
  try {
    while (!done(text)) {
      const left = deadline - performance.now();
      const { value, done: end } = await within(
        Math.max(left, 0),
        reader.read(),
        () => `the event stream did not say what was awaited within ${ms} ms; read:\n${text}`,
      );
      if (end) throw new Error(`the event stream ended before what was awaited; read:\n${text}`);
      text += value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

/**
 * Reads `reader` to its end, which must come within `ms`: resolves with what
 * was read; rejects, saying so and with what was read, when the stream
 * stays open or breaks instead of ending.
 */
async function expectEnd(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  ms: number,
  what: string,
): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  const deadline = performance.now() + ms;
  try {
    for (;;) {
      const left = deadline - performance.now();
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await within(
          Math.max(left, 0),
          reader.read(),
          () => `${what} was still open ${ms} ms later; read since:\n${text}`,
        );
      } catch (e) {
        if (e instanceof Error && e.message.startsWith(what)) throw e;
        throw new Error(`${what} broke instead of ending: ${e}; read since:\n${text}`);
      }
      if (chunk.done) return text;
      text += dec.decode(chunk.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
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
  const { client, ...body } = await r.json();
  assert.deepEqual(body, {
    ok: true,
    reply: "OK blink 2.5 Hz",
    state: { mode: "blink", hz: 2.5 },
    text: "blink 2.5 Hz",
  });
  assert.deepEqual(s.service.state, { mode: "blink", hz: 2.5 });
  // Named apart from TCP's "client #N", and the same name in the reply and the log.
  assert.match(client, /^web #1 127\.0\.0\.1:\d+$/);
  assert.ok(s.lines.some((l) => l.endsWith(`LED blink 2.5 Hz  ← ${client}`)), s.lines.join("\n"));
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

// The ERR lines a TCP client gets for the same request line, written out
// (from protocol/testdata/vectors.tsv, the protocol's reference), not derived
// from parseCommand/execute: a bug there must not change both sides alike.
const NOT_A_FREQUENCY = "is not a frequency: write digits, e.g. 2.5 or 2,5";
const OUT_OF_RANGE = "Hz is out of range: use 0.05 to 500 Hz";

Deno.test("bad input gets 400 with the TCP ERR line, and the LED is unchanged", async () => {
  await using s = await setup();
  await s.service.request({ mode: "on" }, "test");
  for (
    const [body, reply] of [
      [{ command: "blink", hz: "abc" }, `ERR bad-argument "abc" ${NOT_A_FREQUENCY}`],
      [{ command: "blink", hz: "3kHz" }, `ERR bad-argument "3kHz" ${NOT_A_FREQUENCY}`],
      [{ command: "blink", hz: "0x10" }, `ERR bad-argument "0x10" ${NOT_A_FREQUENCY}`],
      [{ command: "blink", hz: "-1" }, `ERR bad-argument "-1" ${NOT_A_FREQUENCY}`],
      [{ command: "blink", hz: "9999" }, `ERR bad-argument 9999 ${OUT_OF_RANGE}`],
      [{ command: "clignote", hz: "0,01" }, `ERR bad-argument 0,01 ${OUT_OF_RANGE}`],
      [{ command: "blink", hz: 0 }, `ERR bad-argument 0 ${OUT_OF_RANGE}`],
      [
        { command: "blink", hz: "" },
        'ERR bad-argument blink needs a frequency in Hz, e.g. "blink 2.5"',
      ],
      [
        { command: "blink", hz: "2 3" },
        "ERR bad-argument blink takes one frequency, got 2 arguments",
      ],
      [{ command: "on now" }, "ERR bad-argument on takes no argument"],
      [{ command: "dance" }, 'ERR unknown-command "dance" (try: help)'],
      [
        { command: "on\noff" },
        "ERR bad-encoding line contains control characters: send plain text",
      ],
    ] as const
  ) {
    const r = await postJson(`${s.base}/api/led`, body);
    const { client: _, ...json } = await r.json();
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.deepEqual(json, { ok: false, reply, state: { mode: "on" }, text: "on" });
  }
  assert.deepEqual(s.service.state, { mode: "on" });
});

Deno.test("commands that only make sense on a connection are refused over HTTP", async () => {
  await using s = await setup();
  for (
    const [command, verb] of [["hello", "hello"], ["quit", "quit"], ["auth abcdefgh", "auth"], [
      "help",
      "help",
    ]]
  ) {
    const r = await postJson(`${s.base}/api/led`, { command });
    assert.equal(r.status, 400);
    assert.equal(
      (await r.json()).reply,
      `ERR unknown-command "${verb}" is not available over HTTP: use blink, on, off or status`,
    );
  }
  const r = await postJson(`${s.base}/api/led`, { hz: "3" });
  assert.equal(r.status, 400);
  assert.equal(
    (await r.json()).reply,
    'ERR bad-argument say what to do: {"command":"blink","hz":"2,5"}, {"command":"on"} or {"command":"off"}',
  );
  const wrongType = await postJson(`${s.base}/api/led`, { command: "blink", hz: [1] });
  assert.equal(wrongType.status, 400);
  assert.equal(
    (await wrongType.json()).reply,
    'ERR bad-argument "hz" must be a string or a number',
  );
  assert.deepEqual(s.service.state, { mode: "off" });
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

/** A parsed HTTP/1.1 reply. */
interface RawReply {
  status: number;
  /** Header lines, names lower-cased; repeated headers kept apart. */
  headers: [string, string][];
  body: string;
}

/**
 * One request written byte for byte (so `Host` can be anything) on a fresh
 * connection with `Connection: close`; the reply, read to the server's close
 * within `ms`.
 */
async function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
  ms = 5_000,
): Promise<RawReply> {
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    ...headers,
    "content-length": String(new TextEncoder().encode(body).length),
    connection: "close",
  };
  const head = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const text = await rawExchange(port, `${method} ${path} HTTP/1.1\r\n${head}\r\n${body}`, ms);
  const [top, ...rest] = text.split("\r\n\r\n");
  const [statusLine, ...lines] = top.split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  assert.ok(m, `not an HTTP reply: ${JSON.stringify(text.slice(0, 200))}`);
  return {
    status: Number(m[1]),
    headers: lines.map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
    }),
    body: rest.join("\r\n\r\n"),
  };
}

const header = (r: RawReply, name: string) =>
  r.headers.filter(([k]) => k === name).map(([, v]) => v);

/** Every route that takes POST, from the server's own route table. */
const POST_ROUTES = Object.entries(ALLOW)
  .filter(([, methods]) => methods.split(", ").includes("POST"))
  .map(([path]) => path);

Deno.test("the route table has the POST routes the forgery tests below go through", () => {
  // Not a limit on the routes: a sanity check that the loops below are not empty.
  assert.ok(POST_ROUTES.includes("/api/led") && POST_ROUTES.includes("/login"), POST_ROUTES.join());
  assert.ok(Object.isFrozen(ALLOW));
});

Deno.test("every POST route refuses other sites' pages and rebound host names, and does nothing", async () => {
  const token = "s3cret-token";
  await using s = await setup(token);
  const port = Number(new URL(s.base).port);
  const self = `127.0.0.1:${port}`;
  // What each route would do if the request got through: it carries the
  // right token (header and field), so only the origin checks stop it.
  const auth = { authorization: `Bearer ${token}` };
  const body = new URLSearchParams({ command: "blink", hz: "9", token }).toString();
  const form = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "text/html,application/xhtml+xml",
  };
  const forged: [string, Record<string, string>][] = [
    ["another site's page", { origin: "http://evil.example", "sec-fetch-site": "cross-site" }],
    ["Origin alone", { origin: "http://evil.example" }],
    ["Sec-Fetch-Site alone", { "sec-fetch-site": "cross-site" }],
    ["a sandboxed page", { origin: "null" }],
    ["a sibling site", { origin: `http://localhost:${port}`, "sec-fetch-site": "same-site" }],
    ["a rebound name", { host: "evil.example" }],
    ["a rebound name with its port", { host: `evil.example:${port}` }],
    [
      "a rebound name, from its own page",
      { host: "evil.example", origin: "http://evil.example", "sec-fetch-site": "same-origin" },
    ],
  ];
  for (const path of POST_ROUTES) {
    for (const [why, headers] of forged) {
      const what = `POST ${path} from ${why}`;
      const r = await rawRequest(port, "POST", path, { ...form, ...auth, ...headers }, body);
      if (headers.host) assert.ok(r.status === 403 || r.status === 400, `${what}: ${r.status}`);
      else assert.equal(r.status, 403, `${what}: ${r.status} ${r.body}`);
      assert.match(r.body, headers.host ? /host name .*refused/ : /cross-origin request refused/);
      assert.deepEqual(header(r, "set-cookie"), [], `${what} set a cookie`);
      assert.deepEqual(header(r, "location"), [], `${what} redirected`);
      assert.deepEqual(s.service.state, { mode: "off" }, `${what} changed the LED`);
    }
    assert.ok(
      s.lines.some((l) => l.startsWith(`web: refused POST ${path} from 127.0.0.1:`)),
      `no refusal logged for ${path}:\n${s.lines.join("\n")}`,
    );
  }

  // The same requests from the server's own page do get through: the 403s
  // above are the origin checks, not a body or token the route refuses.
  const own = { origin: `http://${self}`, "sec-fetch-site": "same-origin" };
  const effects: Record<string, (r: RawReply) => void> = {
    "/api/led": (r) => {
      assert.equal(r.status, 303);
      assert.deepEqual(s.service.state, { mode: "blink", hz: 9 });
    },
    "/login": (r) => {
      assert.equal(r.status, 303);
      assert.match(header(r, "set-cookie").join("\n"), /^ledctl_session=/m);
    },
    // Every /api/fleet/<id>: this server has no fleet (no --mqtt); fleet_test.ts
    // checks the same refusals with one.
    "/api/fleet/:id": (r) => {
      assert.equal(r.status, 404);
      assert.match(r.body, /without --mqtt/);
    },
  };
  for (const path of POST_ROUTES) {
    const effect = effects[path];
    assert.ok(effect, `${path} takes POST: say here what it does when it is allowed`);
    effect(await rawRequest(port, "POST", path, { ...form, ...auth, ...own }, body));
  }
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
  try {
    const r = await fetch(`http://127.0.0.1:${http.port}/api/events`);
    const reader = r.body!.getReader();
    const first = await within(2_000, reader.read(), () => "no first event within 2 s");
    assert.match(new TextDecoder().decode(first.value), /event: state\ndata: /);
    await http.close();
    // Ended, not cut: the stream's last chunk, then done, without a hang or a reset.
    const rest = await expectEnd(reader, 2_000, "the event stream, after close(),");
    assert.doesNotMatch(rest, /event: state/);
  } finally {
    await http.close();
    await service.close();
  }
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

/**
 * A raw request on a fresh connection; returns everything until the server
 * closes, which must come within `ms`.
 */
async function rawExchange(port: number, bytes: string, ms = 5_000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    conn.close();
  }, ms);
  try {
    await conn.write(new TextEncoder().encode(bytes));
    const reply = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    if (!late) return reply;
  } catch (e) {
    if (!late) throw e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`the server kept the connection open ${ms} ms after ${JSON.stringify(bytes)}`);
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
  await expectEnd(reader, 2_000, "the event stream, after close(),");
  // And the stalled request is closed.
  await expectEnd(conn.readable.getReader(), 2_000, "the connection with a stalled body");
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
