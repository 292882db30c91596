/**
 * The server as a real process on loopback.
 *
 * Bad inputs tried here (each must get its ERR while the server keeps
 * serving): NaN, inf, 0, -1, 1e9, 3Hz, 0x10, empty line, a 64 KB line,
 * invalid UTF-8, control characters (NUL, ESC), a verb alone (blink), too
 * many arguments, an unknown verb, a wrong auth token. The protocol vectors
 * (protocol/testdata/vectors.tsv) cover many more at the parser level.
 */
import assert from "node:assert/strict";
import { RawClient, runLedctl, ServerProcess, tcpTest } from "./harness.ts";

tcpTest("100 concurrent clients each get their own named reply", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  const clients = await Promise.all(
    Array.from({ length: 100 }, () => RawClient.connect(server.port)),
  );
  try {
    const replies = await Promise.all(
      clients.map((c, i) => c.ask(`Hello, server! from Client ${i + 1}`)),
    );
    const ids = new Set<string>();
    replies.forEach((r, i) => {
      const m = r?.match(/^OK hello Client (\d+): you are client #(\d+) from 127\.0\.0\.1:\d+$/);
      assert.ok(m, `client ${i + 1} got ${r}`);
      assert.equal(m[1], String(i + 1));
      ids.add(m[2]);
    });
    assert.equal(ids.size, 100, "every client has its own number");
  } finally {
    clients.forEach((c) => c[Symbol.dispose]());
  }
});

tcpTest("an idle client gets ERR idle-timeout, then a FIN (not a reset)", async (engine) => {
  await using server = await ServerProcess.start(["--idle-timeout", "300ms"], { engine });
  using c = await RawClient.connect(server.port);
  assert.equal(await c.readLine(), "ERR idle-timeout no data for 300 ms; closing");
  assert.equal(await c.readLine(), null); // EOF: a FIN, a reset would reject
});

tcpTest("any byte is activity: a slow trickle keeps the connection open", async (engine) => {
  // A long frame timeout so the partial line waits for its LF.
  await using server = await ServerProcess.start([
    "--idle-timeout",
    "400ms",
    "--frame-timeout",
    "30s",
  ], { engine });
  using c = await RawClient.connect(server.port);
  // Spell "status\n" one byte every 100 ms: 700 ms in all, never 400 ms silent.
  // (The pauses are the stimulus, not a wait for something.)
  for (const ch of "status") {
    await c.write(ch);
    await new Promise((r) => setTimeout(r, 100));
  }
  await c.write("\n");
  assert.equal(await c.readLine(), "OK off");
});

tcpTest("a command without newline is answered after the frame timeout", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  await c.write("clignote 3");
  assert.equal(await c.readLine(), "OK blink 3 Hz");
  // The connection stays usable.
  assert.equal(await c.ask("status"), "OK blink 3 Hz");
});

tcpTest("a command without newline is answered at half-close", async (engine) => {
  // A long frame timeout, so only the half-close can complete the line.
  await using server = await ServerProcess.start(["--frame-timeout", "30s"], { engine });
  using c = await RawClient.connect(server.port);
  await c.write("blink 4");
  await c.conn.closeWrite();
  assert.equal(await c.readLine(), "OK blink 4 Hz");
  assert.equal(await c.readLine(), null);
});

tcpTest("pipelined requests get one reply each, in order", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  await c.write("on\r\nstatus\nblink 2,5\nstatus\noff\nstatus\n");
  const replies = [];
  for (let i = 0; i < 6; i++) replies.push(await c.readLine());
  assert.deepEqual(replies, [
    "OK on",
    "OK on",
    "OK blink 2.5 Hz",
    "OK blink 2.5 Hz",
    "OK off",
    "OK off",
  ]);
});

tcpTest("each bad input gets its ERR and the server keeps serving", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  assert.equal(await c.ask("blink 2"), "OK blink 2 Hz");
  const bad: [string | Uint8Array, RegExp][] = [
    ["blink NaN", /^ERR bad-argument "NaN" is not a frequency/],
    ["blink inf", /^ERR bad-argument "inf" is not a frequency/],
    ["blink 0", /^ERR bad-argument 0 Hz is out of range/],
    ["blink -1", /^ERR bad-argument "-1" is not a frequency/],
    ["blink 1e9", /^ERR bad-argument "1e9" is not a frequency/],
    ["blink 3kHz", /^ERR bad-argument "3kHz" is not a frequency/],
    ["blink 2.5 Hz Hz", /^ERR bad-argument blink takes one frequency, got 3 arguments/],
    ["blink 0x10", /^ERR bad-argument "0x10" is not a frequency/],
    ["blink", /^ERR bad-argument blink needs a frequency/],
    ["blink 1 2", /^ERR bad-argument blink takes one frequency/],
    ["", /^ERR unknown-command empty line/],
    ["dance", /^ERR unknown-command "dance"/],
    [new Uint8Array([0x62, 0xff, 0xfe, 10]), /^ERR bad-encoding line is not valid UTF-8/],
    ["off\x00", /^ERR bad-encoding line contains control characters/],
    ["\x1b[2Joff", /^ERR bad-encoding line contains control characters/],
  ];
  for (const [input, re] of bad) {
    if (typeof input === "string") await c.write(input + "\n");
    else await c.write(input);
    const reply = await c.readLine();
    assert.match(
      reply ?? "<EOF>",
      re,
      JSON.stringify(typeof input === "string" ? input : [...input]),
    );
  }
  // None of them changed the LED.
  assert.equal(await c.ask("status"), "OK blink 2 Hz");
});

tcpTest(
  "a 64 KB line gets ERR line-too-long and a close; others are still served",
  async (engine) => {
    await using server = await ServerProcess.start([], { engine });
    using other = await RawClient.connect(server.port);
    using c = await RawClient.connect(server.port);
    await c.write("blink " + "9".repeat(65536) + "\n");
    assert.equal(await c.readLine(), "ERR line-too-long line exceeds 1024 bytes; closing");
    assert.equal(await c.readLine(), null);
    assert.equal(await other.ask("on"), "OK on");
  },
);

tcpTest("above --max-clients a newcomer gets ERR busy and a close", async (engine) => {
  await using server = await ServerProcess.start(["--max-clients", "3", "--verbose"], { engine });
  const held = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
  try {
    // Make sure all three are accepted (answered) before the fourth comes.
    for (const c of held) assert.equal(await c.ask("status"), "OK off");
    using extra = await RawClient.connect(server.port);
    assert.match(
      (await extra.readLine()) ?? "",
      /^ERR busy server has 3 clients \(its limit\); try again later$/,
    );
    assert.equal(await extra.readLine(), null);
    // A place freed is a place to take, once the server has seen the close.
    held.pop()![Symbol.dispose]();
    await server.stdout.waitFor(/disconnected client #3 /);
    using again = await RawClient.connect(server.port);
    assert.equal(await again.ask("status"), "OK off");
  } finally {
    held.forEach((c) => c[Symbol.dispose]());
  }
});

tcpTest("quit says bye and closes", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  assert.equal(await c.ask("quit"), "OK bye");
  assert.equal(await c.readLine(), null);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  tcpTest(`${signal} turns the LED off, closes clients and exits 0`, async (engine) => {
    await using server = await ServerProcess.start([], { engine });
    using c = await RawClient.connect(server.port);
    assert.equal(await c.ask("blink 20"), "OK blink 20 Hz");
    await server.waitForEdges(6); // it has really blinked a few times
    assert.equal(await server.stop(signal), 0);
    const trace = await server.trace();
    assert.ok(trace.length >= 6, `blinked ${trace.length} edges`);
    assert.equal(trace.at(-1)!.level, false, "the last edge leaves the LED off");
    assert.equal(await c.readLine(), null, "the client got a FIN");
    assert.ok(server.stdout.all.some((l) => l.includes("LED off  ← shutdown")));
  });
}

tcpTest("LED changes are logged with the client that made them", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  await c.ask("hello from Ada");
  await c.ask("blink 3");
  await server.stdout.waitFor(/LED blink 3 Hz {2}← client #1 127\.0\.0\.1:\d+ \(Ada\)$/);
});

tcpTest("with --token, commands need auth first and a wrong token closes", async (engine) => {
  await using server = await ServerProcess.start(["--token", "s3cret-token"], { engine });
  using c = await RawClient.connect(server.port);
  assert.match((await c.ask("on")) ?? "", /^ERR auth this server needs a token/);
  assert.equal(await c.ask("auth s3cret-token"), "OK auth");
  assert.equal(await c.ask("on"), "OK on");
  using bad = await RawClient.connect(server.port);
  assert.equal(await bad.ask("auth guess"), "ERR auth wrong token; closing");
  assert.equal(await bad.readLine(), null);
  const sent = await runLedctl([
    "send",
    "--port",
    String(server.port),
    "--token",
    "s3cret-token",
    "off",
  ]);
  assert.equal(sent.stdout.trim(), "OK off");
});

tcpTest("a port in use is one clear line and exit 1", async (engine) => {
  await using first = await ServerProcess.start([], { engine });
  const r = await runLedctl([
    "serve",
    "--port",
    String(first.port),
    "--http",
    "off",
    "--led",
    "mock",
    "--tcp-engine",
    engine,
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /127\.0\.0\.1:\d+ is already in use \(another ledctl serve\?\): stop it or pick another --port/,
  );
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

tcpTest("an address not on this machine is one clear line and exit 1", async (engine) => {
  const r = await runLedctl([
    "serve",
    "--host",
    "192.0.2.1",
    "--port",
    "0",
    "--http",
    "off",
    "--led",
    "mock",
    "--tcp-engine",
    engine,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /192\.0\.2\.1 is not an address of this machine/);
});
