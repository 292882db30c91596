/**
 * `ledctl serve --mqtt`, end to end: real `ledctl serve` processes (mock
 * LED with a trace file) on a real Mosquitto (tests/mosquitto.ts), watched
 * and commanded with MQTT.js as any other MQTT client would.
 *
 * The bad commands tried (each must be answered on `ledctl/<id>/error`
 * with its `ERR` line, never applied — the trace and the state unchanged —
 * and the server must keep serving):
 * - `blink 9000`: a frequency out of range (0.05–500 Hz)
 * - `dance`: an unknown verb
 * - `{"state":` : not JSON (and not a command line either)
 * - `{"state":"MAYBE"}`: JSON, but not a Home Assistant command
 * - `status`: a verb with no meaning over MQTT (only blink, on, off change the LED)
 * - 2 KiB of `blink 1 ` repeated: over the 1 KiB bound
 * - the bytes FF FE 00: not UTF-8
 *
 * Keepalive: a device killed with `kill -9` loses its TCP connection at
 * once, so the broker publishes its will without waiting for the
 * keepalive; no short keepalive is needed.
 */
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { RawClient, readTraceIfAny, runLedctl, ServerProcess } from "./harness.ts";
import { Mosquitto } from "./mosquitto.ts";
import { parseStatePayload, type StatePayload } from "../server/mqtt/topics.ts";
import type { Edge } from "../hal/mock.ts";

/**
 * Home Assistant's MQTT light, JSON schema: every configuration variable
 * its documentation lists, by the long names discovery uses
 * (https://www.home-assistant.io/integrations/light.mqtt/, section "JSON
 * schema", "Configuration Variables"; the abbreviations are not used).
 */
const HA_JSON_LIGHT_KEYS = new Set([
  "availability",
  "availability_mode",
  "availability_template",
  "availability_topic",
  "brightness",
  "brightness_scale",
  "color_mode",
  "command_topic",
  "default_entity_id",
  "device",
  "effect",
  "effect_list",
  "enabled_by_default",
  "encoding",
  "entity_category",
  "entity_picture",
  "flash",
  "flash_time_long",
  "flash_time_short",
  "icon",
  "json_attributes_template",
  "json_attributes_topic",
  "max_kelvin",
  "max_mireds",
  "min_kelvin",
  "min_mireds",
  "name",
  "object_id",
  "optimistic",
  "origin",
  "payload_available",
  "payload_not_available",
  "platform",
  "qos",
  "retain",
  "schema",
  "state_topic",
  "supported_color_modes",
  "transition",
  "unique_id",
  "white_scale",
]);
/** The `device` block's keys (same page, "device"). */
const HA_DEVICE_KEYS = new Set([
  "configuration_url",
  "connections",
  "hw_version",
  "identifiers",
  "manufacturer",
  "model",
  "model_id",
  "name",
  "serial_number",
  "suggested_area",
  "sw_version",
  "via_device",
]);
/** The `origin` block's keys (Home Assistant's MQTT discovery documentation, "origin"). */
const HA_ORIGIN_KEYS = new Set(["name", "sw_version", "support_url"]);

type Message = { topic: string; text: string; bytes: Uint8Array; retain: boolean };

/** Every message on the topics a test subscribed to, with bounded waits for the one it expects. */
class Messages implements AsyncDisposable {
  readonly all: Message[] = [];
  #waiters: (() => void)[] = [];
  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const bytes = new Uint8Array(payload);
      const text = new TextDecoder().decode(bytes);
      this.all.push({ topic, text, bytes, retain: packet.retain });
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  static async connect(
    url: string,
    topics: string[] = ["ledctl/#", "homeassistant/#"],
    options: mqtt.IClientOptions = {},
  ): Promise<Messages> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
    const m = new Messages(client);
    await client.subscribeAsync(topics, { qos: 1 });
    return m;
  }
  /** The first message from index `since` on for which `match` holds, within `ms`. */
  async waitFor(match: (m: Message) => boolean, since = 0, ms = 10_000): Promise<Message> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.all.slice(since).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.all.map((m) => `${m.topic} ${m.text.slice(0, 120)}`).join("\n");
        throw new Error(`no such message within ${ms} ms; saw:\n${seen}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }
  /** The next state of `id` from `since` on that `match` accepts. */
  async state(
    id: string,
    match: (s: StatePayload) => boolean = () => true,
    since = 0,
    ms = 10_000,
  ): Promise<StatePayload> {
    const m = await this.waitFor(
      (m) => {
        const s = m.topic === `ledctl/${id}/state` ? parseStatePayload(m.text) : undefined;
        return s !== undefined && match(s);
      },
      since,
      ms,
    );
    return parseStatePayload(m.text)!;
  }
  /** Publishes a command (QoS 1, not retained). */
  async send(topic: string, payload: string | Uint8Array): Promise<void> {
    await this.client.publishAsync(topic, payload as string, { qos: 1 });
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.client.endAsync(true).catch(() => {});
  }
}

/** Starts `ledctl serve --mqtt url --id id` plus `args` (mock LED with a trace). */
function device(
  url: string,
  id: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return ServerProcess.start(["--mqtt", url, "--id", id, ...args], { env });
}

/** The intervals between edges, in ms. */
function gaps(edges: Edge[]): number[] {
  return edges.slice(1).map((e, i) => e.t - edges[i].t);
}

/** Waits until the trace holds `n` more edges than `from`, and checks they blink at `hz`. */
async function assertBlinks(server: ServerProcess, hz: number, from: number): Promise<void> {
  const edges = (await server.waitForEdges(from + 5)).slice(from + 1);
  const half = 1000 / hz / 2;
  for (const g of gaps(edges)) {
    assert.ok(Math.abs(g - half) < half / 2, `gap ${g} ms, want ${half} (${hz} Hz)`);
  }
}

Deno.test("discovery, state and availability: topics, payloads, retained", async () => {
  await using broker = await Mosquitto.start();
  await using watch = await Messages.connect(broker.url);
  await using dev = await device(broker.url, "kitchen", ["--group", "ground", "--group", "lamps"]);

  const online = await watch.waitFor((m) => m.topic === "ledctl/kitchen/availability");
  assert.equal(online.text, "online");
  const state = await watch.state("kitchen");
  assert.equal(state.state, "OFF");
  assert.equal(state.text, "off");
  assert.equal(state.effect, undefined);
  assert.deepEqual(state.groups, ["ground", "lamps"]);
  assert.equal(state.version, "0.1.0");
  assert.ok(!Number.isNaN(Date.parse(state.changed)), state.changed);

  const disco = await watch.waitFor((m) => m.topic === "homeassistant/light/ledctl_kitchen/config");
  const config = JSON.parse(disco.text) as Record<string, unknown>;
  const unknown = Object.keys(config).filter((k) => !HA_JSON_LIGHT_KEYS.has(k));
  assert.deepEqual(unknown, [], "keys Home Assistant's MQTT JSON light does not know");
  assert.equal(config.schema, "json");
  assert.equal(config.unique_id, "ledctl_kitchen");
  assert.equal(config.command_topic, "ledctl/kitchen/set");
  assert.equal(config.state_topic, "ledctl/kitchen/state");
  assert.equal(config.availability_topic, "ledctl/kitchen/availability");
  assert.deepEqual(config.effect_list, [
    "blink 0.5 Hz",
    "blink 1 Hz",
    "blink 2 Hz",
    "blink 5 Hz",
    "blink 10 Hz",
  ]);
  const deviceBlock = config.device as Record<string, unknown>;
  assert.deepEqual(Object.keys(deviceBlock).filter((k) => !HA_DEVICE_KEYS.has(k)), []);
  for (const k of ["identifiers", "name", "model", "manufacturer", "sw_version"]) {
    assert.ok(deviceBlock[k] !== undefined, `device.${k}`);
  }
  const origin = config.origin as Record<string, unknown>;
  assert.deepEqual(Object.keys(origin).filter((k) => !HA_ORIGIN_KEYS.has(k)), []);
  assert.equal(origin.name, "ledctl");

  // Retained: a client that comes later gets all three at once.
  await using late = await Messages.connect(broker.url);
  for (const topic of ["availability", "state"]) {
    const m = await late.waitFor((m) => m.topic === `ledctl/kitchen/${topic}`);
    assert.equal(m.retain, true, topic);
  }
  assert.equal(
    (await late.waitFor((m) => m.topic === "homeassistant/light/ledctl_kitchen/config")).retain,
    true,
  );

  // A clean stop says offline (retained) before exiting.
  assert.equal(await dev.stop("SIGTERM"), 0);
  await watch.waitFor((m) => m.topic === "ledctl/kitchen/availability" && m.text === "offline");
  assert.ok(!dev.stdout.all.some((l) => /lost the broker/.test(l)), dev.stdout.all.join("\n"));
});

Deno.test("Home Assistant JSON and a protocol line drive the LED; flash comes back", async () => {
  await using broker = await Mosquitto.start();
  await using watch = await Messages.connect(broker.url);
  await using dev = await device(broker.url, "desk");
  await watch.waitFor((m) => m.topic === "ledctl/desk/availability" && m.text === "online");

  let n = watch.all.length;
  await watch.send("ledctl/desk/set", '{"state":"ON"}');
  const on = await watch.state("desk", (s) => s.state === "ON", n);
  assert.equal(on.text, "on");
  assert.equal(on.by, "mqtt ledctl/desk/set");
  assert.equal((await dev.waitForEdges(2)).at(-1)?.level, true);

  n = watch.all.length;
  await watch.send("ledctl/desk/set", '{"state":"OFF"}');
  await watch.state("desk", (s) => s.state === "OFF", n);
  assert.equal((await dev.waitForEdges(3)).at(-1)?.level, false);

  n = watch.all.length;
  let from = (await dev.trace()).length;
  await watch.send("ledctl/desk/set", '{"state":"ON","effect":"blink 2 Hz"}');
  const blink2 = await watch.state("desk", (s) => s.hz === 2, n);
  assert.equal(blink2.effect, "blink 2 Hz");
  await assertBlinks(dev, 2, from);

  n = watch.all.length;
  from = (await dev.trace()).length;
  await watch.send("ledctl/desk/set", "blink 2,5");
  const blink25 = await watch.state("desk", (s) => s.hz === 2.5, n);
  assert.equal(blink25.effect, "blink");
  assert.equal(blink25.text, "blink 2.5 Hz");
  await assertBlinks(dev, 2.5, from);

  // flash short: 4 Hz for 2 s, then back to 2.5 Hz.
  n = watch.all.length;
  from = (await dev.trace()).length;
  await watch.send("ledctl/desk/set", '{"flash":"short"}');
  await watch.state("desk", (s) => s.hz === 4, n);
  await assertBlinks(dev, 4, from);
  const back = await watch.state("desk", (s) => s.hz === 2.5, n);
  assert.match(back.by, /flash short/);
  const edges = await dev.trace();
  const start = edges.findLastIndex((e, i) => i > 0 && e.t - edges[i - 1].t < 150);
  assert.ok(start > from, "the flash's 4 Hz edges are in the trace");
});

Deno.test("bad commands are answered on /error and never applied; the server keeps serving", async () => {
  await using broker = await Mosquitto.start();
  await using watch = await Messages.connect(broker.url);
  await using dev = await device(broker.url, "hall");
  await watch.waitFor((m) => m.topic === "ledctl/hall/availability" && m.text === "online");
  let n = watch.all.length;
  await watch.send("ledctl/hall/set", "on");
  await watch.state("hall", (s) => s.text === "on", n);
  const edges = (await dev.waitForEdges(2)).length;

  const enc = new TextEncoder();
  const bad: [string, string | Uint8Array, RegExp][] = [
    ["out of range", "blink 9000", /^ERR bad-argument .*out of range/],
    ["unknown verb", "dance", /^ERR unknown-command /],
    ["not JSON", '{"state":', /^ERR bad-argument not valid JSON/],
    ["not a command", '{"state":"MAYBE"}', /^ERR bad-argument "state" must be/],
    ["status", "status", /^ERR unknown-command "status" has no meaning over MQTT/],
    ["over 1 KiB", enc.encode("blink 1 ".repeat(256)), /^ERR line-too-long /],
    ["not UTF-8", new Uint8Array([0xff, 0xfe, 0x00]), /^ERR bad-encoding /],
  ];
  let lines = dev.stdout.all.length;
  for (const [what, payload, reply] of bad) {
    n = watch.all.length;
    await watch.send("ledctl/hall/set", payload);
    const e = await watch.waitFor((m) => m.topic === "ledctl/hall/error", n);
    const body = JSON.parse(e.text);
    assert.match(body.error, reply, what);
    assert.equal(typeof body.command, "string", what);
    assert.ok(e.bytes.length < 1024, `${what}: the answer is bounded`);
    const logged = await dev.stdout.waitFor(
      /mqtt ledctl\/hall\/set: refused .* → (ERR .*)$/,
      5_000,
      lines,
    );
    assert.match(logged[1], reply, `${what} is logged`);
    lines = dev.stdout.all.length;
  }
  // Never applied: same LED, same trace; still serving, over MQTT and TCP.
  assert.equal((await readTraceIfAny(dev.tracePath!)).length, edges);
  n = watch.all.length;
  await watch.send("ledctl/hall/set", "off");
  await watch.state("hall", (s) => s.text === "off", n);
  using c = await RawClient.connect(dev.port);
  assert.equal(await c.ask("status"), "OK off");
});

Deno.test("kill -9 → offline (the will); broker restarted → back online, state and discovery again, no command lost", async () => {
  await using broker = await Mosquitto.start();
  {
    await using watch = await Messages.connect(broker.url);
    await using doomed = await device(broker.url, "doomed");
    await using survivor = await device(broker.url, "survivor", ["--group", "g"]);
    await watch.waitFor((m) => m.topic === "ledctl/doomed/availability" && m.text === "online");
    await watch.waitFor((m) => m.topic === "ledctl/survivor/availability" && m.text === "online");
    const n = watch.all.length;
    await watch.send("ledctl/survivor/set", "blink 2");
    await watch.state("survivor", (s) => s.hz === 2, n);

    await doomed.stop("SIGKILL");
    const will = await watch.waitFor((m) => m.topic === "ledctl/doomed/availability", n);
    assert.equal(will.text, "offline");

    // The broker goes away and comes back with nothing retained (persistence off).
    const before = survivor.stdout.all.length;
    await broker.restart();
    await using after = await Messages.connect(broker.url);
    await after.waitFor((m) => m.topic === "ledctl/survivor/availability" && m.text === "online");
    const state = await after.state("survivor");
    assert.equal(state.text, "blink 2 Hz");
    await after.waitFor((m) => m.topic === "homeassistant/light/ledctl_survivor/config");
    await survivor.stdout.waitFor(/mqtt: connected again/, 10_000, before);
    const lost = survivor.stdout.all.slice(before).filter((l) => /mqtt: /.test(l));
    assert.equal(lost.filter((l) => /lost the broker/.test(l)).length, 1, lost.join("\n"));

    // A command sent once it is back is applied, to the device and to its group.
    let m = after.all.length;
    let from = (await survivor.trace()).length;
    await after.send("ledctl/survivor/set", "blink 5");
    await after.state("survivor", (s) => s.hz === 5, m);
    await assertBlinks(survivor, 5, from);
    m = after.all.length;
    from = (await survivor.trace()).length;
    await after.send("ledctl/group/g/set", '{"state":"ON","effect":"blink 1 Hz"}');
    await after.state("survivor", (s) => s.hz === 1, m);
    await survivor.waitForEdges(from + 2);

    // The TCP side never noticed.
    using c = await RawClient.connect(survivor.port);
    assert.equal(await c.ask("status"), "OK blink 1 Hz");
  }
});

Deno.test("password auth: the right one from a file or LEDCTL_MQTT_PASSWORD, never shown", async () => {
  await using broker = await Mosquitto.start({
    users: { kitchen: "s3cret-kitchen-pw", desk: "s3cret-desk-pw" },
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, "s3cret-kitchen-pw\n");
    await using watch = await Messages.connect(broker.url, ["ledctl/#"], {
      username: "desk",
      password: "s3cret-desk-pw",
    });
    const userUrl = broker.url.replace("mqtt://", "mqtt://kitchen@");
    await using a = await device(userUrl, "kitchen", ["--mqtt-password-file", `${dir}/pw`]);
    await using b = await device(broker.url, "desk", ["--mqtt-user", "desk"], {
      LEDCTL_MQTT_PASSWORD: "s3cret-desk-pw",
    });
    await watch.waitFor((m) => m.topic === "ledctl/kitchen/availability" && m.text === "online");
    await watch.waitFor((m) => m.topic === "ledctl/desk/availability" && m.text === "online");
    const logs = [...a.stdout.all, ...a.stderr.all, ...b.stdout.all, ...b.stderr.all].join("\n");
    assert.doesNotMatch(logs, /s3cret/);
    assert.doesNotMatch(logs, /kitchen@/, "the URL is logged without its user");
    assert.match(logs, new RegExp(`mqtt: connected to ${broker.url} as kitchen`));

    // Where a password must not be: on the command line, in the URL; and config never shows it.
    const flag = await runLedctl(["serve", "--mqtt", broker.url, "--mqtt-password", "x"]);
    assert.equal(flag.code, 2);
    assert.match(
      flag.stderr,
      /--mqtt-password is not taken on the command line .*--mqtt-password-file/,
    );
    const inUrl = await runLedctl(["serve", "--mqtt", broker.url.replace("//", "//u:pw@")]);
    assert.equal(inUrl.code, 2);
    assert.match(inUrl.stderr, /a password in the URL is refused/);
    const config = await runLedctl(["config", "--config", "none", "--mqtt", userUrl], {
      LEDCTL_MQTT_PASSWORD: "s3cret-kitchen-pw",
    });
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /^# mqtt-password = \(set, not shown\) +# LEDCTL_MQTT_PASSWORD$/m);
    assert.doesNotMatch(config.stdout, /s3cret/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a wrong password: one clear error line, and no retry before the 30 s backoff", async () => {
  await using broker = await Mosquitto.start({ users: { kitchen: "right-password" } });
  const t0 = Date.now();
  await using dev = await device(broker.url, "kitchen", ["--mqtt-user", "kitchen"], {
    LEDCTL_MQTT_PASSWORD: "wrong-password",
  });
  const error =
    /mqtt: the broker at \S+ refused ledctl's credentials \(Not authorized; user "kitchen"\): check the user .*--mqtt-password-file FILE or LEDCTL_MQTT_PASSWORD/;
  await dev.stdout.waitFor(error, 10_000);
  assert.ok(Date.now() - t0 < 10_000);
  // The next attempt is the backoff's next instant: 24 to 30 s later (30 s, less jitter).
  const attempt = /New connection from/;
  const first = await broker.waitForLog(attempt);
  const firstAt = Date.now();
  await broker.waitForLog(attempt, 40_000, first + 1);
  const gap = Date.now() - firstAt;
  assert.ok(gap >= 23_000, `the second attempt came ${gap} ms after the first`);
  assert.equal(broker.log.filter((l) => attempt.test(l)).length, 2);
  assert.equal(dev.stdout.all.filter((l) => error.test(l)).length, 1, dev.stdout.all.join("\n"));
  // Still serving meanwhile.
  using c = await RawClient.connect(dev.port);
  assert.equal(await c.ask("on"), "OK on");
});

Deno.test("TLS: a private CA with --mqtt-ca works; without it, one clear error line", async () => {
  await using broker = await Mosquitto.start({ tls: true });
  await using watch = await Messages.connect(broker.url, ["ledctl/#"], {
    ca: await Deno.readTextFile(broker.caFile!),
  });
  await using good = await device(broker.url, "secure", ["--mqtt-ca", broker.caFile!]);
  await watch.waitFor((m) => m.topic === "ledctl/secure/availability" && m.text === "online");
  const n = watch.all.length;
  await watch.send("ledctl/secure/set", "on");
  await watch.state("secure", (s) => s.text === "on", n);
  assert.equal((await good.waitForEdges(2)).at(-1)?.level, true);

  await using bad = await device(broker.url, "untrusted");
  const error =
    /mqtt: the broker's certificate at mqtts:\/\/localhost:\d+ is not trusted \(.*\): pass the CA that signed it with --mqtt-ca FILE/;
  await bad.stdout.waitFor(error, 10_000);
  // Retried with backoff (0.5 s, 1 s, 2 s): three more refused handshakes, still one line.
  let at = -1;
  for (let i = 0; i < 4; i++) at = await broker.waitForLog(/unknown ca/, 15_000, at + 1);
  assert.equal(bad.stdout.all.filter((l) => error.test(l)).length, 1, bad.stdout.all.join("\n"));
  assert.ok(!watch.all.some((m) => m.topic.startsWith("ledctl/untrusted/")));
});
