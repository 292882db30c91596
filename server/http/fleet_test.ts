/**
 * The fleet routes (`GET /api/fleet`, `POST /api/fleet/<id>`) and events
 * over real HTTP, with a real {@linkcode FleetView} on a real Mosquitto:
 * the devices are MQTT clients publishing the contract's topics, and what
 * the API publishes is read back from the broker.
 */
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { startHttpServer } from "./server.ts";
import { fleetLine } from "./fleet.ts";
import { commandFromFields } from "./api.ts";
import { LedService } from "../../core/led_service.ts";
import { openLed } from "../../hal/select.ts";
import { FleetView } from "../mqtt/fleet_view.ts";
import { statePayload } from "../mqtt/topics.ts";
import type { LedState } from "../../core/state.ts";
import { haveMosquitto, Mosquitto } from "../../tests/mosquitto.ts";

const noBroker = haveMosquitto()
  ? undefined
  : "/usr/sbin/mosquitto is missing (apt-get install mosquitto)";

function brokerTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: noBroker ? `${name} (skipped: ${noBroker})` : name,
    ignore: noBroker !== undefined,
    // MQTT.js keeps timers (keepalive) between calls; each test ends its clients.
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** What a device publishes: its state and its availability, retained as the bridge does. */
async function device(
  client: MqttClient,
  id: string,
  state: LedState | undefined,
  online: boolean | undefined,
  groups: string[] = [],
): Promise<void> {
  if (state) {
    const payload = statePayload(state, {
      by: `client #1 127.0.0.1:5000`,
      groups,
      changed: "2026-01-02T03:04:05.000Z",
      version: "0.1.0",
    });
    await client.publishAsync(`ledctl/${id}/state`, JSON.stringify(payload), {
      qos: 1,
      retain: true,
    });
  }
  if (online !== undefined) {
    await client.publishAsync(`ledctl/${id}/availability`, online ? "online" : "offline", {
      qos: 1,
      retain: true,
    });
  }
}

/**
 * A broker, three devices on it (`kitchen` is this server), a FleetView
 * that has heard them, the HTTP server with it, and a client that hears
 * every command published (`sets`).
 */
async function setup(options: { token?: string } = {}) {
  const broker = await Mosquitto.start();
  const lines: string[] = [];
  const devices = await mqtt.connectAsync(broker.url, { clientId: "devices" });
  await device(devices, "kitchen", { mode: "on" }, true, ["ground"]);
  await device(devices, "hall", { mode: "blink", hz: 2.5 }, true, ["ground", "front"]);
  await device(devices, "attic", { mode: "off" }, false);
  await device(devices, "porch", undefined, true); // no state heard yet
  const sets: { topic: string; payload: string }[] = [];
  const setWaiters: (() => void)[] = [];
  const listener = await mqtt.connectAsync(broker.url, { clientId: "listener" });
  listener.on("message", (topic, payload) => {
    sets.push({ topic, payload: payload.toString() });
    for (const w of setWaiters.splice(0)) w();
  });
  await listener.subscribeAsync("ledctl/#", { qos: 1 });
  const viewClient = await mqtt.connectAsync(broker.url, { clientId: "view" });
  const fleet = new FleetView(viewClient, "ledctl");
  await fleet.start();
  await fleet.sync();
  const service = new LedService(await openLed("mock"), { log: (l) => lines.push(l) });
  const http = await startHttpServer(service, {
    port: 0,
    token: options.token,
    log: (l) => lines.push(l),
    fleet,
    fleetSelf: "kitchen",
  });
  return {
    base: `http://127.0.0.1:${http.port}`,
    port: http.port,
    lines,
    fleet,
    devices,
    /** Commands (`…/set` messages) heard so far. */
    sets: () => sets.filter((m) => m.topic.endsWith("/set")),
    /** Waits until `n` commands were heard (bounded). */
    async waitForSets(n: number, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (this.sets().length < n) {
        if (Date.now() > deadline) {
          throw new Error(`heard ${JSON.stringify(this.sets())}, wanted ${n} commands`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          setWaiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
      return this.sets();
    },
    async [Symbol.asyncDispose]() {
      await http.close();
      await service.close();
      await Promise.all([devices, listener, viewClient].map((c) => c.endAsync(true)));
      await broker[Symbol.asyncDispose]();
    },
  };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

brokerTest("GET /api/fleet lists every device, this one first, then by id", async () => {
  await using s = await setup();
  const r = await fetch(`${s.base}/api/fleet`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const body = await r.json();
  assert.equal(body.self, "kitchen");
  assert.equal(body.total, 4);
  assert.deepEqual(body.devices.map((d: { id: string }) => d.id), [
    "kitchen",
    "attic",
    "hall",
    "porch",
  ]);
  const [kitchen, attic, hall, porch] = body.devices;
  assert.deepEqual(kitchen, {
    id: "kitchen",
    self: true,
    online: true,
    state: { mode: "on" },
    text: "on",
    groups: ["ground"],
    by: "client #1 127.0.0.1:5000",
    changed: "2026-01-02T03:04:05.000Z",
  });
  assert.deepEqual(
    { ...hall, by: undefined, changed: undefined },
    {
      id: "hall",
      self: false,
      online: true,
      state: { mode: "blink", hz: 2.5 },
      text: "blink 2.5 Hz",
      groups: ["ground", "front"],
      by: undefined,
      changed: undefined,
    },
  );
  assert.equal(attic.online, false);
  assert.deepEqual(attic.state, { mode: "off" });
  assert.deepEqual({ ...porch }, {
    id: "porch",
    self: false,
    online: true,
    state: null,
    text: null,
    groups: [],
    by: "",
    changed: "",
  });
});

brokerTest("POST /api/fleet/<id> publishes the checked command to that device: 202", async () => {
  await using s = await setup();
  const r = await post(`${s.base}/api/fleet/hall`, { command: "blink", hz: "2,5" });
  assert.equal(r.status, 202);
  const body = await r.json();
  assert.equal(body.ok, true);
  assert.equal(body.device, "hall");
  assert.equal(body.sent, "blink 2.5");
  assert.match(body.client, /^web #1 127\.0\.0\.1:\d+$/);
  // A form posts the same fields; French verbs work; on ignores the frequency field.
  const form = await fetch(`${s.base}/api/fleet/attic-2`, {
    method: "POST",
    body: new URLSearchParams({ command: "eteindre", hz: "" }),
  });
  assert.equal(form.status, 404, "a device never heard of"); // and nothing published
  await device(s.devices, "attic-2", { mode: "on" }, true);
  await s.fleet.sync();
  const again = await fetch(`${s.base}/api/fleet/attic-2`, {
    method: "POST",
    body: new URLSearchParams({ command: "eteindre", hz: "" }),
  });
  assert.equal(again.status, 202, await again.clone().text());
  assert.equal((await again.json()).sent, "off");
  const sets = await s.waitForSets(2);
  assert.deepEqual(sets, [
    { topic: "ledctl/hall/set", payload: "blink 2.5" },
    { topic: "ledctl/attic-2/set", payload: "off" },
  ]);
  assert.ok(
    s.lines.some((l) => /^web: fleet hall ← sent blink 2\.5 \(web #1 127\.0\.0\.1:\d+\)$/.test(l)),
    s.lines.join("\n"),
  );
});

brokerTest("a bad command, id or device is refused and never published", async () => {
  await using s = await setup();
  const cases: [string, unknown, number, RegExp][] = [
    ["hall", { command: "blink", hz: "vite" }, 400, /^ERR bad-argument "vite" is not a frequency/],
    ["hall", { command: "blink", hz: "1000000000" }, 400, /^ERR bad-argument .*out of range/],
    ["hall", { command: "dance" }, 400, /^ERR unknown-command/],
    ["hall", { command: "status" }, 400, /^ERR unknown-command "status" has no meaning over MQTT/],
    ["hall", { command: "on\nblink 9" }, 400, /^ERR bad-encoding/],
    ["Hall", { command: "on" }, 400, /must be 1 to 64 of a-z/],
    ["all", { command: "on" }, 400, /reserved|must be/],
    ["group%3Aground", { command: "on" }, 400, /must be 1 to 64/],
    ["a%2Fb", { command: "on" }, 400, /must be 1 to 64/],
    ["%0Afake", { command: "on" }, 400, /must be 1 to 64/],
    ["nobody", { command: "on" }, 404, /no device "nobody"/],
    ["attic", { command: "on" }, 409, /"attic" is offline/],
  ];
  for (const [id, fields, status, text] of cases) {
    const r = await post(`${s.base}/api/fleet/${id}`, fields);
    const body = await r.json();
    assert.equal(r.status, status, `${id} ${JSON.stringify(fields)}: ${JSON.stringify(body)}`);
    assert.equal(body.ok, false);
    assert.match(body.reply ?? body.error, text, `${id} ${JSON.stringify(fields)}`);
  }
  // The same ERR text a TCP client gets for the same line.
  const tcpText = commandFromFields({ command: "blink", hz: "vite" });
  assert.equal(tcpText.verb, "error");
  assert.deepEqual(fleetLine({ command: "blink", hz: "vite" }), {
    ok: false,
    reply: `ERR ${tcpText.code} ${tcpText.text}`,
  });
  // No log line forged by an id holding a newline.
  assert.ok(s.lines.every((l) => !l.startsWith("fake")), s.lines.join("\n"));
  // Nothing was published: the first command heard is the one sent now.
  assert.equal((await post(`${s.base}/api/fleet/hall`, { command: "off" })).status, 202);
  assert.deepEqual(await s.waitForSets(1), [{ topic: "ledctl/hall/set", payload: "off" }]);
});

brokerTest("the fleet routes need the token and refuse other sites' pages", async () => {
  const token = "s3cret-token";
  await using s = await setup({ token });
  assert.equal((await fetch(`${s.base}/api/fleet`)).status, 401);
  assert.equal((await post(`${s.base}/api/fleet/hall`, { command: "on" })).status, 401);
  const forged = await post(`${s.base}/api/fleet/hall`, { command: "on" }, {
    authorization: `Bearer ${token}`,
    origin: "http://evil.example",
    "sec-fetch-site": "cross-site",
  });
  assert.equal(forged.status, 403);
  await forged.body?.cancel();
  const page = await (await fetch(`${s.base}/`)).text();
  assert.match(page, /<section id="fleet"[^>]* hidden>/, "signed out: no fleet section");
  const auth = { authorization: `Bearer ${token}` };
  const list = await fetch(`${s.base}/api/fleet`, { headers: auth });
  assert.equal(list.status, 200);
  assert.equal((await list.json()).total, 4);
  assert.equal((await post(`${s.base}/api/fleet/hall`, { command: "on" }, auth)).status, 202);
  assert.deepEqual(await s.waitForSets(1), [{ topic: "ledctl/hall/set", payload: "on" }]);
});

brokerTest("the event stream starts with the fleet and follows each device's change", async () => {
  await using s = await setup();
  const page = await (await fetch(`${s.base}/`)).text();
  assert.match(page, /<section id="fleet"[^>]*aria-labelledby="fleet-title" >/);
  const r = await fetch(`${s.base}/api/events`);
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const until = async (re: RegExp) => {
    const deadline = Date.now() + 5_000;
    while (!re.test(text)) {
      if (Date.now() > deadline) throw new Error(`no ${re} in:\n${text}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended; read:\n${text}`);
      text += value;
    }
    return re.exec(text)!;
  };
  const first = await until(/event: fleet\ndata: (.*)\n\n/);
  const list = JSON.parse(first[1]);
  assert.equal(list.self, "kitchen");
  assert.equal(list.total, 4);
  assert.deepEqual(list.devices.map((d: { id: string }) => d.id), [
    "kitchen",
    "attic",
    "hall",
    "porch",
  ]);
  // The attic comes online and is switched on; a new device appears.
  await device(s.devices, "attic", { mode: "on" }, true);
  await device(s.devices, "barn", { mode: "blink", hz: 5 }, true);
  const barn = await until(/event: device\ndata: (\{"device":\{"id":"barn".*"online":true.*)\n\n/);
  const event = JSON.parse(barn[1]);
  assert.equal(event.total, 5);
  assert.deepEqual(event.device.state, { mode: "blink", hz: 5 });
  assert.match(
    text,
    /event: device\ndata: \{"device":\{"id":"attic","self":false,"online":true,"state":\{"mode":"on"\}/,
  );
  await reader.cancel();
});

Deno.test("without a fleet, the fleet routes answer 404 and the page has no fleet section", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const http = await startHttpServer(service, { port: 0, log: () => {} });
  try {
    const base = `http://127.0.0.1:${http.port}`;
    const list = await fetch(`${base}/api/fleet`);
    assert.equal(list.status, 404);
    assert.match((await list.json()).error, /without --mqtt/);
    const send = await post(`${base}/api/fleet/hall`, { command: "on" });
    assert.equal(send.status, 404);
    await send.body?.cancel();
    assert.deepEqual(service.state, { mode: "off" });
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /<section id="fleet"[^>]* hidden>/);
    const events = await fetch(`${base}/api/events`);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("event: viewers")) text += (await reader.read()).value;
    await reader.cancel();
    assert.doesNotMatch(text, /event: fleet/);
  } finally {
    await http.close();
    await service.close();
  }
});

brokerTest(
  "a big fleet: the stream sends the first 500 and stays open; the API lists all",
  async () => {
    await using s = await setup();
    const n = 600;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from(
          { length: 50 },
          (_, k) =>
            device(s.devices, `dev-${String(i + k).padStart(4, "0")}`, { mode: "on" }, true),
        ),
      );
    }
    await s.fleet.sync();
    const all = await (await fetch(`${s.base}/api/fleet`)).json();
    assert.equal(all.total, n + 4);
    assert.equal(all.devices.length, n + 4);
    const r = await fetch(`${s.base}/api/events`);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const until = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) {
          throw new Error(`the stream ended; read ${text.length} chars:\n${text.slice(-500)}`);
        }
        text += value;
      }
      return re.exec(text)!;
    };
    const list = JSON.parse((await until(/event: fleet\ndata: (.*)\n\n/))[1]);
    assert.equal(list.total, n + 4);
    assert.equal(list.devices.length, 500);
    assert.equal(list.devices[0].id, "kitchen");
    // Still open: the next change arrives.
    await device(s.devices, "dev-0599", { mode: "off" }, true);
    await until(/event: device\ndata: \{"device":\{"id":"dev-0599".*"state":\{"mode":"off"\}/);
    await reader.cancel();
  },
);
