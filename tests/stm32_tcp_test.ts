/**
 * The Ethernet board link end to end, on real parts: the firmware's host
 * build on the real lwIP stack, attached to a TAP device in a network
 * namespace made by the test (Linux side 192.168.78.1/24, the board
 * 192.168.78.2), and `ledctl serve --led tcp:192.168.78.2:7000` in the same
 * namespace; clients are `ledctl send` runs in it. Fault: the firmware
 * killed mid-blink and restarted. (Garbage and silent boards: stm32_fake_board_test.ts.)
 *
 * Needs root (network namespace, TAP device); ignored otherwise, with the
 * reason printed. CI runs as root.
 */
import assert from "node:assert/strict";
import {
  buildFirmware,
  firmwareBin,
  HEARTBEAT_ENV,
  isRoot,
  ledctlArgv,
  ledLines,
  LOSS_WINDOW_MS,
  Proc,
  reconnectedWith,
} from "./stm32_board.ts";

const LINUX_IP = "192.168.78.1";
const BOARD_IP = "192.168.78.2";
const DOWN = "(board link down; will apply on reconnect)";

function whyNot(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux";
  if (!isRoot()) return "needs root (network namespace and TAP device)";
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return "needs /dev/net/tun";
  }
  return undefined;
}
const skip = whyNot();
if (skip) console.warn(`stm32 tcp tests ignored: ${skip}; CI runs them as root`);

async function must(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

let seq = 0;

/** A network namespace with tap0, and the processes started in it. */
class Net implements AsyncDisposable {
  readonly procs: Proc[] = [];
  private constructor(readonly ns: string) {}

  static async create(): Promise<Net> {
    await buildFirmware();
    const net = new Net(`ledst${Deno.pid}n${++seq}`);
    await must("ip", ["netns", "add", net.ns]);
    try {
      await must("ip", ["-n", net.ns, "link", "set", "lo", "up"]);
      await must("ip", ["-n", net.ns, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
      // Small frames: Debian's host lwIP mishandles received frames above ~600 bytes
      // (found by the firmware's own lwIP tests); our lines are short anyway.
      await must("ip", ["-n", net.ns, "link", "set", "tap0", "mtu", "576"]);
      await must("ip", ["-n", net.ns, "addr", "add", `${LINUX_IP}/24`, "dev", "tap0"]);
      await must("ip", ["-n", net.ns, "link", "set", "tap0", "up"]);
    } catch (e) {
      await net[Symbol.asyncDispose]();
      throw e;
    }
    return net;
  }

  /** Spawns `argv` inside the namespace, with `env` added to its environment. */
  spawn(argv: string[], env: Record<string, string> = {}): Proc {
    const p = Proc.spawn(["ip", "netns", "exec", this.ns, ...argv], env);
    this.procs.push(p);
    return p;
  }

  /** The firmware on lwIP as the board, listener on port 7000. */
  async firmware(): Promise<Proc> {
    const fw = this.spawn([
      firmwareBin,
      "--tap",
      "tap0",
      "--ip",
      `${BOARD_IP}/24`,
      "--gw",
      LINUX_IP,
    ]);
    await fw.waitFor(/^listener on port 7000$/, 10_000);
    await fw.waitFor(/^ready$/, 10_000);
    return fw;
  }

  /**
   * `ledctl serve` in the namespace, with the tests' longer heartbeat
   * ({@linkcode HEARTBEAT_ENV}); resolves with the process and its TCP port.
   */
  async serve(led: string): Promise<{ server: Proc; port: number }> {
    const server = this.spawn(
      ledctlArgv(["serve", "--port", "0", "--http", "off", "--idle-timeout", "0", "--led", led]),
      HEARTBEAT_ENV,
    );
    const m = await server.waitFor(/listening on [^ ]+:(\d+) /, 30_000);
    return { server, port: Number(m[1]) };
  }

  /** `ledctl send --port P <words>` in the namespace: its stdout line. */
  async send(port: number, ...words: string[]): Promise<string> {
    const p = this.spawn(ledctlArgv(["send", "--port", String(port), ...words]));
    await p.child.status;
    await Promise.all([p.stdout.done, p.stderr.done]);
    return p.stdout.all.join("\n") || p.stderr.all.join("\n");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop("SIGKILL")));
    await new Deno.Command("ip", { args: ["netns", "del", this.ns] }).output();
  }
}

Deno.test({
  name:
    "tcp: ledctl drives the firmware on lwIP; killed and restarted, the board gets the last state",
  ignore: skip !== undefined,
  fn: async () => {
    await using net = await Net.create();
    const fw1 = await net.firmware();
    const { server, port } = await net.serve(`tcp:${BOARD_IP}:7000`);
    await server.waitFor(/board tcp:\S+: connected; LED off/, 5000);
    await fw1.waitFor(/^listener: \S+ connected$/, 5000);

    assert.equal(await net.send(port, "blink", "3"), "OK blink 3 Hz");
    await fw1.waitFor(/^LED blink 3 Hz$/, 5000);
    assert.equal(await net.send(port, "status"), "OK blink 3 Hz");

    await fw1.stop("SIGKILL");
    // A killed TAP board sends no RST: only the heartbeat can notice.
    await server.waitFor(
      /board tcp:\S+: disconnected: heartbeat: no reply to "status" within 2000 ms$/,
      LOSS_WINDOW_MS,
    );
    assert.equal(await net.send(port, "status"), `OK blink 3 Hz ${DOWN}`);
    assert.equal(await net.send(port, "clignote", "4"), `OK blink 4 Hz ${DOWN}`);
    await server.waitFor(/board tcp:\S+: retrying in \d+\.\d s/, 5000);

    const fw2 = await net.firmware();
    await reconnectedWith(server, fw2, "blink 4 Hz", 30_000);
    assert.deepEqual(
      ledLines(fw2),
      ["LED off", "LED blink 4 Hz"],
      "booted off, then the last state",
    );
    assert.equal(await net.send(port, "status"), "OK blink 4 Hz");

    // Shutting ledctl down turns the board's LED off.
    const mark = fw2.stdout.all.length;
    assert.equal((await server.stop("SIGTERM")).code, 0);
    await fw2.waitFor(/^LED off$/, 5000, mark);
  },
});
