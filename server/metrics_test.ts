import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { escapeLabelValue, formatValue, metricsFor, Registry } from "./metrics.ts";
import { LedService } from "../core/led_service.ts";
import { countOutcome, errorKey, WATCHERS_KEY } from "../core/tally.ts";
import { errOutcome, okOutcome } from "../core/commands.ts";
import type { LedDriver, LinkStatus } from "../hal/types.ts";

type Family = {
  name: string;
  help: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
};
const parse = (text: string) => parsePrometheusTextFormat(text) as Family[];

/** A driver with a board link whose state the test sets. */
class LinkedDriver implements LedDriver {
  readonly description = "fake:board";
  link: LinkStatus = { up: true, reconnects: 0 };
  apply(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("escapeLabelValue and formatValue: the text format's escapes and special values", () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(escapeLabelValue("plain"), "plain");
  assert.equal(formatValue(3), "3");
  assert.equal(formatValue(0.25), "0.25");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
});

Deno.test("Registry.render: HELP and TYPE lines, labels escaped, read back by a parser", async () => {
  const r = new Registry();
  let n = 0;
  r.register({
    name: "t_requests_total",
    type: "counter",
    help: "Requests.\nSecond line \\ backslash.",
    collect: () => [
      { labels: { verb: "on", result: "ok" }, value: n },
      { labels: { verb: 'we"ird\\\n', result: "busy" }, value: 1 },
    ],
  });
  r.register({ name: "t_temp", type: "gauge", help: "A gauge.", collect: () => [{ value: 1.5 }] });
  r.register({ name: "t_empty_total", type: "counter", help: "None yet.", collect: () => [] });
  n = 7;
  const text = await r.render();
  assert.equal(
    text,
    [
      "# HELP t_requests_total Requests.\\nSecond line \\\\ backslash.",
      "# TYPE t_requests_total counter",
      't_requests_total{verb="on",result="ok"} 7',
      't_requests_total{verb="we\\"ird\\\\\\n",result="busy"} 1',
      "# HELP t_temp A gauge.",
      "# TYPE t_temp gauge",
      "t_temp 1.5",
      "# HELP t_empty_total None yet.",
      "# TYPE t_empty_total counter",
      "",
    ].join("\n"),
  );
  const families = parse(text);
  assert.deepEqual(families.map((f) => [f.name, f.type]), [
    ["t_requests_total", "COUNTER"],
    ["t_temp", "GAUGE"],
    ["t_empty_total", "COUNTER"],
  ]);
  assert.deepEqual(families[0].metrics[1].labels, { verb: 'we"ird\\\n', result: "busy" });
});

Deno.test("Registry.register: bad names, counters without _total and duplicates are TypeErrors", () => {
  const r = new Registry();
  const collect = () => [];
  assert.throws(() => r.register({ name: "1x", type: "gauge", help: "", collect }), TypeError);
  assert.throws(() => r.register({ name: "a-b", type: "gauge", help: "", collect }), TypeError);
  assert.throws(
    () => r.register({ name: "t_requests", type: "counter", help: "", collect }),
    /must end in _total/,
  );
  const remove = r.register({ name: "t_x", type: "gauge", help: "", collect });
  assert.throws(() => r.register({ name: "t_x", type: "gauge", help: "", collect }), TypeError);
  assert.equal(r.has("t_x"), true);
  remove();
  assert.equal(r.has("t_x"), false);
  r.register({ name: "t_x", type: "gauge", help: "", collect });
});

Deno.test("Registry.render: a bad label name is a TypeError; hooks run before collecting", async () => {
  const r = new Registry();
  r.register({
    name: "t_bad",
    type: "gauge",
    help: "",
    collect: () => [{ labels: { "__reserved": "x" }, value: 1 }],
  });
  await assert.rejects(() => r.render(), TypeError);

  const r2 = new Registry();
  let value = 0;
  r2.register({ name: "t_v", type: "gauge", help: "", collect: () => [{ value }] });
  const remove = r2.beforeRender(async () => {
    await Promise.resolve();
    value = 42;
  });
  assert.match(await r2.render(), /^t_v 42$/m);
  remove();
  value = 1;
  assert.match(await r2.render(), /^t_v 1$/m);
});

Deno.test("metricsFor: the service's counts, by verb and result, errors by code, changes", async () => {
  const service = new LedService(new LinkedDriver(), { log: () => {} });
  try {
    const registry = metricsFor(service);
    assert.equal(metricsFor(service), registry, "one registry per service");
    countOutcome(service, "tcp", { verb: "on" }, okOutcome("on"));
    countOutcome(service, "tcp", { verb: "on" }, okOutcome("on"));
    countOutcome(
      service,
      "http",
      { verb: "error", code: "bad-argument", text: "x" },
      errOutcome("bad-argument", "x"),
    );
    countOutcome(
      service,
      "tcp",
      { verb: "blink", hz: 2 },
      Promise.resolve(errOutcome("led-fault", "gone")),
    );
    service.tally(errorKey("busy"));
    service.tally(WATCHERS_KEY);
    service.tally(WATCHERS_KEY);
    service.tally(WATCHERS_KEY, -1);
    service.countClient(1);
    await service.request({ mode: "blink", hz: 4 }, "test");
    await service.request({ mode: "blink", hz: 4 }, "test"); // no change
    await service.request({ mode: "off" }, "test");

    const families = new Map(parse(await registry.render()).map((f) => [f.name, f]));
    const samples = (name: string) =>
      families.get(name)!.metrics.map((m) => [m.labels ?? {}, Number(m.value)]);
    assert.deepEqual(samples("ledctl_requests_total"), [
      [{ transport: "tcp", verb: "on", result: "ok" }, 2],
      [{ transport: "http", verb: "invalid", result: "bad-argument" }, 1],
      [{ transport: "tcp", verb: "blink", result: "led-fault" }, 1],
    ]);
    const errors = Object.fromEntries(
      samples("ledctl_errors_total").map(([l, v]) => [(l as Record<string, string>).code, v]),
    );
    assert.equal(errors["bad-argument"], 1);
    assert.equal(errors["led-fault"], 1);
    assert.equal(errors["busy"], 1);
    assert.equal(errors["auth"], 0, "every code has a series from the start");
    assert.deepEqual(samples("ledctl_led_changes_total"), [
      [{ mode: "off" }, 1],
      [{ mode: "on" }, 0],
      [{ mode: "blink" }, 1],
    ]);
    assert.deepEqual(samples("ledctl_watchers"), [[{}, 1]]);
    assert.deepEqual(samples("ledctl_clients"), [[{}, 1]]);
    assert.deepEqual(samples("ledctl_led_mode"), [
      [{ mode: "off" }, 1],
      [{ mode: "on" }, 0],
      [{ mode: "blink" }, 0],
    ]);
    assert.equal(families.has("ledctl_mqtt_connected"), false, "no MQTT transport registered it");
  } finally {
    await service.close();
  }
});

Deno.test("metricsFor: the board link's state and reconnections", async () => {
  const driver = new LinkedDriver();
  const service = new LedService(driver, { log: () => {} });
  try {
    const value = async (name: string) => {
      const f = parse(await metricsFor(service).render()).find((f) => f.name === name)!;
      return Number(f.metrics[0].value);
    };
    assert.equal(await value("ledctl_board_link_up"), 1);
    driver.link = { up: false, reconnects: 0, reason: "heartbeat: no reply" };
    assert.equal(await value("ledctl_board_link_up"), 0);
    driver.link = { up: true, reconnects: 3 };
    assert.equal(await value("ledctl_board_link_up"), 1);
    assert.equal(await value("ledctl_board_link_reconnects_total"), 3);
  } finally {
    await service.close();
  }
});

Deno.test("metricsFor: a scrape waits for the counts a batching transport still holds", async () => {
  const service = new LedService(new LinkedDriver(), { log: () => {} });
  try {
    let held = 5;
    service.addTallySource(async () => {
      await new Promise((r) => setTimeout(r, 0));
      service.tally(errorKey("idle-timeout"), held);
      held = 0;
    });
    const f = parse(await metricsFor(service).render()).find((f) =>
      f.name === "ledctl_errors_total"
    )!;
    const idle = f.metrics.find((m) => m.labels?.code === "idle-timeout")!;
    assert.equal(Number(idle.value), 5);
  } finally {
    await service.close();
  }
});
