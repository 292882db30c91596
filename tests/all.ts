/**
 * Runs every test suite and sums them: the Deno tests, the browser tests
 * (Deno tests driving Chromium, reported on their own line), then each
 * `tests/suites/*.sh` (C firmware, emulated Pi, …), which prints
 * `N passed, N failed[, N skipped]` on stdout as its last such line.
 *
 * Usage: `./run test [suite…]` (`deno task test`). The names are `deno`,
 * `browser` and the scripts' base names (`20-firmware.sh` → `firmware`).
 * An unknown name is an error: exit 2 with the list of known names.
 *
 * The last line of output is `N passed, N failed[, N skipped]` over the
 * suites run; the exit code is 1 when it counts a failure. The rules (in
 * `tests/summary.ts`, unit-tested in `tests/summary_test.ts`):
 *
 * - A suite that reports no test at all counts as 1 failure, in every mode.
 * - Strict mode (`LEDCTL_REQUIRE_ALL=1`, which `.ci/run` sets; else any
 *   truthy `CI`: `true`, `1`, `yes`…; `LEDCTL_REQUIRE_ALL=0` turns it off):
 *   every test must run, so a skipped test counts as failed, except a Deno
 *   test whose name says `[unavailable: …]` (ignored because this machine
 *   cannot supply what it needs, e.g. tests/compile_test.ts with no denort
 *   to be had), which is listed as skipped with its reason.
 * - Each suite has a time limit (`SUITE_LIMITS_S`: deno 15 min, browser
 *   5 min, firmware 10 min, pi 15 min, other scripts 10 min; override with
 *   `LEDCTL_TIMEOUT_<SUITE>=<seconds>`). Each suite runs in its own process
 *   group; at the limit that group and every process descended from the suite
 *   get SIGTERM, then SIGKILL 5 s later, and the suite counts a failure that
 *   names it. The group comes from a `bash` with job control (`set -m`)
 *   that starts the suite as a background job. `Deno.Command`'s `detached`
 *   would not do: it calls setsid(), and a session leader that opens a pty
 *   (the serial tests do) gets it as its controlling terminal, then a SIGHUP
 *   when the pty closes. Measured: the Deno suite died with exit 129.
 * - Each Deno test has a limit too (`TEST_LIMIT_S`, 180 s; override with
 *   `LEDCTL_TEST_TIMEOUT`). A test past it gets its suite killed as above.
 *   It counts as a failure, reported with its name and file.
 *
 * How a hung Deno test is seen. Measured with Deno 2.9.5: without
 * `--parallel`, Deno prints `name ...` when a test starts and `ok (…)` when
 * it ends, so the running test is always known. With `--parallel` it prints
 * a test's line only when the test ends, and nothing when it starts. In both
 * modes, though, it prints `'name' has been running for over (1m0s)` once a
 * minute for a long test. `--parallel` is worth keeping: the Deno suite took
 * 76 s with it and 115 s without (2 CPUs). So the watch (`DenoWatch` in
 * tests/summary.ts) reads the output as it arrives: it takes a test's start
 * from `name ...` when Deno prints one, and otherwise from the first warning
 * (start = then − 1 min). From there the limit is kept to the second, by a
 * 1 s check. The cost: under `--parallel` a hang shows up only after 1 min,
 * so a limit under 60 s acts as 60 s there. And the warning names the test
 * but not its module, so the file is found by looking for the name as a
 * string literal in the test modules. A name built at run time is reported
 * as "file not found". A wrapper around `Deno.test` (a preloaded module
 * printing start lines) would give exact starts, but only by changing every
 * test's code path for a limit far above any test's normal length.
 *
 * @module
 */

import {
  DenoWatch,
  type Hung,
  limitSeconds,
  locateTest,
  parseDeno,
  parsePlain,
  selectSuites,
  strictMode,
  suiteLimit,
  suiteLimitVar,
  suiteOfScript,
  type SuiteResult,
  summarize,
  TEST_LIMIT_S,
} from "./summary.ts";

const root = new URL("..", import.meta.url).pathname;
const env = (name: string) => Deno.env.get(name);
const deno = Deno.execPath();
const decoder = new TextDecoder();

// Deno suites: the unit and end-to-end tests, then the browser tests on their own line.
const denoSuites: Record<string, string[]> = {
  deno: [
    "test",
    "--allow-all",
    "--parallel",
    "--ignore=tests/browser/,tests/pi/,firmware/,.tools/,dist/",
  ],
  browser: ["test", "--allow-all", "tests/browser/"],
};
const scripts: Record<string, string> = {};
for await (const e of Deno.readDir(`${root}tests/suites`)) {
  if (e.isFile && e.name.endsWith(".sh")) scripts[suiteOfScript(e.name)] = e.name;
}
const known = [
  ...Object.keys(denoSuites),
  ...Object.keys(scripts).sort((a, b) => scripts[a].localeCompare(scripts[b])),
];

const selected = selectSuites(known, Deno.args);
if ("unknown" in selected) {
  const s = selected.unknown.length === 1 ? "" : "s";
  console.error(
    `all: unknown suite name${s}: ${selected.unknown.join(", ")}\n` +
      `all: the suites are: ${known.join(", ")} (./run test [suite…]; none: all of them)`,
  );
  Deno.exit(2);
}
let limits: Record<string, number>;
let testLimitS: number;
try {
  limits = Object.fromEntries(selected.run.map((n) => [n, suiteLimit(env, n)]));
  testLimitS = limitSeconds(env, "LEDCTL_TEST_TIMEOUT", TEST_LIMIT_S);
} catch (e) {
  console.error(`all: ${(e as Error).message}`);
  Deno.exit(2);
}
const { strict, why } = strictMode(env);
console.log(
  strict
    ? `all: strict (${why}): a skipped test counts as failed`
    : `all: not strict (${why}): a skipped test is only listed`,
);

/** The running suite, for Ctrl-C: its process group is not the terminal's,
 * so the terminal's SIGINT does not reach it. */
let running: Deno.ChildProcess | undefined;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => {
    if (running) killTree(running.pid, "SIGKILL");
    console.error(`\nall: ${signal}: stopped`);
    Deno.exit(signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 129);
  });
}

/** The process group of `pid` ("self" for all.ts), from /proc. */
function groupOf(pid: number | "self"): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return undefined;
  }
}
const ownGroup = groupOf("self");

/** The processes descended from `pid` (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        children.set(ppid, [...children.get(ppid) ?? [], Number(e.name)]);
      } catch { /* it ended meanwhile */ }
    }
  } catch { /* no /proc: the suite's own group alone */ }
  const found: number[] = [];
  for (let i = -1, p = pid; i < found.length; p = found[++i]) {
    found.push(...children.get(p) ?? []);
  }
  return found;
}

/** Signals every process descended from `pid` (the wrapper), and the
 * process group of each (the suite's, and any a descendant made), but never
 * all.ts's own group. Returns the processes found, for a later SIGKILL. */
function killTree(pid: number, signal: Deno.Signal, also: number[] = []): number[] {
  const pids = [...new Set([pid, ...descendants(pid), ...also])];
  const groups = new Set(pids.map(groupOf).filter((g) => g !== undefined && g !== ownGroup));
  for (const target of [...[...groups].map((g) => -g!), ...pids]) {
    try {
      Deno.kill(target, signal);
    } catch { /* already gone */ }
  }
  return pids;
}

/** Runs `"$@"` as a background job of a bash with job control: a process
 * group of its own, in all.ts's session. bash's own job messages go to
 * /dev/null; the job keeps the real stderr; bash exits with its status. */
const IN_OWN_GROUP = 'exec 3>&2 2>/dev/null; set -m; "$@" 2>&3 3>&- & wait $!';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  code: number;
  out: string;
  /** Why all.ts killed the suite, if it did. */
  killed?: string;
  hung?: Hung;
}

/** Runs a suite in its own process group, echoing its output live, and
 * kills it at `limitS` seconds, or when `watch` reports a test over its limit. */
async function runSuite(
  name: string,
  cmd: string,
  args: string[],
  limitS: number,
  watch?: DenoWatch,
): Promise<Run> {
  const child = new Deno.Command("bash", {
    args: ["-c", IN_OWN_GROUP, name, cmd, ...args],
    cwd: root,
    env: {
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      LEDCTL_DENO: deno,
      PATH: `${deno.replace(/\/[^/]*$/, "")}:${env("PATH") ?? ""}`,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running = child;
  let out = "";
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const pump = async (i: number) => {
    const sink = i === 0 ? Deno.stdout : Deno.stderr;
    try {
      for (let r = await readers[i].read(); !r.done; r = await readers[i].read()) {
        if (i === 0) {
          const text = decoder.decode(r.value, { stream: true });
          out += text;
          watch?.feed(text, Date.now());
        }
        await sink.write(r.value);
      }
    } catch { /* cancelled below */ }
  };
  const pumps = Promise.all([pump(0), pump(1)]);

  let killed: string | undefined;
  let hung: Hung | undefined;
  let exited = false;
  const kill = async (reason: string) => {
    if (killed !== undefined || exited) return;
    killed = reason;
    console.error(`\nall: ${name}: ${reason}; killing its processes`);
    const pids = killTree(child.pid, "SIGTERM");
    await Promise.race([child.status, sleep(5000)]);
    killTree(child.pid, "SIGKILL", pids);
  };
  const limitTimer = setTimeout(
    () => kill(`over its time limit of ${limitS} s (${suiteLimitVar(name)})`),
    limitS * 1000,
  );
  const hangTimer = watch &&
    setInterval(() => {
      hung ??= watch.overdue(Date.now());
      if (hung) {
        kill(
          `test "${hung.name}" has run ${Math.round(hung.ms / 1000)} s, over the per-test ` +
            `limit of ${testLimitS} s (LEDCTL_TEST_TIMEOUT)`,
        );
      }
    }, 1000);
  const { code } = await child.status;
  exited = true;
  clearTimeout(limitTimer);
  clearInterval(hangTimer);
  // A process that left the group may still hold the pipes: read what is
  // there, then stop waiting.
  await Promise.race([pumps, sleep(killed ? 2000 : 5000)]);
  for (const r of readers) r.cancel().catch(() => {});
  running = undefined;
  watch?.end(Date.now());
  return { code, out, killed, hung };
}

/** The test modules `deno test` may run, with their text. */
async function testSources(): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  const skip = new Set([".git", ".tools", "dist", "node_modules", "cache", "build"]);
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${root}${dir}`)) {
      if (e.isDirectory && !skip.has(e.name)) await walk(`${dir}${e.name}/`);
      else if (e.isFile && /(^|[._])test\.(ts|tsx|mts|js|mjs|jsx)$/.test(e.name)) {
        sources.set(`./${dir}${e.name}`, await Deno.readTextFile(`${root}${dir}${e.name}`));
      }
    }
  };
  await walk("");
  return sources;
}

async function hungNote(h: Hung): Promise<string> {
  let file = h.file;
  if (!file) {
    const found = locateTest(h.name, await testSources());
    file = found.length === 0
      ? "file not found: Deno's warning names only the test"
      : found.join(" or ");
  }
  return `test "${h.name}" (${file}) hung: still running after ` +
    `${Math.round(h.ms / 1000)} s (limit ${testLimitS} s); the suite was killed, ` +
    "its other results are those printed before";
}

const results: SuiteResult[] = [];
for (const name of selected.run) {
  const limitS = limits[name];
  if (name in denoSuites) {
    const args = denoSuites[name];
    console.log(`\n=== suite: ${name} (deno ${args.join(" ")}; limit ${limitS} s) ===`);
    const watch = new DenoWatch(testLimitS * 1000);
    const run = await runSuite(name, deno, args, limitS, watch);
    if (run.killed) {
      const notes = [run.hung ? await hungNote(run.hung) : `killed: ${run.killed}`];
      const tally = watch.partial();
      tally.failed += 1;
      const skips = parseDeno(run.out, run.code).skips;
      results.push({ name, tally, skips, notes });
    } else {
      results.push({ name, ...parseDeno(run.out, run.code) });
    }
  } else {
    const file = `tests/suites/${scripts[name]}`;
    console.log(`\n=== suite: ${name} (${file}; limit ${limitS} s) ===`);
    const run = await runSuite(name, "bash", [file], limitS);
    const parsed = parsePlain(run.out, run.code);
    if (run.killed) {
      results.push({
        name,
        tally: { passed: 0, failed: 1, skipped: 0 },
        skips: parsed.skips,
        notes: [`killed: ${run.killed}`],
      });
    } else {
      results.push({ name, ...parsed });
    }
  }
}

console.log("\n=== summary ===");
const { lines, code } = summarize(results, strict);
for (const line of lines) console.log(line);
Deno.exit(code);
