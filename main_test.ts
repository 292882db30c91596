/** `ledctl --help` and `--version`, from the real program. */
import assert from "node:assert/strict";
import { runLedctl } from "./tests/harness.ts";
import { VERSION } from "./main.ts";

Deno.test("--help lists --version, --help and every command; --version prints it", async () => {
  const help = await runLedctl(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^ {2}-V, --version +print the version$/m);
  assert.match(help.stdout, /^ {2}-h, --help +this help$/m);
  assert.match(help.stdout, /^ {2}completions +print a shell completion script/m);
  for (const flag of ["--version", "-V"]) {
    const v = await runLedctl([flag]);
    assert.equal(v.code, 0);
    assert.match(v.stdout, new RegExp(`^ledctl ${VERSION.replaceAll(".", "\\.")} \\(deno `));
  }
});

Deno.test("version.ts and deno.json's version agree", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("./deno.json", import.meta.url)));
  assert.equal(config.version, VERSION);
});

Deno.test("every command's --help fits 100 columns", async () => {
  const commands = ["serve", "send", "watch", "clients", "fleet", "led", "doctor", "config"];
  for (const args of [["--help"], ...commands.map((c) => [c, "--help"])]) {
    const r = await runLedctl(args);
    assert.equal(r.code, 0, r.stderr);
    const long = r.stdout.split("\n").filter((l) => [...l].length > 100);
    assert.deepEqual(long, [], `ledctl ${args.join(" ")}`);
  }
});
