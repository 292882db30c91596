/**
 * The serial board link end to end, on real parts: the firmware's host build
 * reads commands on one end of a pseudo-terminal, `ledctl serve --led
 * serial:<other end>` drives it, TCP clients talk to ledctl. Faults: the
 * firmware killed mid-blink, the pty closed mid-run.
 */
import assert from "node:assert/strict";
import { checkBoardLink } from "../hal/stm32/diagnose.ts";
import { RawClient, ServerProcess } from "./harness.ts";
import {
  buildFirmware,
  firmwareBin,
  HEARTBEAT_ENV,
  ledctlArgv,
  ledLines,
  LOSS_WINDOW_MS,
  Proc,
  ptyPair,
  reconnectedWith,
  waitForTraceEdges,
} from "./stm32_board.ts";

const DOWN = "(board link down; will apply on reconnect)";

/** True when `p` is still running `ms` from now. */
async function runningAfter(p: Proc, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const still = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms)));
  try {
    return await Promise.race([p.child.status.then(() => false), still]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the firmware on `uart` and waits for it to be ready. */
async function firmware(uart: string, trace?: string): Promise<Proc> {
  const fw = Proc.spawn([firmwareBin, "--uart", uart, ...(trace ? ["--trace", trace] : [])]);
  await fw.waitFor(/^ready$/, 5000);
  return fw;
}

Deno.test("serial: a TCP client's blink 3 reaches the firmware's LED state machine", async () => {
  await buildFirmware();
  const trace = await Deno.makeTempFile({ suffix: ".fwtrace" });
  await using fw = Proc.spawn([firmwareBin, "--uart", "pty", "--trace", trace]);
  const [, pts] = await fw.waitFor(/^uart on (\/dev\/pts\/\d+)$/, 5000);
  await fw.waitFor(/^ready$/, 5000);
  // What `ledctl doctor` reports for this link, before anything changes the LED.
  assert.deepEqual(await checkBoardLink(`serial:${pts}`), {
    ok: true,
    detail: `the ledctl firmware answers on ${pts} (115200 baud): LED off`,
  });
  await using server = await ServerProcess.start(["--led", `serial:${pts}`], { trace: false });
  await server.stdout.waitFor(/board serial:\S+: connected; LED off/);
  try {
    using client = await RawClient.connect(server.port);
    const before = fw.stdout.all.length;
    assert.equal(await client.ask("blink 3"), "OK blink 3 Hz");
    await fw.waitFor(/^LED blink 3 Hz$/, 5000, before);
    // One command reached the board, and only that one changed its LED.
    assert.deepEqual(ledLines(fw, before), ["LED blink 3 Hz"]);
    assert.equal(await client.ask("status"), "OK blink 3 Hz");

    // The board's own timer blinks it: half-periods of 1/6 s in its trace.
    const edges = await waitForTraceEdges(trace, 12, { ms: 10_000 });
    const since = edges.findIndex((e, i) => i > 0 && e.level && !edges[i - 1].level);
    const gaps = edges.slice(since + 1, since + 9).map((e, i) => e.t - edges[since + i].t);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    assert(Math.abs(mean - 1000 / 6) < 15, `half-period ${mean.toFixed(1)} ms, want 166.7`);

    assert.equal(await client.ask("clignote 2,5"), "OK blink 2.5 Hz");
    await fw.waitFor(/^LED blink 2\.5 Hz$/, 5000);
    assert.equal(await client.ask("off"), "OK off");
    const mark = fw.stdout.all.length;
    assert.equal(await client.ask("on"), "OK on");
    await fw.waitFor(/^LED on$/, 5000, mark);

    // SIGTERM: ledctl turns the board's LED off before it exits.
    const end = fw.stdout.all.length;
    assert.equal(await server.stop("SIGTERM"), 0);
    await fw.waitFor(/^LED off$/, 5000, end);
  } finally {
    await Deno.remove(trace).catch(() => {});
  }
});

Deno.test("serial: firmware killed mid-blink, ledctl keeps serving, restarted board gets the last state", async () => {
  await buildFirmware();
  const dir = await Deno.makeTempDir({ prefix: "ledctl-stm32-" });
  try {
    await using socat = await ptyPair(dir);
    const fw1 = await firmware(`${dir}/board`);
    await using server = await ServerProcess.start(["--led", `serial:${dir}/host`], {
      trace: false,
      env: HEARTBEAT_ENV,
    });
    using client = await RawClient.connect(server.port);
    assert.equal(await client.ask("blink 3"), "OK blink 3 Hz");
    await fw1.waitFor(/^LED blink 3 Hz$/, 5000);

    await fw1.stop("SIGKILL");
    const killed = performance.now();
    const [, replyMs] = await server.stdout.waitFor(
      /board serial:\S+: disconnected: heartbeat: no reply to "status" within (\d+) ms$/,
      LOSS_WINDOW_MS,
    );
    // The pty stays open, so only the heartbeat can notice: within one
    // interval plus the reply timeout.
    assert.equal(Number(replyMs), 2000, "the link's reply timeout");
    const noticed = performance.now() - killed;
    assert(noticed <= LOSS_WINDOW_MS, `noticed after ${noticed.toFixed(0)} ms`);
    await server.stdout.waitFor(/board serial:\S+: retrying in \d+\.\d s/, 5000);
    assert.equal(await client.ask("status"), `OK blink 3 Hz ${DOWN}`);
    assert.equal(await client.ask("blink 5"), `OK blink 5 Hz ${DOWN}`);
    assert.match((await client.ask("help"))!, /^OK commands: /);

    await using fw2 = await firmware(`${dir}/board`);
    await reconnectedWith(server, fw2, "blink 5 Hz", 25_000);
    // It boots off, then gets the last state asked for, and nothing in between.
    assert.deepEqual(ledLines(fw2), ["LED off", "LED blink 5 Hz"]);
    assert.equal(await client.ask("status"), "OK blink 5 Hz");
    // socat never went away: the link came back over the same pty, after silence alone.
    assert.equal(await runningAfter(socat, 50), true, "socat still running");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("serial: the pty closed mid-run, then back: the board ends in the last state", async () => {
  await buildFirmware();
  const dir = await Deno.makeTempDir({ prefix: "ledctl-stm32-" });
  try {
    const socat1 = await ptyPair(dir);
    const fw1 = await firmware(`${dir}/board`);
    await using server = await ServerProcess.start(["--led", `serial:${dir}/host`], {
      trace: false,
      env: HEARTBEAT_ENV,
    });
    using client = await RawClient.connect(server.port);
    assert.equal(await client.ask("blink 2"), "OK blink 2 Hz");
    await fw1.waitFor(/^LED blink 2 Hz$/, 5000);

    await socat1.stop("SIGTERM"); // both pty ends go away
    await server.stdout.waitFor(/board serial:\S+: disconnected: /, 5000);
    await fw1.stop("SIGKILL"); // its UART is gone for good
    assert.equal(await client.ask("status"), `OK blink 2 Hz ${DOWN}`);
    assert.equal(await client.ask("on"), `OK on ${DOWN}`);
    await server.stdout.waitFor(/board serial:\S+: still down: .* does not exist/, 10_000);

    await using _socat2 = await ptyPair(dir);
    await using fw2 = await firmware(`${dir}/board`);
    await reconnectedWith(server, fw2, "on", 25_000);
    assert.deepEqual(ledLines(fw2), ["LED off", "LED on"]);
    assert.equal(await client.ask("status"), "OK on");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("serial: ledctl led drives the board directly and turns it off on Ctrl-C", async () => {
  await buildFirmware();
  await using fw = Proc.spawn([firmwareBin, "--uart", "pty"]);
  const [, pts] = await fw.waitFor(/^uart on (\/dev\/pts\/\d+)$/, 5000);
  await fw.waitFor(/^ready$/, 5000);
  await using led = Proc.spawn(ledctlArgv(["led", "--led", `serial:${pts}`, "blink", "4"]));
  await led.waitFor(/^LED blink 4 Hz · serial:\S+ · Ctrl-C to stop$/, 30_000);
  await fw.waitFor(/^LED blink 4 Hz$/, 5000);
  const mark = fw.stdout.all.length;
  assert.equal((await led.stop("SIGINT")).code, 0);
  await fw.waitFor(/^LED off$/, 5000, mark);
});
