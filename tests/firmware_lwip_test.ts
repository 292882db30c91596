/**
 * The firmware's application code (firmware/app) on the real lwIP stack,
 * talking to the real `ledctl` over a TAP device.
 *
 * Each network test creates its own network namespace with a TAP device in
 * it (Linux side 192.168.77.1/24), runs `ledctl serve` there and the host
 * build of the firmware (`firmware/build/ledfw-host`, lwIP at 192.168.77.2)
 * attached to the TAP, and removes everything at the end, even on failure.
 * They need root (CAP_NET_ADMIN and /dev/net/tun) and are ignored otherwise.
 * The serial test runs the firmware on a pseudo-terminal and needs no root.
 *
 * Waits on output lines, trace-file events and socket reads, never on sleeps.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  ledctlArgv,
  ledctlCommand,
  Lines,
  readTraceIfAny,
  runLedctl,
  waitForTraceEdges,
} from "./harness.ts";

const root = new URL("..", import.meta.url).pathname;
const fwDir = `${root}firmware`;
// LEDFW_HOST=firmware/build/ledfw-host-asan (make -C firmware host-asan) runs
// these tests on the sanitized build instead.
const fwOverride = Deno.env.get("LEDFW_HOST");
const fwBin = fwOverride ?? `${fwDir}/build/ledfw-host`;
const deno = Deno.env.get("LEDCTL_DENO") ?? Deno.execPath();
const dec = new TextDecoder();
const enc = new TextEncoder();

const LINUX_IP = "192.168.77.1";
const FW_IP = "192.168.77.2";

function canRunNetwork(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux";
  if (Deno.uid() !== 0) return "needs root (network namespace, TAP device)";
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return "needs /dev/net/tun";
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      Deno.statSync(`${dir}/ip`);
      return undefined;
    } catch { /* next */ }
  }
  return "needs the ip command (apt-get install iproute2)";
}

const whyNot = canRunNetwork();
if (whyNot) {
  console.warn(`firmware lwIP tests ignored: ${whyNot}; CI runs them as root`);
}

/** Builds the host firmware once per test run (make is incremental). */
let built: Promise<void> | undefined;
function buildFirmware(): Promise<void> {
  built ??= (async () => {
    if (fwOverride) return;
    const out = await new Deno.Command("make", {
      args: ["-s", "-C", fwDir, "host"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `make -C firmware host failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
      );
    }
  })();
  return built;
}

/** A spawned process with its output lines. */
class Proc {
  readonly stdout: Lines;
  readonly stderr: Lines;
  constructor(readonly name: string, readonly child: Deno.ChildProcess) {
    this.stdout = new Lines(child.stdout);
    this.stderr = new Lines(child.stderr);
  }
  /** Waits for a stdout line; fails early, with the output, if the process exits. */
  async waitFor(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    try {
      return await this.stdout.waitFor(re, ms);
    } catch (e) {
      throw new Error(
        `${this.name}: ${(e as Error).message}\n--- stdout:\n${
          this.stdout.all.join("\n")
        }\n--- stderr:\n${this.stderr.all.join("\n")}`,
      );
    }
  }
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.child.status;
    await Promise.all([this.stdout.done, this.stderr.done]).catch(() => {});
  }
}

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

let netSeq = 0;
let swept = false;

/** Removes namespaces left by an earlier run of this file that was killed. */
async function sweepStaleNamespaces(): Promise<void> {
  if (swept) return;
  swept = true;
  const list = await run("ip", ["netns", "list"]);
  for (const m of list.stdout.matchAll(/^ledfw(\d+)n\d+/gm)) {
    const alive = await Deno.stat(`/proc/${m[1]}`).then(() => true, () => false);
    if (!alive) await run("ip", ["netns", "del", m[0]]);
  }
}

/** A network namespace with tap0 (192.168.77.1/24) and the processes in it. */
class Net implements AsyncDisposable {
  readonly procs: Proc[] = [];
  private constructor(readonly ns: string) {}

  static async create(): Promise<Net> {
    await buildFirmware();
    await sweepStaleNamespaces();
    const ns = `ledfw${Deno.pid}n${++netSeq}`;
    await must("ip", ["netns", "add", ns]);
    const net = new Net(ns);
    try {
      await must("ip", ["-n", ns, "link", "set", "lo", "up"]);
      await must("ip", ["-n", ns, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
      // Debian's liblwip 2.1.3 overruns its pbuf on received frames above
      // about 600 bytes (ASan: pbuf_take from the tapif thread, 1514 bytes
      // into a 616-byte pool buffer), so the Linux side keeps frames small.
      // The board's lwIP, built with its own lwipopts.h, is not affected.
      await must("ip", ["-n", ns, "link", "set", "tap0", "mtu", "576"]);
      await must("ip", ["-n", ns, "addr", "add", `${LINUX_IP}/24`, "dev", "tap0"]);
      await must("ip", ["-n", ns, "link", "set", "tap0", "up"]);
    } catch (e) {
      await net[Symbol.asyncDispose]();
      throw e;
    }
    return net;
  }

  /** Starts a command inside the namespace. */
  spawn(name: string, cmd: string, args: string[], stdin: "null" | "piped" = "null"): Proc {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.ns, cmd, ...args],
      cwd: root,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = new Proc(name, child);
    this.procs.push(p);
    return p;
  }

  /** `ledctl serve` on the Linux side of the TAP, port 10000. */
  async serve(args: string[] = []): Promise<Proc> {
    const [cmd, ...argv] = ledctlArgv([
      "serve",
      "--host",
      LINUX_IP,
      "--port",
      "10000",
      "--http",
      "off",
      "--led",
      "mock",
      ...args,
    ]);
    const p = this.spawn("ledctl serve", cmd, argv);
    await p.waitFor(/listening on /, 30_000);
    return p;
  }

  /** The firmware on lwIP, attached to tap0 as 192.168.77.2. */
  async firmware(args: string[], ready = /^ready$/): Promise<Proc> {
    const p = this.spawn("ledfw-host", fwBin, [
      "--tap",
      "tap0",
      "--ip",
      `${FW_IP}/24`,
      "--gw",
      LINUX_IP,
      ...args,
    ]);
    await p.waitFor(ready);
    return p;
  }

  /** Runs `ledctl <args>` to completion inside the namespace. */
  async ledctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const [cmd, ...argv] = ledctlArgv(args);
    const p = this.spawn(`ledctl ${args[0]}`, cmd, argv);
    const { code } = await p.child.status;
    await Promise.all([p.stdout.done, p.stderr.done]);
    return { code, stdout: p.stdout.all.join("\n"), stderr: p.stderr.all.join("\n") };
  }

  /** Runs a raw TCP script (see RAW_CLIENT) inside the namespace. */
  async raw(ops: RawOp[]): Promise<RawResult[]> {
    const p = this.spawn("raw client", deno, ["eval", RAW_CLIENT, JSON.stringify(ops)]);
    const { code } = await p.child.status;
    await Promise.all([p.stdout.done, p.stderr.done]);
    if (code !== 0) throw new Error(`raw client failed (${code}):\n${p.stderr.all.join("\n")}`);
    return JSON.parse(p.stdout.all.join(""));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill()));
    await run("ip", ["netns", "del", this.ns]);
  }
}

type RawOp =
  | { op: "open"; conn: string; host: string; port: number }
  | { op: "send"; conn: string; hex: string }
  | { op: "lines"; conn: string; n: number }
  | { op: "eof"; conn: string };
type RawResult = { lines?: string[]; eof?: boolean };

/** A scripted TCP client: opens connections, sends bytes, reads lines or EOF. */
const RAW_CLIENT = `
const ops = JSON.parse(Deno.args[0]);
const conns = new Map();
const out = [];
const dec = new TextDecoder();
async function fill(c) {
  const chunk = new Uint8Array(4096);
  const timer = setTimeout(() => { c.timedOut = true; try { c.conn.close(); } catch {} }, 10000);
  try {
    const n = await c.conn.read(chunk);
    if (n === null) { c.eof = true; return false; }
    c.buf += dec.decode(chunk.subarray(0, n), { stream: true });
    return true;
  } finally { clearTimeout(timer); if (c.timedOut) throw new Error("no data within 10 s"); }
}
for (const o of ops) {
  if (o.op === "open") {
    conns.set(o.conn, { conn: await Deno.connect({ hostname: o.host, port: o.port }), buf: "", eof: false });
    out.push({});
  } else if (o.op === "send") {
    const c = conns.get(o.conn);
    const bytes = new Uint8Array(o.hex.match(/../g).map((h) => parseInt(h, 16)));
    let off = 0;
    while (off < bytes.length) off += await c.conn.write(bytes.subarray(off));
    out.push({});
  } else if (o.op === "lines") {
    const c = conns.get(o.conn);
    const lines = [];
    while (lines.length < o.n) {
      const i = c.buf.indexOf("\\n");
      if (i !== -1) { lines.push(c.buf.slice(0, i)); c.buf = c.buf.slice(i + 1); continue; }
      if (c.eof || !(await fill(c))) break;
    }
    out.push({ lines });
  } else if (o.op === "eof") {
    const c = conns.get(o.conn);
    while (!c.eof) {
      try { if (!(await fill(c))) break; } catch (e) { if (e instanceof Deno.errors.ConnectionReset) break; throw e; }
    }
    out.push({ eof: c.eof, lines: c.buf === "" ? [] : c.buf.split("\\n").filter((l) => l !== "") });
  }
}
console.log(JSON.stringify(out));
`;

function hex(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const netTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: `firmware on lwIP: ${name}`, ignore: whyNot !== undefined, fn });

netTest("the two client tasks each get the reply naming them", async () => {
  await using net = await Net.create();
  await net.serve();
  const fw = await net.firmware(["--clients", "2", "--listen", "0"]);
  for (const n of [1, 2]) {
    const m = await fw.waitFor(new RegExp(`^Client ${n} received: (.*)$`));
    assert.match(
      m[1],
      new RegExp(
        `^OK hello Client ${n}: you are client #\\d+ from ${FW_IP.replaceAll(".", "\\.")}:\\d+$`,
      ),
    );
    await fw.waitFor(new RegExp(`^Client ${n} closed$`));
  }
  assert(!fw.stdout.all.some((l) => / failed/.test(l)), fw.stdout.all.join("\n"));
});

netTest("a silent client task is closed by the server's idle timeout", async () => {
  await using net = await Net.create();
  await net.serve(["--idle-timeout", "300ms"]);
  const fw = await net.firmware(["--silent-clients", "1", "--listen", "0"]);
  await fw.waitFor(/^Client 1 stays silent$/);
  const got = await fw.waitFor(/^Client 1 received: (.*)$/, 5_000);
  assert.deepStrictEqual(got[1], "ERR idle-timeout no data for 300 ms; closing");
  const closed = await fw.waitFor(/^Client 1 closed by the server after (\d+) ms$/, 5_000);
  const ms = Number(closed[1]);
  assert(ms >= 250 && ms < 3000, `closed after ${ms} ms, expected about 300 ms`);
});

netTest("ledctl send reaches the listener and the LED blinks at 3 Hz", async () => {
  await using net = await Net.create();
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  try {
    const fw = await net.firmware(["--listen", "7000", "--trace", trace]);
    await fw.waitFor(/^listener on port 7000$/);
    // The LED task writes its initial "off" edge on its own schedule: wait for it.
    await waitForTraceEdges(trace, 1);
    const before = (await readTraceIfAny(trace)).length;
    const r = await net.ledctl(["send", "--host", FW_IP, "--port", "7000", "blink", "3"]);
    assert.deepStrictEqual(r.stdout.trim(), "OK blink 3 Hz", r.stderr);
    assert.deepStrictEqual(r.code, 0);
    await fw.waitFor(/^LED blink 3 Hz$/);
    // 13 edges (2 s). Edge k is due at start + k * 166.67 ms; each is written
    // when its task wakes, so it may be late (scheduling, a loaded CI box) but
    // lateness must not add up: compare each edge with the ideal grid.
    const edges = await waitForTraceEdges(trace, 13, { from: before });
    edges.forEach((e, k) => assert.deepStrictEqual(e.level, k % 2 === 0, `edge ${k} level`));
    const half = 1000 / 6;
    const offsets = edges.map((e, k) => e.t - k * half); // start + lateness of edge k
    const start = Math.min(...offsets);
    const late = offsets.map((o) => o - start);
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const shown = late.map((l) => l.toFixed(1)).join(", ");
    assert(median(late) < 15, `edges typically late by ${median(late).toFixed(1)} ms: ${shown}`);
    assert(Math.max(...late) < 120, `an edge over 120 ms late: ${shown}`);
    // No drift: the second half is not later than the first.
    const drift = median(late.slice(7)) - median(late.slice(0, 6));
    assert(Math.abs(drift) < 10, `drift of ${drift.toFixed(1)} ms over 2 s: ${shown}`);
    const status = await net.ledctl(["send", "--host", FW_IP, "--port", "7000", "status"]);
    assert.deepStrictEqual(status.stdout.trim(), "OK blink 3 Hz");
    const off = await net.ledctl(["send", "--host", FW_IP, "--port", "7000", "eteindre"]);
    assert.deepStrictEqual(off.stdout.trim(), "OK off");
    await fw.waitFor(/^LED off$/);
    const last = (await waitForTraceEdges(trace, 0, { from: before + 13 })).at(-1);
    // The LED ends dark: the last edge written is a 0.
    const all = await readTraceIfAny(trace);
    assert.deepStrictEqual(all.at(-1)?.level, false, `last edge ${JSON.stringify(last)}`);
  } finally {
    await Deno.remove(trace).catch(() => {});
  }
});

netTest("bad input to the listener gets ERR and the listener keeps serving", async () => {
  await using net = await Net.create();
  const fw = await net.firmware([
    "--listen",
    "7000",
    "--max-clients",
    "2",
    "--idle-timeout-ms",
    "1500",
  ]);
  await fw.waitFor(/^listener on port 7000$/);
  const target = { host: FW_IP, port: 7000 };

  const dance = await net.ledctl(["send", "--host", FW_IP, "--port", "7000", "dance"]);
  assert.deepStrictEqual(dance.code, 1);
  assert.deepStrictEqual(dance.stderr.trim(), 'ERR unknown-command "dance" (try: help)');

  const res = await net.raw([
    { op: "open", conn: "a", ...target },
    { op: "send", conn: "a", hex: hex(new Uint8Array([0xff, 0xfe, 0x0a])) },
    { op: "send", conn: "a", hex: hex("blink 0\nblink 3kHz\n\nclignote 2,5\r\n") },
    { op: "lines", conn: "a", n: 5 },
    // A second client while the first is open; then a third: above --max-clients 2.
    { op: "open", conn: "b", ...target },
    { op: "send", conn: "b", hex: hex("status\n") },
    { op: "lines", conn: "b", n: 1 },
    { op: "open", conn: "c", ...target },
    { op: "eof", conn: "c" },
    // A line over 1024 bytes closes that connection only.
    { op: "send", conn: "a", hex: hex("x".repeat(1500) + "\n") },
    { op: "eof", conn: "a" },
    // A silent connection is closed by the idle timeout, with a FIN.
    { op: "eof", conn: "b" },
    { op: "open", conn: "d", ...target },
    { op: "send", conn: "d", hex: hex("on") }, // no newline: the frame timeout completes it
    { op: "lines", conn: "d", n: 1 },
  ]);
  assert.deepStrictEqual(res[3].lines, [
    "ERR bad-encoding line is not valid UTF-8: send UTF-8 text",
    "ERR bad-argument 0 Hz is out of range: use 0.05 to 500 Hz",
    'ERR bad-argument "3kHz" is not a frequency: write digits, e.g. 2.5 or 2,5',
    "ERR unknown-command empty line (try: help)",
    "OK blink 2.5 Hz",
  ]);
  assert.deepStrictEqual(res[6].lines, ["OK blink 2.5 Hz"]);
  assert.deepStrictEqual(res[8].eof, true);
  assert.match(
    res[8].lines?.[0] ?? "",
    /^ERR busy board has 2 clients \(its limit\); try again later$/,
  );
  assert.deepStrictEqual(res[10].eof, true);
  assert.deepStrictEqual(res[10].lines, ["ERR line-too-long line exceeds 1024 bytes; closing"]);
  assert.deepStrictEqual(res[11].eof, true);
  assert.deepStrictEqual(res[11].lines, ["ERR idle-timeout no data for 1.5 s; closing"]);
  assert.deepStrictEqual(res[14].lines, ["OK on"]);

  const status = await net.ledctl(["send", "--host", FW_IP, "--port", "7000", "status"]);
  assert.deepStrictEqual(status.stdout.trim(), "OK on");
  assert.deepStrictEqual(status.code, 0);
  await fw.waitFor(/refused \(busy\)$/);
  await fw.waitFor(/closed \(line too long\)$/);
  await fw.waitFor(/closed \(idle timeout\)$/);
});

Deno.test("firmware on a serial line (pty): commands, partial line, long line", async () => {
  await buildFirmware();
  const child = new Deno.Command(fwBin, {
    args: ["--uart", "pty"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const fw = new Proc("ledfw-host", child);
  try {
    const pts = (await fw.waitFor(/^uart on (\/dev\/pts\/\d+)$/))[1];
    await fw.waitFor(/^uart ready$/);
    using tty = await Deno.open(pts, { read: true, write: true });
    let buf = "";
    const chunk = new Uint8Array(1024);
    const readLine = async (): Promise<string> => {
      const timer = setTimeout(() => tty.close(), 5_000);
      try {
        for (;;) {
          const i = buf.indexOf("\n");
          if (i !== -1) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            return line;
          }
          const n = await tty.read(chunk);
          if (n === null) throw new Error("pty closed");
          buf += dec.decode(chunk.subarray(0, n));
        }
      } finally {
        clearTimeout(timer);
      }
    };
    const ask = async (text: string) => {
      await tty.write(enc.encode(text));
      return await readLine();
    };
    assert.deepStrictEqual(await ask("blink 2\n"), "OK blink 2 Hz");
    await fw.waitFor(/^LED blink 2 Hz$/);
    assert.deepStrictEqual(await ask("clignote 4"), "OK blink 4 Hz"); // completed by the frame timeout
    assert.deepStrictEqual(
      await ask("y".repeat(1300) + "\n"),
      "ERR line-too-long line exceeds 1024 bytes; ignoring it",
    );
    assert.deepStrictEqual(await ask("quit\n"), "OK bye");
    assert.deepStrictEqual(await ask("status\r\n"), "OK blink 4 Hz"); // a serial line never closes
    assert.deepStrictEqual(await ask("allume\n"), "OK on");
  } finally {
    await fw.kill();
  }
});

netTest("ledctl serve --led tcp:<firmware>:7000 drives the firmware's LED", async () => {
  await using net = await Net.create();
  const fw = await net.firmware(["--listen", "7000"]);
  await fw.waitFor(/^listener on port 7000$/);
  await net.serve(["--led", `tcp:${FW_IP}:7000`]);
  const r = await net.ledctl(["send", "--host", LINUX_IP, "--port", "10000", "blink", "3"]);
  assert.deepStrictEqual(r.stdout.trim(), "OK blink 3 Hz", r.stderr);
  await fw.waitFor(/^LED blink 3 Hz$/);
  const s = await net.ledctl(["send", "--host", LINUX_IP, "--port", "10000", "allume"]);
  assert.deepStrictEqual(s.stdout.trim(), "OK on", s.stderr);
  await fw.waitFor(/^LED on$/);
});

Deno.test("ledctl serve --led serial:<pty> drives the firmware's UART task", async () => {
  await buildFirmware();
  const fw = new Proc(
    "ledfw-host",
    new Deno.Command(fwBin, {
      args: ["--uart", "pty"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn(),
  );
  let server: Proc | undefined;
  try {
    const pts = (await fw.waitFor(/^uart on (\/dev\/pts\/\d+)$/))[1];
    server = new Proc(
      "ledctl serve",
      ledctlCommand(["serve", "--port", "0", "--http", "off", "--led", `serial:${pts}`]).spawn(),
    );
    const port = (await server.waitFor(/listening on [^ ]+:(\d+) /, 30_000))[1];
    const out = await runLedctl(["send", "--port", port, "clignote", "2,5"]);
    assert.deepStrictEqual(out.stdout.trim(), "OK blink 2.5 Hz", out.stderr);
    await fw.waitFor(/^LED blink 2\.5 Hz$/);
  } finally {
    await server?.kill();
    await fw.kill();
  }
});
