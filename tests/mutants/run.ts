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

const results: { m: Mutant; verdict: "killed" | "SURVIVED" | "ERROR"; note: string }[] = [];
for (const m of mutants) {
  const scratch = await Deno.makeTempDir({ prefix: `ledctl-mutant-${m.name}-` });
  console.log(`\n=== ${m.name}: ${m.why}`);
  try {
    const wt = await run("git", ["worktree", "add", "--detach", "--force", scratch, "HEAD"], root);
    if (wt.code !== 0) throw new Error(`git worktree: ${wt.out}`);
    const applied = await run("git", ["apply", `${here}${m.patch}`], scratch);
    if (applied.code !== 0) {
      results.push({ m, verdict: "ERROR", note: `patch does not apply: ${applied.out.trim()}` });
      continue;
    }
    // The bug is killed as soon as one of its tests fails.
    const passing: string[] = [];
    let caught = false;
    for (const t of m.tests) {
      const r = t.startsWith("suite:")
        ? await run("bash", ["./run", "test", t.slice(6)], scratch)
        : await run(deno, ["test", "--allow-all", "--no-check", t], scratch);
      console.log(
        `  ${t}: ${r.code === 0 ? "passed (the bug survived it)" : "failed (bug caught)"}`,
      );
      if (r.code !== 0) {
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
    results.push({ m, verdict: "ERROR", note: (e as Error).message });
  } finally {
    await run("git", ["worktree", "remove", "--force", scratch], root);
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

console.log("\n=== mutants");
for (const r of results) {
  console.log(`${r.verdict.padEnd(8)} ${r.m.name}${r.note ? `: ${r.note}` : ""}`);
}
const survivors = results.filter((r) => r.verdict !== "killed");
console.log(
  `${
    results.length - survivors.length
  } killed, ${survivors.length} survived or broken, of ${results.length}`,
);
Deno.exit(survivors.length ? 1 : 0);
