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
import { ledctlCommand, runLedctl, ServerProcess, tcpTest } from "./harness.ts";
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
    /unknown command "frobnicate": use one of serve, send, clients, watch, fleet, led, doctor, config, completions \(ledctl --help\)/,
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

tcpTest("send: OK exits 0, ERR exits 1, nobody listening exits 1 with advice", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
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

tcpTest("clients: the seed demo, each client named in its reply", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  const r = await runLedctl(["clients", "--count", "3", "--port", String(server.port)]);
  assert.equal(r.code, 0, r.stderr);
  for (const n of [1, 2, 3]) {
    assert.match(
      r.stdout,
      new RegExp(`^Client ${n} received: OK hello Client ${n}: you are client #\\d+ from`, "m"),
    );
  }
});

/** Reads `reader` until the text holds `wanted`; fails, with what was read, at its end or after `ms`. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  wanted: string,
  ms = 10_000,
): Promise<string> {
  let out = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no "${wanted}" within ${ms} ms; read:\n${out}`)),
      ms,
    );
  });
  try {
    while (!out.includes(wanted)) {
      const { value, done } = await Promise.race([reader.read(), late]);
      if (done) throw new Error(`the output ended without "${wanted}"; read:\n${out}`);
      out += value;
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** The child's exit status, which must come within `ms` (else it is killed and this fails). */
async function exitWithin(child: Deno.ChildProcess, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not exit within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([child.status, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `ledctl led --led mock?trace=… <args>` in the foreground until it
 * prints "Ctrl-C to stop", then sends `signal`; returns the output, the exit
 * code and the trace's levels before the signal and at the end.
 */
async function ledUntilSignal(args: string[], signal: Deno.Signal) {
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const child = ledctlCommand(["led", "--led", `mock?trace=${trace}`, ...args]).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out: string;
    try {
      out = await readUntil(reader, "Ctrl-C to stop");
    } catch (e) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`${e}\nstderr:\n${await stderr}`);
    }
    const before = (await readTrace(trace)).map((e) => e.level);
    child.kill(signal);
    const status = await exitWithin(child, 10_000, `ledctl led ${args.join(" ")} after ${signal}`);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const edges = await readTrace(trace);
    return { out, stderr: await stderr, code: status.code, before, edges };
  } finally {
    await Deno.remove(trace);
  }
}

Deno.test("led blink stays in the foreground and turns the LED off on SIGINT", async () => {
  const r = await ledUntilSignal(["blink", "25"], "SIGINT");
  assert.match(r.out, /^LED blink 25 Hz · mock\b.* · Ctrl-C to stop$/m);
  assert.equal(r.code, 0, r.stderr);
  // A blink starts lit; the last edge, after the signal, is off.
  assert.equal(r.before[1], true, `levels before SIGINT: ${r.before}`);
  assert.equal(r.edges.at(-1)!.level, false, `levels: ${r.edges.map((e) => +e.level)}`);
  assert.match(r.out, /\nLED off\n$/);
});

Deno.test("led on keeps the LED lit until SIGTERM, then turns it off", async () => {
  const r = await ledUntilSignal(["on"], "SIGTERM");
  assert.match(r.out, /^LED on · mock\b.* · Ctrl-C to stop$/m);
  assert.equal(r.code, 0, r.stderr);
  // The trace: off when the pin was claimed, lit while it runs, off after the signal.
  assert.deepEqual(r.before, [false, true], "lit while in the foreground");
  assert.deepEqual(r.edges.map((e) => e.level), [false, true, false]);
  assert.match(r.out, /\nLED off\n$/);
});

Deno.test("led off turns the LED off and exits at once", async () => {
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const child = ledctlCommand(["led", "--led", `mock?trace=${trace}`, "off"]).spawn();
    const output = child.output();
    // "At once": without a signal, well within the time a start takes.
    await exitWithin(child, 10_000, "ledctl led off");
    const { code, stderr } = await output;
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const levels = (await readTrace(trace)).map((e) => e.level);
    // Written low, never lit, and the last edge is off.
    assert.ok(levels.length > 0, "the LED was never written");
    assert.equal(levels.at(-1), false, `levels: ${levels}`);
    assert.deepEqual(levels.filter((l) => l), [], `it lit: levels ${levels}`);
  } finally {
    await Deno.remove(trace);
  }
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
