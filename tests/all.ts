/**
 * Runs every test suite and sums them: the Deno tests, the browser tests
 * (Deno tests driving Chromium, reported on their own line), then each
 * `tests/suites/*.sh` (C firmware, browser, emulated Pi, …). Each suite
 * script prints `N passed, N failed[, N skipped]` as its last such line.
 *
 * The last line of output is `N passed, N failed` over all suites. Under CI
 * (`CI=true`) or with `LEDCTL_REQUIRE_ALL=1`, a skipped test counts as
 * failed: CI installs everything, so nothing may be skipped there.
 *
 * Usage: `deno task test [suite-name…]` (names: deno, browser, and the
 * scripts' base names, e.g. `firmware`, `pi`).
 *
 * @module
 */

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const strict = Deno.env.get("CI") === "true" ||
  Deno.env.get("LEDCTL_REQUIRE_ALL") === "1";
const root = new URL("..", import.meta.url).pathname;
const wanted = new Set(Deno.args);
const decoder = new TextDecoder();

/** Runs a command, echoing its output live, and returns the whole output. */
async function runEcho(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: root,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      out += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  const { code } = await child.status;
  return { code, out };
}

/** Deno's summary: `ok | 12 passed (3 steps) | 1 failed | 2 ignored (1s)`. */
function parseDeno(out: string, code: number): Tally {
  const m = [
    ...out.matchAll(
      /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/gm,
    ),
  ].at(-1);
  if (!m) return { passed: 0, failed: 1, skipped: 0 }; // did not even run
  const failed = Number(m[2]) + (code !== 0 && Number(m[2]) === 0 ? 1 : 0);
  return { passed: Number(m[1]), failed, skipped: Number(m[3] ?? 0) };
}

/** A suite script's summary: `N passed, N failed[, N skipped]`. */
function parsePlain(out: string, code: number): Tally {
  const m = [...out.matchAll(/^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)].at(
    -1,
  );
  if (!m) return { passed: 0, failed: 1, skipped: 0 };
  const failed = Number(m[2]) + (code !== 0 && Number(m[2]) === 0 ? 1 : 0);
  return { passed: Number(m[1]), failed, skipped: Number(m[3] ?? 0) };
}

const results: [string, Tally][] = [];
const deno = Deno.execPath();

// Deno suites: the unit and end-to-end tests, then the browser tests on their own line.
const denoSuites: [string, string[]][] = [
  ["deno", [
    "test",
    "--allow-all",
    "--parallel",
    "--ignore=tests/browser/,tests/pi/,firmware/,.tools/,dist/",
  ]],
  ["browser", ["test", "--allow-all", "tests/browser/"]],
];
for (const [name, args] of denoSuites) {
  if (wanted.size > 0 && !wanted.has(name)) continue;
  console.log(`\n=== suite: ${name} (deno ${args.join(" ")}) ===`);
  const { code, out } = await runEcho(deno, args, { LEDCTL_DENO: deno });
  results.push([name, parseDeno(out, code)]);
}

const scripts: string[] = [];
for await (const e of Deno.readDir(`${root}tests/suites`)) {
  if (e.isFile && e.name.endsWith(".sh")) scripts.push(e.name);
}
scripts.sort();
for (const name of scripts) {
  const suite = name.replace(/\.sh$/, "").replace(/^\d+[-_]/, "");
  if (wanted.size > 0 && !wanted.has(suite)) continue;
  console.log(`\n=== suite: ${suite} (tests/suites/${name}) ===`);
  const { code, out } = await runEcho("bash", [`tests/suites/${name}`], {
    LEDCTL_DENO: deno,
    PATH: `${deno.replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}`,
  });
  results.push([suite, parsePlain(out, code)]);
}

console.log("\n=== summary ===");
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
for (const [name, t] of results) {
  const skipNote = t.skipped
    ? `, ${t.skipped} skipped${strict ? " (counted as failed: CI must run everything)" : ""}`
    : "";
  console.log(`${name.padEnd(10)} ${t.passed} passed, ${t.failed} failed${skipNote}`);
  total.passed += t.passed;
  total.failed += t.failed + (strict ? t.skipped : 0);
  total.skipped += strict ? 0 : t.skipped;
}
console.log(
  `${total.passed} passed, ${total.failed} failed${
    total.skipped ? `, ${total.skipped} skipped` : ""
  }`,
);
Deno.exit(total.failed > 0 ? 1 : 0);
