/**
 * `deno task bench`: ledctl side by side with the seed's Python select()
 * server and a minimal C epoll server, same load, same run, on loopback.
 *
 *   deno task bench [--quick] [--out FILE] [--update-docs]
 *   deno task bench --soak [--minutes N] [--out FILE]
 *
 * `--soak` runs the soak of bench/soak.ts instead: one ledctl under a mixed
 * hostile load for N minutes (default 10), its memory and descriptors
 * sampled, then checked to come back, and a clean SIGTERM.
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
  loadgen,
  request,
  type RunningServer,
  SERVER_NAMES,
  type ServerKind,
  startServer,
} from "./servers.ts";
import { fix, int, markdownTable, median, type Table, textTable } from "./report.ts";
import { type BlinkStats, blinkStats, parseTrace } from "./trace.ts";
import { runSoak } from "./soak.ts";

const HELP = `deno task bench [--quick] [--out FILE] [--update-docs] [--ledctl-flag FLAG]…
deno task bench --soak [--minutes N] [--out FILE] [--ledctl-flag FLAG]…

Runs ledctl, the seed's Python server and a C epoll server under the same load
and prints round trips/s, latency, CPU per round trip, connections/s, held
connections and RSS, idle-close timing and blink timing, with the targets.

With --soak, runs one ledctl serve (mock LED, free ports) under a mixed hostile
load instead (bench/soak.ts): TCP clients with connection churn, HTTP with and
without keep-alive, event streams and watchers that read or never read, slow
clients, idle connections. Samples RSS, descriptors and replies every 5 s, then
checks that descriptors come back near the baseline within 30 s and RSS within
60 s, that the server still answers, and that SIGTERM exits 0 with the LED off.
Prints a verdict.

  --quick        short smoke run (about 40 s, 1,000 held connections, 2 s blinks)
  --out FILE     also write the markdown results to FILE
  --update-docs  replace the results block of docs/PERFORMANCE.md
  --soak         the soak instead of the comparison
  --minutes N    minutes of soak load (default 10; fractions allowed, e.g. 0.5)
  --ledctl-flag  an extra \`deno run\` flag for ledctl (repeatable), e.g.
                 --ledctl-flag=--v8-flags=--max-semi-space-size=4

Exit status 0 even when a target is missed or the soak fails: a benchmark is
not a test (1 when a server cannot start, 2 for a bad option).
`;

type Result = Record<string, number | string>;
/**
 * The three servers compared; two references join the throughput and held
 * connection runs: the least a Deno server can do on `Deno.Conn`, and the same
 * on `node:net`.
 */
const KINDS: ServerKind[] = ["c", "ledctl", "seed"];
const THROUGHPUT_KINDS: ServerKind[] = [...KINDS, "floor", "nodefloor"];

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

/** A rough stamp of the machine, for the report. */
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
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpus: String(navigator.hardwareConcurrency),
    cpu,
    ram: `${fix(memKb / 1024 / 1024, 1)} GiB`,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    python: await new Deno.Command("python3", { args: ["--version"], stdout: "piped" }).output()
      .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "python3 ?"),
    load: (await read("/proc/loadavg")).split(" ").slice(0, 3).join(" "),
  };
}

/** Runs `fn` for each server, in an order rotated by `round` (so no one always goes first). */
async function eachServer(
  round: number,
  servers: Map<ServerKind, RunningServer>,
  fn: (s: RunningServer) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < THROUGHPUT_KINDS.length; i++) {
    const s = servers.get(THROUGHPUT_KINDS[(i + round) % THROUGHPUT_KINDS.length]);
    if (s) await fn(s);
  }
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
    await new Promise((r) => setTimeout(r, 50)); // let an exit be noticed
    if (!s.running()) r.dead = 1;
    return r;
  } catch (e) {
    return { errors: 1, firstError: (e as Error).message };
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      out: { type: "string" },
      "update-docs": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      "ledctl-flag": { type: "string", multiple: true },
      soak: { type: "boolean" },
      minutes: { type: "string" },
    },
  });
  if (values.help) {
    say(HELP);
    return 0;
  }
  if (values.soak) {
    const minutes = values.minutes === undefined ? 10 : Number(values.minutes);
    if (!(minutes > 0 && minutes <= 7 * 24 * 60)) {
      console.error(`--minutes "${values.minutes}" must be a number of minutes above 0`);
      return 2;
    }
    if (values.quick || values["update-docs"]) {
      console.error("--quick and --update-docs are for the comparison, not for --soak");
      return 2;
    }
    return await runSoak({ minutes, out: values.out, denoFlags: values["ledctl-flag"] ?? [] });
  }
  if (values.minutes !== undefined) {
    console.error("--minutes goes with --soak");
    return 2;
  }
  const cfg = values.quick ? QUICK : FULL;
  const denoFlags = values["ledctl-flag"] ?? [];
  const started = performance.now();
  const info = await machine();
  say(
    `ledctl bench${
      values.quick ? " (quick)" : ""
    } · ${info.date} · ${info.cpus} CPUs ${info.cpu} · load ${info.load}`,
  );
  if (denoFlags.length) say(`ledctl runs with: ${denoFlags.join(" ")}`);
  const tmp = await Deno.makeTempDir({ prefix: "ledctl-bench-" });
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const bins = await buildBinaries(tmp);
    const rt = new Map<string, Result[]>(); // `${kind}/${clients}`
    const cps = new Map<ServerKind, Result[]>();
    const hold = new Map<ServerKind, Result>();
    const idle = new Map<ServerKind, Result>();
    const notes: string[] = [];

    // --- persistent clients, connections/s, held connections: one instance of each ---
    const servers = new Map<ServerKind, RunningServer>();
    for (const k of THROUGHPUT_KINDS) {
      const s = await startServer(k, bins, { idleMs: 60_000, denoFlags });
      cleanups.push(() => s.stop());
      servers.set(k, s);
      const status = await request(s.port, "status");
      const hello = await request(s.port, "hello from bench");
      say(`  ${SERVER_NAMES[k].padEnd(22)} pid ${s.pid} port ${s.port}: "${status}" · "${hello}"`);
    }
    for (let round = 0; round < cfg.rounds; round++) {
      for (const n of cfg.clients) {
        await eachServer(round, servers, async (s) => {
          const r = await measure(bins, s, ["rt", s.port, n, cfg.warmMs, cfg.ms, s.pid]);
          const key = `${s.kind}/${n}`;
          rt.set(key, [...(rt.get(key) ?? []), r]);
          say(
            `  round ${round + 1} · ${String(n).padStart(4)} clients · ${
              SERVER_NAMES[s.kind].padEnd(20)
            } ` +
              `${int(num(r, "rps")).padStart(8)} rt/s  p50 ${fix(num(r, "p50Us"))} µs  p99 ${
                fix(num(r, "p99Us"))
              } µs${num(r, "errors") ? `  errors ${r.errors} (${r.firstError})` : ""}`,
          );
        });
      }
      await eachServer(round, servers, async (s) => {
        const r = await measure(bins, s, [
          "cps",
          s.port,
          cfg.cpsWorkers,
          cfg.warmMs,
          cfg.ms,
          s.pid,
        ]);
        cps.set(s.kind, [...(cps.get(s.kind) ?? []), r]);
        say(
          `  round ${round + 1} · connect/command/close × ${cfg.cpsWorkers} workers · ${
            SERVER_NAMES[s.kind].padEnd(20)
          } ${int(num(r, "cps")).padStart(7)} conn/s${
            num(r, "errors") ? `  errors ${r.errors} (${r.firstError})` : ""
          }`,
        );
      });
    }
    for (const s of servers.values()) await s.stop();

    // --- held connections: a fresh instance of each, so RSS counts connections, not the
    // garbage of the runs above. The seed's select() cannot take a descriptor ≥ 1024. ---
    for (const k of THROUGHPUT_KINDS) {
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

    // --- idle close: a fresh instance of each with a short timeout ---
    for (const k of KINDS) {
      const s = await startServer(k, bins, { idleMs: cfg.idleMs, denoFlags });
      cleanups.push(() => s.stop());
      const r = await measure(bins, s, ["idle", s.port, cfg.idleClients, cfg.idleMs, cfg.idleMs]);
      idle.set(k, r);
      await s.stop();
      say(
        `  idle ${cfg.idleClients} clients, timeout ${cfg.idleMs} ms · ${
          SERVER_NAMES[k].padEnd(20)
        } ` +
          `late p50 ${fix(num(r, "p50LateMs"))} p99 ${fix(num(r, "p99LateMs"))} max ${
            fix(num(r, "maxLateMs"))
          } ms`,
      );
    }

    // --- blink timing from the mock trace: 10 Hz and 100 Hz side by side ---
    const blinks: BlinkStats[] = [];
    await Promise.all([10, 100].map(async (hz) => {
      const trace = `${tmp}/blink-${hz}.trace`;
      const s = await startServer("ledctl", bins, { idleMs: 60_000, tracePath: trace, denoFlags });
      cleanups.push(() => s.stop());
      const reply = await request(s.port, `blink ${hz}`);
      if (!reply.startsWith("OK")) throw new Error(`blink ${hz}: ${reply}`);
      await new Promise((r) => setTimeout(r, cfg.blinkS * 1000 + 300));
      await s.stop();
      const st = blinkStats(parseTrace(await Deno.readTextFile(trace)), hz, 0, cfg.blinkS * 1000);
      blinks.push(st);
    }));
    blinks.sort((a, b) => a.hz - b.hz);

    // --- tables ---
    const med = (k: ServerKind, n: number, key: string) =>
      median((rt.get(`${k}/${n}`) ?? []).map((r) => num(r, key)));
    const cpuPerRt = (k: ServerKind, n: number) =>
      median(
        (rt.get(`${k}/${n}`) ?? []).map((r) => num(r, "serverCpuMs") * 1000 / num(r, "roundTrips")),
      );
    const clientCpu = (k: ServerKind, n: number) =>
      median(
        (rt.get(`${k}/${n}`) ?? []).map((r) => num(r, "clientCpuMs") / num(r, "seconds") / 10),
      );
    const rtTable: Table = {
      title: `Persistent clients: "status" round trips, median of ${cfg.rounds} × ${
        cfg.ms / 1000
      } s`,
      head: [
        "clients · server",
        "round trips/s",
        "× C",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "server CPU µs/rt",
        "× C",
        "loadgen CPU %",
      ],
      rows: cfg.clients.flatMap((n) =>
        THROUGHPUT_KINDS.map((k) => [
          `${n} · ${SERVER_NAMES[k]}`,
          int(med(k, n, "rps")),
          fix(med(k, n, "rps") / med("c", n, "rps"), 2),
          fix(med(k, n, "p50Us")),
          fix(med(k, n, "p99Us")),
          fix(med(k, n, "p999Us")),
          fix(cpuPerRt(k, n), 2),
          fix(cpuPerRt(k, n) / cpuPerRt("c", n), 2),
          fix(clientCpu(k, n), 0),
        ])
      ),
    };
    const nMax = cfg.clients[cfg.clients.length - 1];
    const fairTable: Table = {
      title: `Fairness at ${int(nMax)} clients: round trips each connection got in the measured ${
        cfg.ms / 1000
      } s, and each connection's longest wait for a reply (median of ${cfg.rounds} rounds)`,
      head: [
        "server",
        "rt/conn min",
        "rt/conn median",
        "rt/conn max",
        "longest wait: median conn ms",
        "longest wait: worst conn ms",
      ],
      rows: THROUGHPUT_KINDS.map((k) => [
        SERVER_NAMES[k],
        int(med(k, nMax, "perConnMin")),
        int(med(k, nMax, "perConnMedian")),
        int(med(k, nMax, "perConnMax")),
        fix(med(k, nMax, "worstWaitMedianUs") / 1000),
        fix(med(k, nMax, "worstWaitMaxUs") / 1000),
      ]),
    };
    const cpsMed = (k: ServerKind, key: string) =>
      median((cps.get(k) ?? []).map((r) => num(r, key)));
    const cpsTable: Table = {
      title: `Connections per second: ${cfg.cpsWorkers} workers, connect + "status" + close`,
      head: ["server", "conn/s", "× C", "p50 µs", "p99 µs", "server CPU µs/conn", "errors"],
      rows: THROUGHPUT_KINDS.map((k) => [
        SERVER_NAMES[k],
        int(cpsMed(k, "cps")),
        fix(cpsMed(k, "cps") / cpsMed("c", "cps"), 2),
        fix(cpsMed(k, "p50Us")),
        fix(cpsMed(k, "p99Us")),
        fix(
          median(
            (cps.get(k) ?? []).map((r) => num(r, "serverCpuMs") * 1000 / num(r, "connections")),
          ),
          1,
        ),
        String((cps.get(k) ?? []).reduce((a, r) => a + (num(r, "errors") || 0), 0)),
      ]),
    };
    const holdTable: Table = {
      title: `Connections held: ${
        int(cfg.hold)
      } opened, each answered once, held ${cfg.holdMs} ms, asked again`,
      head: [
        "server",
        "connected",
        "alive after hold",
        "open time s",
        "RSS before MB",
        "RSS held MB",
        "KB/conn",
      ],
      rows: THROUGHPUT_KINDS.map((k) => {
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
    };
    const idleTable: Table = {
      title:
        `Idle close: ${cfg.idleClients} clients, last bytes spread over ${cfg.idleMs} ms, timeout ${cfg.idleMs} ms; ` +
        `time from last byte to EOF minus the timeout`,
      head: ["server", "closed", "ERR line", "min ms", "p50 ms", "p99 ms", "max ms"],
      rows: KINDS.map((k) => {
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
    };
    const blinkTable: Table = {
      title: `ledctl blink timing from the mock trace, ${cfg.blinkS} s per frequency`,
      head: [
        "frequency",
        "edges",
        "drift ms",
        "last edge err ms",
        "max |schedule err| ms",
        "p99 |half-period err| ms",
        "skipped",
      ],
      rows: blinks.map((b) => [
        `${b.hz} Hz`,
        String(b.edges),
        fix(b.driftMs, 3),
        fix(b.lastErrMs, 3),
        fix(b.maxScheduleErrMs, 3),
        fix(b.p99HalfErrMs, 3),
        String(b.skipped),
      ]),
    };

    // --- targets ---
    const led = (n: number, key: string) => med("ledctl", n, key);
    const c = (n: number, key: string) => med("c", n, key);
    const hl = hold.get("ledctl");
    const il = idle.get("ledctl");
    const target = (
      name: string,
      value: string,
      pass: boolean,
    ) => [name, value, pass ? "PASS" : "MISS"];
    const targets: Table = {
      title: "Targets (ratios from this run)",
      head: ["target", "measured", "result"],
      rows: [
        target(
          "100 clients: round trips/s ≥ 0.8× C",
          `${fix(led(100, "rps") / c(100, "rps"), 2)}×`,
          led(100, "rps") / c(100, "rps") >= 0.8,
        ),
        target(
          "100 clients: CPU per round trip ≤ 1.5× C",
          `${fix(cpuPerRt("ledctl", 100) / cpuPerRt("c", 100), 2)}×`,
          cpuPerRt("ledctl", 100) / cpuPerRt("c", 100) <= 1.5,
        ),
        target(
          "1,000 clients: p99 ≤ 1.5× C",
          `${fix(led(1000, "p99Us") / c(1000, "p99Us"), 2)}×`,
          led(1000, "p99Us") / c(1000, "p99Us") <= 1.5,
        ),
        target(
          `${int(cfg.hold)} connections held under 150 MB RSS`,
          `${int(num(hl, "aliveAfterHold"))} alive, ${fix(num(hl, "rssHeldKb") / 1024)} MB`,
          num(hl, "aliveAfterHold") === cfg.hold && num(hl, "rssHeldKb") / 1024 < 150,
        ),
        target(
          "every idle close within 100 ms of the timeout",
          `${il?.closed ?? 0}/${cfg.idleClients} closed, ${fix(num(il, "minLateMs"))}…${
            fix(num(il, "maxLateMs"))
          } ms`,
          num(il, "closed") === cfg.idleClients && num(il, "minLateMs") >= 0 &&
            num(il, "maxLateMs") <= 100,
        ),
        ...blinks.map((b) =>
          target(
            `blink ${b.hz} Hz: drift < 1 ms after ${b.spanS.toFixed(0)} s`,
            `${fix(b.driftMs, 3)} ms (last edge ${fix(b.lastErrMs, 2)} ms, ${b.skipped} skipped)`,
            Math.abs(b.driftMs) < 1,
          )
        ),
      ],
    };
    if (values.quick) notes.push("quick run: figures are a smoke test, not results.");

    const tables = [targets, rtTable, fairTable, cpsTable, holdTable, idleTable, blinkTable];
    const elapsed = (performance.now() - started) / 1000;
    say("");
    for (const t of tables) say(textTable(t) + "\n");
    for (const n of notes) say(`note: ${n}`);
    info.loadEnd = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3)
      .join(" ");
    say(`done in ${elapsed.toFixed(0)} s; load average at the end ${info.loadEnd}`);

    const md = [
      `Run ${info.date} (${elapsed.toFixed(0)} s${
        values.quick ? ", --quick" : ""
      }) on ${info.cpus} × ${info.cpu}, ` +
      `${info.ram} RAM, Linux ${info.kernel}, Deno ${info.deno}, ${info.python}; load average ${info.load} at the start, ${info.loadEnd} at the end.` +
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
