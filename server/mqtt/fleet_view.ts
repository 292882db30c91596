/**
 * What a broker says about the fleet: every device that published a state
 * or an availability under the prefix, kept up to date from the retained
 * and live messages. `ledctl fleet` and the web page's fleet view read it;
 * {@linkcode FleetView.send} publishes a command to a device, a group or
 * all.
 *
 * Bounded: at most {@linkcode MAX_DEVICES} devices are kept (more are
 * counted in `dropped`), and payloads are parsed only up to 4 KiB.
 *
 * @module
 */
import type { MqttClient } from "mqtt";
import { parseStatePayload, type StatePayload, targetTopic } from "./topics.ts";

/** Most devices a view keeps. */
export const MAX_DEVICES = 10_000;

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

/** What {@linkcode FleetView} tells its listeners: the device that changed. */
export type FleetListener = (device: FleetDevice) => void;

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
  readonly #now: () => number;
  /** Devices not kept because {@linkcode MAX_DEVICES} was reached. */
  dropped = 0;

  /** A view of `prefix` through `client` (connected or not); call {@linkcode start}. */
  constructor(client: MqttClient, prefix: string, options: { now?: () => number } = {}) {
    this.#client = client;
    this.prefix = prefix;
    this.#now = options.now ?? Date.now;
  }

  /** Subscribes to every device's state and availability (retained ones arrive first). */
  async start(): Promise<void> {
    this.#client.on("message", (topic, payload) => this.#onMessage(topic, payload));
    await this.#client.subscribeAsync(
      [`${this.prefix}/+/state`, `${this.prefix}/+/availability`],
      { qos: 1 },
    );
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
        l(next);
      } catch (e) {
        console.error(`ledctl: fleet listener failed: ${(e as Error).message}`);
      }
    }
  }
}
