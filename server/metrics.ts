/**
 * Metrics in the Prometheus text exposition format 0.0.4, and ledctl's own
 * set of them (`GET /metrics`, see docs/web.md).
 *
 * {@linkcode Registry} is a small registry of counters and gauges with
 * labels: each metric is a name, a help text and a function that lists its
 * samples when scraped (so most values are read where they already live:
 * the service's counts, the driver's link, the process). Label values come
 * from fixed sets (transports, the protocol's verbs and error codes, LED
 * modes), never from what a client sent, so the number of series is
 * bounded.
 *
 * {@linkcode metricsFor} gives the registry of one `LedService`, made with
 * ledctl's metrics on first use; a transport adds its own (the web server
 * its viewers; the MQTT bridge its connection state).
 *
 * @module
 */
import type { LedService } from "../core/led_service.ts";
import { COUNTED_VERBS, parseKey } from "../core/tally.ts";
import type { ErrorCode } from "../protocol/reply.ts";
import { fdLimits, fdsInUse } from "./fd_limit.ts";

/** A sample's labels: label name → value. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a metric: its labels (none by default) and its value. */
export interface Sample {
  /** Label name → value. Default: none. */
  readonly labels?: Labels;
  /** The value; `NaN` and infinities are allowed. */
  readonly value: number;
}

/** A metric's type, as written in its `# TYPE` line. */
export type MetricType = "counter" | "gauge";

/** What {@linkcode Registry.register} takes. */
export interface MetricOptions {
  /** The name: `ledctl_…`; a counter's ends in `_total`. */
  readonly name: string;
  /** `counter` (only goes up) or `gauge`. */
  readonly type: MetricType;
  /** One line saying what it counts. */
  readonly help: string;
  /** Lists the samples at each scrape. */
  readonly collect: () => Iterable<Sample>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A label value as the text format writes it: `\`, `"` and newline escaped.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./metrics.ts";
 * escapeLabelValue('a "b"\\c'); // 'a \\"b\\"\\\\c'
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/**
 * A sample's value as the text format writes it.
 *
 * @example
 * ```ts
 * import { formatValue } from "./metrics.ts";
 * formatValue(Infinity); // "+Inf"
 * formatValue(0.5); // "0.5"
 * ```
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function checkLabels(metric: string, labels: Labels): void {
  for (const name of Object.keys(labels)) {
    if (!LABEL.test(name) || name.startsWith("__")) {
      throw new TypeError(`${metric}: label name "${name}" is not a valid Prometheus label name`);
    }
  }
}

/**
 * Metrics by name, rendered in the Prometheus text format 0.0.4.
 *
 * @example
 * ```ts
 * import { Registry } from "./metrics.ts";
 * const registry = new Registry();
 * let requests = 0;
 * registry.register({
 *   name: "demo_requests_total",
 *   type: "counter",
 *   help: "Requests answered.",
 *   collect: () => [{ labels: { verb: "on" }, value: requests }],
 * });
 * requests++;
 * await registry.render();
 * // # HELP demo_requests_total Requests answered.
 * // # TYPE demo_requests_total counter
 * // demo_requests_total{verb="on"} 1
 * ```
 */
export class Registry {
  readonly #metrics = new Map<string, MetricOptions>();
  readonly #hooks = new Set<() => Promise<void>>();

  /**
   * Adds a metric; returns the function that removes it. Throws
   * `TypeError` for a name that is not a Prometheus name, a counter whose
   * name does not end in `_total`, or a name already registered.
   */
  register(metric: MetricOptions): () => void {
    const { name, type } = metric;
    if (!NAME.test(name)) throw new TypeError(`"${name}" is not a valid Prometheus metric name`);
    if (type === "counter" && !name.endsWith("_total")) {
      throw new TypeError(`counter "${name}" must end in _total`);
    }
    if (this.#metrics.has(name)) throw new TypeError(`metric "${name}" is already registered`);
    this.#metrics.set(name, metric);
    return () => {
      if (this.#metrics.get(name) === metric) this.#metrics.delete(name);
    };
  }

  /** True when a metric called `name` is registered. */
  has(name: string): boolean {
    return this.#metrics.has(name);
  }

  /**
   * Runs `hook` (awaited) before each scrape, e.g. to fetch counts kept
   * elsewhere; returns the function that removes it.
   */
  beforeRender(hook: () => Promise<void>): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /** Every metric, in the order registered, as one text-format document. */
  async render(): Promise<string> {
    await Promise.all([...this.#hooks].map((h) => h()));
    let out = "";
    for (const m of this.#metrics.values()) {
      out += `# HELP ${m.name} ${m.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}\n`;
      out += `# TYPE ${m.name} ${m.type}\n`;
      for (const s of m.collect()) {
        const labels = s.labels ?? {};
        checkLabels(m.name, labels);
        const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
        out += `${m.name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(s.value)}\n`;
      }
    }
    return out;
  }
}

/** The content type of {@linkcode Registry.render}'s output. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every error code, so that each has a series from the start (at 0). */
const ERROR_CODES: readonly ErrorCode[] = [
  "unknown-command",
  "bad-argument",
  "line-too-long",
  "bad-encoding",
  "busy",
  "idle-timeout",
  "led-fault",
  "auth",
  "auth-limited",
];

const MODES = ["off", "on", "blink"] as const;

const registries = new WeakMap<LedService, Registry>();

/**
 * The registry of `service`, made with ledctl's metrics on first use (the
 * table in docs/web.md): clients, watchers, requests by transport, verb
 * and result, errors by code, LED changes and state, the board link,
 * process memory, descriptors and uptime. Transports add theirs to it.
 *
 * @example
 * ```ts
 * import { metricsFor } from "./metrics.ts";
 * import { LedService } from "../core/led_service.ts";
 * import { openLed } from "../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const text = await metricsFor(service).render(); // "# HELP ledctl_clients …"
 * await service.close();
 * ```
 */
export function metricsFor(service: LedService): Registry {
  let registry = registries.get(service);
  if (registry) return registry;
  registry = new Registry();
  registries.set(service, registry);
  addLedctlMetrics(registry, service);
  return registry;
}

/** Sums of the service's counts, by what they count. */
function tallied(service: LedService) {
  const requests: Sample[] = [];
  const errors = new Map<string, number>(ERROR_CODES.map((c) => [c, 0]));
  const changes = new Map<string, number>(MODES.map((m) => [m, 0]));
  let watchers = 0;
  for (const [key, n] of service.tallies) {
    const k = parseKey(key);
    if (!k) continue;
    switch (k.kind) {
      case "request":
        requests.push({
          labels: { transport: k.transport, verb: k.verb, result: k.result },
          value: n,
        });
        if (k.result !== "ok") errors.set(k.result, (errors.get(k.result) ?? 0) + n);
        break;
      case "error":
        errors.set(k.code, (errors.get(k.code) ?? 0) + n);
        break;
      case "change":
        changes.set(k.mode, (changes.get(k.mode) ?? 0) + n);
        break;
      case "watchers":
        watchers += n;
        break;
    }
  }
  return { requests, errors, changes, watchers };
}

const startTime = Date.now() - performance.now();

function addLedctlMetrics(registry: Registry, service: LedService): void {
  registry.beforeRender(() => service.syncTallies());
  const gauge = (name: string, help: string, value: () => number | undefined) =>
    registry.register({
      name,
      type: "gauge",
      help,
      collect: () => {
        const v = value();
        return v === undefined ? [] : [{ value: v }];
      },
    });
  const byLabel = (
    name: string,
    type: MetricType,
    help: string,
    label: string,
    values: () => Map<string, number>,
  ) =>
    registry.register({
      name,
      type,
      help,
      collect: () => [...values()].map(([v, value]) => ({ labels: { [label]: v }, value })),
    });

  gauge("ledctl_clients", "TCP clients connected.", () => service.clients);
  gauge(
    "ledctl_watchers",
    "TCP connections that sent watch and get an EVENT line at each LED change.",
    () => tallied(service).watchers,
  );
  registry.register({
    name: "ledctl_requests_total",
    type: "counter",
    help: `Requests answered, by transport (tcp, http, mqtt), verb (${
      COUNTED_VERBS.join(", ")
    }) and result (ok or the ERR code).`,
    collect: () => tallied(service).requests,
  });
  byLabel(
    "ledctl_errors_total",
    "counter",
    "ERR lines sent, by code: replies to requests and unasked ones (busy, idle-timeout).",
    "code",
    () => tallied(service).errors,
  );
  byLabel(
    "ledctl_led_changes_total",
    "counter",
    "Changes of the LED's state, by the mode changed to.",
    "mode",
    () => tallied(service).changes,
  );
  byLabel(
    "ledctl_led_mode",
    "gauge",
    "1 for the LED's present mode (off, on, blink), 0 for the others.",
    "mode",
    () => new Map(MODES.map((m) => [m, service.state.mode === m ? 1 : 0])),
  );
  gauge(
    "ledctl_led_blink_hz",
    "The blink frequency in Hz while the LED blinks, else 0.",
    () => service.state.mode === "blink" ? service.state.hz : 0,
  );
  gauge(
    "ledctl_board_link_up",
    "1 while the board link is up (always 1 for a LED without one: mock, GPIO), else 0.",
    () => (service.link?.up ?? true) ? 1 : 0,
  );
  registry.register({
    name: "ledctl_board_link_reconnects_total",
    type: "counter",
    help: "Times the board link came back after being lost (0 for a LED without one).",
    collect: () => [{ value: service.link?.reconnects ?? 0 }],
  });
  gauge(
    "ledctl_resident_memory_bytes",
    "Resident memory of the ledctl process, in bytes.",
    () => Deno.memoryUsage().rss,
  );
  gauge("ledctl_open_fds", "File descriptors the process has open.", () => fdsInUse());
  gauge("ledctl_max_fds", "The process's descriptor limit (soft).", () => {
    const soft = fdLimits()?.soft;
    return soft === undefined || !Number.isFinite(soft) ? undefined : soft;
  });
  gauge(
    "ledctl_start_time_seconds",
    "When the process started, in seconds since the Unix epoch.",
    () => startTime / 1000,
  );
  gauge(
    "ledctl_uptime_seconds",
    "Seconds since the process started.",
    () => performance.now() / 1000,
  );
}
