/**
 * FleetView against a real Mosquitto (tests/mosquitto.ts): the retained
 * messages are all there after `sync()`, without a fixed wait; a device's
 * refusals reach `subscribeErrors`; listeners hear which topic changed.
 * The messages are published by a plain MQTT client, as devices would.
 */
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { haveMosquitto, Mosquitto } from "../../tests/mosquitto.ts";
import { type FleetChange, type FleetError, FleetView } from "./fleet_view.ts";
import { FakeClock } from "../../hal/clock.ts";

const ignore = !haveMosquitto();

function payload(text: string, groups: string[] = []): string {
  return JSON.stringify({
    state: text === "off" ? "OFF" : "ON",
    text,
    by: "test",
    groups,
    changed: new Date(0).toISOString(),
    version: "0.1.0",
  });
}

Deno.test({
  name: "FleetView.sync: every retained device is there once it resolves",
  ignore,
  async fn() {
    await using broker = await Mosquitto.start();
    const devices = await mqtt.connectAsync(broker.url);
    const viewer = await mqtt.connectAsync(broker.url);
    try {
      // Many, so that a sync resolving before the retained messages would see few.
      for (let i = 0; i < 300; i++) {
        const id = `dev${String(i).padStart(3, "0")}`;
        await devices.publishAsync(`ledctl/${id}/state`, payload("on", ["a"]), {
          qos: 1,
          retain: true,
        });
        await devices.publishAsync(`ledctl/${id}/availability`, i % 2 ? "online" : "offline", {
          qos: 1,
          retain: true,
        });
      }
      const view = new FleetView(viewer, "ledctl");
      await view.start();
      await view.sync();
      const all = view.devices();
      assert.equal(all.length, 300);
      assert.equal(all.filter((d) => d.online).length, 150);
      assert.ok(all.every((d) => d.state?.text === "on" && d.state.groups[0] === "a"));
      // A second sync (nothing new) resolves too; the marker is not a device.
      await view.sync();
      assert.equal(view.devices().length, 300);
      assert.equal(view.device("_fleet"), undefined);
    } finally {
      await devices.endAsync();
      await viewer.endAsync();
    }
  },
});

Deno.test({
  name: "FleetView.sync rejects, saying why, when its marker never comes back",
  ignore,
  async fn() {
    await using broker = await Mosquitto.start();
    const viewer = await mqtt.connectAsync(broker.url);
    try {
      // Never started: not subscribed to its marker topic.
      const view = new FleetView(viewer, "ledctl");
      await assert.rejects(view.sync({ timeoutMs: 300 }), /did not send back .* within 300 ms/);
    } finally {
      await viewer.endAsync();
    }
  },
});

Deno.test({
  name: "FleetView: refusals reach subscribeErrors; listeners hear which topic changed",
  ignore,
  async fn() {
    await using broker = await Mosquitto.start();
    const device = await mqtt.connectAsync(broker.url);
    const viewer = await mqtt.connectAsync(broker.url);
    try {
      const view = new FleetView(viewer, "ledctl");
      await view.start();
      await view.sync();
      const errors: FleetError[] = [];
      const changes: [string, FleetChange, string | undefined][] = [];
      view.subscribeErrors((e) => errors.push(e));
      view.subscribe((d, change) => changes.push([d.id, change, d.state?.text]));
      const error = JSON.stringify({
        error: "ERR bad-argument 9999 Hz is out of range",
        command: "blink 9999",
      });
      await device.publishAsync("ledctl/kitchen/error", error, { qos: 1 });
      await device.publishAsync("ledctl/kitchen/error", "not json", { qos: 1 });
      await device.publishAsync("ledctl/kitchen/availability", "online", { qos: 1 });
      await device.publishAsync("ledctl/kitchen/state", payload("blink 2 Hz"), { qos: 1 });
      // The same text again still counts: a device re-publishes after each command.
      await device.publishAsync("ledctl/kitchen/state", payload("blink 2 Hz"), { qos: 1 });
      await view.sync();
      assert.deepEqual(errors, [
        { id: "kitchen", error: "ERR bad-argument 9999 Hz is out of range", command: "blink 9999" },
        { id: "kitchen", error: "not json", command: "" },
      ]);
      assert.deepEqual(changes, [
        ["kitchen", "availability", undefined],
        ["kitchen", "state", "blink 2 Hz"],
        ["kitchen", "state", "blink 2 Hz"],
      ]);
      // Errors do not make a device.
      await device.publishAsync("ledctl/ghost/error", error, { qos: 1 });
      await view.sync();
      assert.equal(view.device("ghost"), undefined);
    } finally {
      await device.endAsync();
      await viewer.endAsync();
    }
  },
});

Deno.test({
  name: "FleetView on demand: subscribed while used or held, unsubscribed after idleMs",
  ignore,
  async fn() {
    await using broker = await Mosquitto.start();
    const device = await mqtt.connectAsync(broker.url);
    const viewer = await mqtt.connectAsync(broker.url);
    const watcher = await mqtt.connectAsync(broker.url); // follows for good: the control
    try {
      const clock = new FakeClock();
      const view = new FleetView(viewer, "ledctl", { idleMs: 60_000, clock });
      const control = new FleetView(watcher, "ledctl");
      await control.start();
      await device.publishAsync("ledctl/a/state", payload("on"), { qos: 1, retain: true });
      assert.equal(view.following, false, "nothing subscribed before the first use");
      await view.ensure();
      assert.equal(view.following, true);
      assert.deepEqual(view.devices().map((d) => d.id), ["a"]);

      // Held (an open page): idle time does not stop it.
      const release = view.hold();
      clock.advance(120_000);
      assert.equal(view.following, true);
      release();
      clock.advance(59_999);
      assert.equal(view.following, true, "not before idleMs after the last use");
      clock.advance(1);
      assert.equal(view.following, false);
      assert.deepEqual(view.devices(), [], "the devices are forgotten, not left stale");

      // Unsubscribed for real: a change the control hears does not reach the view.
      const heard = new Promise<void>((resolve) =>
        control.subscribe((d) => d.id === "b" && resolve())
      );
      await device.publishAsync("ledctl/b/state", payload("off"), { qos: 1, retain: true });
      await heard;
      await control.sync();
      assert.equal(view.device("b"), undefined);

      // The next use reads the fleet again, retained states included.
      await view.ensure();
      assert.deepEqual(view.devices().map((d) => d.id), ["a", "b"]);
    } finally {
      await device.endAsync();
      await viewer.endAsync();
      await watcher.endAsync();
    }
  },
});
