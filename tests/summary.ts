/**
 * The counting rules of `tests/all.ts`, kept free of processes and clocks so
 * that `tests/summary_test.ts` can check them: which suites a command line
 * names, when the run is strict, the time limits, how a suite's output turns
 * into counts, when a Deno test has hung, and how the counts add up to the
 * last line, `N passed, N failed[, N skipped]`.
 *
 * @module
 */

/** One suite's counts. */
export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** A skipped test the summary names, with why it was skipped. */
export interface Skip {
  /** What was skipped: a Deno test's name, or a script's skip line. */
  what: string;
  /** The test module, when known (Deno tests). */
  file?: string;
  /** True when the environment cannot supply what the test needs, so strict
   * mode lists it as skipped instead of failed (see {@link skipOfTestName}). */
  unavailable: boolean;
}

/** What a suite reported, before the strict and no-test rules. */
export interface SuiteResult {
  name: string;
  tally: Tally;
  /** Named skips, at most `tally.skipped` of them count as unavailable. */
  skips: Skip[];
  /** Why the suite failed beyond its own counts: killed, hung, no summary… */
  notes: string[];
}

// ---------------------------------------------------------------- strictness

const FALSY = new Set(["0", "false", "no", "off", "n", "f"]);

/** True for a set, non-empty value other than 0/false/no/off/n/f (any case):
 * `CI=true`, `CI=1`, `CI=yes`, `CI=woodpecker` all are. */
export function isTruthy(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v !== "" && !FALSY.has(v);
}

/**
 * Strict mode: every test must run, so a skipped test counts as failed.
 * `LEDCTL_REQUIRE_ALL`, when set and non-empty, decides (`1` on, `0` off);
 * otherwise a truthy `CI` turns it on.
 */
export function strictMode(
  env: (name: string) => string | undefined,
): { strict: boolean; why: string } {
  const require = env("LEDCTL_REQUIRE_ALL");
  if (require !== undefined && require.trim() !== "") {
    return { strict: isTruthy(require), why: `LEDCTL_REQUIRE_ALL=${require}` };
  }
  const ci = env("CI");
  if (isTruthy(ci)) return { strict: true, why: `CI=${ci}` };
  return { strict: false, why: "neither LEDCTL_REQUIRE_ALL nor a truthy CI is set" };
}

// ------------------------------------------------------------ suite names

/** The suites to run: all of `known` when none is asked for, else the asked
 * ones in `known`'s order; any name not in `known` is an error. */
export function selectSuites(
  known: string[],
  asked: string[],
): { run: string[] } | { unknown: string[] } {
  const unknown = asked.filter((n) => !known.includes(n));
  if (unknown.length > 0) return { unknown: [...new Set(unknown)] };
  return { run: asked.length === 0 ? [...known] : known.filter((n) => asked.includes(n)) };
}

/** A script's suite name: `tests/suites/20-firmware.sh` → `firmware`. */
export function suiteOfScript(file: string): string {
  return file.replace(/^.*\//, "").replace(/\.sh$/, "").replace(/^\d+[-_]/, "");
}

// ------------------------------------------------------------- time limits

/** Each suite's time limit in seconds: generous, several times what it takes
 * on a slow machine, so that only a hang reaches it. Overridden by
 * `LEDCTL_TIMEOUT_<SUITE>` (e.g. `LEDCTL_TIMEOUT_PI=1800`). */
export const SUITE_LIMITS_S: Readonly<Record<string, number>> = {
  deno: 15 * 60,
  browser: 5 * 60,
  firmware: 10 * 60,
  pi: 15 * 60,
};
/** The limit of a suite script not in {@link SUITE_LIMITS_S}. */
export const OTHER_SUITE_LIMIT_S = 10 * 60;
/** How long one Deno test may run (seconds); `LEDCTL_TEST_TIMEOUT` overrides.
 * Under `deno test --parallel` a hang is seen from Deno's first "has been
 * running for over (1m0s)" warning on, so a limit under 60 s acts as 60 s. */
export const TEST_LIMIT_S = 180;

/** The variable that overrides a suite's limit: `LEDCTL_TIMEOUT_FIRMWARE`. */
export function suiteLimitVar(suite: string): string {
  return `LEDCTL_TIMEOUT_${suite.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** A limit in seconds from `env(name)`, or `fallback` when unset; throws on
 * anything but a positive number. */
export function limitSeconds(
  env: (name: string) => string | undefined,
  name: string,
  fallback: number,
): number {
  const raw = env(name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`${name}=${raw}: a time limit is a positive number of seconds`);
  }
  return n;
}

/** The limit of `suite` in seconds, with its override applied. */
export function suiteLimit(env: (name: string) => string | undefined, suite: string): number {
  return limitSeconds(env, suiteLimitVar(suite), SUITE_LIMITS_S[suite] ?? OTHER_SUITE_LIMIT_S);
}

// ------------------------------------------------------- parsing the output

/**
 * A Deno test's name may end in `[skipped: <reason>]` or `[unavailable:
 * <reason>]`, saying why it is registered with `ignore: true`. `unavailable`
 * claims the machine cannot supply what the test needs (tests/compile_test.ts
 * uses it only after checking that no denort can be had); strict mode lists
 * such a test as skipped instead of counting it as failed. A test ignored for
 * any other reason, or with no reason, counts as failed under strict mode.
 */
export function skipOfTestName(name: string, file?: string): Skip {
  const m = name.match(/\[(skipped|unavailable): (.*)\]$/);
  return { what: name, file, unavailable: m?.[1] === "unavailable" };
}

/** Deno's summary line, `ok | 5 passed (1 step) | 1 failed | 2 ignored (1s)`,
 * and the ignored tests listed before it. Without that line (Deno died),
 * the tests whose end it printed, and 1 failure more. */
export function parseDeno(
  out: string,
  code: number,
): { tally: Tally; skips: Skip[]; notes: string[] } {
  const watch = new DenoWatch(Infinity);
  watch.feed(out, 0);
  watch.end(0);
  const skips = watch.ignored.map((t) => skipOfTestName(t.name, t.file));
  const line = [...out.matchAll(/^(?:ok|FAILED) \| .*$/gm)].at(-1)?.[0];
  if (line === undefined) {
    // Died before its summary: the tests that ended, and 1 more failure.
    const tally = watch.partial();
    tally.failed += 1;
    return {
      tally,
      skips,
      notes: [`deno test printed no summary (exit ${code}); counted as 1 more failure`],
    };
  }
  const count = (word: string) => Number(line.match(new RegExp(`\\| (\\d+) ${word}\\b`))?.[1] ?? 0);
  const tally = { passed: count("passed"), failed: count("failed"), skipped: count("ignored") };
  const notes: string[] = [];
  if (code !== 0 && tally.failed === 0) {
    tally.failed = 1;
    notes.push(`deno test exited ${code} with no failing test; counted as 1 failure`);
  }
  return { tally, skips, notes };
}

/** A suite script's summary, its last `N passed, N failed[, N skipped]` line
 * (optionally prefixed `name: `), and its `…skipped: <reason>` lines. */
export function parsePlain(
  out: string,
  code: number,
): { tally: Tally; skips: Skip[]; notes: string[] } {
  const m = [...out.matchAll(/^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)]
    .at(-1);
  const skips = [...out.matchAll(/^\S+: .*\bskipped: .*$/gm)].map((s) => ({
    what: s[0],
    unavailable: false,
  }));
  if (!m) {
    return {
      tally: { passed: 0, failed: 1, skipped: 0 },
      skips,
      notes: [`no "N passed, N failed" line (exit ${code}); counted as 1 failure`],
    };
  }
  const tally = { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) };
  const notes: string[] = [];
  if (code !== 0 && tally.failed === 0) {
    tally.failed = 1;
    notes.push(`exited ${code} with no failing test; counted as 1 failure`);
  }
  return { tally, skips, notes };
}

// ----------------------------------------------------------- hang detection

/** `1m0s`, `2h3m4s`, `45s`, `1.5s`, `500ms` → milliseconds (NaN if not one). */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/);
  if (!m || text.trim() === "") return NaN;
  const [h, min, s, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return ((h * 60 + min) * 60 + s) * 1000 + ms;
}

/** A test that ran past the limit. */
export interface Hung {
  name: string;
  /** `./tests/x_test.ts`, when the output says (sequential runs). */
  file?: string;
  ms: number;
}

interface Done {
  file?: string;
  /** Under --parallel a step's line reads `./f => test ... step ... ok`. */
  name: string;
  status: "ok" | "FAILED" | "ignored";
  parallel: boolean;
}

const STATUS = String.raw`(ok|FAILED|ignored)(?: \([^)]*\))?`;
const PARALLEL_DONE = new RegExp(String.raw`^(\./\S+) => (.*) \.\.\. ${STATUS}$`);
const SEQUENTIAL_DONE = new RegExp(String.raw`^(\S.*) \.\.\. ${STATUS}$`);
const SLOW_DONE = new RegExp(String.raw`^ ${STATUS}$`);
const SLOW = /^(.*)' has been running for over \(([^)]*)\)$/;

/**
 * Follows `deno test`'s output, fed as it arrives, and says when a test has
 * run longer than the limit. What Deno 2.9 prints (measured, NO_COLOR):
 *
 * - sequential (no `--parallel`): `running 3 tests from ./a_test.ts`, then
 *   per test `name ...` when it starts (no newline until it ends, unless it
 *   prints output or has steps) and `name ... ok (3ms)` or ` ok (2m10s)`
 *   when it ends: the start of each test is seen.
 * - `--parallel`: only `./a_test.ts => name ... ok (3ms)`, when the test
 *   ends; nothing when it starts. What it does print for a long test, in
 *   both modes, is `'name' has been running for over (1m0s)`, every minute
 *   (inside the test's output block if it has one). That warning gives the
 *   test's start (now − 1 min), so the limit is kept to the second from then.
 *
 * A test's output (between `------- output -------` and `----- output
 * end -----`) is not read as test lines, except for Deno's warning.
 */
export class DenoWatch {
  /** Tests seen running: the sequential one, and any Deno warned about. */
  #running = new Map<string, { file?: string; since: number }>();
  /** The sequential run's current test and module. */
  #current?: string;
  #file?: string;
  #inOutput = false;
  #buffer = "";
  readonly done: Done[] = [];

  constructor(readonly limitMs: number) {}

  /** Output as it arrives (any chunking), `now` in ms. */
  feed(text: string, now: number): void {
    this.#buffer += text;
    const lines = this.#buffer.split("\n");
    this.#buffer = lines.pop()!;
    for (const line of lines) this.#line(line.replace(/\r$/, ""), now);
    // A sequential test's `name ...` stays unterminated while it runs.
    if (!this.#inOutput && this.#buffer.endsWith(" ...") && !PARALLEL_DONE.test(this.#buffer)) {
      const name = this.#buffer.slice(0, -4);
      if (/^\S/.test(name) && !name.startsWith("./")) this.#start(name, now);
    }
  }

  /** The end of the output: a last unterminated line is read as a line. */
  end(now: number): void {
    if (this.#buffer !== "") this.#line(this.#buffer, now);
    this.#buffer = "";
  }

  /** The test that has run longest, if it is past the limit. */
  overdue(now: number): Hung | undefined {
    let worst: Hung | undefined;
    for (const [name, { file, since }] of this.#running) {
      const ms = now - since;
      if (ms >= this.limitMs && (!worst || ms > worst.ms)) worst = { name, file, ms };
    }
    return worst;
  }

  /** Tests that ended ignored, with their module. */
  get ignored(): { name: string; file?: string }[] {
    return this.#tests().filter((d) => d.status === "ignored").map(({ name, file }) => ({
      name,
      file,
    }));
  }

  /** The counts so far, for a run that was killed before its summary. */
  partial(): Tally {
    const tests = this.#tests();
    const n = (s: Done["status"]) => tests.filter((d) => d.status === s).length;
    return { passed: n("ok"), failed: n("FAILED"), skipped: n("ignored") };
  }

  /** Ended tests, without steps: under --parallel a step's line is
   * `./f => test ... step ... ok`, printed before its test's own line. */
  #tests(): Done[] {
    return this.done.filter((d, i) =>
      !d.parallel ||
      !this.done.slice(i + 1).some((p) =>
        p.parallel && p.file === d.file && d.name.startsWith(`${p.name} ... `)
      )
    );
  }

  #start(name: string, now: number): void {
    if (this.#current === name) return;
    if (this.#current !== undefined) this.#running.delete(this.#current);
    this.#current = name;
    this.#running.set(name, { file: this.#file, since: now });
  }

  #end(name: string | undefined, file: string | undefined, status: string, parallel: boolean) {
    if (name === undefined) return;
    this.done.push({ file, name, status: status as Done["status"], parallel });
    this.#running.delete(name);
    if (this.#current === name) this.#current = undefined;
  }

  #line(line: string, now: number): void {
    const slow = line.match(SLOW);
    if (slow) {
      // `'name' has been…` on its own line, or glued to a sequential
      // `name ...` as `name ...'name' has been…`.
      const head = slow[1];
      let name: string | undefined;
      if (this.#current !== undefined && head === `${this.#current} ...'${this.#current}`) {
        name = this.#current;
      } else if (head.startsWith("'")) name = head.slice(1);
      else if (head.includes(" ...'")) name = head.slice(head.indexOf(" ...'") + 5);
      const ms = parseDuration(slow[2]);
      if (name !== undefined && Number.isFinite(ms)) {
        const since = now - ms;
        const seen = this.#running.get(name);
        const file = seen?.file ?? (name === this.#current ? this.#file : undefined);
        this.#running.set(name, { file, since: Math.min(seen?.since ?? since, since) });
      }
      return;
    }
    if (line === "------- output -------") {
      this.#inOutput = true;
      return;
    }
    if (line.includes("----- output end -----")) {
      this.#inOutput = false;
      return;
    }
    if (this.#inOutput) return;
    const from = line.match(/^running \d+ tests? from (\.\/\S+)$/);
    if (from) {
      if (this.#current !== undefined) this.#running.delete(this.#current);
      this.#current = undefined;
      this.#file = from[1];
      return;
    }
    let m = line.match(PARALLEL_DONE);
    if (m) return this.#end(m[2], m[1], m[3], true);
    m = line.match(SLOW_DONE);
    if (m) return this.#end(this.#current, this.#file, m[1], false);
    m = line.match(SEQUENTIAL_DONE);
    if (m) return this.#end(m[1], this.#file, m[2], false);
    m = line.match(/^(\S.*) \.\.\.$/);
    if (m && !m[1].startsWith("./")) this.#start(m[1], now);
  }
}

/** The test modules whose source holds `name` as a string literal: Deno's
 * warning under --parallel names a test but not its module. */
export function locateTest(name: string, sources: Map<string, string>): string[] {
  // Tests registered once per TCP engine are named `[engine] …` at run time.
  name = name.replace(/^\[[\w-]+\] /, "");
  const forms = [
    JSON.stringify(name),
    `'${name.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`,
    `\`${name}\``,
  ];
  return [...sources].filter(([, text]) => forms.some((f) => text.includes(f))).map(([f]) => f);
}

// -------------------------------------------------------------- the summary

/** The rules that turn a suite's report into what it counts for:
 * - a suite that reported no test at all (0 passed, 0 failed, 0 skipped)
 *   counts as 1 failure, in every mode;
 * - under strict mode each skipped test counts as failed, except those
 *   marked unavailable (see {@link skipOfTestName}), which stay skipped. */
export function countSuite(r: SuiteResult, strict: boolean): { counted: Tally; notes: string[] } {
  const t = r.tally;
  const notes = [...r.notes];
  const counted = { ...t };
  if (t.passed + t.failed + t.skipped === 0) {
    counted.failed += 1;
    notes.push("ran no test: counted as 1 failure");
  }
  if (strict && t.skipped > 0) {
    const unavailable = Math.min(t.skipped, r.skips.filter((s) => s.unavailable).length);
    const required = t.skipped - unavailable;
    counted.failed += required;
    counted.skipped = unavailable;
    if (required > 0) {
      notes.push(
        `${required} skipped test${required === 1 ? "" : "s"} counted as failed (strict mode:` +
          " every test must run)",
      );
    }
  }
  return { counted, notes };
}

/** `N passed, N failed[, N skipped]`. */
export function formatTally(t: Tally): string {
  return `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ""}`;
}

/** The summary's lines, the last one over all suites, and the exit code. */
export function summarize(
  results: SuiteResult[],
  strict: boolean,
): { lines: string[]; total: Tally; code: number } {
  const lines: string[] = [];
  const total: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) {
    const { counted, notes } = countSuite(r, strict);
    lines.push(`${r.name.padEnd(10)} ${formatTally(r.tally)}`);
    for (const n of notes) lines.push(`  ${r.name}: ${n}`);
    for (const s of r.skips) {
      const tag = strict
        ? (s.unavailable ? "skipped (unavailable here)" : "skipped → failed")
        : "skipped";
      lines.push(`  ${tag}: ${s.file ? `${s.file} => ` : ""}${s.what}`);
    }
    total.passed += counted.passed;
    total.failed += counted.failed;
    total.skipped += counted.skipped;
  }
  if (results.length === 0) {
    total.failed += 1;
    lines.push("no suite ran: counted as 1 failure");
  }
  lines.push(formatTally(total));
  return { lines, total, code: total.failed > 0 ? 1 : 0 };
}
