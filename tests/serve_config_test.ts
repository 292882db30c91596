/**
 * `ledctl serve` with a config file, `ledctl config`, and the start-up
 * frictions of issue 13 (items 3, 11 and part of 12), on real processes.
 *
 * Bad inputs tried: a config file with an unknown key, a bad value on a
 * known line, `--port N --http N`, a TCP port already taken (the LED must
 * not be touched), a token in the config file (never printed by `config`).
 */
import assert from "node:assert/strict";
import { Lines, RawClient, runLedctl, ServerProcess } from "./harness.ts";
import { ledctlCommand, readTraceIfAny } from "./harness.ts";

async function tempToml(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("serve reads its settings from --config; a flag beats the file", async () => {
  const path = await tempToml('idle-timeout = "250ms"\nmax-clients = 7\nport = 1\n');
  try {
    await using server = await ServerProcess.start(["--config", path, "--port", "0"]);
    await server.stdout.waitFor(new RegExp(`settings from ${path}`));
    assert.match(server.stdout.all.join("\n"), /idle timeout 250 ms · max 7 clients/);
    using c = await RawClient.connect(server.port);
    // The file's idle timeout applies.
    assert.match(await c.readLine(5_000) ?? "", /^ERR idle-timeout/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("a bad config file stops serve with its file and line, exit 2, LED untouched", async () => {
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  const cases: [string, RegExp][] = [
    [
      "port = 10000\nidle_timeout = 5\n",
      /:2: unknown setting "idle_timeout"; did you mean "idle-timeout"\?/,
    ],
    ['\n\nmax-clients = "lots"\n', /:3: max-clients "lots" must be a whole number/],
    ["port = \n", /:1:\d+: not valid TOML/],
  ];
  try {
    for (const [text, re] of cases) {
      const path = await tempToml(text);
      try {
        const r = await runLedctl(["serve", "--config", path, "--led", `mock?trace=${trace}`]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, new RegExp(path.replaceAll(".", "\\.") + re.source));
      } finally {
        await Deno.remove(path);
      }
    }
    assert.deepEqual(await readTraceIfAny(trace), []);
  } finally {
    await Deno.remove(trace);
  }
});

Deno.test("ledctl config shows each setting and its source, hides the token, and is itself a config file", async () => {
  const path = await tempToml(
    'port = 10001\ntoken = "s3cret-token-value"\nhttp-host = ["pi.lan"]\n',
  );
  try {
    const r = await runLedctl(["config", "--config", path, "--http", "9000"], {
      LEDCTL_IDLE_TIMEOUT: "30s",
    });
    assert.equal(r.code, 0, r.stderr);
    const line = (key: string) => r.stdout.split("\n").find((l) => l.startsWith(`${key} =`)) ?? "";
    assert.match(line("port"), new RegExp(`^port = 10001 +# ${path}:1$`));
    assert.match(line("http"), /^http = 9000 +# --http$/);
    assert.match(line("idle-timeout"), /^idle-timeout = "30s" +# LEDCTL_IDLE_TIMEOUT$/);
    assert.match(line("host"), /^host = "127.0.0.1" +# default$/);
    assert.match(line("http-host"), /^http-host = \["pi.lan"\]/);
    assert.ok(!r.stdout.includes("s3cret"), "the token is never printed");
    assert.match(r.stdout, /# token = \(set, not shown\)/);
    // Its output, as a file, gives the same settings.
    const again = await tempToml(r.stdout);
    try {
      const r2 = await runLedctl(["config", "--config", again]);
      assert.equal(r2.code, 0, r2.stderr);
      assert.match(r2.stdout, /^http = 9000 /m);
      assert.match(r2.stdout, /^idle-timeout = "30s" /m);
    } finally {
      await Deno.remove(again);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("--port N --http N is refused up front, naming both (friction 3)", async () => {
  const r = await runLedctl(["serve", "--port", "10999", "--http", "10999"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /--port and --http are both 10999: the TCP protocol and the web page need a port each/,
  );
  assert.doesNotMatch(r.stderr, /already in use/);
});

Deno.test("a taken port is found before the LED is opened (friction 12)", async () => {
  await using first = await ServerProcess.start([]);
  const trace = await Deno.makeTempFile({ suffix: ".trace" });
  await Deno.remove(trace);
  const r = await runLedctl([
    "serve",
    "--port",
    String(first.port),
    "--http",
    "off",
    "--led",
    `mock?trace=${trace}`,
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /is already in use \(another ledctl serve\?\): stop it or pick another --port/,
  );
  // The second server never opened its LED: no trace file at all.
  await assert.rejects(() => Deno.stat(trace), Deno.errors.NotFound);
});

Deno.test({
  name: "--host 0.0.0.0 prints the LAN address a phone can open (friction 11)",
  ignore: Deno.uid() !== 0,
  async fn() {
    // A network namespace of our own with one address on a veth interface.
    const ns = `ledctl-lan-${Deno.pid}`;
    const ip = async (...args: string[]) => {
      const o = await new Deno.Command("ip", { args, stderr: "piped" }).output();
      if (!o.success) {
        throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
      }
    };
    await ip("netns", "add", ns);
    try {
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
      await ip("-n", ns, "addr", "add", "192.0.2.77/24", "dev", "v0");
      await ip("-n", ns, "link", "set", "v0", "up");
      await ip("-n", ns, "link", "set", "v1", "up");
      await using server = await ServerProcess.start(
        ["--host", "0.0.0.0", "--http", "0"],
        { prefix: ["ip", "netns", "exec", ns] },
      );
      const m = await server.stdout.waitFor(/web page on (.*)$/);
      assert.match(
        m[1],
        /^http:\/\/192\.0\.2\.77:\d+\/ \(this machine: http:\/\/localhost:\d+\/\)$/,
      );
    } finally {
      await ip("netns", "del", ns);
    }
  },
});

Deno.test({
  name:
    "--http 80 without the right to bind it suggests the web port 8080, not the TCP port (friction 3)",
  ignore: Deno.uid() !== 0,
  async fn() {
    // Root without CAP_NET_BIND_SERVICE is refused ports below 1024 like any user.
    const out = await ledctlCommand(["serve", "--port", "0", "--http", "80"], {}, [
      "setpriv",
      "--bounding-set=-net_bind_service",
      "--",
    ]).output();
    const r = { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /not allowed to listen on 127\.0\.0\.1:80: ports below 1024 need root; use --http 8080$/m,
    );
  },
});

Deno.test("--log-format json: every line is one object with time, level and msg; a bad state file is a warn", async () => {
  const stateFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(stateFile, "{torn");
  try {
    await using server = await ServerProcess.start([
      "--log-format",
      "json",
      "--log-level",
      "debug",
      "--state-file",
      stateFile,
    ]);
    using c = await RawClient.connect(server.port);
    assert.match(await c.ask("on") ?? "", /^OK on/);
    await server.stdout.waitFor(/"msg":"LED on +← client #1/);
    await server.stdout.waitFor(/"msg":"connected client #1/);
    const lines = server.stdout.all.map((l) => JSON.parse(l));
    for (const l of lines) {
      assert.deepEqual(Object.keys(l), ["time", "level", "msg"]);
      assert.ok(!Number.isNaN(Date.parse(l.time)), l.time);
    }
    assert.ok(lines.some((l) => l.level === "warn" && /ignoring the state file/.test(l.msg)));
    assert.ok(lines.some((l) => l.level === "debug" && /^connected client #1/.test(l.msg)));
  } finally {
    await Deno.remove(stateFile);
  }
});

Deno.test("every command but fleet and --mqtt runs with no npm package at hand, as on the emulated Pi", async () => {
  // An empty Deno cache, no import map, and an npm registry that refuses:
  // what tests/pi sees. npm packages must be loaded only where needed.
  const cache = await Deno.makeTempDir({ prefix: "ledctl-nonpm-" });
  const main = new URL("../main.ts", import.meta.url).pathname;
  const env = {
    DENO_DIR: cache,
    NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
    HTTPS_PROXY: "http://127.0.0.1:9",
    NO_COLOR: "1",
    LEDCTL_STATE_FILE: "off",
  };
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "--no-check", main, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  try {
    const v = await run(["--version"]).output();
    assert.equal(v.code, 0, new TextDecoder().decode(v.stderr));
    const child = run(["serve", "--port", "0", "--http", "0"]).spawn();
    const out = new Lines(child.stdout);
    const err = new Lines(child.stderr);
    try {
      await Promise.race([
        out.waitFor(/listening on /),
        child.status.then(() => {
          throw new Error(`serve exited: ${err.all.join("\n")}`);
        }),
      ]);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([out.done, err.done]);
    }
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
