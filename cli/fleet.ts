/**
 * `ledctl fleet`: the devices on an MQTT broker (each a `ledctl serve
 * --mqtt`): `list` them, `send` a command to one, a group or all and wait
 * until each reports the new state, `watch` their changes.
 *
 * Built on {@linkcode FleetView} (server/mqtt/fleet_view.ts): it knows the
 * retained states have all arrived by a marker message, never by a fixed
 * wait.
 *
 * @module
 */
// Types only here: the package itself is loaded when fleet connects, so that
// every other command runs without it (the emulated Pi has no npm cache).
import type { IClientOptions, MqttClient } from "mqtt";
import { parseUntilCommand, UsageError } from "./args.ts";
import { readMqttSecrets } from "./config.ts";
import { Terminal } from "./term.ts";
import { formatDuration, parseDuration } from "../server/duration.ts";
import { formatState, stateFor } from "../core/state.ts";
import { type FleetDevice, FleetView } from "../server/mqtt/fleet_view.ts";
import { decodeCommand, DEFAULT_PREFIX, targetTopic } from "../server/mqtt/topics.ts";

/** The broker `--mqtt` means when neither it nor `LEDCTL_MQTT` is given. */
export const DEFAULT_BROKER = "mqtt://127.0.0.1:1883";

/** Help text of `ledctl fleet`. */
export const FLEET_HELP = `Usage: ledctl fleet [options] list [--json]
       ledctl fleet [options] send <id|group:NAME|all> <command…>
       ledctl fleet [options] watch

The ledctl devices on an MQTT broker (each one a ledctl serve --mqtt):
  list    every device seen: id, online/offline, state, groups, last change
  send    publish a command to a device, a group or all, then wait until
          every addressed online device reports the new state (exit 0), or
          say which did not and why: offline, an error, no answer (exit 1).
          Offline devices of a group or of all are skipped, and named.
          The command is a protocol line (blink 2, clignote 2,5, off) or
          Home Assistant JSON as one word ('{"state":"ON"}').
  watch   print each device's state, then each change, until Ctrl-C (exit 0)

Exit code 0 ok, 1 failure (broker unreachable, credentials refused, a device
did not answer), 2 usage mistake. Options go before the target, and may
also go before the action.

Options:
  --mqtt URL                the broker: mqtt://HOST[:1883] or mqtts://HOST[:8883]
                            (default ${DEFAULT_BROKER}); also LEDCTL_MQTT
  --mqtt-user NAME          user name on the broker; also LEDCTL_MQTT_USER
  --mqtt-password-file F    the password, first line of F; else LEDCTL_MQTT_PASSWORD
                            (never on the command line, never in the URL)
  --mqtt-ca FILE            trust the broker's certificate if this CA (PEM) signed
                            it, for a private CA; also LEDCTL_MQTT_CA
  --mqtt-prefix P           topic prefix (default ${DEFAULT_PREFIX}); also LEDCTL_MQTT_PREFIX
  --timeout T               wait at most T for the broker, and for send's answers
                            (default 5s)
  --json                    list: one JSON array, for scripts
  -h, --help                this help

Examples:
  ledctl fleet --mqtt mqtt://raspberrypi.local list
  ledctl fleet send all blink 2
  ledctl fleet send group:ground off
  ledctl fleet send kitchen '{"state":"ON","effect":"blink 5 Hz"}'
`;

const OPTIONS = {
  mqtt: { type: "string" },
  "mqtt-user": { type: "string" },
  "mqtt-password-file": { type: "string" },
  "mqtt-ca": { type: "string" },
  "mqtt-prefix": { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
} as const;

type FleetValues = {
  mqtt?: string;
  "mqtt-user"?: string;
  "mqtt-password-file"?: string;
  "mqtt-ca"?: string;
  "mqtt-prefix"?: string;
  timeout?: string;
  json?: boolean;
  help?: boolean;
};

/** A failure to report in one line (exit 1). */
export class FleetError extends Error {
  /** Makes a FleetError. */
  constructor(message: string) {
    super(message);
    this.name = "FleetError";
  }
}

/** How to reach the broker. */
export interface BrokerSettings {
  /** The broker's URL, without user or password. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** The CA certificate(s) to trust, PEM. */
  readonly ca?: string;
  readonly prefix: string;
}

/**
 * The broker settings from the options (flags beat `LEDCTL_MQTT*`
 * variables, which beat the defaults). A {@linkcode UsageError} for a URL
 * that is not `mqtt://` or `mqtts://` or that holds a password, an
 * unreadable file, a password without a user, a bad prefix.
 *
 * @example
 * ```ts
 * import { brokerSettings } from "./fleet.ts";
 * await brokerSettings({ mqtt: "mqtt://broker.lan" }, {});
 * // { url: "mqtt://broker.lan", prefix: "ledctl", … }
 * ```
 */
export async function brokerSettings(
  values: FleetValues,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<BrokerSettings> {
  const given = (flag: string | undefined, name: string) =>
    flag ?? (env[name] === "" ? undefined : env[name]);
  const raw = given(values.mqtt, "LEDCTL_MQTT") ?? DEFAULT_BROKER;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--mqtt "${raw}" is not a URL: write e.g. mqtt://raspberrypi.local`);
  }
  if (url.protocol !== "mqtt:" && url.protocol !== "mqtts:") {
    throw new UsageError(
      `--mqtt "${url.protocol}//…": the broker's URL starts with mqtt:// or mqtts:// (TLS)`,
    );
  }
  if (url.password !== "") {
    throw new UsageError(
      "--mqtt: do not put a password in the URL (it shows in ps and in logs); " +
        "use --mqtt-password-file FILE or LEDCTL_MQTT_PASSWORD",
    );
  }
  let username = given(values["mqtt-user"], "LEDCTL_MQTT_USER");
  if (username === undefined && url.username !== "") username = decodeURIComponent(url.username);
  url.username = "";
  const { password, ca } = await readMqttSecrets({
    mqttPasswordFile: values["mqtt-password-file"],
    mqttPassword: values["mqtt-password-file"] === undefined
      ? given(undefined, "LEDCTL_MQTT_PASSWORD")
      : undefined,
    mqttCa: given(values["mqtt-ca"], "LEDCTL_MQTT_CA"),
  });
  if (password !== undefined && username === undefined) {
    throw new UsageError("a password needs a user: give --mqtt-user (or LEDCTL_MQTT_USER)");
  }
  const prefix = given(values["mqtt-prefix"], "LEDCTL_MQTT_PREFIX") ?? DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new UsageError(
      `--mqtt-prefix "${prefix}": use topic levels of A-Z, a-z, 0-9, _ and -, separated by /`,
    );
  }
  return {
    url: url.href.replace(/\/$/, ""),
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(ca !== undefined && { ca }),
    prefix,
  };
}

/**
 * What a failed connection means, in one line that says what to do. Never
 * holds the password.
 *
 * @example
 * ```ts
 * import { explainConnectError } from "./fleet.ts";
 * explainConnectError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), "mqtt://h:1883", false);
 * // "cannot reach the MQTT broker at mqtt://h:1883: connection refused (is it running? is --mqtt right?)"
 * ```
 */
export function explainConnectError(e: unknown, url: string, withUser: boolean): string {
  const err = e as Error & { code?: string | number };
  // One line, whatever the library said.
  const msg = String(err?.message ?? e).replace(/\s+/g, " ").trim();
  if (err?.code === "ECONNREFUSED" || /connection refused \(os error/i.test(msg)) {
    return `cannot reach the MQTT broker at ${url}: connection refused (is it running? is --mqtt right?)`;
  }
  if (err?.code === "ENOTFOUND" || err?.code === "EAI_AGAIN" || /failed to lookup/i.test(msg)) {
    return `cannot find the MQTT broker's host in ${url}: check --mqtt`;
  }
  // MQTT 3.1.1: 4 bad user name or password, 5 not authorized; MQTT 5: 134, 135.
  if ([4, 5, 134, 135].includes(err?.code as number) || /^Connection refused: /.test(msg)) {
    const why = msg.replace(/^Connection refused: /, "");
    return withUser
      ? `the MQTT broker at ${url} refused the user name or password (${why}): ` +
        `check --mqtt-user and --mqtt-password-file (or LEDCTL_MQTT_PASSWORD)`
      : `the MQTT broker at ${url} refused an anonymous client (${why}): ` +
        `give --mqtt-user and --mqtt-password-file (or LEDCTL_MQTT_PASSWORD)`;
  }
  if (/certificate|UnknownIssuer|self[- ]signed|CERT_|NotValidForName|BadSignature/i.test(msg)) {
    return `the MQTT broker's certificate at ${url} is not trusted (${msg}): ` +
      `give the CA that signed it with --mqtt-ca FILE, and use the name it was issued for`;
  }
  if (err?.code === "ECONNRESET" || err?.code === "EPIPE" || /closed the connection/.test(msg)) {
    return `the MQTT broker at ${url} closed the connection at once: ` +
      `${url.startsWith("mqtts:") ? "is it a TLS port?" : "is it a TLS port (then use mqtts://)?"}`;
  }
  if (/connack timeout|timed out/i.test(msg)) {
    return `no MQTT answer from ${url}: is it an MQTT port (mqtts:// for a TLS one)?`;
  }
  return `cannot connect to the MQTT broker at ${url}: ${msg}`;
}

/** Options of {@linkcode connectBroker}. */
export interface ConnectOptions {
  /** Give up after this long. Default 5,000 ms. */
  timeoutMs?: number;
  /** After the first connection, reconnect when it drops (watch). Default false. */
  reconnect?: boolean;
}

/**
 * Connects to the broker once; a {@linkcode FleetError} says in one line
 * why not (unreachable, credentials refused, certificate not trusted, no
 * answer within `timeoutMs`).
 *
 * @example
 * ```ts
 * import { brokerSettings, connectBroker } from "./fleet.ts";
 * const client = await connectBroker(await brokerSettings({}), { timeoutMs: 2_000 });
 * await client.endAsync();
 * ```
 */
export async function connectBroker(
  s: BrokerSettings,
  options: ConnectOptions = {},
): Promise<MqttClient> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const opts: IClientOptions = {
    clientId: `ledctl-fleet-${crypto.randomUUID().slice(0, 8)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    rejectUnauthorized: true,
    ...(s.username !== undefined && { username: s.username }),
    ...(s.password !== undefined && { password: s.password }),
    ...(s.ca !== undefined && { ca: s.ca }),
  };
  const { connect } = await import("mqtt");
  const client = connect(s.url, opts);
  return new Promise((resolve, reject) => {
    let streamError: unknown;
    const onStreamError = (e: unknown) => streamError ??= e;
    client.stream?.on("error", onStreamError);
    const done = (error?: unknown) => {
      clearTimeout(timer);
      client.off("connect", onConnect);
      client.off("error", onError);
      client.off("close", onClose);
      client.stream?.off("error", onStreamError);
      if (error === undefined) {
        if (options.reconnect) client.options.reconnectPeriod = 1_000;
        resolve(client);
        return;
      }
      client.end(true);
      reject(new FleetError(explainConnectError(error, s.url, s.username !== undefined)));
    };
    const onConnect = () => done();
    const onError = (e: unknown) => done(e);
    const onClose = () => done(streamError ?? new Error("the broker closed the connection"));
    const timer = setTimeout(
      () => done(new Error(`timed out after ${formatDuration(timeoutMs)}`)),
      timeoutMs,
    );
    client.on("connect", onConnect);
    client.on("error", onError);
    client.on("close", onClose);
  });
}

/**
 * "12 s ago", "3 min ago", "2 h ago", "4 d ago": how long before `now` the
 * ISO time `iso` was; `-` for none or a bad one.
 *
 * @example
 * ```ts
 * import { formatAgo } from "./fleet.ts";
 * formatAgo("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:00:12Z")); // "12 s ago"
 * ```
 */
export function formatAgo(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return "-";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function availability(d: FleetDevice): string {
  return d.online === true ? "online" : d.online === false ? "offline" : "unknown";
}

/**
 * `fleet list`'s table: one row per device, columns aligned, a count last.
 *
 * @example
 * ```ts
 * import { fleetTable } from "./fleet.ts";
 * fleetTable([], Date.now()); // "no device"
 * ```
 */
export function fleetTable(devices: readonly FleetDevice[], now: number): string {
  if (devices.length === 0) return "no device";
  const rows = [
    ["ID", "STATUS", "STATE", "GROUPS", "LAST CHANGE"],
    ...devices.map((d) => [
      d.id,
      availability(d),
      d.state?.text ?? "?",
      d.state?.groups.join(",") || "-",
      formatAgo(d.state?.changed, now),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  const lines = rows.map((r) =>
    r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
  );
  const online = devices.filter((d) => d.online === true).length;
  lines.push(`${devices.length} device${devices.length === 1 ? "" : "s"}, ${online} online`);
  return lines.join("\n");
}

/**
 * `fleet list --json`'s object for a device: its id, `online` (true,
 * false, or null when its availability was never seen), then its state
 * payload's fields (`state`, `text`, `effect`, `hz`, `groups`, `by`,
 * `changed`, `version`), null when no state was seen.
 *
 * @example
 * ```ts
 * import { deviceJson } from "./fleet.ts";
 * deviceJson({ id: "kitchen", online: true, state: undefined, seen: 0 });
 * // { id: "kitchen", online: true, state: null, text: null, groups: [], … }
 * ```
 */
export function deviceJson(d: FleetDevice): Record<string, unknown> {
  const s = d.state;
  return {
    id: d.id,
    online: d.online ?? null,
    state: s?.state ?? null,
    text: s?.text ?? null,
    effect: s?.effect ?? null,
    hz: s?.hz ?? null,
    groups: s?.groups ?? [],
    by: s?.by ?? null,
    changed: s?.changed || null,
    version: s?.version || null,
  };
}

/** Who a `fleet send` target addresses: the online devices, and the others skipped. */
export interface Addressed {
  readonly online: FleetDevice[];
  readonly skipped: FleetDevice[];
}

/**
 * The devices `target` (an id, `group:NAME` or `all`) addresses among
 * `devices`: `online` gets the command, `skipped` are offline (or of
 * unknown availability). A {@linkcode FleetError} when none is online.
 *
 * @example
 * ```ts
 * import { addressed } from "./fleet.ts";
 * addressed([], "all"); // throws FleetError: no device on the broker …
 * ```
 */
export function addressed(devices: readonly FleetDevice[], target: string): Addressed {
  const group = target.startsWith("group:") ? target.slice(6) : undefined;
  const members = devices.filter((d) =>
    target === "all"
      ? true
      : group !== undefined
      ? d.state?.groups.includes(group)
      : d.id === target
  );
  const what = target === "all"
    ? "no device"
    : group !== undefined
    ? `no device in group "${group}"`
    : `no device "${target}"`;
  if (members.length === 0) {
    throw new FleetError(`${what} on the broker (ledctl fleet list shows the devices)`);
  }
  const online = members.filter((d) => d.online === true);
  const skipped = members.filter((d) => d.online !== true);
  if (online.length === 0) {
    const ids = skipped.map((d) => `${d.id} (${availability(d)})`).join(", ");
    throw new FleetError(
      group === undefined && target !== "all"
        ? `"${target}" is ${availability(skipped[0])}: nothing sent`
        : `no online device ${
          target === "all" ? "on the broker" : `in group "${group}"`
        }: nothing sent (${ids})`,
    );
  }
  return { online, skipped };
}

/**
 * The state text each device must report after `command`, `undefined` for
 * any state (Home Assistant's flash), or `null` when the command is refused
 * (the devices will answer on their error topics). The same parser as the
 * devices use.
 *
 * @example
 * ```ts
 * import { expectedText } from "./fleet.ts";
 * expectedText("clignote 2,5"); // "blink 2.5 Hz"
 * expectedText("blink 9999");   // null
 * ```
 */
export function expectedText(command: string): string | undefined | null {
  const decoded = decodeCommand(new TextEncoder().encode(command));
  if (decoded.kind === "flash") return undefined;
  const state = stateFor(decoded.command);
  return state ? formatState(state) : null;
}

/** How one addressed device answered a `fleet send`. */
type Answer = { ok: true } | { ok: false; why: string };

async function runSend(
  view: FleetView,
  target: string,
  command: string,
  timeoutMs: number,
): Promise<number> {
  const { online, skipped } = addressed(view.devices(), target);
  const expected = expectedText(command);
  const label = expected ?? JSON.stringify(command);
  const answers = new Map<string, Answer>();
  const heard = new Map<string, string>(); // a state that was not the one asked for
  const waiting = new Set(online.map((d) => d.id));
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const settle = (id: string, answer: Answer) => {
    if (!waiting.delete(id)) return;
    answers.set(id, answer);
    if (waiting.size === 0) finish();
  };
  const unsubscribe = view.subscribe((d, change) => {
    if (!waiting.has(d.id)) return;
    if (change === "availability") {
      if (d.online === false) settle(d.id, { ok: false, why: "went offline" });
      return;
    }
    if (expected === null || !d.state) return;
    if (expected === undefined || d.state.text === expected) settle(d.id, { ok: true });
    else heard.set(d.id, d.state.text);
  });
  const unsubscribeErrors = view.subscribeErrors((e) => {
    settle(e.id, { ok: false, why: e.error });
  });
  const timer = setTimeout(finish, timeoutMs);
  try {
    // A publish the broker never acknowledges must not outlast the timeout.
    await Promise.race([view.send(target, command).then(() => finished), finished]);
  } finally {
    clearTimeout(timer);
    unsubscribe();
    unsubscribeErrors();
  }
  for (const id of waiting) {
    const other = heard.get(id);
    answers.set(id, {
      ok: false,
      why: other === undefined
        ? `no answer within ${formatDuration(timeoutMs)}`
        : `reports ${other}, not ${label}`,
    });
  }
  const failed = online.filter((d) => !answers.get(d.id)?.ok);
  const skippedNote = skipped.length
    ? ` (skipped, not online: ${skipped.map((d) => d.id).join(", ")})`
    : "";
  const count = (n: number) => `${n} device${n === 1 ? "" : "s"}`;
  if (failed.length === 0) {
    console.log(`OK ${expected ?? command} on ${count(online.length)}${skippedNote}`);
    return 0;
  }
  const lines = [
    `ledctl fleet send: ${failed.length} of ${count(online.length)} did not ${
      expected === null ? "apply" : "report"
    } ${label}${skippedNote}:`,
    ...failed.map((d) => {
      const a = answers.get(d.id) as { why: string };
      return `  ${d.id}: ${a.why}`;
    }),
  ];
  console.error(lines.join("\n"));
  return 1;
}

function watchLine(d: FleetDevice): string {
  const by = d.state?.by ? ` (by ${d.state.by})` : "";
  return `${d.id} ${availability(d)} ${d.state?.text ?? "?"}${by}`;
}

async function runWatch(view: FleetView, client: MqttClient, synced: Promise<void>) {
  const term = new Terminal({ live: false });
  const printed = new Map<string, string>();
  let ready = false;
  const show = (d: FleetDevice) => {
    const key = `${availability(d)} ${d.state?.text} ${d.state?.changed}`;
    if (printed.get(d.id) === key) return;
    printed.set(d.id, key);
    term.log(watchLine(d));
  };
  view.subscribe((d) => ready && show(d));
  const stop = Promise.withResolvers<void>();
  const onSignal = () => stop.resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let lost = false;
  const onOffline = () => {
    if (lost) return;
    lost = true;
    term.log("the broker connection is lost; reconnecting", "warn");
  };
  const onConnect = () => {
    if (!lost) return;
    lost = false;
    term.log("reconnected to the broker");
  };
  client.on("offline", onOffline);
  client.on("connect", onConnect);
  try {
    await synced;
    ready = true;
    const all = view.devices();
    if (all.length === 0) term.log("no device yet; waiting");
    for (const d of all) show(d);
    await stop.promise;
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    client.off("offline", onOffline);
    client.off("connect", onConnect);
    await term.flush(1_000);
  }
}

/**
 * Runs `ledctl fleet`; returns the exit code.
 *
 * @example
 * ```ts
 * import { fleet } from "./fleet.ts";
 * Deno.exit(await fleet(["--mqtt", "mqtt://127.0.0.1:1883", "send", "all", "blink", "2"]));
 * ```
 */
export async function fleet(args: string[]): Promise<number> {
  const head = parseUntilCommand(args, OPTIONS);
  const [action, ...afterAction] = head.command;
  const tail = parseUntilCommand(afterAction, OPTIONS);
  const values: FleetValues = { ...head.values, ...tail.values };
  if (values.help) {
    console.log(FLEET_HELP);
    return 0;
  }
  const words = tail.command;
  if (action === undefined) {
    throw new UsageError('say what to do: "ledctl fleet list", "send" or "watch"');
  }
  if (!["list", "send", "watch"].includes(action)) {
    throw new UsageError(`unknown action "${action}": use list, send or watch`);
  }
  if (action !== "send" && words.length > 0) {
    throw new UsageError(`fleet ${action} takes no argument (got "${words.join(" ")}")`);
  }
  if (values.json && action !== "list") {
    throw new UsageError("--json is for fleet list");
  }
  let target = "";
  let command = "";
  if (action === "send") {
    if (words.length === 0) {
      throw new UsageError('say whom and what to send, e.g. "ledctl fleet send all blink 2"');
    }
    target = words[0];
    if (words.length === 1) {
      throw new UsageError(
        `say what to send to ${target}, e.g. "ledctl fleet send ${target} blink 2"`,
      );
    }
    command = words.slice(1).join(" ");
  }
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout ?? "5s", "--timeout");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (timeoutMs <= 0) throw new UsageError("--timeout must be more than 0");
  const settings = await brokerSettings(values);
  if (action === "send") {
    try {
      targetTopic(settings.prefix, target);
    } catch (e) {
      throw new UsageError(
        `target: ${(e as Error).message}; a target is a device id, group:NAME or all`,
      );
    }
  }

  let client: MqttClient | undefined;
  try {
    client = await connectBroker(settings, { timeoutMs, reconnect: action === "watch" });
    // After connecting, an error (the connection lost) must not go unheard:
    // an EventEmitter throws an "error" nobody listens to.
    client.on("error", (e) => {
      if (action === "watch") console.error(`ledctl fleet: ${e.message}`);
    });
    const view = new FleetView(client, settings.prefix);
    await view.start();
    const synced = view.sync({ timeoutMs }).catch((e) => {
      throw new FleetError((e as Error).message);
    });
    if (action === "watch") return await runWatch(view, client, synced);
    await synced;
    if (action === "send") return await runSend(view, target, command, timeoutMs);
    const devices = view.devices();
    if (values.json) console.log(JSON.stringify(devices.map(deviceJson)));
    else if (devices.length === 0) {
      console.log(
        `no device under ${settings.prefix}/ on ${settings.url} ` +
          `(a device appears once a ledctl serve --mqtt connects to it)`,
      );
    } else console.log(fleetTable(devices, Date.now()));
    return 0;
  } catch (e) {
    if (!(e instanceof FleetError)) throw e;
    console.error(`ledctl fleet: ${e.message}`);
    return 1;
  } finally {
    await client?.endAsync(true).catch(() => {});
  }
}
