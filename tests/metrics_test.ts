/**
 * `/metrics` and `/healthz` of a real `ledctl serve`: commands sent over
 * TCP and HTTP move the counters by exactly what was sent (parsed by a
 * Prometheus text parser), on each TCP engine; the gauges follow clients
 * and watchers; both endpoints are behind the token when one is set.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { RawClient, ServerProcess, tcpEngines, tcpTest } from "./harness.ts";

/** A parsed scrape: metric name → its type and samples. */
type Scrape = Map<
  string,
  { type: string; samples: { labels: Record<string, string>; value: number }[] }
>;

async function startWeb(
  extra: string[] = [],
  options: Parameters<typeof ServerProcess.start>[1] = {},
): Promise<ServerProcess & { url: string }> {
  const server = await ServerProcess.start(["--http", "0", ...extra], options);
  const m = await server.stdout.waitFor(/web page on (http:\/\/127\.0\.0\.1:\d+\/)/);
  return Object.assign(server, { url: m[1] });
}

/** GETs `/metrics` and parses it; the response must be the text format. */
async function scrape(url: string, headers: HeadersInit = {}): Promise<Scrape> {
  const r = await fetch(new URL("metrics", url), { headers });
  const body = await r.text();
  assert.equal(r.status, 200, body);
  assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const families = parsePrometheusTextFormat(body) as {
    name: string;
    type: string;
    metrics: { value: string; labels?: Record<string, string> }[];
  }[];
  const out: Scrape = new Map();
  for (const f of families) {
    assert(f.name.startsWith("ledctl_"), `metric ${f.name} is not named ledctl_…`);
    if (f.type === "COUNTER") assert(f.name.endsWith("_total"), `counter ${f.name}`);
    out.set(f.name, {
      type: f.type,
      samples: f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })),
    });
  }
  return out;
}

/** The samples of `name` as `label=value,…` → value. */
function series(s: Scrape, name: string): Map<string, number> {
  const f = s.get(name);
  assert(f, `no metric ${name} in the scrape`);
  return new Map(f.samples.map((x) => [
    Object.entries(x.labels).sort().map(([k, v]) => `${k}=${v}`).join(","),
    x.value,
  ]));
}

/** The one value of an unlabelled metric. */
function value(s: Scrape, name: string): number {
  const v = series(s, name).get("");
  assert(v !== undefined, `${name} has no unlabelled sample`);
  return v;
}

/** How much each series of `name` moved from `before` to `after` (only those that did). */
function moved(before: Scrape, after: Scrape, name: string): Record<string, number> {
  const a = series(before, name);
  const out: Record<string, number> = {};
  for (const [k, v] of series(after, name)) {
    const d = v - (a.get(k) ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

async function postLed(url: string, body: unknown): Promise<{ status: number; reply: string }> {
  const r = await fetch(new URL("api/led", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, reply: (await r.json()).reply };
}

tcpTest(
  "/metrics: counters move by exactly the commands sent, by verb and result",
  async (engine) => {
    // --verbose: the log says when a client is gone.
    await using server = await startWeb(["--max-clients", "2", "--verbose"], { engine });
    const before = await scrape(server.url);
    for (const name of ["ledctl_clients", "ledctl_watchers", "ledctl_viewers"]) {
      assert.equal(before.get(name)?.type, "GAUGE", name);
    }
    assert.equal(value(before, "ledctl_clients"), 0);
    assert.equal(value(before, "ledctl_watchers"), 0);

    using c1 = await RawClient.connect(server.port);
    assert.equal(await c1.ask("blink 2"), "OK blink 2 Hz");
    assert.equal(await c1.ask("clignote 3"), "OK blink 3 Hz");
    assert.equal(await c1.ask("on"), "OK on");
    assert.equal(await c1.ask("status"), "OK on");
    assert.match((await c1.ask("dance"))!, /^ERR unknown-command /);
    assert.match((await c1.ask("blink 9999"))!, /^ERR bad-argument /);
    assert.match((await c1.ask("hello Ada"))!, /^OK hello Ada: /);
    using c2 = await RawClient.connect(server.port);
    assert.match((await c2.ask("watch"))!, /^OK watching/);
    // Over the limit of 2 clients: an unasked ERR busy.
    using c3 = await RawClient.connect(server.port);
    assert.match((await c3.readLine())!, /^ERR busy /);
    assert.deepEqual(await postLed(server.url, { command: "off" }), {
      status: 200,
      reply: "OK off",
    });
    const bad = await postLed(server.url, { command: "blink", hz: "fast" });
    assert.equal(bad.status, 400);
    assert.match(bad.reply, /^ERR bad-argument /);

    const after = await scrape(server.url);
    assert.deepEqual(moved(before, after, "ledctl_requests_total"), {
      "result=ok,transport=tcp,verb=blink": 2,
      "result=ok,transport=tcp,verb=on": 1,
      "result=ok,transport=tcp,verb=status": 1,
      "result=unknown-command,transport=tcp,verb=invalid": 1,
      "result=bad-argument,transport=tcp,verb=invalid": 1,
      "result=ok,transport=tcp,verb=hello": 1,
      "result=ok,transport=tcp,verb=watch": 1,
      "result=ok,transport=http,verb=off": 1,
      "result=bad-argument,transport=http,verb=invalid": 1,
    });
    assert.deepEqual(moved(before, after, "ledctl_errors_total"), {
      "code=unknown-command": 1,
      "code=bad-argument": 2,
      "code=busy": 1,
    });
    assert.deepEqual(moved(before, after, "ledctl_led_changes_total"), {
      "mode=blink": 2,
      "mode=on": 1,
      "mode=off": 1,
    });
    assert.equal(value(after, "ledctl_clients"), 2);
    assert.equal(value(after, "ledctl_watchers"), 1);
    assert.deepEqual(series(after, "ledctl_led_mode").get("mode=off"), 1);
    assert.equal(value(after, "ledctl_board_link_up"), 1, "the mock has no link: always up");
    assert(value(after, "ledctl_resident_memory_bytes") > 10 * 1024 * 1024);
    assert(value(after, "ledctl_open_fds") > 3);
    assert(value(after, "ledctl_uptime_seconds") > 0);

    // The watcher leaves: the gauges come back down.
    c2[Symbol.dispose]();
    await server.stdout.waitFor(/disconnected client #2 /);
    const gone = await scrape(server.url);
    assert.equal(value(gone, "ledctl_watchers"), 0);
    assert.equal(value(gone, "ledctl_clients"), 1);
  },
);

Deno.test("/metrics and /healthz: 401 without the token, 200 with it; GET and HEAD only", async () => {
  const tokenFile = await Deno.makeTempFile();
  const token = "metrics-test-token";
  await Deno.writeTextFile(tokenFile, token + "\n");
  try {
    await using server = await startWeb(["--token-file", tokenFile]);
    const auth = { authorization: `Bearer ${token}` };
    for (const path of ["metrics", "healthz"]) {
      const none = await fetch(new URL(path, server.url));
      await none.body?.cancel();
      assert.equal(none.status, 401, `${path} without a token`);
      const wrong = await fetch(new URL(path, server.url), {
        headers: { authorization: "Bearer not-the-token" },
      });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
      const head = await fetch(new URL(path, server.url), { method: "HEAD", headers: auth });
      assert.equal(head.status, 200, `HEAD ${path}`);
      assert.equal(await head.text(), "");
      const post = await fetch(new URL(path, server.url), { method: "POST", headers: auth });
      await post.body?.cancel();
      assert.equal(post.status, 405, `POST ${path}`);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
    }
    const s = await scrape(server.url, auth);
    assert.equal(value(s, "ledctl_clients"), 0);
    const h = await fetch(new URL("healthz", server.url), { headers: auth });
    assert.equal(h.status, 200);
    assert.equal((await h.json()).ok, true);
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("/healthz on the mock: 200 with the LED's state and no board link", async () => {
  await using server = await startWeb();
  using c = await RawClient.connect(server.port);
  assert.equal(await c.ask("blink 2.5"), "OK blink 2.5 Hz");
  const r = await fetch(new URL("healthz", server.url));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.deepEqual(await r.json(), {
    ok: true,
    status: "ok",
    state: { mode: "blink", hz: 2.5 },
    text: "blink 2.5 Hz",
    led: `mock (trace: ${server.tracePath})`,
    link: null,
  });
});

// The epoll engine's worker sends its counts in batches, at most every
// 10 ms while it is busy: a scrape must ask for them first. (The node
// engine counts on the main thread; a flood there only slows the scrapes.)
for (const engine of tcpEngines().filter((e) => e === "epoll")) {
  Deno.test(`[${engine}] /metrics: a scrape counts every reply a client has, under a flood`, async () => {
    await using server = await startWeb([], { engine });
    using flood = await RawClient.connect(server.port);
    let stop = false;
    const batch = "status\n".repeat(200);
    const sink = new Uint8Array(64 * 1024);
    const reading = (async () => {
      while (await flood.conn.read(sink) !== null);
    })();
    const writing = (async () => {
      while (!stop) await flood.write(batch);
      await flood.write("quit\n");
    })();
    try {
      using c = await RawClient.connect(server.port);
      const hellos = async () =>
        series(await scrape(server.url), "ledctl_requests_total")
          .get("result=ok,transport=tcp,verb=hello") ?? 0;
      const before = await hellos();
      for (let i = 1; i <= 10; i++) {
        assert.match((await c.ask(`hello n${i}`))!, /^OK hello n\d+: /);
        assert.equal(await hellos(), before + i, `scrape ${i}: the hello just answered is counted`);
      }
    } finally {
      stop = true;
      await writing;
      await reading;
    }
  });
}
