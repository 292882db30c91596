/**
 * `ledctl fleet`'s pure parts: the broker settings (flags, variables, no
 * password in a URL), the connection errors' lines, who a target
 * addresses, the state a command asks for, the list's table. End to end,
 * with a broker and 20 devices: tests/fleet_test.ts.
 */
import assert from "node:assert/strict";
import {
  addressed,
  brokerSettings,
  deviceJson,
  expectedText,
  explainConnectError,
  FleetError,
  fleetTable,
  formatAgo,
} from "./fleet.ts";
import { UsageError } from "./args.ts";
import type { FleetDevice } from "../server/mqtt/fleet_view.ts";

function device(id: string, online: boolean | undefined, text?: string, groups: string[] = []) {
  return {
    id,
    online,
    seen: 0,
    state: text === undefined ? undefined : {
      state: text === "off" ? "OFF" : "ON",
      text,
      by: "test",
      groups,
      changed: "2026-01-01T00:00:00.000Z",
      version: "0.1.0",
    },
  } as FleetDevice;
}

Deno.test("brokerSettings: flags beat LEDCTL_MQTT* variables, which beat the defaults", async () => {
  assert.deepEqual(await brokerSettings({}, {}), {
    url: "mqtt://127.0.0.1:1883",
    prefix: "ledctl",
  });
  const env = {
    LEDCTL_MQTT: "mqtts://broker.lan:8883",
    LEDCTL_MQTT_USER: "env-user",
    LEDCTL_MQTT_PASSWORD: "env-pass",
    LEDCTL_MQTT_PREFIX: "home/leds",
  };
  assert.deepEqual(await brokerSettings({}, env), {
    url: "mqtts://broker.lan:8883",
    username: "env-user",
    password: "env-pass",
    prefix: "home/leds",
  });
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "file-pass\nignored\n");
    const s = await brokerSettings(
      { mqtt: "mqtt://flag@h", "mqtt-password-file": file, "mqtt-prefix": "p" },
      env,
    );
    assert.deepEqual(s, {
      url: "mqtt://h",
      username: "env-user", // the variable beats the URL's user
      password: "file-pass",
      prefix: "p",
    });
    assert.equal((await brokerSettings({ mqtt: "mqtt://flag@h" }, {})).username, "flag");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("brokerSettings: usage errors say what to do, and never echo a password", async () => {
  const bad = async (values: Record<string, string>, re: RegExp, env = {}) => {
    const e = await brokerSettings(values, env).then(() => undefined, (e) => e);
    assert.ok(e instanceof UsageError, `${JSON.stringify(values)}: ${e}`);
    assert.match(e.message, re);
    assert.doesNotMatch(e.message, /s3cret/);
  };
  await bad({ mqtt: "mqtt://u:s3cret@h" }, /do not put a password in the URL/);
  await bad({ mqtt: "http://h" }, /starts with mqtt:\/\/ or mqtts:\/\//);
  await bad({ mqtt: "not a url" }, /is not a URL/);
  await bad({}, /a password needs a user/, { LEDCTL_MQTT_PASSWORD: "s3cret" });
  await bad({ "mqtt-password-file": "/nonexistent/pw" }, /cannot read --mqtt-password-file/);
  await bad({ "mqtt-ca": "/nonexistent/ca.pem" }, /cannot read --mqtt-ca/);
  await bad({ "mqtt-prefix": "a/+/b" }, /--mqtt-prefix "a\/\+\/b"/);
  await bad({ "mqtt-prefix": "a//b" }, /--mqtt-prefix/);
  const notPem = await Deno.makeTempFile();
  try {
    await bad({ "mqtt-ca": notPem }, /holds no PEM certificate/);
  } finally {
    await Deno.remove(notPem);
  }
});

Deno.test("explainConnectError: one line per cause, with what to check", () => {
  const url = "mqtt://h:1883";
  const err = (message: string, code?: string | number) =>
    Object.assign(new Error(message), { code });
  assert.match(explainConnectError(err("x", "ECONNREFUSED"), url, false), /connection refused/);
  assert.match(explainConnectError(err("x", "ENOTFOUND"), url, false), /cannot find .* host/);
  assert.match(
    explainConnectError(err("Connection refused: Not authorized", 5), url, true),
    /refused the user name or password \(Not authorized\): check --mqtt-user/,
  );
  assert.match(
    explainConnectError(err("Connection refused: Not authorized", 5), url, false),
    /refused an anonymous client .*give --mqtt-user/,
  );
  assert.match(
    explainConnectError(err("self-signed certificate in certificate chain"), url, false),
    /certificate .* is not trusted .*--mqtt-ca FILE/,
  );
  assert.match(explainConnectError(err("read ECONNRESET", "ECONNRESET"), url, false), /TLS port/);
  assert.match(explainConnectError(err("connack timeout"), url, false), /no MQTT answer/);
  for (const e of [err("a\nb"), err("certificate\nbad")]) {
    assert.equal(explainConnectError(e, url, false).includes("\n"), false);
  }
});

Deno.test("addressed: the device, the online members of a group, every online device", () => {
  const devices = [
    device("a1", true, "off", ["a"]),
    device("a2", false, "on", ["a"]),
    device("b1", true, "off", ["b"]),
    device("u1", undefined, "off", ["b"]),
  ];
  const ids = (x: { online: FleetDevice[]; skipped: FleetDevice[] }) => ({
    online: x.online.map((d) => d.id),
    skipped: x.skipped.map((d) => d.id),
  });
  assert.deepEqual(ids(addressed(devices, "all")), {
    online: ["a1", "b1"],
    skipped: ["a2", "u1"],
  });
  assert.deepEqual(ids(addressed(devices, "group:a")), { online: ["a1"], skipped: ["a2"] });
  assert.deepEqual(ids(addressed(devices, "b1")), { online: ["b1"], skipped: [] });
  assert.throws(() => addressed(devices, "a2"), FleetError, '"a2" is offline: nothing sent');
  assert.throws(() => addressed(devices, "zz"), FleetError, 'no device "zz" on the broker');
  assert.throws(() => addressed(devices, "group:c"), FleetError, 'no device in group "c"');
  assert.throws(() => addressed([], "all"), FleetError, "no device on the broker");
  assert.throws(
    () => addressed([devices[1]], "all"),
    FleetError,
    "no online device on the broker: nothing sent (a2 (offline))",
  );
});

Deno.test("expectedText: the state a command asks for, by the devices' parser", () => {
  assert.equal(expectedText("blink 2"), "blink 2 Hz");
  assert.equal(expectedText("clignote 2,5"), "blink 2.5 Hz");
  assert.equal(expectedText("eteindre"), "off");
  assert.equal(expectedText('{"state":"ON"}'), "on");
  assert.equal(expectedText('{"state":"ON","effect":"blink 5 Hz"}'), "blink 5 Hz");
  assert.equal(expectedText('{"flash":"short"}'), undefined); // any state
  assert.equal(expectedText("blink 9999"), null); // refused
  assert.equal(expectedText("status"), null);
});

Deno.test("fleetTable and deviceJson: one aligned row per device, a count; JSON fields", () => {
  const now = Date.parse("2026-01-01T00:00:12Z");
  const table = fleetTable([
    device("dev01", true, "blink 2 Hz", ["a", "b"]),
    device("kitchen-pi", false),
  ], now);
  assert.equal(
    table,
    [
      "ID          STATUS   STATE       GROUPS  LAST CHANGE",
      "dev01       online   blink 2 Hz  a,b     12 s ago",
      "kitchen-pi  offline  ?           -       -",
      "2 devices, 1 online",
    ].join("\n"),
  );
  assert.deepEqual(deviceJson(device("dev01", undefined, "on", ["a"])), {
    id: "dev01",
    online: null,
    state: "ON",
    text: "on",
    effect: null,
    hz: null,
    groups: ["a"],
    by: "test",
    changed: "2026-01-01T00:00:00.000Z",
    version: "0.1.0",
  });
});

Deno.test("formatAgo: seconds, minutes, hours, days; - for none", () => {
  const t0 = "2026-01-01T00:00:00Z";
  const at = (s: number) => Date.parse(t0) + s * 1000;
  assert.equal(formatAgo(t0, at(12)), "12 s ago");
  assert.equal(formatAgo(t0, at(-5)), "0 s ago"); // a clock ahead of ours
  assert.equal(formatAgo(t0, at(125)), "2 min ago");
  assert.equal(formatAgo(t0, at(7300)), "2 h ago");
  assert.equal(formatAgo(t0, at(3 * 86400)), "3 d ago");
  assert.equal(formatAgo("", at(0)), "-");
  assert.equal(formatAgo("yesterday", at(0)), "-");
});
