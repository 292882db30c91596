/**
 * The web server against hostile and exhausting clients, as a real
 * `ledctl serve` process on loopback.
 *
 * Abuse tried here (the server must keep serving, the LED must be off after
 * the process ends):
 * - 1,100 idle HTTP connections under a 1,024-descriptor limit;
 * - a request head sent one byte at a time, past the header timeout;
 * - a body shorter than its Content-Length; a chunked body that never ends;
 * - an idle keep-alive connection past its timeout;
 * - SIGTERM while a request body is stalled (exit within the second);
 * - `Host: 127.0.0.1 evil.example`; a client gone mid-body (400 / quiet, no stack);
 * - with `--token`: the page, the API and the event stream asked without it
 *   (nothing about the LED is shown), and a burst of wrong tokens (429).
 *
 * @module
 */
import assert from "node:assert/strict";
import { RawClient, ServerProcess } from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Starts a server with the web page on a free port; resolves with both. */
async function startWeb(args: string[] = [], options: { prefix?: string[] } = {}) {
  const server = await ServerProcess.start(["--http", "0", ...args], options);
  const m = await server.stdout.waitFor(/web page on http:\/\/[^:]+:(\d+)\//);
  return { server, web: Number(m[1]) };
}

/** Everything the peer sends until it closes (bounded by `ms`); rejects on timeout. */
async function readToClose(conn: Deno.Conn, ms = 5000): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return text;
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

async function rawHttp(port: number, request: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (request) await conn.write(enc.encode(request));
  return conn;
}

async function assertLedOff(server: ServerProcess): Promise<void> {
  const edges = await server.trace();
  assert.ok(edges.length === 0 || !edges.at(-1)!.level, `LED left lit: ${JSON.stringify(edges)}`);
}

function assertNoStack(server: ServerProcess): void {
  const all = [...server.stdout.all, ...server.stderr.all];
  assert.ok(!all.some((l) => /^\s+at /.test(l) || /internal error/.test(l)), all.join("\n"));
}

Deno.test("1,100 idle HTTP connections under a 1,024 descriptor limit: no crash, LED off at the end", async () => {
  const { server, web } = await startWeb([], { prefix: ["prlimit", "--nofile=1024:1024", "--"] });
  await using _ = server;
  using c = await RawClient.connect(server.port);
  assert.equal(await c.ask("on"), "OK on");
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < 1100; i++) {
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port: web }));
  }
  try {
    // Still serving both protocols (HTTP answers at once, maybe 503 while full).
    assert.equal(await c.ask("status"), "OK on");
    const r = await fetch(`http://127.0.0.1:${web}/api/state`).catch((e) => e as Error);
    assert.ok(!(r instanceof Error), `fetch failed: ${r}`);
    assert.ok([200, 503].includes(r.status), `status ${r.status}`);
    await r.body?.cancel();
  } finally {
    conns.forEach((x) => x.close());
  }
  assert.equal(await server.stop("SIGTERM"), 0);
  await assertLedOff(server);
  assertNoStack(server);
});

Deno.test("slow or stalled requests are closed by the header, body and keep-alive timeouts", async () => {
  const { server, web } = await startWeb([
    "--http-header-timeout",
    "300ms",
    "--http-body-timeout",
    "300ms",
    "--http-keepalive-timeout",
    "300ms",
  ]);
  await using _ = server;
  const host = `Host: 127.0.0.1:${web}\r\n`;
  // A head sent one byte every 100 ms: more than 300 ms in all.
  const slow = await rawHttp(web, "");
  const head = `GET / HTTP/1.1\r\n${host}\r\n`;
  let closed = false;
  const done = readToClose(slow).then((t) => (closed = true, t));
  for (const ch of head) {
    if (closed) break;
    await slow.write(enc.encode(ch)).catch(() => {});
    await new Promise((r) => setTimeout(r, 100)); // the stimulus: a slow client
  }
  const slowReply = await done;
  assert.ok(
    !/^HTTP\/1\.1 200/.test(slowReply),
    `a 300 ms header timeout served a slow head: ${slowReply}`,
  );

  // A body shorter than its Content-Length.
  const short = await rawHttp(
    web,
    `POST /api/led HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"comm`,
  );
  assert.match(await readToClose(short), /^HTTP\/1\.1 408|^$/);
  // A chunked body that never ends.
  const chunked = await rawHttp(
    web,
    `POST /api/led HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"com\r\n`,
  );
  assert.match(await readToClose(chunked), /^HTTP\/1\.1 408|^$/);
  // An idle keep-alive connection after one answered request.
  const idle = await rawHttp(web, `GET /api/state HTTP/1.1\r\n${host}\r\n`);
  assert.match(await readToClose(idle), /^HTTP\/1\.1 200 /);
  // And the server still answers.
  const r = await fetch(`http://127.0.0.1:${web}/api/state`);
  assert.equal(r.status, 200);
  await r.body?.cancel();
  assertNoStack(server);
});

Deno.test("SIGTERM with a request body stalled: exits 0 within the second", async () => {
  const { server, web } = await startWeb();
  await using _ = server;
  using c = await RawClient.connect(server.port);
  assert.equal(await c.ask("blink 5"), "OK blink 5 Hz");
  const stalled = await rawHttp(
    web,
    `POST /api/led HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\nContent-Length: 1000\r\n\r\n{`,
  );
  const events = await rawHttp(web, `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\n\r\n`);
  try {
    const t0 = performance.now();
    const code = await server.stop("SIGTERM");
    const ms = performance.now() - t0;
    assert.equal(code, 0);
    // The promise is 1 s; 0.5 s more for a loaded two-core machine.
    assert.ok(ms < 1500, `exit took ${ms.toFixed(0)} ms`);
    await assertLedOff(server);
  } finally {
    stalled.close();
    events.close();
  }
});

Deno.test("client errors are 400s and quiet lines, never 500s or stack traces", async () => {
  const { server, web } = await startWeb();
  await using _ = server;
  const evil = await rawHttp(web, `GET / HTTP/1.1\r\nHost: 127.0.0.1 evil.example\r\n\r\n`);
  assert.match(await readToClose(evil), /^HTTP\/1\.1 400 /);
  const gone = await rawHttp(
    web,
    `POST /api/led HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\nContent-Length: 50\r\n\r\n{"command"`,
  );
  gone.close();
  const r = await fetch(`http://127.0.0.1:${web}/api/state`);
  assert.equal(r.status, 200);
  await r.body?.cancel();
  assertNoStack(server);
});

Deno.test("with --token, nothing about the LED is shown without it, and wrong tokens are limited", async () => {
  const tokenFile = await Deno.makeTempFile();
  await Deno.writeTextFile(tokenFile, "s3cret-token\n");
  const { server, web } = await startWeb(["--token-file", tokenFile]);
  await using _ = server;
  try {
    const base = `http://127.0.0.1:${web}`;
    const page = await (await fetch(`${base}/`)).text();
    assert.ok(!page.includes("trace"), "the page shows the LED description");
    assert.ok(!/mock/.test(page), "the page names the LED");
    assert.ok(/token/i.test(page), "the page asks for the token");
    for (const path of ["/api/state", "/api/events"]) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 401, path);
      const body = await r.text();
      assert.ok(
        !/off|mock|clients/.test(body.replace(/this server needs its token[^"]*/, "")),
        body,
      );
    }
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${base}/api/state`, {
        headers: { authorization: "Bearer wrong-token" },
      });
      assert.equal(r.status, 401);
      await r.body?.cancel();
    }
    const limited = await fetch(`${base}/api/state`, {
      headers: { authorization: "Bearer s3cret-token" },
    });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    await limited.body?.cancel();
    // The log is written asynchronously: wait for the line, then count.
    await server.stdout.waitFor(/wrong token from 127\.0\.0\.1/);
    assert.equal(server.stdout.all.filter((l) => /wrong token/.test(l)).length, 1);
    // The token is nowhere in the log or the process list.
    assert.ok(!server.stdout.all.some((l) => l.includes("s3cret-token")));
    const cmdline = await Deno.readTextFile(`/proc/${server.child.pid}/cmdline`);
    assert.ok(!cmdline.includes("s3cret-token"));
  } finally {
    await Deno.remove(tokenFile);
  }
});
