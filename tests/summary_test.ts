/**
 * The counting rules of tests/all.ts (tests/summary.ts), on recorded output
 * of Deno 2.9.5 and the suite scripts, with time passed in by hand.
 */
import assert from "node:assert/strict";
import {
  countSuite,
  DenoWatch,
  isTruthy,
  limitSeconds,
  locateTest,
  parseDeno,
  parseDuration,
  parsePlain,
  selectSuites,
  skipOfTestName,
  strictMode,
  suiteLimit,
  suiteLimitVar,
  suiteOfScript,
  type SuiteResult,
  summarize,
} from "./summary.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const S = 1000;

Deno.test("strict mode: LEDCTL_REQUIRE_ALL decides, else any truthy CI", () => {
  for (const ci of ["true", "1", "yes", "TRUE", "woodpecker"]) {
    assert.equal(strictMode(envOf({ CI: ci })).strict, true, `CI=${ci}`);
  }
  for (const ci of ["", "0", "false", "no", "off", "False"]) {
    assert.equal(strictMode(envOf({ CI: ci })).strict, false, `CI=${ci}`);
  }
  assert.equal(strictMode(envOf({})).strict, false);
  assert.equal(strictMode(envOf({ LEDCTL_REQUIRE_ALL: "1" })).strict, true);
  assert.equal(strictMode(envOf({ LEDCTL_REQUIRE_ALL: "0", CI: "true" })).strict, false);
  assert.equal(strictMode(envOf({ LEDCTL_REQUIRE_ALL: "", CI: "1" })).strict, true);
  assert.match(strictMode(envOf({ CI: "yes" })).why, /CI=yes/);
  assert.equal(isTruthy(undefined), false);
  assert.equal(isTruthy(" on "), true);
});

Deno.test("suite names: all by default, known ones in order, unknown ones an error", () => {
  const known = ["deno", "browser", "firmware", "pi"];
  assert.deepEqual(selectSuites(known, []), { run: known });
  assert.deepEqual(selectSuites(known, ["pi", "deno"]), { run: ["deno", "pi"] });
  assert.deepEqual(selectSuites(known, ["firmwre"]), { unknown: ["firmwre"] });
  assert.deepEqual(selectSuites(known, ["deno", "x", "x"]), { unknown: ["x"] });
  assert.equal(suiteOfScript("tests/suites/20-firmware.sh"), "firmware");
  assert.equal(suiteOfScript("40_pi.sh"), "pi");
});

Deno.test("time limits: documented defaults, overridden by env, nonsense refused", () => {
  assert.equal(suiteLimit(envOf({}), "deno"), 900);
  assert.equal(suiteLimit(envOf({}), "browser"), 300);
  assert.equal(suiteLimit(envOf({}), "firmware"), 600);
  assert.equal(suiteLimit(envOf({}), "pi"), 900);
  assert.equal(suiteLimit(envOf({}), "hang"), 600);
  assert.equal(suiteLimitVar("my-suite"), "LEDCTL_TIMEOUT_MY_SUITE");
  assert.equal(suiteLimit(envOf({ LEDCTL_TIMEOUT_PI: "1800" }), "pi"), 1800);
  assert.equal(limitSeconds(envOf({ X: "2.5" }), "X", 1), 2.5);
  assert.equal(limitSeconds(envOf({ X: "" }), "X", 7), 7);
  for (const bad of ["0", "-1", "ten", "1s"]) {
    assert.throws(() => limitSeconds(envOf({ X: bad }), "X", 1), /positive number/);
  }
});

Deno.test("parseDeno: counts, steps, ignored tests and their reasons", () => {
  const out = [
    "./b_test.ts => b one ... ok (1s)",
    "./b_test.ts => b ignored ... ignored (0ms)",
    "./c_test.ts => compiled [unavailable: no denort (dns error)] ... ignored (0ms)",
    "./b_test.ts => b steps ... s1 ... ok (0ms)",
    "./b_test.ts => b steps ... ok (886µs)",
    "",
    "ok | 2 passed (1 step) | 0 failed | 2 ignored (1s)",
    "",
  ].join("\n");
  const r = parseDeno(out, 0);
  assert.deepEqual(r.tally, { passed: 2, failed: 0, skipped: 2 });
  assert.deepEqual(r.notes, []);
  assert.deepEqual(r.skips, [
    { what: "b ignored", file: "./b_test.ts", unavailable: false },
    {
      what: "compiled [unavailable: no denort (dns error)]",
      file: "./c_test.ts",
      unavailable: true,
    },
  ]);
  const failed = parseDeno("FAILED | 3 passed | 1 failed | 4 filtered out (1s)\n", 1);
  assert.deepEqual(failed.tally, { passed: 3, failed: 1, skipped: 0 });
});

Deno.test("parseDeno: no summary, or a failing exit without a failed test, is a failure", () => {
  assert.deepEqual(parseDeno("error: Module not found\n", 1).tally, {
    passed: 0,
    failed: 1,
    skipped: 0,
  });
  const died = parseDeno("./a_test.ts => a ... ok (1ms)\n./a_test.ts => b ... FAILED (1ms)\n", 129);
  assert.deepEqual(died.tally, { passed: 1, failed: 2, skipped: 0 });
  assert.match(died.notes[0], /no summary \(exit 129\)/);
  const r = parseDeno("ok | 4 passed | 0 failed (1s)\n", 1);
  assert.deepEqual(r.tally, { passed: 4, failed: 1, skipped: 0 });
  assert.match(r.notes[0], /exited 1/);
});

Deno.test("parsePlain: the last summary line, skip reasons, and a bad exit", () => {
  const out =
    "pi: skipped: needs root\nfirmware: 1 passed, 0 failed\n0 passed, 0 failed, 11 skipped\n";
  const r = parsePlain(out, 0);
  assert.deepEqual(r.tally, { passed: 0, failed: 0, skipped: 11 });
  assert.deepEqual(r.skips, [{ what: "pi: skipped: needs root", unavailable: false }]);
  assert.deepEqual(parsePlain("5 passed, 0 failed\n", 1).tally, {
    passed: 5,
    failed: 1,
    skipped: 0,
  });
  assert.deepEqual(parsePlain("Segmentation fault\n", 139).tally, {
    passed: 0,
    failed: 1,
    skipped: 0,
  });
});

const suite = (tally: SuiteResult["tally"], skips: SuiteResult["skips"] = []): SuiteResult => ({
  name: "x",
  tally,
  skips,
  notes: [],
});

Deno.test("no-test rule: a suite that reports nothing is a failure in every mode", () => {
  for (const strict of [false, true]) {
    const { counted, notes } = countSuite(suite({ passed: 0, failed: 0, skipped: 0 }), strict);
    assert.deepEqual(counted, { passed: 0, failed: 1, skipped: 0 });
    assert.match(notes.join(), /ran no test/);
  }
  // Only skipped tests: reported, so not "no test" (strict mode fails them).
  const skipped = countSuite(suite({ passed: 0, failed: 0, skipped: 11 }), false);
  assert.deepEqual(skipped.counted, { passed: 0, failed: 0, skipped: 11 });
});

Deno.test("strict mode: skipped counts as failed unless marked unavailable", () => {
  const unavailable = skipOfTestName("compiled [unavailable: no denort]", "./c_test.ts");
  const plain = skipOfTestName("compiled [skipped: DENORT_BIN is not set]");
  assert.equal(unavailable.unavailable, true);
  assert.equal(plain.unavailable, false);
  assert.equal(skipOfTestName("no reason").unavailable, false);

  const r = suite({ passed: 5, failed: 0, skipped: 2 }, [unavailable]);
  assert.deepEqual(countSuite(r, false).counted, { passed: 5, failed: 0, skipped: 2 });
  const strict = countSuite(r, true);
  assert.deepEqual(strict.counted, { passed: 5, failed: 1, skipped: 1 });
  assert.match(strict.notes.join(), /1 skipped test counted as failed/);
  // A suite cannot excuse more skips than it has.
  const more = suite({ passed: 1, failed: 0, skipped: 1 }, [unavailable, unavailable]);
  assert.deepEqual(countSuite(more, true).counted, { passed: 1, failed: 0, skipped: 1 });
});

Deno.test("summarize: per-suite lines, reasons, and the total as the last line", () => {
  const results: SuiteResult[] = [
    {
      name: "deno",
      tally: { passed: 10, failed: 0, skipped: 1 },
      skips: [skipOfTestName("compiled [unavailable: no denort]", "./tests/compile_test.ts")],
      notes: [],
    },
    { name: "pi", tally: { passed: 0, failed: 0, skipped: 11 }, skips: [], notes: [] },
    { name: "firmware", tally: { passed: 0, failed: 0, skipped: 0 }, skips: [], notes: [] },
  ];
  const loose = summarize(results, false);
  assert.equal(loose.lines.at(-1), "10 passed, 1 failed, 12 skipped");
  assert.equal(loose.code, 1);
  assert.ok(loose.lines.includes("  firmware: ran no test: counted as 1 failure"));
  assert.ok(
    loose.lines.includes(
      "  skipped: ./tests/compile_test.ts => compiled [unavailable: no denort]",
    ),
  );
  const strict = summarize(results.slice(0, 2), true);
  assert.equal(strict.lines.at(-1), "10 passed, 11 failed, 1 skipped");
  assert.deepEqual(
    summarize(results.slice(0, 1), true).lines.at(-1),
    "10 passed, 0 failed, 1 skipped",
  );
  assert.equal(summarize(results.slice(0, 1), true).code, 0);
  assert.equal(summarize([], false).lines.at(-1), "0 passed, 1 failed");
  assert.match(summarize([], false).lines.at(-1)!, /^\d+ passed, \d+ failed(, \d+ skipped)?$/);
});

Deno.test("parseDuration reads Deno's elapsed times", () => {
  assert.equal(parseDuration("1m0s"), 60 * S);
  assert.equal(parseDuration("2m10s"), 130 * S);
  assert.equal(parseDuration("1h2m3s"), 3723 * S);
  assert.equal(parseDuration("45s"), 45 * S);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("500ms"), 500);
  assert.ok(Number.isNaN(parseDuration("soon")));
  assert.ok(Number.isNaN(parseDuration("")));
});

Deno.test("hang watch, sequential: the started test is timed from its `name ...`", () => {
  const w = new DenoWatch(180 * S);
  w.feed("running 2 tests from ./tests/h_test.ts\nh quick ... ok (1ms)\nh ha", 0);
  w.feed("ng ...", 1 * S); // unterminated while it runs
  assert.equal(w.overdue(180 * S), undefined);
  w.feed("'h hang' has been running for over (1m0s)\n", 61 * S);
  assert.deepEqual(w.overdue(181 * S), { name: "h hang", file: "./tests/h_test.ts", ms: 180 * S });
  // It ends in time in another run: ` ok (…)` after the warnings.
  const ok = new DenoWatch(180 * S);
  ok.feed("running 1 test from ./a_test.ts\nh hang ...", 0);
  ok.feed("'h hang' has been running for over (1m0s)\n", 60 * S);
  ok.feed(" ok (1m30s)\n", 90 * S);
  assert.equal(ok.overdue(1000 * S), undefined);
  assert.deepEqual(ok.partial(), { passed: 1, failed: 0, skipped: 0 });
});

Deno.test("hang watch, sequential: output blocks and steps are not tests", () => {
  const w = new DenoWatch(10 * S);
  w.feed(
    [
      "running 2 tests from ./o_test.ts",
      "o out ...",
      "------- output -------",
      "looks like a test ...",
      "fake ... ok (1ms)",
      "----- output end -----",
      "o out ... ok (1ms)",
      "b steps ...",
      "  s1 ... ok (0ms)",
      "  s2 ...",
      "b steps ... FAILED (22ms)",
      "",
    ].join("\n"),
    0,
  );
  assert.equal(w.overdue(100 * S), undefined);
  assert.deepEqual(w.partial(), { passed: 1, failed: 1, skipped: 0 });
});

Deno.test("hang watch, parallel: the minute warning gives the start, even inside output", () => {
  const w = new DenoWatch(180 * S);
  w.feed("./g_test.ts => g other ... ok (1s)\n./h_test.ts => h quick ...", 1 * S);
  w.feed(" ok (9ms)\n", 1 * S);
  assert.equal(w.overdue(500 * S), undefined); // nothing says a test is running
  w.feed("------- output -------\nto stderr\n'h hang' has been running for over (1m0s)\n", 70 * S);
  assert.equal(w.overdue(189 * S), undefined);
  assert.deepEqual(w.overdue(190 * S), { name: "h hang", file: undefined, ms: 180 * S });
  w.feed("./h_test.ts => h hang ...----- output end -----\n./h_test.ts => h hang ... ok (2m)\n", 0);
  assert.equal(w.overdue(1000 * S), undefined);
  assert.deepEqual(w.partial(), { passed: 3, failed: 0, skipped: 0 });
});

Deno.test("hang watch, parallel: steps are not counted as tests", () => {
  const w = new DenoWatch(180 * S);
  w.feed(
    "./b_test.ts => b steps ... s1 ... ok (0ms)\n./b_test.ts => b steps ... ok (9ms)\n" +
      "./b_test.ts => b ignored ... ignored (0ms)\n./c_test.ts => c ... FAILED (1ms)\n",
    0,
  );
  assert.deepEqual(w.partial(), { passed: 1, failed: 1, skipped: 1 });
  assert.deepEqual(w.ignored, [{ name: "b ignored", file: "./b_test.ts" }]);
});

Deno.test("locateTest finds the module that names a test", () => {
  const sources = new Map([
    ["./a_test.ts", `Deno.test("h hang", () => {});`],
    ["./b_test.ts", `Deno.test({ name: 'it\\'s here', fn() {} });`],
    ["./c_test.ts", "Deno.test(`tpl`, () => {});"],
  ]);
  assert.deepEqual(locateTest("h hang", sources), ["./a_test.ts"]);
  assert.deepEqual(locateTest("it's here", sources), ["./b_test.ts"]);
  assert.deepEqual(locateTest("tpl", sources), ["./c_test.ts"]);
  assert.deepEqual(locateTest("nowhere", sources), []);
  // A test registered per TCP engine runs as "[engine] name".
  assert.deepEqual(locateTest("[epoll] h hang", sources), ["./a_test.ts"]);
});
