/**
 * The settings' layers and checks (cli/config.ts), on real files.
 *
 * Bad inputs tried: an unknown key (misspelt: a suggestion), a section
 * table, a TOML syntax error, a string where a list goes, a boolean where a
 * port goes, a bad port in the file / in the environment / on the command
 * line (each error names its source), a bad boolean variable, the TCP and
 * web ports equal, a missing config file, an unknown log level,
 * max-watchers not below max-clients, an empty environment variable
 * (ignored).
 */
import assert from "node:assert/strict";
import { UsageError } from "./args.ts";
import { defaultStateFile, loadToml, parseConfigText, resolveServeSettings } from "./config.ts";
import { envName, SERVE_OPTIONS } from "./serve_options.ts";

async function withFile(text: string, f: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(path, text);
    await f(path);
  } finally {
    await Deno.remove(path);
  }
}

const noEnv = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("flags beat the environment, which beats the file, which beats the defaults", async () => {
  const file = 'port = 10001\nhttp = 8081\nidle-timeout = "30s"\nhost = "0.0.0.0"\n';
  await withFile(file, async (path) => {
    const { settings, raw } = await resolveServeSettings(
      { config: path, port: "10003" },
      { env: envOf({ LEDCTL_PORT: "10002", LEDCTL_HTTP: "8082" }) },
    );
    assert.deepEqual(settings.port, 10003);
    assert.deepEqual(raw.get("port")?.origin, { kind: "flag" });
    assert.deepEqual(settings.httpPort, 8082);
    assert.deepEqual(raw.get("http")?.origin, { kind: "env", name: "LEDCTL_HTTP" });
    assert.deepEqual(settings.idleTimeoutMs, 30_000);
    assert.deepEqual(raw.get("idle-timeout")?.origin, { kind: "file", path, line: 3 });
    assert.deepEqual(settings.hostname, "0.0.0.0");
    assert.deepEqual(settings.frameTimeoutMs, 100);
    assert.deepEqual(raw.get("frame-timeout")?.origin, { kind: "default" });
    assert.deepEqual(settings.configPath, path);
  });
});

Deno.test("every option has a variable, a key and a help line, and the defaults check", async () => {
  const { settings } = await resolveServeSettings({ config: "none" }, { env: noEnv });
  assert.deepEqual(settings.port, 10000);
  assert.deepEqual(settings.httpPort, 8080);
  assert.deepEqual(settings.hostname, "127.0.0.1");
  assert.deepEqual(settings.restore, "last");
  assert.deepEqual(settings.logLevel, "info");
  assert.deepEqual(settings.stateFile, undefined); // no HOME in this environment
  for (const o of SERVE_OPTIONS) {
    assert.ok(/^[a-z][a-z-]*$/.test(o.key), o.key);
    assert.ok(o.help.length > 10, o.key);
    assert.ok(envName(o.key).startsWith("LEDCTL_"));
  }
});

Deno.test("file values of every kind: numbers, strings, lists, switches, http = false", async () => {
  const text = [
    "# comment",
    'led = "mock"',
    "max-clients = 50",
    "max-watchers = 10",
    'http-host = ["pi.example.org", "led.example.org"]',
    "verbose = true",
    "http = false",
    'restore = "off"',
    'state-file = "/tmp/x/state.json"',
  ].join("\n");
  await withFile(text, async (path) => {
    const { settings } = await resolveServeSettings({ config: path }, { env: noEnv });
    assert.deepEqual(settings.maxClients, 50);
    assert.deepEqual(settings.maxWatchers, 10);
    assert.deepEqual(settings.httpHosts, ["pi.example.org", "led.example.org"]);
    assert.deepEqual(settings.logLevel, "debug");
    assert.deepEqual(settings.httpPort, undefined);
    assert.deepEqual(settings.restore, "off");
    assert.deepEqual(settings.stateFile, "/tmp/x/state.json");
  });
});

async function usageError(
  flags: Record<string, string | boolean | string[] | undefined>,
  env: Record<string, string> = {},
): Promise<string> {
  try {
    await resolveServeSettings(flags, { env: envOf(env) });
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
  throw new Error(`no error for ${JSON.stringify(flags)} ${JSON.stringify(env)}`);
}

function assertStringIncludes(text: string, part: string): void {
  assert.ok(text.includes(part), `expected ${JSON.stringify(part)} in ${JSON.stringify(text)}`);
}

Deno.test("each bad setting is an error that names its file and line, variable or flag", async () => {
  await withFile('host = "127.0.0.1"\nprot = 10001\n', async (path) => {
    const m = await usageError({ config: path });
    assertStringIncludes(m, `${path}:2: unknown setting "prot"; did you mean "port"?`);
  });
  await withFile("\n\n[serve]\nport = 1\n", async (path) => {
    assertStringIncludes(
      await usageError({ config: path }),
      `${path}:3: [serve]: the config file has no sections`,
    );
  });
  await withFile('port = 10001\nled = "mock\n', async (path) => {
    assertStringIncludes(await usageError({ config: path }), `${path}:2:`);
    assertStringIncludes(await usageError({ config: path }), "not valid TOML");
  });
  await withFile("\nport = true\n", async (path) => {
    assertStringIncludes(
      await usageError({ config: path }),
      `${path}:2: port must be like port = 10000, not true`,
    );
  });
  await withFile('port = "ten"\n', async (path) => {
    assertStringIncludes(await usageError({ config: path }), `${path}:1: port "ten" is not a port`);
  });
  await withFile("http-host = 7\n", async (path) => {
    assertStringIncludes(
      await usageError({ config: path }),
      `${path}:1: http-host must be a list of strings`,
    );
  });
  await withFile('log-level = "loud"\n', async (path) => {
    assertStringIncludes(
      await usageError({ config: path }),
      `${path}:1: log-level must be one of error, warn, info, debug, got "loud"`,
    );
  });
  assertStringIncludes(
    await usageError({ config: "none" }, { LEDCTL_PORT: "x" }),
    'LEDCTL_PORT "x" is not a port',
  );
  assertStringIncludes(
    await usageError({ config: "none", port: "70000" }),
    '--port "70000" is not a port',
  );
  assertStringIncludes(
    await usageError({ config: "none" }, { LEDCTL_VERBOSE: "maybe" }),
    'LEDCTL_VERBOSE="maybe" must be 1 or 0',
  );
  assertStringIncludes(
    await usageError({ config: "none", port: "9000" }, { LEDCTL_HTTP: "9000" }),
    "--port and LEDCTL_HTTP are both 9000",
  );
  assertStringIncludes(
    await usageError({ config: "none", "max-clients": "5", "max-watchers": "5" }),
    "--max-watchers (5) must be below --max-clients (5)",
  );
  assertStringIncludes(
    await usageError({ config: "/nonexistent/ledctl.toml" }),
    "cannot read the config file /nonexistent/ledctl.toml: no such file",
  );
});

Deno.test("an empty variable is unset; LEDCTL_CONFIG names the file; the default file is read when it exists", async () => {
  const { settings } = await resolveServeSettings({ config: "none" }, {
    env: envOf({ LEDCTL_PORT: "" }),
  });
  assert.deepEqual(settings.port, 10000);
  await withFile("port = 10005\n", async (path) => {
    const viaEnv = await resolveServeSettings({}, { env: envOf({ LEDCTL_CONFIG: path }) });
    assert.deepEqual(viaEnv.settings.port, 10005);
    const viaDefault = await resolveServeSettings({}, { env: noEnv, defaultConfigPath: path });
    assert.deepEqual(viaDefault.settings.port, 10005);
    const none = await resolveServeSettings({}, {
      env: noEnv,
      defaultConfigPath: `${path}.absent`,
    });
    assert.deepEqual(none.settings.port, 10000);
    assert.deepEqual(none.settings.configPath, undefined);
  });
});

Deno.test("a list variable splits on commas; a file's token has its line", async () => {
  const { settings } = await resolveServeSettings({ config: "none" }, {
    env: envOf({ LEDCTL_HTTP_HOST: "pi.example.org, led.example.org," }),
  });
  assert.deepEqual(settings.httpHosts, ["pi.example.org", "led.example.org"]);
  const parsed = parseConfigText('\ntoken = "abcdefgh12"\n', "f.toml", await loadToml());
  assert.deepEqual(parsed.get("token")?.origin, { kind: "file", path: "f.toml", line: 2 });
});

Deno.test("the default state file: systemd's StateDirectory, then XDG, then HOME", () => {
  assert.deepEqual(
    defaultStateFile(envOf({ STATE_DIRECTORY: "/var/lib/ledctl:/var/lib/x" })),
    "/var/lib/ledctl/state.json",
  );
  assert.deepEqual(
    defaultStateFile(envOf({ XDG_STATE_HOME: "/s", HOME: "/h" })),
    "/s/ledctl/state.json",
  );
  assert.deepEqual(defaultStateFile(envOf({ HOME: "/h" })), "/h/.local/state/ledctl/state.json");
  assert.deepEqual(defaultStateFile(noEnv), undefined);
});

Deno.test("mqtt: the URL's user, the host name as id, groups; the password never a flag nor in the URL", async () => {
  const { settings } = await resolveServeSettings(
    {
      config: "none",
      mqtt: "mqtts://kitchen@broker.lan:8883",
      group: ["ground", "lamps", "ground"],
    },
    { env: envOf({ LEDCTL_MQTT_PASSWORD: "pw" }), hostname: () => "Kitchen Pi.local" },
  );
  assert.equal(settings.mqttUrl, "mqtts://broker.lan:8883");
  assert.equal(settings.mqttUser, "kitchen");
  assert.equal(settings.mqttPassword, "pw");
  assert.equal(settings.id, "kitchen-pi-local");
  assert.deepEqual(settings.groups, ["ground", "lamps"]);
  assert.equal(settings.mqttPrefix, "ledctl");
  const off = await resolveServeSettings({ config: "none" }, {
    env: noEnv,
    hostname: () => {
      throw new Error("not asked without --mqtt");
    },
  });
  assert.equal(off.settings.mqttUrl, undefined);
  assert.equal(off.settings.id, undefined);

  const url = "mqtt://127.0.0.1:1883";
  assertStringIncludes(
    await usageError({ config: "none", mqtt: url, "mqtt-password": "pw" }),
    "--mqtt-password is not taken on the command line",
  );
  assertStringIncludes(
    await usageError({ config: "none", mqtt: "mqtt://u:pw@127.0.0.1" }),
    "--mqtt: a password in the URL is refused",
  );
  assertStringIncludes(
    await usageError({ config: "none", mqtt: "http://127.0.0.1" }),
    "--mqtt must start with mqtt:// or mqtts://",
  );
  assertStringIncludes(
    await usageError({ config: "none", mqtt: url, "mqtt-user": "a", "mqtt-password-file": "/f" }, {
      LEDCTL_MQTT_PASSWORD: "pw",
    }),
    "--mqtt-password-file and LEDCTL_MQTT_PASSWORD both give the broker password",
  );
  assertStringIncludes(
    await usageError({ config: "none", mqtt: url }, { LEDCTL_MQTT_PASSWORD: "pw" }),
    "no broker user",
  );
  assertStringIncludes(
    await usageError({ config: "none", mqtt: "mqtt://a@127.0.0.1", "mqtt-user": "b" }),
    "give the user once",
  );
  assertStringIncludes(await usageError({ config: "none" }, { LEDCTL_ID: "all" }), "LEDCTL_ID");
  assertStringIncludes(await usageError({ config: "none", id: "Kitchen" }), '--id "Kitchen"');
  assertStringIncludes(await usageError({ config: "none", group: ["a/b"] }), '--group "a/b"');
  assertStringIncludes(
    await usageError({ config: "none", "mqtt-prefix": "ledctl/#" }),
    "--mqtt-prefix",
  );
});
