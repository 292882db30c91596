/**
 * `deno task bench --fleet [--devices 10,50,200] [--rounds 20] [--out FILE]`:
 * the fleet benchmark of issue 12. For each fleet size N, on a fresh
 * Mosquitto (tests/mosquitto.ts) on 127.0.0.1:
 *
 * - N `ledctl serve --mqtt URL --id devNNN --http off --tcp-engine node
 *   --state-file off --led mock?trace=FILE` processes, started a few at a
 *   time; each counts as up when the broker has its retained `online` and
 *   its first state (it subscribes to its command topics before it
 *   publishes `online`, and the broker handles one connection's packets in
 *   order);
 * - a quiet window (the fleet idle, connected) to measure what N idle
 *   devices cost;
 * - rounds: an MQTT.js client publishes to `ledctl/all/set` (QoS 1, as
 *   `ledctl fleet send` does) `on` and `off` alternately, then a few
 *   `blink 1` (each from off, set back to off untimed in between). For
 *   each round: the time from just before the publish to the moment the
 *   LAST device's trace edge is seen, and to the moment the LAST device's
 *   new state reaches the broker and this client.
 *
 * The commands are published by a second client, not by the one that
 * subscribes to the states: Mosquitto (2.0, `set_tcp_nodelay false` by
 * default) sends a QoS 1 publisher its PUBACK and then, on the same
 * connection, the states it subscribed to; Nagle holds those behind the
 * unacknowledged PUBACK until the client's delayed ACK, about 40 ms on
 * Linux, which measured the subscriber's connection rather than the fleet
 * (seen: every state 40–46 ms after the publish on one connection, 4–20 ms
 * on two; the trace edges the same either way).
 *
 * Clocks: a trace's `time_ms` is `performance.now()` of the process that
 * wrote it, so traces are never compared with this process's clock.
 * Instead this process watches the trace directory (`Deno.watchFs`,
 * inotify) and stamps each device's first write after the publish with
 * its own clock; the traces are read after the round to check that each
 * device wrote exactly the edge asked for. Both times are upper bounds of
 * the real latency: the publish is stamped before MQTT.js sends it, the
 * edge is stamped when the inotify event reaches this process (after the
 * write), the state when the broker delivers it (the device publishes it
 * after it drove the LED).
 *
 * CPU and memory of each device from `/proc/PID/stat` (utime + stime, 10 ms
 * ticks), `/proc/PID/status` (VmRSS) and `/proc/PID/smaps_rollup` (Pss: RSS
 * with the pages shared with other processes, such as the deno executable,
 * divided among them) when the fleet is up, after the quiet window and after
 * the rounds; the broker's too.
 *
 * A benchmark, not a test: prints the tables and the 250 ms target
 * (PASS/MISS), exit status 0 either way (1 when the fleet cannot start).
 *
 * @module
 */
import mqtt, { type MqttClient } from "mqtt";
import { Mosquitto } from "../tests/mosquitto.ts";
import { fix, int, markdownTable, median, type Table, textTable } from "./report.ts";

/** Options of {@linkcode runFleet}. */
export interface FleetOptions {
  /** Fleet sizes, run one after the other (each on a fresh broker). */
  sizes: number[];
  /** Timed on/off rounds per size (the blink rounds come on top). */
  rounds: number;
  /** Write the markdown results here. */
  out?: string;
  /** Extra `deno run` flags for ledctl. */
  denoFlags?: string[];
  /** Where progress lines go. Default `console.log`. */
  say?: (line: string) => void;
}

const ROOT = new URL("..", import.meta.url).pathname;
/** The target of issue 12: 200 devices all switched within this, publish to last edge. */
const TARGET_MS = 250;
const TARGET_N = 200;
/** Devices started at once (2 CPUs: a deno start-up is mostly CPU). */
const START_CONCURRENCY = 4;
/** How long one device has to come online. */
const START_MS = 60_000;
/** The quiet window, fleet connected and idle. */
const IDLE_MS = 5_000;
/** Timed blink rounds per size, on top of the on/off rounds. */
const BLINK_ROUNDS = 4;
/** A round gives up on the devices not seen by then. */
const ROUND_MS = 15_000;
/** Pause between rounds, after every device has answered. */
const GAP_MS = 300;
/** `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

const dec = new TextDecoder();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Value at quantile `q` (0…1) of the finite values, nearest rank; NaN if none. */
function quantile(xs: number[], q: number): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
}

/** One process's counters: CPU seconds, VmRSS and Pss in KiB (NaN when gone). */
interface ProcSample {
  cpuS: number;
  rssKb: number;
  pssKb: number;
}

async function procSample(pid: number): Promise<ProcSample> {
  try {
    const stat = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
    const cpuS = (Number(stat[11]) + Number(stat[12])) / CLOCK_TICKS;
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const rssKb = Number(/VmRSS:\s*(\d+)/.exec(status)?.[1] ?? NaN);
    const rollup = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`).catch(() => "");
    const pssKb = Number(/^Pss:\s*(\d+)/m.exec(rollup)?.[1] ?? NaN);
    return { cpuS, rssKb, pssKb };
  } catch {
    return { cpuS: NaN, rssKb: NaN, pssKb: NaN };
  }
}

/** The pid of the Mosquitto started with `dir`'s config (the class keeps its child private). */
async function brokerPid(dir: string): Promise<number | undefined> {
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (cmd.includes(`${dir}/mosquitto.conf`)) return Number(e.name);
  }
  return undefined;
}

async function version(cmd: string, args: string[], re: RegExp): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return re.exec(dec.decode(o.stdout) + dec.decode(o.stderr))?.[1] ?? "?";
  } catch {
    return "?";
  }
}

/** The machine, for the report. */
async function machine(): Promise<string> {
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const cpu = /model name\s*:\s*(.+)/.exec(await read("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(await read("/proc/meminfo"))?.[1] ?? NaN);
  const mosquitto = await version("/usr/sbin/mosquitto", ["-h"], /mosquitto version (\S+)/);
  const commit = await version("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], /(\S+)/);
  return `${navigator.hardwareConcurrency} × ${cpu}, ${fix(memKb / 1024 / 1024, 1)} GiB RAM, ` +
    `${Deno.build.arch}, Linux ${Deno.osRelease()}, Deno ${Deno.version.deno}, ` +
    `Mosquitto ${mosquitto}, ledctl ${commit}`;
}

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3)
    .join(" ");
}

/** One `ledctl serve --mqtt` of the fleet. */
interface Device {
  id: string;
  trace: string;
  child: Deno.ChildProcess;
  /** Its stderr so far (the last lines), to say why it died. */
  stderr: string[];
  exited: boolean;
}

/** What the broker says about each device, with waits on it. */
class BrokerView {
  readonly online = new Set<string>();
  readonly stateSeen = new Set<string>();
  /** Called with (device id, parsed state, arrival time) for each state message. */
  onState?: (id: string, state: Record<string, unknown>, t: number) => void;
  #waiters: (() => void)[] = [];

  constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      const t = performance.now();
      const [, id, kind] = topic.split("/");
      const text = dec.decode(payload);
      if (kind === "availability") {
        if (text === "online") this.online.add(id);
        else this.online.delete(id);
      } else if (kind === "state") {
        this.stateSeen.add(id);
        try {
          this.onState?.(id, JSON.parse(text), t);
        } catch { /* not JSON: not a device's */ }
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Resolves true when `ok()` holds (checked at each message), false after `ms`. */
  async until(ok: () => boolean, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (!ok()) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout>;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 1000));
      }).finally(() => clearTimeout(timer));
    }
    return true;
  }
}

function startDevice(
  id: string,
  url: string,
  dir: string,
  denoFlags: string[],
): Device {
  const trace = `${dir}/${id}.trace`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      ...denoFlags,
      `${ROOT}main.ts`,
      "serve",
      "--config",
      "none",
      "--port",
      "0",
      "--mqtt",
      url,
      "--id",
      id,
      "--http",
      "off",
      "--tcp-engine",
      "node",
      "--state-file",
      "off",
      "--led",
      `mock?trace=${trace}`,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "null", // its info lines (one per LED change) are written, to nowhere
    stderr: "piped",
  }).spawn();
  const d: Device = { id, trace, child, stderr: [], exited: false };
  (async () => {
    try {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        d.stderr.push(...chunk.split("\n").filter((l) => l.trim()));
        d.stderr.splice(0, Math.max(0, d.stderr.length - 10));
      }
    } catch { /* closed */ }
  })();
  child.status.then(() => d.exited = true);
  return d;
}

async function stopDevice(d: Device): Promise<void> {
  try {
    d.child.kill("SIGTERM");
  } catch { /* gone */ }
  const t = setTimeout(() => {
    try {
      d.child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5_000);
  await d.child.status;
  clearTimeout(t);
}

/** Lines (edges) in a trace file. */
async function traceLines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => /^[0-9.]+,[01]$/.test(l.trim()));
}

type Kind = "on" | "off" | "blink 1";

/** One timed round. */
interface Round {
  command: Kind;
  /** ms from the publish to the last device's trace edge seen (Infinity: some never seen). */
  lastEdgeMs: number;
  /** The median device's. */
  medianEdgeMs: number;
  /** ms from the publish to the last device's new state on the broker. */
  lastStateMs: number;
  medianStateMs: number;
  /**
   * ms from the publish to the last device seen switched by either sign, its
   * edge or its state (each device's earlier one): still an upper bound,
   * the state being published after the edge, and a tighter one.
   */
  lastEitherMs: number;
  /** Devices not seen within the round's time (edge or state). */
  missing: number;
  /** Devices whose trace did not gain the edge asked for. */
  wrongTrace: number;
  /** Devices whose state arrived before their trace event. */
  stateFirst: number;
}

/** The results of one fleet size. */
interface SizeResult {
  n: number;
  error?: string;
  startS: number;
  rounds: Round[];
  up?: Map<string, ProcSample>;
  idle?: Map<string, ProcSample>;
  end?: Map<string, ProcSample>;
  idleS: number;
  roundsS: number;
  broker: { up?: ProcSample; idle?: ProcSample; end?: ProcSample };
  self: { idle?: ProcSample; end?: ProcSample };
  load: string;
}

function matches(kind: Kind, s: Record<string, unknown>): boolean {
  if (kind === "off") return s.state === "OFF";
  if (kind === "on") return s.state === "ON" && s.hz === undefined;
  return s.state === "ON" && s.hz === 1;
}

async function sampleAll(devices: Device[]): Promise<Map<string, ProcSample>> {
  return new Map(
    await Promise.all(devices.map(async (d) => [d.id, await procSample(d.child.pid)] as const)),
  );
}

async function runSize(
  n: number,
  rounds: number,
  denoFlags: string[],
  say: (l: string) => void,
  registry: Set<Device>,
): Promise<SizeResult> {
  const res: SizeResult = {
    n,
    startS: NaN,
    rounds: [],
    idleS: NaN,
    roundsS: NaN,
    broker: {},
    self: {},
    load: "",
  };
  const dir = await Deno.makeTempDir({ prefix: `ledctl-fleet-${n}-` });
  await using broker = await Mosquitto.start();
  const bpid = await brokerPid(broker.dir);
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  // Commands go out on a connection of their own: on the subscriber's, the
  // broker's PUBACK would hold the state messages behind it (see publisher).
  const publisher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  const view = new BrokerView(client);
  await client.subscribeAsync(["ledctl/+/state", "ledctl/+/availability"], { qos: 1 });
  const devices: Device[] = [];
  const watcher = Deno.watchFs(dir, { recursive: false });
  try {
    // --- start-up, a few at a time, each up when the broker has its online and state
    const ids = Array.from({ length: n }, (_, i) => `dev${String(i + 1).padStart(3, "0")}`);
    const t0 = performance.now();
    let next = 0, up = 0;
    let failure: string | undefined;
    const starter = async () => {
      while (next < ids.length && !failure) {
        const id = ids[next++];
        const d = startDevice(id, broker.url, dir, denoFlags);
        devices.push(d);
        registry.add(d);
        const seen = await view.until(
          () => d.exited || (view.online.has(id) && view.stateSeen.has(id)),
          START_MS,
        );
        if (!seen || d.exited) {
          failure ??= `${id} ${d.exited ? "exited" : "not online"} within ${START_MS / 1000} s` +
            (d.stderr.length ? `: ${d.stderr.join(" / ")}` : "");
        }
        const k = ++up;
        if (k % 25 === 0 || k === n) {
          say(
            `  ${n}: ${view.online.size}/${n} online after ${
              fix((performance.now() - t0) / 1000)
            } s`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: START_CONCURRENCY }, starter));
    if (failure) throw new Error(failure);
    res.startS = (performance.now() - t0) / 1000;
    res.up = await sampleAll(devices);
    res.broker.up = bpid ? await procSample(bpid) : undefined;

    // --- the quiet window
    const idleT = performance.now();
    await sleep(IDLE_MS);
    res.idle = await sampleAll(devices);
    res.broker.idle = bpid ? await procSample(bpid) : undefined;
    res.self.idle = await procSample(Deno.pid);
    res.idleS = (performance.now() - idleT) / 1000;

    // --- the rounds
    let round:
      | { kind: Kind; t0: number; edge: Map<string, number>; state: Map<string, number> }
      | undefined;
    const byPath = new Map(devices.map((d) => [d.trace, d.id]));
    const watching = (async () => {
      for await (const ev of watcher) {
        const t = performance.now();
        if (!round) continue;
        for (const p of ev.paths) {
          const id = byPath.get(p);
          if (id && !round.edge.has(id)) round.edge.set(id, t);
        }
      }
    })();
    view.onState = (id, s, t) => {
      if (round && !round.state.has(id) && matches(round.kind, s)) round.state.set(id, t);
    };
    const edgeCount = new Map<string, number>();
    for (const d of devices) edgeCount.set(d.id, (await traceLines(d.trace)).length);
    const everyone = () => !!round && round.edge.size === n && round.state.size === n;

    const timed = async (kind: Kind): Promise<Round> => {
      round = { kind, t0: performance.now(), edge: new Map(), state: new Map() };
      const r = round;
      await publisher.publishAsync("ledctl/all/set", kind, { qos: 1 });
      // File events are not broker messages: poll the condition too.
      const deadline = r.t0 + ROUND_MS;
      while (!everyone() && performance.now() < deadline) {
        await Promise.race([view.until(everyone, 50), sleep(50)]);
      }
      round = undefined;
      const edges = devices.map((d) => (r.edge.get(d.id) ?? Infinity) - r.t0);
      const states = devices.map((d) => (r.state.get(d.id) ?? Infinity) - r.t0);
      let wrongTrace = 0, stateFirst = 0;
      for (const d of devices) {
        const lines = await traceLines(d.trace);
        const before = edgeCount.get(d.id)!;
        const fresh = lines.slice(before);
        const want = kind === "off" ? "0" : "1";
        const ok = kind === "blink 1"
          ? fresh.length >= 1 && fresh[0].endsWith(want)
          : fresh.length === 1 && fresh[0].endsWith(want);
        if (!ok) wrongTrace++;
        edgeCount.set(d.id, lines.length);
        if ((r.state.get(d.id) ?? Infinity) < (r.edge.get(d.id) ?? Infinity)) stateFirst++;
      }
      return {
        command: kind,
        lastEdgeMs: Math.max(...edges),
        medianEdgeMs: median(edges),
        lastStateMs: Math.max(...states),
        lastEitherMs: Math.max(...edges.map((e, i) => Math.min(e, states[i]))),
        medianStateMs: median(states),
        missing: devices.filter((d) => !r.edge.has(d.id) || !r.state.has(d.id)).length,
        wrongTrace,
        stateFirst,
      };
    };

    const roundsT = performance.now();
    for (let i = 0; i < rounds; i++) {
      const r = await timed(i % 2 === 0 ? "on" : "off");
      res.rounds.push(r);
      say(
        `  ${n}: round ${i + 1} ${r.command}: last edge ${fix(r.lastEdgeMs)} ms, ` +
          `last state ${fix(r.lastStateMs)} ms${r.missing ? `, ${r.missing} missing` : ""}` +
          `${r.wrongTrace ? `, ${r.wrongTrace} wrong traces` : ""}`,
      );
      await sleep(GAP_MS);
    }
    // Blink rounds from off: the first edge, rising, is at the command.
    const offNow = async () => {
      if (rounds % 2 === 1) { // the last on/off round was "on"
        round = { kind: "off", t0: performance.now(), edge: new Map(), state: new Map() };
        const r = round;
        await publisher.publishAsync("ledctl/all/set", "off", { qos: 1 });
        await view.until(() => r.state.size === n, ROUND_MS);
        round = undefined;
        await sleep(GAP_MS);
        for (const d of devices) edgeCount.set(d.id, (await traceLines(d.trace)).length);
      }
    };
    await offNow();
    for (let i = 0; i < BLINK_ROUNDS; i++) {
      const r = await timed("blink 1");
      res.rounds.push(r);
      say(
        `  ${n}: blink round ${i + 1}: last edge ${fix(r.lastEdgeMs)} ms, ` +
          `last state ${fix(r.lastStateMs)} ms${r.missing ? `, ${r.missing} missing` : ""}` +
          `${r.wrongTrace ? `, ${r.wrongTrace} wrong traces` : ""}`,
      );
      // Back to off, untimed; the traces are counted again once it settled.
      round = { kind: "off", t0: performance.now(), edge: new Map(), state: new Map() };
      const back = round;
      await publisher.publishAsync("ledctl/all/set", "off", { qos: 1 });
      await view.until(() => back.state.size === n, ROUND_MS);
      round = undefined;
      await sleep(GAP_MS);
      for (const d of devices) edgeCount.set(d.id, (await traceLines(d.trace)).length);
    }
    res.roundsS = (performance.now() - roundsT) / 1000;
    res.end = await sampleAll(devices);
    res.broker.end = bpid ? await procSample(bpid) : undefined;
    res.self.end = await procSample(Deno.pid);
    res.load = await loadAverage();
    watcher.close();
    await watching.catch(() => {});
  } catch (e) {
    res.error = (e as Error).message;
    say(`  ${n}: ${res.error}`);
  } finally {
    try {
      watcher.close();
    } catch { /* closed */ }
    await client.endAsync(true).catch(() => {});
    await publisher.endAsync(true).catch(() => {});
    await Promise.all(devices.map(async (d) => {
      await stopDevice(d);
      registry.delete(d);
    }));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return res;
}

/** Sum over the devices of `f(after) − f(before)`, per device (NaN-free). */
function deltas(
  a: Map<string, ProcSample> | undefined,
  b: Map<string, ProcSample> | undefined,
  f: (s: ProcSample) => number,
): number[] {
  if (!a || !b) return [];
  return [...b].map(([id, s]) => f(s) - f(a.get(id)!)).filter(Number.isFinite);
}

function values(m: Map<string, ProcSample> | undefined, f: (s: ProcSample) => number): number[] {
  return m ? [...m.values()].map(f).filter(Number.isFinite) : [];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Runs the fleet benchmark; returns the exit status (0 whatever the
 * figures, 1 when no fleet size could start).
 */
export async function runFleet(options: FleetOptions): Promise<number> {
  const say = options.say ?? ((l: string) => console.log(l));
  const denoFlags = options.denoFlags ?? [];
  const info = await machine();
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const load0 = await loadAverage();
  say(`ledctl fleet bench · ${date} · ${info} · load ${load0}`);
  const registry = new Set<Device>();
  // Ctrl-C must not leave hundreds of servers behind.
  const onSignal = () => {
    for (const d of registry) {
      try {
        d.child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const started = performance.now();
  const results: SizeResult[] = [];
  try {
    for (const n of options.sizes) {
      say(`fleet of ${n}:`);
      results.push(await runSize(n, options.rounds, denoFlags, say, registry));
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  const elapsed = (performance.now() - started) / 1000;

  const ok = results.filter((r) => !r.error);
  const cpuS = (s: ProcSample) => s.cpuS;
  const latency: Table = {
    title: `Command latency, publish to ledctl/all/set (QoS 1) → the LAST device: its trace ` +
      `edge seen (inotify), its new state back from the broker, and either (the earlier of the two per device); ${options.rounds} on/off ` +
      `rounds and ${BLINK_ROUNDS} blink rounds per size; ms, this process's clock`,
    head: [
      "devices · command",
      "rounds",
      "last edge p50",
      "p95",
      "max",
      "median device's edge p50",
      "last state p50",
      "p95",
      "max",
      "last either p50",
      "p95",
      "max",
      "missing",
      "wrong traces",
    ],
    rows: ok.flatMap((r) =>
      (["on/off", "blink 1"] as const).map((k) => {
        const rs = r.rounds.filter((x) =>
          k === "blink 1" ? x.command === k : x.command !== "blink 1"
        );
        const last = rs.map((x) => x.lastEdgeMs), st = rs.map((x) => x.lastStateMs);
        const either = rs.map((x) => x.lastEitherMs);
        return [
          `${r.n} · ${k}`,
          String(rs.length),
          fix(quantile(last, 0.5)),
          fix(quantile(last, 0.95)),
          fix(Math.max(...last)),
          fix(quantile(rs.map((x) => x.medianEdgeMs), 0.5)),
          fix(quantile(st, 0.5)),
          fix(quantile(st, 0.95)),
          fix(Math.max(...st)),
          fix(quantile(either, 0.5)),
          fix(quantile(either, 0.95)),
          fix(Math.max(...either)),
          String(sum(rs.map((x) => x.missing))),
          String(sum(rs.map((x) => x.wrongTrace))),
        ];
      })
    ),
  };
  /** Commands each device ran in the rounds: on/off, each blink and the off after it, and the off before the blinks after an odd count. */
  const commands = (r: SizeResult) => {
    const onOff = r.rounds.filter((x) => x.command !== "blink 1").length;
    return onOff + (onOff % 2) + 2 * (r.rounds.length - onOff);
  };
  const resources: Table = {
    title: `CPU and memory per device (median over the devices; Σ: the whole fleet). CPU per ` +
      `command: the rounds' CPU over the commands each device ran (timed ones and the blink ` +
      `rounds' untimed offs); idle: the ${IDLE_MS / 1000} s quiet window`,
    head: [
      "devices",
      "start-up s",
      "start-up CPU s/dev",
      "idle CPU %/dev",
      "CPU ms/command/dev",
      "Σ CPU ms/command",
      "RSS MB/dev",
      "Pss MB/dev",
      "Σ Pss MB",
      "broker CPU ms/command",
      "broker RSS MB",
    ],
    rows: ok.map((r) => {
      const cmds = commands(r);
      // The rounds' CPU less what the device would have used idle in that time.
      const idleRate = new Map(
        [...(r.idle ?? [])].map(([id, s]) => [id, (s.cpuS - r.up!.get(id)!.cpuS) / r.idleS]),
      );
      const perCmd = r.end
        ? [...r.end].map(([id, s]) =>
          (s.cpuS - r.idle!.get(id)!.cpuS - idleRate.get(id)! * r.roundsS) * 1000 / cmds
        ).filter(Number.isFinite)
        : [];
      const idlePct = deltas(r.up, r.idle, cpuS).map((s) => s / r.idleS * 100);
      const b = r.broker;
      return [
        String(r.n),
        fix(r.startS),
        fix(median(values(r.up, cpuS)), 2),
        fix(median(idlePct), 2),
        fix(median(perCmd), 2),
        fix(sum(perCmd), 0),
        fix(median(values(r.end, (s) => s.rssKb / 1024))),
        fix(median(values(r.end, (s) => s.pssKb / 1024))),
        int(sum(values(r.end, (s) => s.pssKb / 1024))),
        b.idle && b.end ? fix((b.end.cpuS - b.idle.cpuS) * 1000 / cmds, 1) : "—",
        b.end ? fix(b.end.rssKb / 1024) : "—",
      ];
    }),
  };
  const notes: string[] = [];
  for (const r of results) if (r.error) notes.push(`${r.n} devices: did not run: ${r.error}`);
  for (const r of ok) {
    const st = sum(r.rounds.map((x) => x.stateFirst));
    if (st) {
      notes.push(
        `${r.n} devices: ${st} state messages arrived before their device's inotify event ` +
          `(over ${r.rounds.length * r.n})`,
      );
    }
    const self = r.self.idle && r.self.end ? r.self.end.cpuS - r.self.idle.cpuS : NaN;
    notes.push(
      `${r.n} devices: the rounds took ${fix(r.roundsS)} s; this process (client, watcher, ` +
        `trace checks) used ${fix(self, 2)} s of CPU in them; load average after: ${r.load}`,
    );
  }
  const big = ok.find((r) => r.n === TARGET_N);
  const last = (r: SizeResult) =>
    r.rounds.filter((x) => x.command !== "blink 1").map((x) => x.lastEdgeMs);
  const verdict = big
    ? `target: ${TARGET_N} devices all switched within ${TARGET_MS} ms (last trace edge, on/off ` +
      `rounds): p50 ${fix(quantile(last(big), 0.5))} ms, p95 ${
        fix(quantile(last(big), 0.95))
      } ms, max ${fix(Math.max(...last(big)))} ms, ${
        last(big).filter((x) => x <= TARGET_MS).length
      } of ${last(big).length} rounds within it (first round: ${fix(last(big)[0])} ms): ${
        Math.max(...last(big)) <= TARGET_MS
          ? "PASS (every round)"
          : quantile(last(big), 0.5) <= TARGET_MS
          ? "MISS (the median round is within it, not every round)"
          : "MISS"
      }`
    : `target: ${TARGET_N} devices: not run (largest run: ${
      ok.length ? Math.max(...ok.map((r) => r.n)) : "none"
    })`;
  say("");
  say(textTable(latency) + "\n");
  say(textTable(resources) + "\n");
  for (const n of notes) say(`note: ${n}`);
  say(verdict);
  say(`done in ${fix(elapsed, 0)} s`);
  if (options.out) {
    const md = [
      `Run ${date} (${fix(elapsed, 0)} s) on ${info}; load average ${load0} at the start.`,
      "",
      markdownTable(latency),
      "",
      markdownTable(resources),
      "",
      ...notes.map((n) => `- ${n}`),
      `- ${verdict}`,
    ].join("\n") + "\n";
    await Deno.writeTextFile(options.out, md);
    say(`markdown written to ${options.out}`);
  }
  return ok.length ? 0 : 1;
}
