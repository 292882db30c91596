/**
 * The compiled single binary. `deno compile` downloads its runtime (denort)
 * unless DENORT_BIN names a local one; this test uses DENORT_BIN only.
 *
 * Without DENORT_BIN the test is still registered, with `ignore: true` and
 * a name that ends in the reason, so that every run lists it as skipped:
 * - `[unavailable: …]` when no denort can be had: DENORT_BIN is unset and
 *   the denort that `deno compile` would download does not answer a HEAD
 *   request within 3 s (offline, no DNS, no such release). Strict mode
 *   (tests/all.ts, under CI) then lists it as skipped, not failed: this
 *   machine cannot run it.
 * - `[skipped: …]` when that download answers: the runtime is reachable, so
 *   strict mode counts the skip as a failure (CI should set DENORT_BIN).
 * The probe asks the same URL and honours the same proxy variables as
 * `deno compile`; it runs only when DENORT_BIN is unset.
 */
import assert from "node:assert/strict";
import { ledctlCommand, ServerProcess } from "./harness.ts";

const name = "the compiled binary serves, answers, and embeds what it needs";
const denort = Deno.env.get("DENORT_BIN");

/** Why the test cannot run here, as a `[skipped|unavailable: …]` name suffix. */
async function whyNot(): Promise<string> {
  const url = `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  const unset = "DENORT_BIN is not set";
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    if (res.ok) {
      return `[skipped: ${unset}, and denort is reachable: unzip ${url} and set DENORT_BIN=/path/to/denort]`;
    }
    return `[unavailable: ${unset} and ${url} answers ${res.status}]`;
  } catch (e) {
    const err = e as Error;
    const why = err.name === "TimeoutError"
      ? "no answer within 3 s"
      : String((err.cause as Error | undefined)?.message ?? err.message)
        .replace(/^error sending request for url \([^)]*\): /, "")
        .replace(/^client error \(\w+\): /, "");
    return `[unavailable: ${unset} and denort cannot be downloaded from ${url} (${why})]`;
  }
}

const skip = denort ? undefined : await whyNot();

Deno.test({
  name: skip ? `${name} ${skip}` : name,
  ignore: skip !== undefined,
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
