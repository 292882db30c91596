/**
 * `./run compile` with no way to download Deno's runtime (denort): HTTPS
 * goes through a proxy at a closed loopback port, so the download fails
 * here whether or not the machine is online. It must say so in one line
 * (what failed, and what to do: go online, or DENORT_BIN), exit non-zero,
 * and leave dist/ as it found it (no empty dist/ created).
 *
 * The real `./run`, in the repository; nothing is written when it passes.
 */
import assert from "node:assert/strict";

const root = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();

/** A loopback port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** dist/'s entries, or null when it does not exist. */
async function distState(): Promise<string[] | null> {
  try {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${root}dist`)) names.push(e.name);
    return names.sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Deno keeps a downloaded denort in DENO_DIR/dl: with one there, nothing is downloaded. */
async function cachedDenort(): Promise<string | undefined> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  })
    .output();
  const dir = JSON.parse(dec.decode(info.stdout)).denoDir as string;
  const zip = `${dir}/dl/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
  try {
    await Deno.stat(zip);
    return zip;
  } catch {
    return undefined;
  }
}

const cached = await cachedDenort();

Deno.test({
  name: "./run compile offline: one line saying denort must be downloaded, exit 1, no empty dist/" +
    (cached ? ` [unavailable: denort is cached at ${cached}, nothing to download]` : ""),
  ignore: cached !== undefined,
  async fn() {
    const before = await distState();
    const proxy = `http://127.0.0.1:${closedPort()}`;
    const env = Deno.env.toObject();
    delete env.DENORT_BIN;
    for (const k of ["NO_PROXY", "no_proxy"]) delete env[k];
    const out = await new Deno.Command(`${root}run`, {
      args: ["compile"],
      cwd: root,
      clearEnv: true,
      env: { ...env, HTTPS_PROXY: proxy, https_proxy: proxy, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = dec.decode(out.stderr);
    assert.notEqual(out.code, 0, stderr);
    // Deno's progress lines (Check, Compile, Download) may come first; then one line.
    const lines = stderr.split("\n").filter((l) =>
      l !== "" && !/^(Check|Compile|Download) /.test(l)
    );
    assert.equal(lines.length, 1, `one line about it, got:\n${stderr}`);
    assert.match(lines[0], /deno compile must download Deno's runtime \(denort\)/);
    assert.match(lines[0], /go online/);
    assert.match(lines[0], /DENORT_BIN=/);
    assert.doesNotMatch(stderr, /Stack backtrace|Caused by/, stderr);
    assert.deepEqual(await distState(), before, "dist/ changed");
  },
});
