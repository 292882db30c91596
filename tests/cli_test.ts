/**
 * The CLI as a user meets it: help on every subcommand, usage mistakes
 * (exit 2, one clear message), failures (exit 1), the `led` subcommand.
 *
 * Bad inputs tried: unknown command, unknown option, a port of 70000, a
 * port "abc", a bad duration, an unknown --led scheme, --count 0, no
 * command for send, a frequency of 0x10, a multi-line command, a closed
 * port, an ERR reply.
 */
import assert from "node:assert/strict";
import { ledctlCommand, runLedctl, ServerProcess } from "./harness.ts";
import { readTrace } from "../hal/mock.ts";

for (const sub of ["serve", "send", "clients", "watch", "led", "doctor"]) {
  Deno.test(`ledctl ${sub} --help prints usage and exits 0`, async () => {
    const r = await runLedctl([sub, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: ledctl ${sub}`));
    const h = await runLedctl(["help", sub]);
    assert.equal(h.stdout, r.stdout);
  });
}

Deno.test("ledctl --help lists every command; bare ledctl shows it and exits 2", async () => {
  const r = await runLedctl(["--help"]);
  assert.equal(r.code, 0);
  for (const sub of ["serve", "send", "clients", "watch", "led", "doctor"]) {
    assert.match(r.stdout, new RegExp(`\\n  ${sub} `));
  }
  assert.equal((await runLedctl([])).code, 2);
  assert.match((await runLedctl(["--version"])).stdout, /^ledctl \d+\.\d+\.\d+ \(deno /);
});

const usageErrors: [string[], RegExp][] = [
  [
    ["frobnicate"],
    /unknown command "frobnicate": use one of serve, send, clients, watch, led, doctor/,
  ],
  [["serve", "--bogus"], /ledctl serve: Unknown option '--bogus'/],
  [
    ["serve", "--port", "70000"],
    /--port "70000" is not a port: use a whole number from 0 to 65535/,
  ],
  [["send", "--port", "abc", "on"], /--port "abc" is not a port/],
  [["serve", "--idle-timeout", "soon"], /"soon" is not a duration; write e\.g\. 10s, 300ms/],
  [
    ["serve", "--led", "laser:1"],
    /unknown LED backend "laser".*use one of mock, gpio, serial, tcp/,
  ],
  [["clients", "--count", "0"], /--count "0" must be a whole number from 1 to 10000/],
  [["send"], /say what to send, e\.g\. "ledctl send blink 3"/],
  [["led", "blink", "0x10"], /"0x10" is not a frequency/],
  [["led", "status"], /"status" is a server command/],
  [["serve", "--token", "short"], /--token must be 8 to 256 printable characters/],
];
for (const [args, re] of usageErrors) {
  Deno.test(`usage error: ledctl ${args.join(" ")} → exit 2 with a clear message`, async () => {
    const r = await runLedctl(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, "");
  });
}

Deno.test("send: OK exits 0, ERR exits 1, nobody listening exits 1 with advice", async () => {
  await using server = await ServerProcess.start();
  const port = String(server.port);
  const ok = await runLedctl(["send", "--port", port, "clignote", "2,5"]);
  assert.deepEqual([ok.code, ok.stdout], [0, "OK blink 2.5 Hz\n"]);
  const bad = await runLedctl(["send", "--port", port, "blink", "fast"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^ERR bad-argument "fast" is not a frequency/);
  await server.stop();
  const gone = await runLedctl(["send", "--port", port, "on"]);
  assert.equal(gone.code, 1);
  assert.match(
    gone.stderr,
    /nothing listens on 127\.0\.0\.1:\d+: start the server with "ledctl serve"/,
  );
});

Deno.test("clients: the seed demo, each client named in its reply", async () => {
  await using server = await ServerProcess.start();
  const r = await runLedctl(["clients", "--count", "3", "--port", String(server.port)]);
  assert.equal(r.code, 0, r.stderr);
  for (const n of [1, 2, 3]) {
    assert.match(
      r.stdout,
      new RegExp(`^Client ${n} received: OK hello Client ${n}: you are client #\\d+ from`, "m"),
    );
  }
});

Deno.test("led blink stays in the foreground and turns the LED off on SIGINT", async () => {
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  const child = ledctlCommand(["led", "--led", `mock?trace=${trace}`, "blink", "25"]).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("Ctrl-C to stop")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  assert.match(out, /LED blink 25 Hz on mock/);
  child.kill("SIGINT");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel();
  assert.equal(status.code, 0);
  const edges = await readTrace(trace);
  assert.equal(edges.at(-1)!.level, false);
  assert.ok(edges.some((e) => e.level), "it lit at least once");
  await Deno.remove(trace);
});

Deno.test("led off turns the LED off and exits at once", async () => {
  const r = await runLedctl(["led", "--led", "mock", "off"]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("doctor on a board link with nothing behind it fails with a fix", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // now nothing listens there
  const r = await runLedctl(["doctor", "--led", `tcp:127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ board link .*connection refused/);
  assert.match(r.stdout, /→ /);
});
