/**
 * What a broker says about the fleet: every device that published a state
 * or an availability under the prefix, kept up to date from the retained
 * and live messages. `ledctl fleet` and the web page's fleet view read it;
 * {@linkcode FleetView.send} publishes a command to a device, a group or
 * all; {@linkcode FleetView.sync} waits until the retained messages have
 * all arrived; {@linkcode FleetView.subscribeErrors} hears the commands a
 * device refused (`<prefix>/<id>/error`).
 *
 * Bounded: at most {@linkcode MAX_DEVICES} devices are kept (more are
 * counted in `dropped`), and payloads are parsed only up to 4 KiB.
 *
 * On demand (`idleMs`, what `serve --mqtt` uses for its web page): a view
 * that subscribes to the whole fleet costs the broker one delivery per
 * device per change, so N devices that all followed the fleet would cost
 * N² deliveries per `all` command. A serve's view subscribes only when the
 * page asks ({@linkcode FleetView.ensure}, {@linkcode FleetView.hold}) and
 * unsubscribes after `idleMs` with no page open and no request.
 *
 * @module
 */
import type { MqttClient } from "mqtt";
import { type Clock, realClock, type TimerId } from "../../hal/clock.ts";
import { parseStatePayload, type StatePayload, targetTopic } from "./topics.ts";

/** Most devices a view keeps. */
export const MAX_DEVICES = 10_000;

/** The topic level under the prefix where {@linkcode FleetView.sync}'s markers go. */
export const MARKER_LEVEL = "_fleet";

/** One device as seen on the broker. */
export interface FleetDevice {
  readonly id: string;
  /** `online`/`offline` from its availability topic; undefined until seen. */
  readonly online: boolean | undefined;
  /** Its last state payload; undefined until seen. */
  readonly state: StatePayload | undefined;
  /** When this view last heard of it (ms since the epoch). */
  readonly seen: number;
}

/** What a message changed: the device's state, or its availability. */
export type FleetChange = "state" | "availability";

/**
 * What {@linkcode FleetView} tells its listeners: the device that changed,
 * and which of its topics said so (a state message counts even when its
 * text is the same as before: a device re-publishes its state after each
 * command).
 */
export type FleetListener = (device: FleetDevice, change: FleetChange) => void;

/** A command a device refused, from its `<prefix>/<id>/error` topic. */
export interface FleetError {
  readonly id: string;
  /** The reply it would have given over TCP: `ERR bad-argument …`. */
  readonly error: string;
  /** The command as it received it, if it said. */
  readonly command: string;
}

/** What {@linkcode FleetView.subscribeErrors} calls with each refusal. */
export type FleetErrorListener = (error: FleetError) => void;

/** Options of {@linkcode FleetView.sync}. */
export interface SyncOptions {
  /** Give up after this long (a `Error` says why). Default 5,000 ms. */
  timeoutMs?: number;
}

/**
 * The fleet under `prefix` on `client`'s broker.
 *
 * @example
 * ```ts
 * import mqtt from "mqtt";
 * import { FleetView } from "./fleet_view.ts";
 * const client = await mqtt.connectAsync("mqtt://127.0.0.1:1883");
 * const fleet = new FleetView(client, "ledctl");
 * await fleet.start();
 * console.log(fleet.devices());
 * ```
 */
export class FleetView {
  readonly prefix: string;
  readonly #client: MqttClient;
  readonly #devices = new Map<string, FleetDevice>();
  readonly #listeners = new Set<FleetListener>();
  readonly #errorListeners = new Set<FleetErrorListener>();
  readonly #markers = new Map<string, () => void>();
  readonly #now: () => number;
  /** This view's own marker topic level: no other view hears its markers. */
  readonly #session = crypto.randomUUID();
  /** Devices not kept because {@linkcode MAX_DEVICES} was reached. */
  dropped = 0;
  readonly #onMessageBound = (topic: string, payload: Uint8Array) =>
    this.#onMessage(topic, payload);
  readonly #idleMs: number | undefined;
  readonly #clock: Clock;
  /** Subscribed (start() done) or being subscribed. */
  #started: Promise<void> | undefined;
  #holds = 0;
  #lastUse = 0;
  #idleTimer: TimerId | undefined;

  /**
   * A view of `prefix` through `client` (connected or not). Call
   * {@linkcode start} to follow the fleet for good, or give `idleMs` and
   * call {@linkcode ensure}/{@linkcode hold} to follow it only while used.
   */
  constructor(
    client: MqttClient,
    prefix: string,
    options: {
      /** Wall clock for `seen`. Default `Date.now`. */
      now?: () => number;
      /** On demand: unsubscribe after this long unused (see the module doc). Default: never. */
      idleMs?: number;
      /** Timers for `idleMs`. Default: the real clock. */
      clock?: Clock;
    } = {},
  ) {
    this.#client = client;
    this.prefix = prefix;
    this.#now = options.now ?? Date.now;
    this.#idleMs = options.idleMs;
    this.#clock = options.clock ?? realClock;
  }

  /** True while subscribed to the fleet. */
  get following(): boolean {
    return this.#started !== undefined;
  }

  /**
   * Subscribes if not subscribed, and waits until the retained messages
   * are in ({@linkcode sync}); with `idleMs`, counts as a use.
   *
   * @example
   * ```ts
   * import mqtt from "mqtt";
   * import { FleetView } from "./fleet_view.ts";
   * const client = await mqtt.connectAsync("mqtt://127.0.0.1:1883");
   * const fleet = new FleetView(client, "ledctl", { idleMs: 60_000 });
   * await fleet.ensure();
   * console.log(fleet.devices().length);
   * ```
   */
  async ensure(): Promise<void> {
    this.#lastUse = this.#clock.now();
    if (!this.#started) {
      const started = this.#started = this.start().then(() => this.sync());
      started.catch(() => {
        if (this.#started === started) this.#stop();
      });
    }
    try {
      await this.#started;
    } finally {
      this.#armIdle();
    }
  }

  /**
   * Keeps the view subscribed until the returned function is called (an
   * open page's event stream); call {@linkcode ensure} first.
   */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#lastUse = this.#clock.now();
      this.#armIdle();
    };
  }

  #armIdle(): void {
    if (this.#idleMs === undefined || this.#idleTimer !== undefined) return;
    const check = () => {
      this.#idleTimer = undefined;
      if (!this.#started) return;
      const idle = this.#clock.now() - this.#lastUse;
      if (this.#holds === 0 && idle >= this.#idleMs!) return this.#stop();
      this.#idleTimer = this.#clock.setTimeout(check, Math.max(1, this.#idleMs! - idle));
    };
    this.#idleTimer = this.#clock.setTimeout(check, this.#idleMs);
  }

  /** Unsubscribes and forgets the devices (they are read again at the next use). */
  #stop(): void {
    this.#started = undefined;
    if (this.#idleTimer !== undefined) this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#client.off("message", this.#onMessageBound);
    this.#client.unsubscribeAsync(this.#topics()).catch(() => {});
    this.#devices.clear();
  }

  /** Stops following the fleet now (a view made with `idleMs` starts again at its next use). */
  stop(): void {
    if (this.#started) this.#stop();
  }

  #topics(): string[] {
    return [
      `${this.prefix}/+/state`,
      `${this.prefix}/+/availability`,
      `${this.prefix}/+/error`,
      `${this.prefix}/${MARKER_LEVEL}/${this.#session}`,
    ];
  }

  /**
   * Subscribes to every device's state, availability and errors (retained
   * ones arrive first; {@linkcode sync} waits for them).
   */
  async start(): Promise<void> {
    this.#client.off("message", this.#onMessageBound);
    this.#client.on("message", this.#onMessageBound);
    await this.#client.subscribeAsync(
      this.#topics(),
      { qos: 1 },
    );
  }

  /**
   * Resolves once every message the broker had for this view when called
   * has arrived (the retained states and availabilities after
   * {@linkcode start}): it publishes a unique marker to
   * `<prefix>/_fleet/<random>`, which this view subscribes to, and waits
   * for it to come back; the broker delivers a session's messages in order.
   * No fixed wait. Rejects after `timeoutMs` (an ACL that forbids that
   * topic, a broker gone).
   *
   * @example
   * ```ts
   * import mqtt from "mqtt";
   * import { FleetView } from "./fleet_view.ts";
   * const client = await mqtt.connectAsync("mqtt://127.0.0.1:1883");
   * const fleet = new FleetView(client, "ledctl");
   * await fleet.start();
   * await fleet.sync();
   * console.log(`${fleet.devices().length} devices`);
   * ```
   */
  async sync(options: SyncOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const marker = crypto.randomUUID();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const back = new Promise<void>((resolve, reject) => {
      this.#markers.set(marker, resolve);
      timer = setTimeout(() => {
        reject(
          new Error(
            `the broker did not send back a message published to ` +
              `${this.prefix}/${MARKER_LEVEL}/… within ${timeoutMs} ms ` +
              `(does an ACL forbid that topic?)`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await this.#client.publishAsync(`${this.prefix}/${MARKER_LEVEL}/${this.#session}`, marker, {
        qos: 1,
      });
      await back;
    } finally {
      clearTimeout(timer);
      this.#markers.delete(marker);
    }
  }

  /** Every device seen, sorted by id. */
  devices(): FleetDevice[] {
    return [...this.#devices.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One device, if seen. */
  device(id: string): FleetDevice | undefined {
    return this.#devices.get(id);
  }

  /** Calls `listener` at each device's change; returns the function that unsubscribes. */
  subscribe(listener: FleetListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `listener` with each command a device refuses (its
   * `<prefix>/<id>/error` messages); returns the function that
   * unsubscribes.
   *
   * @example
   * ```ts
   * import mqtt from "mqtt";
   * import { FleetView } from "./fleet_view.ts";
   * const client = await mqtt.connectAsync("mqtt://127.0.0.1:1883");
   * const fleet = new FleetView(client, "ledctl");
   * await fleet.start();
   * fleet.subscribeErrors((e) => console.log(`${e.id}: ${e.error}`));
   * await fleet.send("all", "blink 9999");
   * ```
   */
  subscribeErrors(listener: FleetErrorListener): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * Publishes `command` (a protocol line or Home Assistant JSON) to
   * `target`: a device id, `group:<name>`, or `all`. A `RangeError` for a
   * target that cannot be a topic.
   */
  async send(target: string, command: string): Promise<void> {
    await this.#client.publishAsync(targetTopic(this.prefix, target), command, { qos: 1 });
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    if (!topic.startsWith(`${this.prefix}/`)) return;
    const [id, kind, ...rest] = topic.slice(this.prefix.length + 1).split("/");
    if (rest.length || id === "group" || id === "all" || id === "") return;
    if (id === MARKER_LEVEL && kind === this.#session) {
      this.#markers.get(new TextDecoder().decode(payload))?.();
      return;
    }
    if (kind === "error") return this.#onError(id, payload);
    if (kind !== "state" && kind !== "availability") return;
    const old = this.#devices.get(id);
    if (!old && this.#devices.size >= MAX_DEVICES) {
      this.dropped++;
      return;
    }
    const text = new TextDecoder().decode(payload.subarray(0, 4096));
    let next: FleetDevice = old ?? { id, online: undefined, state: undefined, seen: 0 };
    if (kind === "availability") {
      if (text !== "online" && text !== "offline") return;
      next = { ...next, online: text === "online", seen: this.#now() };
    } else {
      const state = parseStatePayload(text);
      if (!state) return;
      next = { ...next, state, seen: this.#now() };
    }
    this.#devices.set(id, next);
    for (const l of this.#listeners) {
      try {
        l(next, kind);
      } catch (e) {
        console.error(`ledctl: fleet listener failed: ${(e as Error).message}`);
      }
    }
  }

  #onError(id: string, payload: Uint8Array): void {
    if (this.#errorListeners.size === 0) return;
    const text = new TextDecoder().decode(payload.subarray(0, 4096));
    let error = text;
    let command = "";
    try {
      const v = JSON.parse(text);
      if (typeof v?.error === "string") error = v.error;
      if (typeof v?.command === "string") command = v.command;
    } catch { /* not JSON: the text is the error */ }
    for (const l of this.#errorListeners) {
      try {
        l({ id, error, command });
      } catch (e) {
        console.error(`ledctl: fleet error listener failed: ${(e as Error).message}`);
      }
    }
  }
}
