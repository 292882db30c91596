/**
 * The MQTT bridge in one process: a real Mosquitto (tests/mosquitto.ts), a
 * real LedService on the mock LED, the bridge's time (backoff, flash,
 * discovery delay) on a fake clock. The end-to-end tests with real
 * `ledctl serve` processes are in tests/mqtt_test.ts.
 */
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { describeProblem, FLASH_HZ, MqttBridge, reconnectDelay } from "./bridge.ts";
import { parseStatePayload } from "./topics.ts";
import { LedService } from "../../core/led_service.ts";
import { openLed } from "../../hal/select.ts";
import { FakeClock, type TimerId } from "../../hal/clock.ts";
import { Mosquitto } from "../../tests/mosquitto.ts";
import { metricsFor } from "../metrics.ts";

/** A fake clock that also says when a timer is set, and for how long. */
class WatchedClock extends FakeClock {
  #waiters: ((ms: number) => void)[] = [];
  #set: number[] = [];
  override setTimeout(fn: () => void, ms: number): number {
    const id = super.setTimeout(fn, ms);
    const w = this.#waiters.shift();
    if (w) w(ms);
    else this.#set.push(ms);
    return id;
  }
  override clearTimeout(id: TimerId): void {
    super.clearTimeout(id);
  }
  /** The delay of the next timer set (one already set and not yet taken, or the next one), within `ms`. */
  nextTimer(ms = 10_000): Promise<number> {
    const now = this.#set.shift();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no timer was set within ${ms} ms`)), ms);
      this.#waiters.push((d) => (clearTimeout(t), resolve(d)));
    });
  }
}

/** Every message on the topics a test subscribed to, with waits for the one it expects. */
class Messages {
  readonly all: { topic: string; text: string; retain: boolean }[] = [];
  #waiters: (() => void)[] = [];
  constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      this.all.push({ topic, text: new TextDecoder().decode(payload), retain: packet.retain });
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  static async connect(url: string, topics: string[]): Promise<Messages> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const m = new Messages(client);
    await client.subscribeAsync(topics, { qos: 1 });
    return m;
  }
  /** The first message at index ≥ `since` for which `match` holds, within `ms`. */
  async waitFor(
    match: (m: { topic: string; text: string; retain: boolean }) => boolean,
    since = 0,
    ms = 10_000,
  ) {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.all.slice(since).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no such message within ${ms} ms; saw ${JSON.stringify(this.all)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }
  async [Symbol.asyncDispose]() {
    await this.client.endAsync(true);
  }
}

/** A port nothing listens on (listened on for a moment, then closed). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function withService(
  fn: (service: LedService, lines: string[]) => Promise<void>,
): Promise<void> {
  const lines: string[] = [];
  const service = new LedService(await openLed("mock"), { log: (l) => lines.push(l) });
  try {
    await fn(service, lines);
  } finally {
    await service.close();
  }
}

Deno.test("the backoff: 0.5 s doubling to 30 s, jitter only shortens a wait", () => {
  const none = { random: () => 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 50, 5000].map((a) => reconnectDelay(a, none)),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000],
  );
  const most = { random: () => 0.999999 };
  assert.equal(reconnectDelay(0, most), 400);
  assert.equal(reconnectDelay(10, most), 24000);
  for (let a = 0; a < 12; a++) {
    const d = reconnectDelay(a);
    const base = Math.min(30_000, 500 * 2 ** a);
    assert.ok(d >= base * 0.8 && d <= base, `attempt ${a}: ${d}`);
  }
  assert.throws(() => reconnectDelay(-1), RangeError);
  assert.throws(() => reconnectDelay(0.5), RangeError);
  assert.throws(() => reconnectDelay(0, { jitter: 1 }), RangeError);
  assert.throws(() => reconnectDelay(0, { initialMs: 0 }), RangeError);
});

Deno.test("connection problems are named with what to check", () => {
  const ctx = { url: "mqtts://localhost:8883", user: "dev", password: true };
  const err = (message: string, code?: unknown) => Object.assign(new Error(message), { code });
  const auth = describeProblem(err("Connection refused: Not authorized", 5), ctx);
  assert.equal(auth.kind, "auth");
  assert.match(auth.line, /user "dev"/);
  assert.match(auth.line, /--mqtt-password-file/);
  assert.match(auth.line, /LEDCTL_MQTT_PASSWORD/);
  assert.equal(
    describeProblem(err("Connection refused: Bad username or password", 4), ctx).kind,
    "auth",
  );
  const tls = describeProblem(
    err("self-signed certificate in certificate chain", "SELF_SIGNED_CERT_IN_CHAIN"),
    ctx,
  );
  assert.equal(tls.kind, "tls");
  assert.match(tls.line, /--mqtt-ca FILE/);
  assert.match(
    describeProblem(
      err("unable to verify the first certificate", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"),
      {
        ...ctx,
        caFile: "/etc/ledctl/ca.crt",
      },
    ).line,
    /--mqtt-ca \/etc\/ledctl\/ca\.crt did not sign it/,
  );
  assert.equal(
    describeProblem(err("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED"), ctx).kind,
    "unreachable",
  );
  assert.equal(
    describeProblem(err("getaddrinfo ENOTFOUND x.invalid", "ENOTFOUND"), ctx).kind,
    "unreachable",
  );
  assert.equal(describeProblem(undefined, ctx).kind, "other");
});

Deno.test("an unreachable broker: retries at 0.5 s doubling to 30 s, one log line, the LED works", async () => {
  await withService(async (service) => {
    const clock = new WatchedClock();
    const logged: string[] = [];
    const url = `mqtt://127.0.0.1:${closedPort()}`;
    const bridge = new MqttBridge(service, {
      url,
      id: "dev1",
      version: "0.1.0",
      clock,
      random: () => 0,
      log: (l) => logged.push(l),
    });
    try {
      await bridge.start();
      const delays: number[] = [];
      for (let i = 0; i < 9; i++) {
        const d = await clock.nextTimer();
        delays.push(d);
        clock.advance(d - 1);
        assert.equal(clock.pending, 1, "the retry is not due yet");
        clock.advance(1);
        assert.equal(clock.pending, 0, "the retry is made at its instant");
      }
      assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
      assert.equal(logged.length, 1, logged.join("\n"));
      assert.match(logged[0], new RegExp(`cannot reach the broker at ${url} .*ECONNREFUSED`));
      await service.request({ mode: "on" }, "test");
      assert.deepEqual(service.state, { mode: "on" });
      assert.equal(bridge.connected, false);
      assert.match(await metricsFor(service).render(), /^ledctl_mqtt_connected 0$/m);
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("a refused password: one error line, then a retry every 30 s, silently", async () => {
  await using broker = await Mosquitto.start({ users: { dev: "right-password" } });
  await withService(async (service) => {
    const clock = new WatchedClock();
    const logged: string[] = [];
    const bridge = new MqttBridge(service, {
      url: broker.url,
      id: "dev2",
      username: "dev",
      password: "wrong-password",
      version: "0.1.0",
      clock,
      random: () => 0,
      log: (l) => logged.push(l),
    });
    try {
      await bridge.start();
      for (let i = 0; i < 4; i++) {
        const d = await clock.nextTimer();
        assert.equal(d, 30_000);
        clock.advance(d);
      }
      assert.equal(logged.length, 1, logged.join("\n"));
      assert.match(logged[0], /refused ledctl's credentials \(Not authorized; user "dev"\)/);
      assert.match(logged[0], /--mqtt-password-file FILE or LEDCTL_MQTT_PASSWORD/);
      assert.doesNotMatch(logged.join("\n"), /wrong-password/);
    } finally {
      await bridge.close();
    }
  });
});

Deno.test("state, availability and discovery on connect; commands; refusals on /error", async () => {
  await using broker = await Mosquitto.start();
  await withService(async (service, lines) => {
    await using watch = await Messages.connect(broker.url, ["ledctl/#", "homeassistant/#"]);
    const clock = new WatchedClock();
    const bridge = new MqttBridge(service, {
      url: broker.url,
      id: "dev3",
      groups: ["ground"],
      version: "9.9.9",
      clock,
      random: () => 0.5,
      log: (l) => lines.push(l),
    });
    // A retained command, left on the broker: it is refused (it would run again at each
    // reconnection), and clearing it (an empty retained message) is no command.
    await watch.client.publishAsync("ledctl/dev3/set", "blink 7", { qos: 1, retain: true });
    try {
      await bridge.start();
      await watch.waitFor((m) => m.topic === "ledctl/dev3/availability" && m.text === "online");
      const r = await watch.waitFor((m) => m.topic === "ledctl/dev3/error");
      assert.match(r.text, /retained command/);
      await watch.client.publishAsync("ledctl/dev3/set", "", { qos: 1, retain: true });
      const state = await watch.waitFor((m) => m.topic === "ledctl/dev3/state");
      assert.deepEqual(parseStatePayload(state.text)?.text, "off");
      assert.deepEqual(parseStatePayload(state.text)?.groups, ["ground"]);
      assert.deepEqual(parseStatePayload(state.text)?.version, "9.9.9");
      const disco = await watch.waitFor((m) =>
        m.topic === "homeassistant/light/ledctl_dev3/config"
      );
      assert.equal(JSON.parse(disco.text).command_topic, "ledctl/dev3/set");
      assert.match(await metricsFor(service).render(), /^ledctl_mqtt_connected 1$/m);

      // A group command is applied, named after its topic, and confirmed.
      let n = watch.all.length;
      await watch.client.publishAsync("ledctl/group/ground/set", "blink 2,5", { qos: 1 });
      const s1 = await watch.waitFor((m) => m.topic === "ledctl/dev3/state", n);
      assert.equal(parseStatePayload(s1.text)?.text, "blink 2.5 Hz");
      assert.equal(parseStatePayload(s1.text)?.by, "mqtt ledctl/group/ground/set");
      assert.deepEqual(service.state, { mode: "blink", hz: 2.5 });

      // The same again changes nothing, and is confirmed all the same.
      n = watch.all.length;
      await watch.client.publishAsync("ledctl/all/set", '{"state":"ON","effect":"blink 2.5"}', {
        qos: 1,
      });
      await watch.waitFor((m) => m.topic === "ledctl/dev3/state", n);

      // Another group's command is not for this device; a refused one never applies.
      n = watch.all.length;
      await watch.client.publishAsync("ledctl/group/upstairs/set", "off", { qos: 1 });
      await watch.client.publishAsync("ledctl/dev3/set", "blink 9000", { qos: 1 });
      const e = await watch.waitFor((m) => m.topic === "ledctl/dev3/error", n);
      assert.match(JSON.parse(e.text).error, /^ERR bad-argument .*out of range/);
      assert.equal(JSON.parse(e.text).command, "blink 9000");
      assert.deepEqual(service.state, { mode: "blink", hz: 2.5 });
      assert.ok(lines.some((l) => /mqtt ledctl\/dev3\/set: refused "blink 9000"/.test(l)));
      const metrics = await metricsFor(service).render();
      assert.match(metrics, /transport="mqtt",verb="blink",result="ok"} 2/);
      assert.match(metrics, /transport="mqtt",verb="invalid",result="bad-argument"} 2/);

      // Home Assistant comes back: discovery again, after the random delay (0.5 × 5 s).
      n = watch.all.length;
      await watch.client.publishAsync("homeassistant/status", "online", { qos: 1 });
      assert.equal(await clock.nextTimer(), 2500);
      clock.advance(2500);
      await watch.waitFor((m) => m.topic === "homeassistant/light/ledctl_dev3/config", n);
    } finally {
      await bridge.close();
    }
    await watch.waitFor((m) => m.topic === "ledctl/dev3/availability" && m.text === "offline");
  });
});

Deno.test("flash blinks for 2 s (short) then comes back, unless someone changed it", async () => {
  await using broker = await Mosquitto.start();
  await withService(async (service) => {
    await using watch = await Messages.connect(broker.url, ["ledctl/dev4/state"]);
    const clock = new WatchedClock();
    const bridge = new MqttBridge(service, {
      url: broker.url,
      id: "dev4",
      version: "0.1.0",
      clock,
      log: () => {},
    });
    try {
      await service.request({ mode: "on" }, "test");
      await bridge.start();
      await watch.waitFor((m) => parseStatePayload(m.text)?.text === "on");
      let n = watch.all.length;
      await watch.client.publishAsync("ledctl/dev4/set", '{"flash":"short"}', { qos: 1 });
      await watch.waitFor((m) => parseStatePayload(m.text)?.hz === FLASH_HZ, n);
      assert.equal(await clock.nextTimer(), 2000);
      clock.advance(1999);
      assert.deepEqual(service.state, { mode: "blink", hz: FLASH_HZ });
      n = watch.all.length;
      clock.advance(1);
      await watch.waitFor((m) => parseStatePayload(m.text)?.text === "on", n);
      assert.deepEqual(service.state, { mode: "on" });

      // A change meanwhile wins over the flash's end.
      n = watch.all.length;
      await watch.client.publishAsync("ledctl/dev4/set", '{"flash":"long"}', { qos: 1 });
      await watch.waitFor((m) => parseStatePayload(m.text)?.hz === FLASH_HZ, n);
      assert.equal(await clock.nextTimer(), 10_000);
      await service.request({ mode: "off" }, "someone else");
      clock.advance(10_000);
      await service.request({ mode: "off" }, "queue flush"); // any restore would be queued before
      assert.deepEqual(service.state, { mode: "off" });
    } finally {
      await bridge.close();
    }
  });
});
