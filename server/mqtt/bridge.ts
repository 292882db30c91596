/**
 * The MQTT transport of `ledctl serve --mqtt URL`: the device joins a
 * broker as `<prefix>/<id>` (topics and payloads: `topics.ts`,
 * docs/mqtt.md).
 *
 * - publishes its state (retained) at every LED change, on connect, on
 *   every reconnect, and after each command it received over MQTT;
 * - `online` (retained) on its availability topic on connect; `offline` as
 *   its last will and at a clean shutdown;
 * - runs the commands of `<prefix>/<id>/set`, of its groups'
 *   `<prefix>/group/<g>/set` and of `<prefix>/all/set` through the same
 *   parser and {@linkcode execute} as TCP and HTTP (counted as transport
 *   `mqtt`); a refusal is answered on `<prefix>/<id>/error`, never applied;
 * - announces itself to Home Assistant (discovery), again after a random
 *   delay whenever Home Assistant says `online`;
 * - reconnects by itself with backoff (0.5 s doubling to 30 s, jitter):
 *   the LED keeps working meanwhile, and nothing is queued while offline
 *   (the state is published again on connect). A refused password, an
 *   untrusted certificate or an unreachable broker is one log line saying
 *   what to check, not one per attempt.
 *
 * MQTT.js is loaded (dynamic `import()`) only when a bridge starts: a
 * server without `--mqtt` never needs the npm package.
 *
 * @module
 */
import type { IClientOptions, MqttClient } from "mqtt";
import { type Clock, realClock, type TimerId } from "../../hal/clock.ts";
import type { LedControl, LedService, ServiceEvent } from "../../core/led_service.ts";
import { type ClientInfo, execute } from "../../core/commands.ts";
import { countOutcome } from "../../core/tally.ts";
import { type LedState, sameState } from "../../core/state.ts";
import type { Command, Rejection } from "../../protocol/command.ts";
import { metricsFor } from "../metrics.ts";
import {
  decodeCommand,
  DEFAULT_PREFIX,
  type DeviceTopics,
  deviceTopics,
  discoveryPayload,
  HA_STATUS_TOPIC,
  statePayload,
} from "./topics.ts";

/** A log sink with a level, like the server's terminal. */
export type BridgeLog = (line: string, level?: "error" | "warn" | "info" | "debug") => void;

/** Options of {@linkcode reconnectDelay}; the defaults are the bridge's. */
export interface BackoffOptions {
  /** The first wait, ms. Default 500. */
  initialMs?: number;
  /** The longest wait, ms: the doubling stops there. Default 30 000. */
  maxMs?: number;
  /**
   * Jitter: each wait is shortened by up to this fraction of itself, at
   * random, so a fleet that lost its broker does not come back in
   * lockstep; a wait never exceeds `maxMs`. Default 0.2.
   */
  jitter?: number;
  /** Uniform random number in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/**
 * The wait before reconnection attempt `attempt` (0 for the first after a
 * loss): `initialMs` doubling up to `maxMs`, less up to `jitter` of it.
 * `RangeError` for a negative attempt or nonsense options.
 *
 * @example
 * ```ts
 * import { reconnectDelay } from "./bridge.ts";
 * const none = { random: () => 0 };
 * [0, 1, 2, 6, 7, 20].map((a) => reconnectDelay(a, none)); // [500, 1000, 2000, 30000, 30000, 30000]
 * ```
 */
export function reconnectDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 500, maxMs = 30_000, jitter = 0.2, random = Math.random } = options;
  if (!(Number.isInteger(attempt) && attempt >= 0)) {
    throw new RangeError(`attempt must be a whole number >= 0, got ${attempt}`);
  }
  if (!(initialMs > 0 && maxMs >= initialMs && jitter >= 0 && jitter < 1)) {
    throw new RangeError("backoff needs 0 < initialMs <= maxMs and 0 <= jitter < 1");
  }
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 40));
  return Math.round(base * (1 - jitter * random()));
}

/** Socket error codes that mean the broker cannot be reached (now). */
const UNREACHABLE =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EPIPE)$/;

/** What went wrong with a connection, as a kind and one line for the log. */
export interface ConnectProblem {
  /** `auth`: credentials refused; `tls`: certificate; `unreachable`; `other`. */
  readonly kind: "auth" | "tls" | "unreachable" | "other";
  /** The log line: what failed and what to check. */
  readonly line: string;
}

/** What {@linkcode describeProblem} says the connection was made with. */
export interface ConnectContext {
  /** The broker's URL, without credentials. */
  readonly url: string;
  /** The user name given, if any. */
  readonly user?: string;
  /** Whether a password was given. */
  readonly password: boolean;
  /** The CA file given (`--mqtt-ca`), if any. */
  readonly caFile?: string;
}

/**
 * Names a connection error for the log: a refused password, an untrusted
 * certificate, an unreachable broker, each with what to check.
 *
 * @example
 * ```ts
 * import { describeProblem } from "./bridge.ts";
 * const e = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1883"), { code: "ECONNREFUSED" });
 * describeProblem(e, { url: "mqtt://127.0.0.1:1883", password: false }).kind; // "unreachable"
 * ```
 */
export function describeProblem(error: Error | undefined, ctx: ConnectContext): ConnectProblem {
  const why = error?.message ?? "the connection closed";
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 4 || code === 5 || /Not authorized|Bad username or password/i.test(why)) {
    const user = ctx.user === undefined ? "no user given" : `user "${ctx.user}"`;
    const pass = ctx.password ? "" : ", no password given";
    return {
      kind: "auth",
      line:
        `mqtt: the broker at ${ctx.url} refused ledctl's credentials (${
          why.replace(/^Connection refused: /, "")
        }; ${user}${pass}): check the user (--mqtt-user, or the one in --mqtt's URL) and the ` +
        `password (--mqtt-password-file FILE or LEDCTL_MQTT_PASSWORD), and the broker's ` +
        `password file and ACLs; retrying every 30 s`,
    };
  }
  if ((typeof code === "string" && /ALTNAME/.test(code)) || /altnames|does not match/i.test(why)) {
    return {
      kind: "tls",
      line: `mqtt: the broker's certificate at ${ctx.url} is not for that name (${why}): ` +
        `use the host name the certificate was made for in --mqtt's URL; retrying`,
    };
  }
  if (
    (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/.test(code)) ||
    /certificate|UnknownIssuer|self.signed/i.test(why)
  ) {
    const ca = ctx.caFile === undefined
      ? "pass the CA that signed it with --mqtt-ca FILE (the system's CAs are used otherwise)"
      : `the CA in --mqtt-ca ${ctx.caFile} did not sign it: pass the broker's CA`;
    return {
      kind: "tls",
      line: `mqtt: the broker's certificate at ${ctx.url} is not trusted (${why}): ${ca}; retrying`,
    };
  }
  if (
    (typeof code === "string" && UNREACHABLE.test(code)) ||
    /connack timeout|ECONNREFUSED|ENOTFOUND/i.test(why)
  ) {
    return {
      kind: "unreachable",
      line: `mqtt: cannot reach the broker at ${ctx.url} (${why}): is it running, and is ` +
        `--mqtt's host and port right? retrying with backoff (0.5 s doubling to 30 s); ` +
        `the LED keeps working meanwhile`,
    };
  }
  return {
    kind: "other",
    line: `mqtt: the connection to ${ctx.url} failed (${why}); retrying with backoff`,
  };
}

/** Options of {@linkcode MqttBridge}. */
export interface MqttBridgeOptions {
  /** The broker: `mqtt://host[:1883]` or `mqtts://host[:8883]`, without credentials. */
  url: string;
  /** The device id (`--id`), already checked. */
  id: string;
  /** Its groups (`--group`). Default: none. */
  groups?: readonly string[];
  /** The topic prefix (`--mqtt-prefix`). Default `ledctl`. */
  prefix?: string;
  /** The user name. Default: none. */
  username?: string;
  /** The password. Default: none. Never logged. */
  password?: string;
  /** The CA certificates (PEM) to trust for `mqtts`. Default: the system's. */
  ca?: string;
  /** Where `ca` was read from, for messages. Default: none. */
  caFile?: string;
  /** ledctl's version, in the state and discovery payloads. */
  version: string;
  /** Log sink. Default: `console.log` (`console.error` for errors). */
  log?: BridgeLog;
  /** Clock of the reconnection backoff, the discovery delay and `flash`. Default: the real one. */
  clock?: Clock;
  /** Uniform random number in [0, 1), for the jitter and the discovery delay. Default `Math.random`. */
  random?: () => number;
  /** MQTT keepalive, seconds: a silent broker is found dead after 1.5× this. Default 30. */
  keepaliveSeconds?: number;
  /** How long a connection attempt may take, ms. Default 10 000. */
  connectTimeoutMs?: number;
}

/** How long `flash` blinks, ms: Home Assistant's `short` and `long`. */
export const FLASH_MS = Object.freeze({ short: 2_000, long: 10_000 });
/** How fast `flash` blinks, Hz. */
export const FLASH_HZ = 4;
/** A connection shorter than this does not reset the backoff (a takeover loop stays slow). */
const STABLE_MS = 5_000;
/** The longest random delay before discovery is sent again for Home Assistant, ms. */
const DISCOVERY_DELAY_MS = 5_000;
/** Longest refusal echo in an error payload. */
const ECHO_MAX = 200;

/**
 * `ledctl serve`'s MQTT transport for `service`. Construct it early (it
 * follows the LED's changes from then on), {@linkcode MqttBridge.start} it
 * once the listeners are up, {@linkcode MqttBridge.close} it at shutdown.
 *
 * @example
 * ```ts
 * import { MqttBridge } from "./bridge.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const bridge = new MqttBridge(service, { url: "mqtt://127.0.0.1:1883", id: "kitchen", version: "0.1.0" });
 * await bridge.start();
 * // … later
 * await bridge.close();
 * await service.close();
 * ```
 */
export class MqttBridge {
  /** The device's topics. */
  readonly topics: DeviceTopics;
  /** The topic prefix. */
  readonly prefix: string;
  readonly #service: LedService;
  readonly #opts: MqttBridgeOptions;
  readonly #groups: readonly string[];
  readonly #log: BridgeLog;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #cleanups: (() => void)[] = [];
  #client?: MqttClient;
  #connected = false;
  #everConnected = false;
  #connectedAt = 0;
  #reconnects = 0;
  #attempt = 0;
  #lastError?: Error;
  #reported?: ConnectProblem["kind"] | "lost";
  #closing = false;
  #retryTimer?: TimerId;
  #discoveryTimer?: TimerId;
  #flash?: { timer: TimerId; restore: LedState; changes: number };
  #by = "start";
  #changed = new Date().toISOString();
  #changes = 0;

  /** A bridge for `service`; nothing is sent until {@linkcode MqttBridge.start}. */
  constructor(service: LedService, options: MqttBridgeOptions) {
    if (!/^mqtts?:\/\/[^/]/.test(options.url)) {
      throw new TypeError(`the MQTT URL must start with mqtt:// or mqtts://, got "${options.url}"`);
    }
    this.#service = service;
    this.#opts = options;
    this.#groups = [...(options.groups ?? [])];
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.topics = deviceTopics(this.prefix, options.id, this.#groups);
    this.#log = options.log ??
      ((line, level) =>
        level === "error" || level === "warn" ? console.error(line) : console.log(line));
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#cleanups.push(service.subscribe((e) => this.#onService(e)));
    const registry = metricsFor(service);
    this.#cleanups.push(
      registry.register({
        name: "ledctl_mqtt_connected",
        type: "gauge",
        help: "1 while connected to the MQTT broker (serve --mqtt), else 0.",
        collect: () => [{ value: this.#connected ? 1 : 0 }],
      }),
      registry.register({
        name: "ledctl_mqtt_reconnects_total",
        type: "counter",
        help: "Times the connection to the MQTT broker came back after being lost.",
        collect: () => [{ value: this.#reconnects }],
      }),
    );
  }

  /** The MQTT.js client (for a `FleetView` on the same connection); undefined before start. */
  get client(): MqttClient | undefined {
    return this.#client;
  }

  /** True while connected to the broker. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Times the connection came back after being lost. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /**
   * Loads MQTT.js and makes the first connection attempt; resolves at once
   * (the broker may be away: the bridge keeps trying, the LED works).
   */
  async start(): Promise<void> {
    if (this.#client) throw new TypeError("this bridge was started already");
    // Loaded here only: a server without --mqtt never needs the npm package.
    const { connect } = await import("mqtt");
    const client = connect(this.#opts.url, {
      clientId: `ledctl_${this.#opts.id}`,
      clean: true,
      reconnectPeriod: 0, // reconnections are ours: backoff, jitter, one log line per outage
      connectTimeout: this.#opts.connectTimeoutMs ?? 10_000,
      keepalive: this.#opts.keepaliveSeconds ?? 30,
      username: this.#opts.username,
      password: this.#opts.password,
      ca: this.#opts.ca,
      rejectUnauthorized: true,
      queueQoSZero: false,
      will: { topic: this.topics.availability, payload: "offline", qos: 1, retain: true },
    } as IClientOptions);
    this.#client = client;
    client.on("connect", () => this.#onConnect());
    client.on("error", (e: Error) => this.#lastError = e);
    client.on("close", () => this.#onClose());
    client.on("message", (topic, payload, packet) => this.#onMessage(topic, payload, packet));
  }

  /**
   * Says `offline` (when connected) and disconnects, within `timeoutMs`
   * (default 500); stops following the LED. Idempotent.
   */
  async close(timeoutMs = 500): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const c of this.#cleanups.splice(0)) c();
    for (const t of [this.#retryTimer, this.#discoveryTimer, this.#flash?.timer]) {
      if (t !== undefined) this.#clock.clearTimeout(t);
    }
    const client = this.#client;
    if (!client) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<boolean>((r) => timer = setTimeout(() => r(false), timeoutMs));
    const goodbye = new Promise<boolean>((resolve) => {
      if (!client.connected) return client.end(true, {}, () => resolve(true));
      // Acknowledged, then a clean DISCONNECT (no will).
      client.publish(
        this.topics.availability,
        "offline",
        { qos: 1, retain: true },
        () => client.end(false, {}, () => resolve(true)),
      );
    });
    const done = await Promise.race([goodbye, deadline]);
    clearTimeout(timer);
    if (!done) client.end(true);
    this.#connected = false;
  }

  #onConnect(): void {
    const client = this.#client!;
    const wasLost = this.#everConnected;
    this.#connected = true;
    this.#everConnected = true;
    this.#connectedAt = this.#clock.now();
    this.#lastError = undefined;
    if (wasLost) this.#reconnects++;
    if (this.#reported !== undefined || !wasLost) {
      this.#log(
        `mqtt: ${
          wasLost ? "connected again" : "connected"
        } to ${this.#opts.url} as ${this.#opts.id}` +
          (wasLost
            ? ""
            : ` (topics ${this.prefix}/${this.#opts.id}/…${
              this.#groups.length ? `, groups ${this.#groups.join(", ")}` : ""
            })`),
      );
    }
    this.#reported = undefined;
    // Subscriptions go out before "online": a command sent once the device
    // is seen online is delivered.
    client.subscribe(
      [this.topics.set, ...this.topics.groupSet, this.topics.allSet, HA_STATUS_TOPIC],
      { qos: 1 },
      (err) => {
        if (err && !this.#closing) this.#log(`mqtt: could not subscribe: ${err.message}`, "warn");
      },
    );
    this.#publish(this.topics.availability, "online", true);
    this.#publishState();
    this.#publishDiscovery();
  }

  #onClose(): void {
    const wasConnected = this.#connected;
    this.#connected = false;
    if (this.#closing || this.#retryTimer !== undefined) return;
    const ctx: ConnectContext = {
      url: this.#opts.url,
      user: this.#opts.username,
      password: this.#opts.password !== undefined,
      caFile: this.#opts.caFile,
    };
    const problem = describeProblem(this.#lastError, ctx);
    this.#lastError = undefined;
    const lasted = this.#clock.now() - this.#connectedAt;
    if (wasConnected) {
      if (lasted >= STABLE_MS) this.#attempt = 0;
      const short = lasted < STABLE_MS
        ? ` right after connecting (is another device using --id ${this.#opts.id}?)`
        : "";
      this.#log(
        `mqtt: lost the broker at ${this.#opts.url}${short}; reconnecting with backoff ` +
          `(0.5 s doubling to 30 s); the LED keeps working meanwhile`,
        "warn",
      );
      this.#reported = "lost";
    } else if (
      problem.kind !== this.#reported &&
      !(problem.kind === "unreachable" && this.#reported === "lost")
    ) {
      this.#log(problem.line, problem.kind === "unreachable" ? "warn" : "error");
      this.#reported = problem.kind;
    }
    const delay = problem.kind === "auth" && !wasConnected
      ? reconnectDelay(0, { initialMs: 30_000, random: this.#random })
      : reconnectDelay(this.#attempt++, { random: this.#random });
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closing) this.#client?.reconnect();
    }, delay);
  }

  #onService(e: ServiceEvent): void {
    if (e.type !== "state") return;
    this.#by = e.by;
    this.#changed = new Date().toISOString();
    this.#changes++;
    this.#publishState();
  }

  #publish(topic: string, payload: string, retain: boolean): void {
    const client = this.#client;
    // Never queue while offline (MQTT.js's queue has no bound): the state
    // is published again on connect anyway.
    if (!client?.connected || this.#closing) return;
    client.publish(topic, payload, { qos: 1, retain }, () => {});
  }

  #publishState(): void {
    const payload = statePayload(this.#service.state, {
      by: this.#by,
      groups: this.#groups,
      changed: this.#changed,
      version: this.#opts.version,
    });
    this.#publish(this.topics.state, JSON.stringify(payload), true);
  }

  #publishDiscovery(): void {
    const payload = discoveryPayload({
      prefix: this.prefix,
      id: this.#opts.id,
      version: this.#opts.version,
      model: this.#service.description,
    });
    this.#publish(this.topics.discovery, JSON.stringify(payload), true);
  }

  #onMessage(topic: string, payload: Uint8Array, packet: { retain?: boolean }): void {
    if (this.#closing) return;
    if (topic === HA_STATUS_TOPIC) {
      // A retained birth is old news: discovery went out on connect.
      if (packet.retain || new TextDecoder().decode(payload.subarray(0, 16)) !== "online") return;
      if (this.#discoveryTimer !== undefined) return;
      this.#discoveryTimer = this.#clock.setTimeout(() => {
        this.#discoveryTimer = undefined;
        this.#publishDiscovery();
      }, Math.floor(this.#random() * DISCOVERY_DELAY_MS));
      return;
    }
    if (
      topic !== this.topics.set && topic !== this.topics.allSet &&
      !this.topics.groupSet.includes(topic)
    ) return;
    // An empty message clears a retained one: it is no command.
    if (payload.length === 0) return;
    void this.#runCommand(topic, payload, packet.retain === true);
  }

  async #runCommand(topic: string, payload: Uint8Array, retained: boolean): Promise<void> {
    const name = `mqtt ${topic}`;
    const decoded = decodeCommand(payload);
    let cmd: Command | Rejection;
    let flash: "short" | "long" | undefined;
    if (retained) {
      cmd = {
        verb: "error",
        code: "bad-argument",
        text: "a retained command is ignored (it would run again at every reconnection): " +
          "publish commands without the retain flag",
      };
    } else if (decoded.kind === "flash") {
      cmd = { verb: "blink", hz: FLASH_HZ };
      flash = decoded.length;
    } else {
      cmd = decoded.command;
    }
    const before = this.#service.state;
    const changesBefore = this.#changes;
    const client: ClientInfo = { id: 0, remote: topic, authed: true };
    const outcome = await execute(cmd, this.#acting(name), client);
    countOutcome(this.#service, "mqtt", cmd, outcome);
    if (!outcome.ok) {
      this.#log(`${name}: refused ${JSON.stringify(echo(decoded.source))} → ${outcome.reply}`);
      this.#publish(
        this.topics.error,
        JSON.stringify({ error: outcome.reply, command: echo(decoded.source) }),
        false,
      );
      return;
    }
    if (flash) this.#startFlash(flash, before);
    else this.#stopFlash();
    // A confirmation even when nothing changed (the change published it otherwise).
    if (this.#changes === changesBefore) this.#publishState();
  }

  /** Blinks for Home Assistant's `flash`, then goes back to `before` unless someone changed it. */
  #startFlash(length: "short" | "long", before: LedState): void {
    const restore = this.#flash?.restore ?? before;
    if (this.#flash) this.#clock.clearTimeout(this.#flash.timer);
    const changes = this.#changes;
    const timer = this.#clock.setTimeout(() => {
      const f = this.#flash;
      this.#flash = undefined;
      if (!f || this.#closing || this.#changes !== f.changes) return;
      if (sameState(this.#service.state, f.restore)) return;
      this.#service.request(f.restore, `mqtt flash ${length} (end)`).catch((e) =>
        this.#log(`mqtt: could not end the flash: ${(e as Error).message}`, "warn")
      );
    }, FLASH_MS[length]);
    this.#flash = { timer, restore, changes };
  }

  #stopFlash(): void {
    if (!this.#flash) return;
    this.#clock.clearTimeout(this.#flash.timer);
    this.#flash = undefined;
  }

  /** The service, with every change it is asked for made in the name `by`. */
  #acting(by: string): LedControl {
    const s = this.#service;
    return {
      get state() {
        return s.state;
      },
      get description() {
        return s.description;
      },
      get note() {
        return s.note;
      },
      get clients() {
        return s.clients;
      },
      countClient: (delta) => s.countClient(delta),
      tally: (key, n) => s.tally(key, n),
      request: (state) => s.request(state, by),
      subscribe: (listener) => s.subscribe(listener),
    };
  }
}

/** A command's text as echoed back: at most {@linkcode ECHO_MAX} characters. */
function echo(source: string): string {
  return source.length > ECHO_MAX ? `${source.slice(0, ECHO_MAX)}…` : source;
}
