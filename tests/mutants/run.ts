/**
 * `deno task mutants`: plants each known bug in a scratch copy of the
 * committed tree, one at a time, runs the tests named for it, and checks
 * that they fail. A bug the tests do not catch is a "survivor": the report
 * lists them and the exit code is 1.
 *
 * The bugs are small patches in this folder, listed with their tests in
 * `mutants.json` (`name`, `patch`, `tests`: `deno test` paths, or
 * `suite:NAME` for a `./run test NAME` suite, and `why`: the real bug or
 * risk it stands for). Add one with each bug fix: make the bad change,
 * `git diff > tests/mutants/NAME.patch`, revert, and list it.
 *
 * A mutant that cannot be tried is "broken" and fails the run like a
 * survivor: its patch no longer applies to `HEAD` (the code it mutates moved:
 * re-create the patch there), a test it names does not exist, or a named
 * test exits non-zero without a failing test (it did not load, so it
 * proves nothing about the bug).
 *
 * Not part of `./run test` (it takes minutes); run it before a release.
 *
 *   deno task mutants [NAME…]
 *
 * @module
 */

interface Mutant {
  name: string;
  patch: string;
  tests: string[];
  why: string;
}

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../..", import.meta.url).pathname;
const deno = Deno.execPath();
const dec = new TextDecoder();

async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", LEDCTL_DENO: deno },
  }).output();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const all: Mutant[] = JSON.parse(await Deno.readTextFile(`${here}mutants.json`));
const wanted = new Set(Deno.args);
const unknown = [...wanted].filter((n) => !all.some((m) => m.name === n));
if (unknown.length) {
  console.error(
    `mutants: unknown: ${unknown.join(", ")}; known: ${all.map((m) => m.name).join(", ")}`,
  );
  Deno.exit(2);
}
const mutants = wanted.size ? all.filter((m) => wanted.has(m.name)) : all;

/** Whether `deno test` ran and a test failed (not a load error: that catches no bug). */
function testFailed(out: string): boolean {
  return /^FAILED \|/m.test(out);
}

const results: { m: Mutant; verdict: "killed" | "SURVIVED" | "BROKEN"; note: string }[] = [];
for (const m of mutants) {
  const scratch = await Deno.makeTempDir({ prefix: `ledctl-mutant-${m.name}-` });
  console.log(`\n=== ${m.name}: ${m.why}`);
  try {
    const wt = await run("git", ["worktree", "add", "--detach", "--force", scratch, "HEAD"], root);
    if (wt.code !== 0) throw new Error(`git worktree: ${wt.out}`);
    if (m.tests.length === 0) throw new Error("no tests listed in mutants.json");
    const missing = m.tests.filter((t) => !t.startsWith("suite:") && !exists(`${scratch}/${t}`));
    if (missing.length) {
      throw new Error(
        `listed test not in HEAD: ${missing.join(", ")} (moved? update mutants.json)`,
      );
    }
    const applied = await run("git", ["apply", `${here}${m.patch}`], scratch);
    if (applied.code !== 0) {
      throw new Error(
        `patch does not apply to HEAD (re-create it where the code is now): ${applied.out.trim()}`,
      );
    }
    // The bug is killed as soon as one of its tests fails.
    const passing: string[] = [];
    let caught = false;
    for (const t of m.tests) {
      const suite = t.startsWith("suite:");
      const r = suite
        ? await run("bash", ["./run", "test", t.slice(6)], scratch)
        : await run(deno, ["test", "--allow-all", "--no-check", t], scratch);
      // `./run test` exits 1 for a failed test, 2 for a usage error.
      const failed = suite ? r.code === 1 : r.code !== 0 && testFailed(r.out);
      if (r.code !== 0 && !failed) {
        const tail = r.out.split("\nStack backtrace:")[0].trim().split("\n").slice(-5).join(
          "\n    ",
        );
        throw new Error(`${t} exited ${r.code} without a failing test:\n    ${tail}`);
      }
      console.log(`  ${t}: ${failed ? "failed (bug caught)" : "passed (the bug survived it)"}`);
      if (failed) {
        caught = true;
        break;
      }
      passing.push(t);
    }
    results.push({
      m,
      verdict: caught ? "killed" : "SURVIVED",
      note: caught ? "" : `every named test passed: ${passing.join(", ")}`,
    });
  } catch (e) {
    console.log(`  broken: ${(e as Error).message}`);
    results.push({ m, verdict: "BROKEN", note: (e as Error).message });
  } finally {
    await run("git", ["worktree", "remove", "--force", scratch], root);
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

console.log("\n=== mutants");
for (const r of results) {
  console.log(`${r.verdict.padEnd(8)} ${r.m.name}${r.note ? `: ${r.note}` : ""}`);
}
const count = (v: string) => results.filter((r) => r.verdict === v).length;
const killed = count("killed");
console.log(
  `${killed} killed, ${count("SURVIVED")} survived, ${
    count("BROKEN")
  } broken, of ${results.length}`,
);
Deno.exit(killed === results.length ? 0 : 1);
