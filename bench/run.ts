/**
 * `deno task bench`: ledctl on each of its TCP engines side by side with the
 * seed's Python select() server and a minimal C epoll server, same load,
 * same run, on loopback.
 *
 *   deno task bench [--quick] [--only PARTS] [--out FILE] [--update-docs]
 *   deno task bench --soak [--minutes N] [--out FILE]
 *   deno task bench --fleet [--devices 10,50,200] [--rounds N] [--out FILE]
 *
 * Paired rounds: in every round of every throughput test the C server is
 * measured just before and just after each other server (C, A, C, B, C, …),
 * and each figure is reported as a ratio to the mean of those two C figures,
 * then the median over the rounds. The load of a shared machine moves
 * between minutes; it moves much less between neighbouring seconds.
 *
 * `--soak` runs the soak of bench/soak.ts instead: one ledctl under a mixed
 * hostile load for N minutes (default 10), its memory and descriptors
 * sampled, then checked to come back, and a clean SIGTERM.
 *
 * `--fleet` runs the fleet benchmark of bench/fleet.ts instead: N
 * `ledctl serve --mqtt` on one Mosquitto, the latency from a publish to
 * `ledctl/all/set` to the last device's trace edge, CPU and RSS per device.
 *
 * Needs gcc and python3 (installs nothing). Prints the tables and the targets
 * (PASS/MISS); `--out` writes the markdown results to FILE, `--update-docs`
 * replaces the results block of docs/PERFORMANCE.md (between its
 * `<!-- bench:begin -->` and `<!-- bench:end -->` markers) and nothing else.
 * Exit status 0 even when a target is missed: a benchmark is not a test.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Binaries,
  buildBinaries,
  LEDCTL_KINDS,
  type LedctlKind,
  loadgen,
  request,
  type RunningServer,
  SERVER_NAMES,
  type ServerKind,
  startServer,
} from "./servers.ts";
import {
  fix,
  int,
  markdownTable,
  median,
  range,
  ratioCell,
  type Table,
  textTable,
} from "./report.ts";
import { type BlinkStats, blinkStats, parseTrace } from "./trace.ts";
import { runSoak } from "./soak.ts";
import { runFleet } from "./fleet.ts";

const HELP =
  `deno task bench [--quick] [--only PARTS] [--out FILE] [--update-docs] [--ledctl-flag FLAG]…
deno task bench --soak [--minutes N] [--out FILE] [--ledctl-flag FLAG]…
deno task bench --fleet [--devices LIST] [--rounds N] [--out FILE] [--ledctl-flag FLAG]…

Runs ledctl (on its epoll and its node:net TCP engine), the seed's Python
server and a C epoll server under the same load and prints round trips/s,
latency, CPU per round trip, connections/s, held connections and RSS,
idle-close timing and blink timing (idle and under full load), with the
targets. The C server is measured just before and after every other server in
every round; ratios are to those two C figures, median over the rounds.

With --soak, runs one ledctl serve (mock LED, free ports) under a mixed hostile
load instead (bench/soak.ts): TCP clients with connection churn, HTTP with and
without keep-alive, event streams and watchers that read or never read, slow
clients, idle connections. Samples RSS, descriptors and replies every 5 s, then
checks that descriptors come back near the baseline within 30 s and RSS within
60 s, that the server still answers, and that SIGTERM exits 0 with the LED off.
Prints a verdict.

With --fleet, runs the fleet benchmark instead (bench/fleet.ts; needs
Mosquitto): for each size, a fresh broker and that many \`ledctl serve --mqtt\`
(mock LED with a trace each), then commands published to ledctl/all/set;
prints the latency from the publish to the last device's trace edge and
state (p50/p95/max over the rounds), CPU and RSS per device, and the target
(200 devices all switched within 250 ms).

  --quick        short smoke run (about 1.5 min: 1 round, 1,000 held connections, 2 s blinks)
  --only PARTS   run only these parts, comma-separated: throughput (round trips,
                 fairness, connections/s), hold, idle, blink (default: all)
  --out FILE     also write the markdown results to FILE
  --update-docs  replace the results block of docs/PERFORMANCE.md
  --soak         the soak instead of the comparison
  --minutes N    minutes of soak load (default 10; fractions allowed, e.g. 0.5)
  --fleet        the fleet benchmark instead of the comparison
  --devices LIST fleet sizes, comma-separated (default 10,50,200)
  --rounds N     timed on/off rounds per fleet size (default 20; 4 blink rounds on top)
  --ledctl-flag  an extra \`deno run\` flag for ledctl (repeatable), e.g.
                 --ledctl-flag=--v8-flags=--max-semi-space-size=4

Exit status 0 even when a target is missed or the soak fails: a benchmark is
not a test (1 when a server cannot start, 2 for a bad option).
`;

type Result = Record<string, number | string>;

/** The servers measured between two runs of the C server, in round 0's order. */
const OTHERS: ServerKind[] = ["epoll", "node", "seed", "floor", "nodefloor"];
/** Every server of the throughput and held-connection tables, C first. */
const ALL_KINDS: ServerKind[] = ["c", ...OTHERS];
/** The servers of the idle-close table (the floors have no idle timeout). */
const IDLE_KINDS: ServerKind[] = ["c", "epoll", "node", "seed"];
/** The parts `--only` can pick. */
const PARTS = ["throughput", "hold", "idle", "blink"] as const;
type Part = typeof PARTS[number];

interface Config {
  rounds: number;
  warmMs: number;
  ms: number;
  clients: number[];
  cpsWorkers: number;
  hold: number;
  holdMs: number;
  idleClients: number;
  idleMs: number;
  blinkS: number;
}

const FULL: Config = {
  rounds: 5,
  warmMs: 300,
  ms: 1000,
  clients: [1, 10, 100, 1000],
  cpsWorkers: 16,
  hold: 10_000,
  holdMs: 1000,
  idleClients: 50,
  idleMs: 1000,
  blinkS: 10,
};
const QUICK: Config = {
  ...FULL,
  rounds: 1,
  warmMs: 200,
  ms: 500,
  hold: 1000,
  holdMs: 200,
  blinkS: 2,
};

/** The issue's targets for the epoll engine (issue 10). */
const TARGET = {
  rps100: 0.9, // 100 clients: round trips/s ≥ 0.9× C
  cpu100: 1.2, // 100 clients: CPU per round trip ≤ 1.2× C
  p99At1000: 1.3, // 1,000 clients: p99 ≤ 1.3× C
  worstAt1000: 2, // 1,000 clients: the worst connection's longest wait ≤ 2× C
  churn: 0.9, // connections/s ≥ 0.9× C
  holdMb: 80, // 10,000 connections held under 80 MB RSS
  idleLateMs: 100, // every idle close within 100 ms of the timeout (earlier issue)
  driftMs: 1, // blink drift under 1 ms (earlier issue), idle and under load
  /**
   * The issue asks that the main thread's timers "keep their accuracy under
   * full load". Read as: under full load, blink drift < 1 ms, and the share
   * of edges more than 3 ms off their schedule (skipped ones included) at
   * most 1 point above the same engine's idle run just before. Relative to
   * idle because this shared machine's timers miss now and then with
   * nothing to do; 3 ms is the main-thread timer lag (p99) the prototype
   * measured with its loop in a worker (17–189 ms with it on the main thread).
   */
  lateMs: 3,
  offPoints: 1,
};

const ROOT = new URL("..", import.meta.url).pathname;
const DOCS = `${ROOT}docs/PERFORMANCE.md`;
const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";

function say(line: string): void {
  console.log(line);
}

function num(r: Result | undefined, key: string): number {
  const v = r?.[key];
  return typeof v === "number" ? v : NaN;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function output(cmd: string, args: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null", cwd: ROOT })
      .output();
    return o.success ? new TextDecoder().decode(o.stdout).trim() : "";
  } catch {
    return "";
  }
}

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3)
    .join(" ");
}

/** A stamp of the machine and of the code, for the report. */
async function machine(): Promise<Record<string, string>> {
  const read = async (p: string) => {
    try {
      return await Deno.readTextFile(p);
    } catch {
      return "";
    }
  };
  const cpu = /model name\s*:\s*(.+)/.exec(await read("/proc/cpuinfo"))?.[1] ?? "unknown";
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(await read("/proc/meminfo"))?.[1] ?? NaN);
  const commit = await output("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = (await output("git", [
    "status",
    "--porcelain",
    "--untracked-files=no",
    "--",
    "main.ts",
    "cli",
    "core",
    "protocol",
    "server",
    "sys",
    "hal",
  ])).split("\n").filter((l) => l.trim() && !/_test\.ts$/.test(l)).map((l) => l.slice(3));
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpus: (await output("nproc", [])) || String(navigator.hardwareConcurrency),
    cpu,
    arch: (await output("uname", ["-m"])) || Deno.build.arch,
    ram: `${fix(memKb / 1024 / 1024, 1)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    python: await output("python3", ["--version"]) || "python3 ?",
    load: await loadAverage(),
    code: commit
      ? `ledctl ${commit}${dirty.length ? ` with uncommitted changes to ${dirty.join(", ")}` : ""}`
      : "ledctl (no git)",
  };
}

/** Runs one loadgen measurement; a dead server or a failed run gives an error result. */
async function measure(
  bins: Binaries,
  s: RunningServer,
  args: (string | number)[],
): Promise<Result> {
  if (!s.running()) return { dead: 1, errors: 1, firstError: "server not running" };
  try {
    const r = await loadgen(bins, args);
    await sleep(50); // let an exit be noticed
    if (!s.running()) r.dead = 1;
    return r;
  } catch (e) {
    return { errors: 1, firstError: (e as Error).message };
  }
}

/** One server's run in a round, with the C runs just before and after it. */
interface Paired {
  r: Result;
  before: Result;
  after: Result;
}

/**
 * One paired round of a test: C, then each other server followed by C again
 * (C, A, C, B, C, …; each C run is the "after" of one server and the
 * "before" of the next). The other servers' order rotates with the round.
 */
async function pairedRound(
  round: number,
  servers: Map<ServerKind, RunningServer>,
  run: (s: RunningServer) => Promise<Result>,
  log: (s: RunningServer, r: Result) => void,
): Promise<{ c: Result[]; pairs: Map<ServerKind, Paired> }> {
  const c = servers.get("c")!;
  const timed = async (s: RunningServer) => {
    const r = await run(s);
    log(s, r);
    return r;
  };
  let before = await timed(c);
  const cs = [before];
  const pairs = new Map<ServerKind, Paired>();
  for (let i = 0; i < OTHERS.length; i++) {
    const s = servers.get(OTHERS[(i + round) % OTHERS.length]);
    if (!s) continue;
    const r = await timed(s);
    const after = await timed(c);
    pairs.set(s.kind, { r, before, after });
    cs.push(after);
    before = after;
  }
  return { c: cs, pairs };
}

/** `f` of the server over the mean of `f` of its two C runs (one of them if the other failed). */
function pairRatio(p: Paired, f: (r: Result) => number): number {
  const cs = [f(p.before), f(p.after)].filter(Number.isFinite);
  return cs.length ? f(p.r) / (cs.reduce((a, b) => a + b, 0) / cs.length) : NaN;
}

/** How far apart the two C runs of each pair were: |after − before| / their mean. */
function cSpread(pairs: Paired[], f: (r: Result) => number): number[] {
  return pairs.map((p) => Math.abs(f(p.after) - f(p.before)) / ((f(p.after) + f(p.before)) / 2));
}

const cpuPerRt = (r: Result) => num(r, "serverCpuMs") * 1000 / num(r, "roundTrips");
const cpuPerConn = (r: Result) => num(r, "serverCpuMs") * 1000 / num(r, "connections");
const field = (key: string) => (r: Result) => num(r, key);

/** A blink run: its stats, the engine, and the load beside it (none when idle). */
interface BlinkRun {
  kind: LedctlKind;
  hz: number;
  loaded: boolean;
  stats?: BlinkStats;
  load?: Result;
  error?: string;
}

/**
 * Blinks one fresh ledctl at `hz` for `seconds`, idle or while `clients`
 * persistent clients send round trips as fast as it answers (started first,
 * so the blink window lies inside the load). Timing from the mock's trace.
 */
async function blinkRun(
  bins: Binaries,
  kind: LedctlKind,
  hz: number,
  seconds: number,
  load: { clients: number } | undefined,
  tmp: string,
  denoFlags: string[],
  cleanups: (() => Promise<void>)[],
): Promise<BlinkRun> {
  const trace = `${tmp}/blink-${kind}-${hz}-${load ? "load" : "idle"}.trace`;
  const s = await startServer(kind, bins, { idleMs: 60_000, tracePath: trace, denoFlags });
  cleanups.push(() => s.stop());
  try {
    let loadRun: Promise<Result> | undefined;
    if (load) {
      // Warm-up 300 ms, then a window that outlasts the blink by ~1.5 s.
      loadRun = measure(bins, s, ["rt", s.port, load.clients, 300, seconds * 1000 + 2000, s.pid]);
      await sleep(1000); // connections opened, warm-up under way
    }
    const reply = await request(s.port, `blink ${hz}`);
    if (!reply.startsWith("OK")) throw new Error(`blink ${hz}: ${reply}`);
    await sleep(seconds * 1000 + 300);
    const loadResult = await loadRun;
    await s.stop();
    const stats = blinkStats(
      parseTrace(await Deno.readTextFile(trace)),
      hz,
      0,
      seconds * 1000,
      TARGET.lateMs,
    );
    return { kind, hz, loaded: !!load, stats, load: loadResult };
  } catch (e) {
    await s.stop();
    return { kind, hz, loaded: !!load, error: (e as Error).message };
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      only: { type: "string" },
      out: { type: "string" },
      "update-docs": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      "ledctl-flag": { type: "string", multiple: true },
      soak: { type: "boolean" },
      minutes: { type: "string" },
      fleet: { type: "boolean" },
      devices: { type: "string" },
      rounds: { type: "string" },
    },
  });
  if (values.help) {
    say(HELP);
    return 0;
  }
  if (values.fleet) {
    const sizes = (values.devices ?? "10,50,200").split(",").map((x) => Number(x.trim()));
    const rounds = values.rounds === undefined ? 20 : Number(values.rounds);
    if (!sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= 999)) {
      console.error(
        `--devices "${values.devices}" must be fleet sizes from 1 to 999, e.g. 10,50,200`,
      );
      return 2;
    }
    if (!(Number.isInteger(rounds) && rounds >= 1)) {
      console.error(`--rounds "${values.rounds}" must be a whole number above 0`);
      return 2;
    }
    if (values.soak || values.quick || values["update-docs"] || values.only !== undefined) {
      console.error("--soak, --quick, --only and --update-docs do not go with --fleet");
      return 2;
    }
    return await runFleet({
      sizes,
      rounds,
      out: values.out,
      denoFlags: values["ledctl-flag"] ?? [],
    });
  }
  if (values.devices !== undefined || values.rounds !== undefined) {
    console.error("--devices and --rounds go with --fleet");
    return 2;
  }
  if (values.soak) {
    const minutes = values.minutes === undefined ? 10 : Number(values.minutes);
    if (!(minutes > 0 && minutes <= 7 * 24 * 60)) {
      console.error(`--minutes "${values.minutes}" must be a number of minutes above 0`);
      return 2;
    }
    if (values.quick || values["update-docs"] || values.only !== undefined) {
      console.error("--quick, --only and --update-docs are for the comparison, not for --soak");
      return 2;
    }
    return await runSoak({ minutes, out: values.out, denoFlags: values["ledctl-flag"] ?? [] });
  }
  if (values.minutes !== undefined) {
    console.error("--minutes goes with --soak");
    return 2;
  }
  const parts = new Set<Part>();
  for (const p of (values.only ?? PARTS.join(",")).split(",").map((p) => p.trim())) {
    if (!(PARTS as readonly string[]).includes(p)) {
      console.error(`--only: "${p}" is not one of ${PARTS.join(", ")}`);
      return 2;
    }
    parts.add(p as Part);
  }
  const cfg = values.quick ? QUICK : FULL;
  const denoFlags = values["ledctl-flag"] ?? [];
  const started = performance.now();
  const info = await machine();
  const loads: number[] = [Number(info.load.split(" ")[0])];
  const noteLoad = async () => loads.push(Number((await loadAverage()).split(" ")[0]));
  say(
    `ledctl bench${values.quick ? " (quick)" : ""}${
      values.only ? ` (only ${[...parts].join(", ")})` : ""
    } · ${info.date} · ${info.cpus} CPUs ${info.arch} ${info.cpu} · load ${info.load}`,
  );
  say(`  ${info.code}`);
  if (denoFlags.length) say(`ledctl runs with: ${denoFlags.join(" ")}`);
  const tmp = await Deno.makeTempDir({ prefix: "ledctl-bench-" });
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const bins = await buildBinaries(tmp);
    const rt = new Map<string, Paired[]>(); // `${kind}/${clients}`
    const rtC = new Map<number, Result[]>(); // every C run, by clients
    const cps = new Map<ServerKind, Paired[]>();
    const cpsC: Result[] = [];
    const hold = new Map<ServerKind, Result>();
    const idle = new Map<ServerKind, Result>();
    const blinks: BlinkRun[] = [];
    const notes: string[] = [];
    const nMax = cfg.clients[cfg.clients.length - 1];
    const errText = (r: Result) => num(r, "errors") ? `  errors ${r.errors} (${r.firstError})` : "";

    // --- persistent clients and connections/s, paired rounds: one instance of each ---
    if (parts.has("throughput")) {
      const servers = new Map<ServerKind, RunningServer>();
      for (const k of ALL_KINDS) {
        const s = await startServer(k, bins, { idleMs: 60_000, denoFlags });
        cleanups.push(() => s.stop());
        servers.set(k, s);
        const status = await request(s.port, "status");
        const hello = await request(s.port, "hello from bench");
        say(
          `  ${SERVER_NAMES[k].padEnd(22)} pid ${s.pid} port ${s.port}: "${status}" · "${hello}"`,
        );
      }
      for (let round = 0; round < cfg.rounds; round++) {
        await noteLoad();
        say(`  round ${round + 1} · load average ${await loadAverage()}`);
        for (const n of cfg.clients) {
          const { c, pairs } = await pairedRound(
            round,
            servers,
            (s) => measure(bins, s, ["rt", s.port, n, cfg.warmMs, cfg.ms, s.pid]),
            (s, r) =>
              say(
                `  round ${round + 1} · ${String(n).padStart(4)} clients · ${
                  SERVER_NAMES[s.kind].padEnd(20)
                } ${int(num(r, "rps")).padStart(8)} rt/s  p99 ${fix(num(r, "p99Us"))} µs  CPU ${
                  fix(cpuPerRt(r), 2)
                } µs/rt${errText(r)}`,
              ),
          );
          rtC.set(n, [...(rtC.get(n) ?? []), ...c]);
          for (const [k, p] of pairs) rt.set(`${k}/${n}`, [...(rt.get(`${k}/${n}`) ?? []), p]);
        }
        const { c, pairs } = await pairedRound(
          round,
          servers,
          (s) => measure(bins, s, ["cps", s.port, cfg.cpsWorkers, cfg.warmMs, cfg.ms, s.pid]),
          (s, r) =>
            say(
              `  round ${round + 1} · connect/command/close × ${cfg.cpsWorkers} · ${
                SERVER_NAMES[s.kind].padEnd(20)
              } ${int(num(r, "cps")).padStart(7)} conn/s${errText(r)}`,
            ),
        );
        cpsC.push(...c);
        for (const [k, p] of pairs) cps.set(k, [...(cps.get(k) ?? []), p]);
      }
      for (const s of servers.values()) await s.stop();
    }

    // --- held connections: a fresh instance of each, so RSS counts connections, not the
    // garbage of the runs above. The seed's select() cannot take a descriptor ≥ 1024. ---
    if (parts.has("hold")) {
      await noteLoad();
      for (const k of ALL_KINDS) {
        const s = await startServer(k, bins, { idleMs: 60_000, denoFlags });
        cleanups.push(() => s.stop());
        const r = await measure(bins, s, ["hold", s.port, cfg.hold, cfg.holdMs, s.pid]);
        hold.set(k, r);
        if (r.dead) {
          const why = s.log.filter((l) => /Error|error/.test(l)).pop() ?? "exited";
          notes.push(`${SERVER_NAMES[k]} died while connections were opened: ${why}`);
        }
        say(
          `  hold ${cfg.hold} · ${SERVER_NAMES[k].padEnd(20)} connected ${
            r.connected ?? "—"
          }, alive ${r.aliveAfterHold ?? "—"}, RSS ${fix(num(r, "rssHeldKb") / 1024)} MB${
            r.dead ? " (server died)" : ""
          }`,
        );
        await s.stop();
      }
    }

    // --- idle close: a fresh instance of each with a short timeout ---
    if (parts.has("idle")) {
      await noteLoad();
      for (const k of IDLE_KINDS) {
        const s = await startServer(k, bins, { idleMs: cfg.idleMs, denoFlags });
        cleanups.push(() => s.stop());
        const r = await measure(bins, s, [
          "idle",
          s.port,
          cfg.idleClients,
          cfg.idleMs,
          cfg.idleMs,
        ]);
        idle.set(k, r);
        await s.stop();
        say(
          `  idle ${cfg.idleClients} clients, timeout ${cfg.idleMs} ms · ${
            SERVER_NAMES[k].padEnd(20)
          } late p50 ${fix(num(r, "p50LateMs"))} p99 ${fix(num(r, "p99LateMs"))} max ${
            fix(num(r, "maxLateMs"))
          } ms`,
        );
      }
    }

    // --- blink timing from the mock trace, per engine: 10 Hz and 100 Hz side by side
    // on an idle server, then at once each alone under full load (nMax clients) ---
    if (parts.has("blink")) {
      await noteLoad();
      const show = (b: BlinkRun) =>
        say(
          `  blink ${b.hz} Hz ${b.loaded ? `under ${nMax} clients` : "idle"} · ${
            SERVER_NAMES[b.kind].padEnd(14)
          } ` +
            (b.stats
              ? `drift ${fix(b.stats.driftMs, 3)} ms, p99 |edge err| ${
                fix(b.stats.p99ScheduleErrMs, 2)
              } ms, ${
                fix(b.stats.offShare * 100, 1)
              } % off by > ${TARGET.lateMs} ms, ${b.stats.skipped} skipped${
                b.load ? `; load ${int(num(b.load, "rps"))} rt/s${errText(b.load)}` : ""
              }`
              : `failed: ${b.error}`),
        );
      for (const kind of LEDCTL_KINDS) {
        const idleRuns = await Promise.all(
          [10, 100].map((hz) =>
            blinkRun(bins, kind, hz, cfg.blinkS, undefined, tmp, denoFlags, cleanups)
          ),
        );
        for (const b of idleRuns) show(b);
        blinks.push(...idleRuns);
        for (const hz of [10, 100]) {
          const b = await blinkRun(
            bins,
            kind,
            hz,
            cfg.blinkS,
            { clients: nMax },
            tmp,
            denoFlags,
            cleanups,
          );
          show(b);
          blinks.push(b);
        }
      }
    }
    await noteLoad();

    // --- tables ---
    const tables: Table[] = [];
    const rtPairs = (k: ServerKind, n: number) => rt.get(`${k}/${n}`) ?? [];
    /** Absolute figure: median over the rounds (C: over all its runs). */
    const rtAbs = (k: ServerKind, n: number, f: (r: Result) => number) =>
      median(k === "c" ? (rtC.get(n) ?? []).map(f) : rtPairs(k, n).map((p) => f(p.r)));
    /** Ratio to C: median over the rounds of the paired ratios. */
    const rtRatios = (k: ServerKind, n: number, f: (r: Result) => number) =>
      rtPairs(k, n).map((p) => pairRatio(p, f));
    const rtRatio = (k: ServerKind, n: number, f: (r: Result) => number) =>
      k === "c" ? 1 : median(rtRatios(k, n, f));
    const cpsRatios = (k: ServerKind, f: (r: Result) => number) =>
      (cps.get(k) ?? []).map((p) => pairRatio(p, f));
    const cpsAbs = (k: ServerKind, f: (r: Result) => number) =>
      median(k === "c" ? cpsC.map(f) : (cps.get(k) ?? []).map((p) => f(p.r)));
    const cpsRatio = (k: ServerKind, f: (r: Result) => number) =>
      k === "c" ? 1 : median(cpsRatios(k, f));

    const rps = field("rps"), p99 = field("p99Us"), worst = field("worstWaitMaxUs");
    const conns = field("cps");
    const holdMb = (k: ServerKind) => num(hold.get(k), "rssHeldKb") / 1024;
    const blinkOf = (kind: LedctlKind, hz: number, loaded: boolean) =>
      blinks.find((b) => b.kind === kind && b.hz === hz && b.loaded === loaded);

    // --- targets: the epoll engine's (issue 10), with ledctl node beside it ---
    const targetRows: string[][] = [];
    const target = (name: string, measured: string, pass: boolean, node: string) =>
      targetRows.push([name, measured, pass ? "PASS" : "MISS", node]);
    if (parts.has("throughput")) {
      const r = (k: ServerKind) => rtRatios(k, 100, rps);
      target(
        `100 clients: round trips/s ≥ ${TARGET.rps100}× C`,
        ratioCell(r("epoll")),
        median(r("epoll")) >= TARGET.rps100,
        ratioCell(r("node")),
      );
      const cpu = (k: ServerKind) => rtRatios(k, 100, cpuPerRt);
      target(
        `100 clients: CPU per round trip ≤ ${TARGET.cpu100}× C`,
        ratioCell(cpu("epoll")),
        median(cpu("epoll")) <= TARGET.cpu100,
        ratioCell(cpu("node")),
      );
      const tail = (k: ServerKind) => rtRatios(k, nMax, p99);
      target(
        `${int(nMax)} clients: p99 ≤ ${TARGET.p99At1000}× C`,
        ratioCell(tail("epoll")),
        median(tail("epoll")) <= TARGET.p99At1000,
        ratioCell(tail("node")),
      );
      const w = (k: ServerKind) => rtRatios(k, nMax, worst);
      target(
        `${int(nMax)} clients: worst wait ≤ ${TARGET.worstAt1000}× C`,
        ratioCell(w("epoll")),
        median(w("epoll")) <= TARGET.worstAt1000,
        ratioCell(w("node")),
      );
      const ch = (k: ServerKind) => cpsRatios(k, conns);
      target(
        `churn: connections/s ≥ ${TARGET.churn}× C`,
        ratioCell(ch("epoll")),
        median(ch("epoll")) >= TARGET.churn,
        ratioCell(ch("node")),
      );
    }
    if (parts.has("hold")) {
      const held = (k: ServerKind) =>
        `${int(num(hold.get(k), "aliveAfterHold"))} alive, ${fix(holdMb(k))} MB`;
      const e = hold.get("epoll");
      target(
        `${int(cfg.hold)} connections held under ${TARGET.holdMb} MB RSS`,
        held("epoll"),
        num(e, "aliveAfterHold") === cfg.hold && holdMb("epoll") < TARGET.holdMb,
        held("node"),
      );
    }
    if (parts.has("blink")) {
      const pct = (x: number) => `${fix(x * 100, 1)} %`;
      const cell = (b: BlinkRun | undefined) =>
        b?.stats
          ? `drift ${fix(b.stats.driftMs, 3)} ms, ${pct(b.stats.offShare)} off, p99 ${
            fix(b.stats.p99ScheduleErrMs, 2)
          } ms, ${b.stats.skipped} skipped`
          : `failed${b?.error ? `: ${b.error}` : ""}`;
      const loadedCell = (kind: LedctlKind, hz: number) => {
        const idleOff = blinkOf(kind, hz, false)?.stats?.offShare ?? NaN;
        return `${cell(blinkOf(kind, hz, true))} (idle ${pct(idleOff)} off)`;
      };
      for (const hz of [10, 100]) {
        const b = blinkOf("epoll", hz, true)?.stats;
        const idleOff = blinkOf("epoll", hz, false)?.stats?.offShare ?? NaN;
        target(
          `blink ${hz} Hz under full load (${int(nMax)} clients) keeps its idle accuracy: ` +
            `drift < ${TARGET.driftMs} ms, edges > ${TARGET.lateMs} ms off (or skipped) ` +
            `≤ idle + ${TARGET.offPoints} point`,
          loadedCell("epoll", hz),
          !!b && Math.abs(b.driftMs) < TARGET.driftMs &&
            b.offShare * 100 <= idleOff * 100 + TARGET.offPoints,
          loadedCell("node", hz),
        );
      }
      for (const hz of [10, 100]) {
        const b = blinkOf("epoll", hz, false);
        target(
          `blink ${hz} Hz idle: drift < ${TARGET.driftMs} ms after ${cfg.blinkS} s`,
          cell(b),
          !!b?.stats && Math.abs(b.stats.driftMs) < TARGET.driftMs,
          cell(blinkOf("node", hz, false)),
        );
      }
    }
    if (parts.has("idle")) {
      const cell = (k: ServerKind) => {
        const r = idle.get(k);
        return `${r?.closed ?? 0}/${cfg.idleClients} closed, ${fix(num(r, "minLateMs"))}…${
          fix(num(r, "maxLateMs"))
        } ms late`;
      };
      const r = idle.get("epoll");
      target(
        `every idle close within ${TARGET.idleLateMs} ms of the timeout`,
        cell("epoll"),
        num(r, "closed") === cfg.idleClients && num(r, "minLateMs") >= 0 &&
          num(r, "maxLateMs") <= TARGET.idleLateMs,
        cell("node"),
      );
    }
    tables.push({
      title: `Targets of the epoll engine (ratios: median over ${cfg.rounds} paired round${
        cfg.rounds > 1 ? "s" : ""
      }, range in brackets)`,
      head: ["target", "ledctl epoll", "result", "ledctl node (for comparison)"],
      rows: targetRows,
    });

    if (parts.has("throughput")) {
      tables.push({
        title:
          `Persistent clients: "status" round trips, ${cfg.rounds} paired round${
            cfg.rounds > 1 ? "s" : ""
          } × ${
            cfg.ms / 1000
          } s; figures are medians, × C the median of the ratios to the C runs ` +
          `just before and after`,
        head: [
          "clients · server",
          "round trips/s",
          "× C",
          "p50 µs",
          "p99 µs",
          "× C",
          "p99.9 µs",
          "server CPU µs/rt",
          "× C",
          "loadgen CPU %",
        ],
        rows: cfg.clients.flatMap((n) =>
          ALL_KINDS.map((k) => [
            `${n} · ${SERVER_NAMES[k]}`,
            int(rtAbs(k, n, rps)),
            fix(rtRatio(k, n, rps), 2),
            fix(rtAbs(k, n, field("p50Us"))),
            fix(rtAbs(k, n, p99)),
            fix(rtRatio(k, n, p99), 2),
            fix(rtAbs(k, n, field("p999Us"))),
            fix(rtAbs(k, n, cpuPerRt), 2),
            fix(rtRatio(k, n, cpuPerRt), 2),
            fix(rtAbs(k, n, (r) => num(r, "clientCpuMs") / num(r, "seconds") / 10), 0),
          ])
        ),
      });
      tables.push({
        title: `Fairness at ${int(nMax)} clients: round trips each connection got in the measured ${
          cfg.ms / 1000
        } s, and each connection's longest wait for a reply (medians over the rounds)`,
        head: [
          "server",
          "rt/conn min",
          "rt/conn median",
          "rt/conn max",
          "longest wait: median conn ms",
          "longest wait: worst conn ms",
          "worst × C",
        ],
        rows: ALL_KINDS.map((k) => [
          SERVER_NAMES[k],
          int(rtAbs(k, nMax, field("perConnMin"))),
          int(rtAbs(k, nMax, field("perConnMedian"))),
          int(rtAbs(k, nMax, field("perConnMax"))),
          fix(rtAbs(k, nMax, field("worstWaitMedianUs")) / 1000),
          fix(rtAbs(k, nMax, worst) / 1000),
          fix(rtRatio(k, nMax, worst), 2),
        ]),
      });
      tables.push({
        title:
          `Connections per second (churn): ${cfg.cpsWorkers} workers, connect + "status" + close, ` +
          `paired rounds`,
        head: [
          "server",
          "conn/s",
          "× C",
          "p50 µs",
          "p99 µs",
          "server CPU µs/conn",
          "× C",
          "errors",
        ],
        rows: ALL_KINDS.map((k) => {
          const runs = k === "c" ? cpsC : (cps.get(k) ?? []).map((p) => p.r);
          return [
            SERVER_NAMES[k],
            int(cpsAbs(k, conns)),
            fix(cpsRatio(k, conns), 2),
            fix(cpsAbs(k, field("p50Us"))),
            fix(cpsAbs(k, field("p99Us"))),
            fix(cpsAbs(k, cpuPerConn), 1),
            fix(cpsRatio(k, cpuPerConn), 2),
            String(runs.reduce((a, r) => a + (num(r, "errors") || 0), 0)),
          ];
        }),
      });
      const spread = (xs: number[]) => `${fix(median(xs) * 100, 0)} %`;
      const allPairs = (n: number) => OTHERS.flatMap((k) => rtPairs(k, n));
      const allCps = OTHERS.flatMap((k) => cps.get(k) ?? []);
      notes.push(
        `the C server's own figures moved between its runs just before and just after a server ` +
          `by a median ${spread(cSpread(allPairs(100), rps))} (round trips/s at 100 clients), ` +
          `${spread(cSpread(allPairs(100), cpuPerRt))} (CPU per round trip at 100), ` +
          `${spread(cSpread(allPairs(nMax), p99))} (p99 at ${int(nMax)}), ` +
          `${spread(cSpread(allPairs(nMax), worst))} (worst wait at ${int(nMax)}), ` +
          `${spread(cSpread(allCps, conns))} (conn/s): the noise of one pair.`,
      );
    }
    if (parts.has("hold")) {
      tables.push({
        title: `Connections held: ${
          int(cfg.hold)
        } opened, each answered once, held ${cfg.holdMs} ms, asked again (a fresh process each)`,
        head: [
          "server",
          "connected",
          "alive after hold",
          "open time s",
          "RSS before MB",
          "RSS held MB",
          "KB/conn",
        ],
        rows: ALL_KINDS.map((k) => {
          const r = hold.get(k);
          const kb = (key: string) => num(r, key) >= 0 ? num(r, key) : NaN; // -1: process gone
          const before = kb("rssBeforeKb"), held = kb("rssHeldKb");
          return [
            SERVER_NAMES[k] + (r?.dead ? " (died)" : ""),
            int(num(r, "connected")),
            int(num(r, "aliveAfterHold")),
            fix(num(r, "openSeconds"), 2),
            fix(before / 1024),
            fix(held / 1024),
            fix((held - before) / num(r, "connected"), 1),
          ];
        }),
      });
    }
    if (parts.has("idle")) {
      tables.push({
        title:
          `Idle close: ${cfg.idleClients} clients, last bytes spread over ${cfg.idleMs} ms, timeout ${cfg.idleMs} ms; ` +
          `time from last byte to EOF minus the timeout`,
        head: ["server", "closed", "ERR line", "min ms", "p50 ms", "p99 ms", "max ms"],
        rows: IDLE_KINDS.map((k) => {
          const r = idle.get(k);
          return [
            SERVER_NAMES[k],
            `${r?.closed ?? "—"}/${cfg.idleClients}`,
            String(r?.errLines ?? "—"),
            fix(num(r, "minLateMs")),
            fix(num(r, "p50LateMs")),
            fix(num(r, "p99LateMs")),
            fix(num(r, "maxLateMs")),
          ];
        }),
      });
    }
    if (parts.has("blink")) {
      tables.push({
        title: `Blink timing from the mock trace, ${cfg.blinkS} s per run: idle (10 and 100 Hz ` +
          `side by side), and alone under full load (${
            int(nMax)
          } clients of "status" round trips for the whole window)`,
        head: [
          "server · frequency · load",
          "load rt/s",
          "edges",
          "drift ms",
          "last edge err ms",
          "p99 |edge err| ms",
          "max |edge err| ms",
          "p99 |half-period err| ms",
          "skipped",
          `> ${TARGET.lateMs} ms off %`,
        ],
        rows: LEDCTL_KINDS.flatMap((kind) =>
          [false, true].flatMap((loaded) =>
            [10, 100].map((hz) => {
              const b = blinkOf(kind, hz, loaded);
              const st = b?.stats;
              return [
                `${SERVER_NAMES[kind]} · ${hz} Hz · ${loaded ? `${int(nMax)} clients` : "idle"}`,
                loaded ? int(num(b?.load, "rps")) : "—",
                st ? String(st.edges) : "failed",
                fix(st?.driftMs ?? NaN, 3),
                fix(st?.lastErrMs ?? NaN, 3),
                fix(st?.p99ScheduleErrMs ?? NaN, 3),
                fix(st?.maxScheduleErrMs ?? NaN, 3),
                fix(st?.p99HalfErrMs ?? NaN, 3),
                st ? String(st.skipped) : "—",
                fix((st?.offShare ?? NaN) * 100, 1),
              ];
            })
          )
        ),
      });
      for (const b of blinks) {
        if (b.error) notes.push(`blink ${b.hz} Hz on ${SERVER_NAMES[b.kind]}: ${b.error}`);
        if (b.load && num(b.load, "errors")) {
          notes.push(
            `the load beside blink ${b.hz} Hz on ${
              SERVER_NAMES[b.kind]
            } had errors: ${b.load.firstError}`,
          );
        }
      }
    }
    if (values.quick) notes.push("quick run: figures are a smoke test, not results.");

    const elapsed = (performance.now() - started) / 1000;
    say("");
    for (const t of tables) say(textTable(t) + "\n");
    for (const n of notes) say(`note: ${n}`);
    info.loadEnd = await loadAverage();
    const [loMin, loMax] = range(loads);
    say(
      `done in ${elapsed.toFixed(0)} s; load average at the end ${info.loadEnd}; ` +
        `1-minute load seen between phases ${fix(loMin, 2)}–${fix(loMax, 2)}`,
    );

    const md = [
      `Run ${info.date} (${elapsed.toFixed(0)} s${values.quick ? ", --quick" : ""}${
        values.only ? `, --only ${[...parts].join(",")}` : ""
      }) on ${info.cpus} × ${info.cpu} (${info.arch}), ` +
      `${info.ram} RAM, Linux ${info.kernel}, Deno ${info.deno}, ${info.python}; ` +
      `load average ${info.load} at the start, ${info.loadEnd} at the end ` +
      `(1-minute figure between phases ${fix(loMin, 2)}–${fix(loMax, 2)}). ${info.code}.` +
      (denoFlags.length ? ` ledctl ran with \`${denoFlags.join(" ")}\`.` : ""),
      "",
      ...tables.flatMap((t) => [markdownTable(t), ""]),
      ...notes.map((n) => `- ${n}`),
    ].join("\n").trimEnd() + "\n";
    if (values.out) {
      await Deno.writeTextFile(values.out, md);
      say(`markdown written to ${values.out}`);
    }
    if (values["update-docs"]) {
      const doc = await Deno.readTextFile(DOCS).catch(() => "");
      const a = doc.indexOf(BEGIN), b = doc.indexOf(END);
      if (a < 0 || b < a) {
        say(`${DOCS} has no ${BEGIN} … ${END} block; not changed`);
      } else {
        await Deno.writeTextFile(DOCS, doc.slice(0, a + BEGIN.length) + "\n" + md + doc.slice(b));
        say(`results block of docs/PERFORMANCE.md updated`);
      }
    }
    return 0;
  } finally {
    for (const c of cleanups) await c().catch(() => {});
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
