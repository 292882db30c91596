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
