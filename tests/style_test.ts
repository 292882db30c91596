/**
 * The tree is `deno fmt`, `deno lint` and `deno check` clean (the project's
 * standard), checked by the test run itself so that CI refuses a change
 * that breaks one of them. Each runs the real tool on the whole tree, with
 * deno.json's own excludes.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;

async function deno(args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test("deno fmt --check: the tree is formatted", async () => {
  const r = await deno(["fmt", "--check"]);
  assert.equal(r.code, 0, `run deno fmt:\n${r.out.slice(-3000)}`);
});

Deno.test("deno lint: no lint errors", async () => {
  const r = await deno(["lint"]);
  assert.equal(r.code, 0, r.out.slice(-3000));
});

Deno.test("deno check: every module type-checks", async () => {
  const files: string[] = [];
  const skip = /^(\.tools|dist|node_modules|firmware\/build|tests\/pi\/cache)(\/|$)/;
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(`${root}${dir}`)) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (skip.test(path) || e.name.startsWith(".")) continue;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts")) files.push(path);
    }
  }
  await walk("");
  const r = await deno(["check", "--quiet", ...files]);
  assert.equal(r.code, 0, r.out.slice(-3000));
});
