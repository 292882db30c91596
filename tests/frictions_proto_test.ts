/**
 * The protocol and command-line frictions of issue 13 (items 1, 2, 4, 5, 9
 * and 12), each against real `ledctl` processes over loopback TCP.
 *
 * Bad inputs tried here (each gets a clear error and the server keeps
 * serving):
 * - `watch`, `on`, `off` pipelined in one write; `on` while already on
 * - `ledctl clients` above `--max-clients`; against a `--token` server with
 *   no token, a wrong one, and a token file that does not exist
 * - `ledctl send`/`ledctl watch` pointed at the web (HTTP) port
 * - `ledctl led dance`; `ledctl led help`
 * - `ledctl send blink -1` (an option-looking word after the command)
 * - `blink 2.5 Hz`, `blink 2.5Hz`, `blink 2.5 hz`, `blink 2.5 kHz`
 * - `hello` with no name; `ledctl send` with no command
 * - refused (busy) clients and requests without a token: logged once, counted
 *
 * @module
 */
import assert from "node:assert/strict";
import { RawClient, runLedctl, ServerProcess, tcpTest } from "./harness.ts";

tcpTest(
  "pipelined watch, on, off: each EVENT just before its OK, in request order",
  async (engine) => {
    await using server = await ServerProcess.start([], { engine });
    using c = await RawClient.connect(server.port);
    await c.write("watch\non\noff\n");
    const lines = [];
    for (let i = 0; i < 5; i++) lines.push(await c.readLine());
    assert.deepEqual(lines, [
      "OK watching: an EVENT line follows each LED change; now off",
      "EVENT on",
      "OK on",
      "EVENT off",
      "OK off",
    ]);
    assert.equal(await c.ask("status"), "OK off", "the server keeps serving");
  },
);

tcpTest("a request that changes nothing sends no EVENT", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  using other = await RawClient.connect(server.port);
  assert.match((await c.ask("watch")) ?? "", /^OK watching/);
  await c.write("on\non\nblink 2\nblink 2,0\nstatus\n");
  const lines = [];
  for (let i = 0; i < 7; i++) lines.push(await c.readLine());
  assert.deepEqual(lines, [
    "EVENT on",
    "OK on",
    "OK on",
    "EVENT blink 2 Hz",
    "OK blink 2 Hz",
    "OK blink 2 Hz",
    "OK blink 2 Hz",
  ]);
  // Another client's request for the same state: no EVENT either; its next change: one.
  assert.equal(await other.ask("blink 2"), "OK blink 2 Hz");
  assert.equal(await other.ask("off"), "OK off");
  assert.equal(await c.readLine(), "EVENT off");
});

tcpTest(
  "blink takes the reply's own words; hello with no name says the number once",
  async (engine) => {
    await using server = await ServerProcess.start([], { engine });
    using c = await RawClient.connect(server.port);
    assert.equal(await c.ask("blink 2.5 Hz"), "OK blink 2.5 Hz");
    assert.equal(await c.ask("clignote 2,5hz"), "OK blink 2.5 Hz");
    assert.equal(await c.ask("blink 3HZ"), "OK blink 3 Hz");
    assert.equal(
      await c.ask("blink 2.5 kHz"),
      "ERR bad-argument blink takes one frequency, got 2 arguments",
    );
    assert.equal(
      await c.ask("blink 1000Hz"),
      "ERR bad-argument 1000 Hz is out of range: use 0.05 to 500 Hz",
    );
    assert.match(
      (await c.ask("hello")) ?? "",
      /^OK hello: you are client #\d+ from 127\.0\.0\.1:\d+$/,
    );
    assert.match((await c.ask("hello Ada")) ?? "", /^OK hello Ada: you are client #\d+ from /);
    assert.match((await c.ask("hello")) ?? "", /^OK hello Ada: you are client #\d+ from /);
    assert.equal(await c.ask("status"), "OK blink 3 Hz");
  },
);

/** A server with its web port on too; resolves with both ports. */
async function withWebPort(engine: Parameters<typeof ServerProcess.start>[1] = {}) {
  const server = await ServerProcess.start(["--http", "0"], engine);
  const m = await server.stdout.waitFor(/web page on http:\/\/[^ ]*:(\d+)\//);
  return { server, web: m[1] };
}

tcpTest("send and watch pointed at the web port say so and exit 1", async (engine) => {
  const { server, web } = await withWebPort({ engine });
  await using _ = server;
  const sent = await runLedctl(["send", "--port", web, "on"]);
  assert.equal(sent.code, 1, sent.stderr);
  assert.equal(sent.stdout, "", "no HTTP status line printed as the answer");
  assert.match(
    sent.stderr,
    new RegExp(`^ledctl send: 127\\.0\\.0\\.1:${web} answered in HTTP: .*web port.*10000.*--port`),
  );
  const authed = await runLedctl(["send", "--port", web, "on"], { LEDCTL_TOKEN: "s3cret-token" });
  assert.equal(authed.code, 1, authed.stderr);
  assert.match(authed.stderr, /answered in HTTP: .*web port/);
  const watched = await runLedctl(["watch", "--port", web]);
  assert.equal(watched.code, 1, watched.stderr);
  assert.match(watched.stderr, /^ledctl watch: 127\.0\.0\.1:\d+ answered in HTTP: .*web port/);
  const swarm = await runLedctl(["clients", "--port", web]);
  assert.equal(swarm.code, 1, swarm.stderr);
  assert.match(swarm.stderr, /answered in HTTP: .*web port/);
  // The server keeps serving on its TCP port.
  const ok = await runLedctl(["send", "--port", String(server.port), "on"]);
  assert.deepEqual([ok.code, ok.stdout], [0, "OK on\n"]);
});

tcpTest("send: every word after the command is the command's (blink -1)", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  const port = String(server.port);
  const r = await runLedctl(["send", "--port", port, "blink", "-1"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    'ERR bad-argument "-1" is not a frequency: write digits, e.g. 2.5 or 2,5\n',
  );
  const h = await runLedctl(["send", "--port", port, "on", "--help"]);
  assert.equal(h.code, 1, h.stderr);
  assert.equal(h.stderr, "ERR bad-argument on takes no argument\n");
  const ok = await runLedctl(["send", "--port", port, "--", "blink", "2.5", "Hz"]);
  assert.deepEqual([ok.code, ok.stdout], [0, "OK blink 2.5 Hz\n"]);
});

Deno.test("send with no command gives its hint once", async () => {
  const r = await runLedctl(["send"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /say what to send, e\.g\. "ledctl send blink 3"/);
  assert.equal(r.stderr.split("--help").length - 1, 1, r.stderr);
});

Deno.test("led: an unknown command lists the LED's commands; led help prints them", async () => {
  const bad = await runLedctl(["led", "--led", "mock", "dance"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /"dance" is not an LED command: use blink HZ, on or off/);
  assert.doesNotMatch(bad.stderr, /try: help/);
  const help = await runLedctl(["led", "help"]);
  assert.equal(help.code, 0, help.stderr);
  for (const word of ["blink HZ", "on", "off", "clignote", "allume", "eteindre"]) {
    assert.match(help.stdout, new RegExp(`\\b${word}\\b`));
  }
});

tcpTest(
  "clients exits 1 with a one-line summary when clients are refused (busy)",
  async (engine) => {
    await using server = await ServerProcess.start(["--max-clients", "2"], { engine });
    // Two held connections fill the server: every demo client is refused.
    using a = await RawClient.connect(server.port);
    using b = await RawClient.connect(server.port);
    assert.equal(await a.ask("status"), "OK off");
    assert.equal(await b.ask("status"), "OK off");
    const r = await runLedctl(["clients", "--count", "3", "--port", String(server.port)]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^Client 1 received: ERR busy /m);
    const last = r.stderr.trimEnd().split("\n").at(-1);
    assert.equal(
      last,
      "ledctl clients: 3 of 3 clients got no named reply: 3 ERR busy " +
        "(the server's client limit: fewer --count, or serve --max-clients)",
    );
    assert.equal(await a.ask("status"), "OK off", "the server keeps serving");
  },
);

tcpTest(
  "clients takes a token as send does: --token-file, LEDCTL_TOKEN, --token",
  async (engine) => {
    const dir = await Deno.makeTempDir();
    try {
      const tokenFile = `${dir}/token`;
      await Deno.writeTextFile(tokenFile, "s3cret-token\n");
      await using server = await ServerProcess.start(["--token-file", tokenFile], { engine });
      const port = String(server.port);
      const none = await runLedctl(["clients", "--port", port]);
      assert.equal(none.code, 1, none.stdout + none.stderr);
      assert.match(
        none.stderr,
        /ledctl clients: 2 of 2 clients got no named reply: 2 ERR auth \(the server needs a token: --token-file, LEDCTL_TOKEN or --token\)\n$/,
      );
      const wrong = await runLedctl(["clients", "--port", port, "--token", "wrong-token"]);
      assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
      assert.match(wrong.stderr, /2 of 2 clients got no named reply: 2 ERR auth/);
      const missing = await runLedctl(["clients", "--port", port, "--token-file", `${dir}/nope`]);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /cannot read --token-file .*nope/);
      for (
        const [args, env] of [
          [["--token-file", tokenFile], {}],
          [[], { LEDCTL_TOKEN: "s3cret-token" }],
          [["--token", "s3cret-token"], {}],
        ] as [string[], Record<string, string>][]
      ) {
        const r = await runLedctl(["clients", "--port", port, ...args], env);
        assert.equal(r.code, 0, `${args} ${JSON.stringify(env)}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /^Client 2 received: OK hello Client 2: you are client #/m);
      }
      const sent = await runLedctl(["send", "--port", port, "--token-file", tokenFile, "on"]);
      assert.deepEqual([sent.code, sent.stdout], [0, "OK on\n"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

tcpTest(
  "refusals are logged by default: the first per address, the rest counted",
  async (engine) => {
    const dir = await Deno.makeTempDir();
    try {
      const tokenFile = `${dir}/token`;
      await Deno.writeTextFile(tokenFile, "s3cret-token\n");
      await using server = await ServerProcess.start(
        ["--max-clients", "1", "--token-file", tokenFile],
        { engine },
      );
      using a = await RawClient.connect(server.port);
      assert.match((await a.ask("on")) ?? "", /^ERR auth this server needs a token/);
      assert.match((await a.ask("status")) ?? "", /^ERR auth this server needs a token/);
      for (let i = 0; i < 3; i++) {
        using b = await RawClient.connect(server.port);
        assert.match((await b.readLine()) ?? "", /^ERR busy /);
      }
      assert.equal(await a.ask("auth s3cret-token"), "OK auth");
      assert.equal(await a.ask("on"), "OK on");
      // The LED change is logged after every refusal above: all their lines are out by then.
      await server.stdout.waitFor(/LED on {2}← /);
      const logged = (re: RegExp) => server.stdout.all.filter((l) => re.test(l));
      assert.deepEqual(
        logged(/without a token/).map((l) => l.replace(/^\S+ /, "")),
        [
          "tcp: refused a request without a token from 127.0.0.1 " +
          "(more in the next 60 s are counted, not logged)",
        ],
      );
      assert.deepEqual(
        logged(/refused a client/).map((l) => l.replace(/^\S+ /, "")),
        [
          "tcp: refused a client from 127.0.0.1: server has 1 clients (its limit) " +
          "(more in the next 60 s are counted, not logged)",
        ],
      );
      // The counts are written when the minute ends, or at shutdown.
      assert.equal(await server.stop("SIGTERM"), 0);
      assert.deepEqual(
        logged(/refused \d+ more/).map((l) => l.replace(/^\S+ /, "")).sort(),
        [
          "tcp: refused 1 more request without a token in the last 60 s: 127.0.0.1 ×1",
          "tcp: refused 2 more clients in the last 60 s: 127.0.0.1 ×2",
        ],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
