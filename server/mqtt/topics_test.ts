/**
 * The MQTT contract (topics.ts): names, topics, the state payload both
 * ways, command decoding, discovery.
 *
 * Bad inputs tried: ids with capitals, slashes, wildcards, too long,
 * reserved (`group`, `all`); payloads over 1 KiB, not UTF-8, not JSON, a
 * JSON array, a wrong `state`, a wrong `flash`, a non-string effect, an
 * out-of-range frequency, an unknown verb, verbs with no meaning on a
 * broker; state payloads that are not JSON or lack fields.
 */
import assert from "node:assert/strict";
import {
  checkName,
  cleanId,
  decodeCommand,
  deviceTopics,
  discoveryPayload,
  MAX_COMMAND_BYTES,
  parseStatePayload,
  statePayload,
  targetTopic,
} from "./topics.ts";

const enc = new TextEncoder();
const decode = (text: string) => decodeCommand(enc.encode(text));

Deno.test("host names become ids; names are checked", () => {
  assert.equal(cleanId("Kitchen Pi.local"), "kitchen-pi-local");
  assert.equal(cleanId("--"), "ledctl");
  assert.equal(cleanId("ALL"), "ledctl");
  assert.equal(cleanId("x".repeat(100)).length, 64);
  assert.equal(checkName("kitchen_1-a", "--id"), "kitchen_1-a");
  for (const bad of ["Kitchen", "a/b", "a+", "#", "", "x".repeat(65)]) {
    assert.throws(() => checkName(bad, "--group"), RangeError, bad);
  }
  assert.throws(() => checkName("all", "--id"), /reserved/);
  assert.throws(
    () => checkName("group", "LEDCTL_ID", { id: true }),
    /LEDCTL_ID "group" is reserved/,
  );
  assert.equal(checkName("all", "--group"), "all");
});

Deno.test("a device's topics, and fleet send's targets", () => {
  assert.deepEqual(deviceTopics("ledctl", "kitchen", ["ground", "lamps"]), {
    state: "ledctl/kitchen/state",
    availability: "ledctl/kitchen/availability",
    set: "ledctl/kitchen/set",
    error: "ledctl/kitchen/error",
    allSet: "ledctl/all/set",
    groupSet: ["ledctl/group/ground/set", "ledctl/group/lamps/set"],
    discovery: "homeassistant/light/ledctl_kitchen/config",
  });
  assert.equal(targetTopic("home/led", "all"), "home/led/all/set");
  assert.equal(targetTopic("ledctl", "group:ground"), "ledctl/group/ground/set");
  assert.equal(targetTopic("ledctl", "kitchen"), "ledctl/kitchen/set");
  assert.throws(() => targetTopic("ledctl", "group"), RangeError);
  assert.throws(() => targetTopic("ledctl", "group:a/b"), RangeError);
  assert.throws(() => targetTopic("ledctl", "#"), RangeError);
});

Deno.test("the state payload, written and read back", () => {
  const more = {
    by: "client #1",
    groups: ["g"],
    changed: "2026-01-01T00:00:00.000Z",
    version: "1",
  };
  const blink = statePayload({ mode: "blink", hz: 2.5 }, more);
  assert.deepEqual(blink, { state: "ON", effect: "blink", hz: 2.5, text: "blink 2.5 Hz", ...more });
  assert.equal(statePayload({ mode: "blink", hz: 2 }, more).effect, "blink 2 Hz");
  assert.deepEqual(statePayload({ mode: "on" }, more), { state: "ON", text: "on", ...more });
  assert.deepEqual(statePayload({ mode: "off" }, more), { state: "OFF", text: "off", ...more });
  assert.deepEqual(parseStatePayload(JSON.stringify(blink)), blink);
  assert.equal(parseStatePayload("not json"), undefined);
  assert.equal(parseStatePayload("null"), undefined);
  assert.equal(parseStatePayload('{"state":"ON"}'), undefined, "no text");
  assert.equal(parseStatePayload('{"state":"MAYBE","text":"x"}'), undefined);
  assert.deepEqual(parseStatePayload('{"state":"OFF","text":"off","groups":[1,"a"]}')?.groups, [
    "a",
  ]);
});

Deno.test("commands: Home Assistant JSON and protocol lines, by the protocol's parser", () => {
  assert.deepEqual(decode('{"state":"ON"}'), {
    kind: "command",
    command: { verb: "on" },
    source: '{"state":"ON"}',
  });
  assert.deepEqual(decode('{"state":"OFF","effect":"blink 2 Hz"}').kind, "command");
  assert.deepEqual(
    (decode('{"state":"OFF","effect":"blink 2 Hz"}') as { command: unknown }).command,
    { verb: "off" },
  );
  const effect = decode('{"state":"ON","effect":"blink 2 Hz"}') as { command: unknown };
  assert.deepEqual(effect.command, { verb: "blink", hz: 2 });
  const hz = decode('{"state":"ON","effect":"blink","hz":3}') as { command: unknown };
  assert.deepEqual(hz.command, { verb: "blink", hz: 3 });
  assert.deepEqual(decode('{"flash":"short"}'), {
    kind: "flash",
    length: "short",
    source: '{"flash":"short"}',
  });
  assert.deepEqual((decode("clignote 2,5") as { command: unknown }).command, {
    verb: "blink",
    hz: 2.5,
  });
  assert.deepEqual((decode(" eteindre \n") as { command: unknown }).command, { verb: "off" });
});

Deno.test("bad commands are rejections with their ERR code, never exceptions", () => {
  const code = (payload: string | Uint8Array) => {
    const d = decodeCommand(typeof payload === "string" ? enc.encode(payload) : payload);
    assert.equal(d.kind, "command");
    const c = (d as { command: { verb: string; code?: string } }).command;
    assert.equal(c.verb, "error", String(payload));
    return c.code;
  };
  assert.equal(code("x".repeat(MAX_COMMAND_BYTES + 1)), "line-too-long");
  assert.equal(code(new Uint8Array([0xff, 0xfe])), "bad-encoding");
  assert.equal(code('{"state":'), "bad-argument");
  assert.equal(code("[1]"), "unknown-command"); // not starting with {: a (bad) line
  assert.equal(code('{"state":"MAYBE"}'), "bad-argument");
  assert.equal(code('{"flash":"medium"}'), "bad-argument");
  assert.equal(code('{"effect":5}'), "bad-argument");
  assert.equal(code('{"brightness":5}'), "bad-argument");
  assert.equal(code("blink 9000"), "bad-argument");
  assert.equal(code("dance"), "unknown-command");
  for (const verb of ["status", "hello", "watch", "help", "quit", "auth abcdefgh"]) {
    assert.equal(code(verb), "unknown-command", verb);
  }
  assert.equal(code("x".repeat(MAX_COMMAND_BYTES)), "unknown-command", "1 KiB is still read");
});

Deno.test("discovery: a JSON-schema light with the presets, the device and its origin", () => {
  const d = discoveryPayload({ prefix: "ledctl", id: "kitchen", version: "0.1.0", model: "mock" });
  assert.equal(d.schema, "json");
  assert.equal(d.unique_id, "ledctl_kitchen");
  assert.equal(d.command_topic, "ledctl/kitchen/set");
  assert.equal(d.state_topic, "ledctl/kitchen/state");
  assert.equal(d.availability_topic, "ledctl/kitchen/availability");
  assert.deepEqual(d.effect_list, [
    "blink 0.5 Hz",
    "blink 1 Hz",
    "blink 2 Hz",
    "blink 5 Hz",
    "blink 10 Hz",
  ]);
  // Each preset decodes to its blink, so Home Assistant's effects all work.
  for (const effect of d.effect_list as string[]) {
    const c = decode(JSON.stringify({ state: "ON", effect })) as { command: { verb: string } };
    assert.equal(c.command.verb, "blink", effect);
  }
  assert.deepEqual(d.device, {
    identifiers: ["ledctl_kitchen"],
    name: "ledctl kitchen",
    model: "mock",
    manufacturer: "ledctl",
    sw_version: "0.1.0",
  });
  assert.equal((d.origin as { name: string }).name, "ledctl");
});
