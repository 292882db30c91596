/**
 * Server-Sent Events for the web page: every LED change, whoever made it
 * (TCP client, web page, CLI), and every change of the client count.
 *
 * A stream starts with a `state` and a `clients` event (the present), then
 * follows the {@linkcode LedService}. Events:
 * - `state`: `{"state":{"mode":"blink","hz":2.5},"text":"blink 2.5 Hz","by":"…"}`
 * - `clients`: `{"count":2}` — TCP clients connected (the page's "connected clients")
 * - `viewers`: `{"count":1}` — event streams open (pages watching)
 * - with a fleet (`serve --mqtt`) only: `fleet` once at the start,
 *   `{"self":"kitchen","total":3,"devices":[…]}` (at most
 *   {@linkcode FLEET_PAGE_MAX} devices, this one first), then `device` at
 *   each device's change: `{"device":{"id":"hall","online":true,…},"total":3}`
 *
 * Event streams are not TCP clients and are not counted in `clients`.
 *
 * @module
 */
import { formatState, type LedState } from "../../core/state.ts";
import type { LedService, ServiceEvent } from "../../core/led_service.ts";
import type { FleetDevice, FleetView } from "../mqtt/fleet_view.ts";
import { FLEET_PAGE_MAX, fleetDeviceJson, fleetList } from "./fleet.ts";

/** How often an idle stream gets a comment line, so proxies keep it open. */
export const HEARTBEAT_MS = 15_000;

/** Most event streams open at once (pages watching the LED). */
export const MAX_VIEWERS = 100;

/** Bytes that may wait for a slow reader before its stream is ended. */
export const MAX_QUEUED_BYTES = 64 * 1024;

const enc = new TextEncoder();

/**
 * Formats one SSE message.
 *
 * @example
 * ```ts
 * import { sseMessage } from "./sse.ts";
 * sseMessage("clients", { count: 2 }); // 'event: clients\ndata: {"count":2}\n\n'
 * ```
 */
export function sseMessage(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The JSON an LED state is sent as, on the stream and by the API.
 *
 * @example
 * ```ts
 * import { stateJson } from "./sse.ts";
 * stateJson({ mode: "blink", hz: 2.5 }); // { state: { mode: "blink", hz: 2.5 }, text: "blink 2.5 Hz" }
 * ```
 */
export function stateJson(state: LedState, by?: string): Record<string, unknown> {
  return { state, text: formatState(state), ...(by === undefined ? {} : { by }) };
}

/**
 * The open event streams of one service.
 *
 * @example
 * ```ts
 * import { EventHub } from "./sse.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const hub = new EventHub(service);
 * const response = hub.open(); // text/event-stream
 * hub.close();
 * ```
 */
export class EventHub {
  readonly #service: LedService;
  readonly #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #heartbeatMs: number;
  readonly #maxViewers: number;
  readonly #maxQueued: number;
  readonly #fleet?: FleetView;
  readonly #fleetSelf?: string;
  /** Each open stream keeps the fleet followed until it ends. */
  readonly #fleetHolds = new Map<ReadableStreamDefaultController<Uint8Array>, () => void>();
  #unsubscribeFleet?: () => void;
  /** The fleet's ids, kept while followed: its size is `total`, without sorting the fleet. */
  readonly #fleetIds = new Set<string>();
  /** Per stream, the bytes of its first chunk (the present), allowed on top of the bound. */
  readonly #slack = new Map<ReadableStreamDefaultController<Uint8Array>, number>();
  #timer?: ReturnType<typeof setInterval>;
  #unsubscribe?: () => void;
  #closed = false;

  /**
   * Follows `service` while at least one stream is open. Options:
   * `heartbeatMs` (default {@linkcode HEARTBEAT_MS}), `maxViewers` (most
   * streams open at once, default {@linkcode MAX_VIEWERS}; more get 503),
   * `maxQueuedBytes` (a stream whose reader lets more than this pile up is
   * ended, default {@linkcode MAX_QUEUED_BYTES}), `fleet` and `fleetSelf`
   * (the MQTT fleet and this server's id in it: adds the `fleet` and
   * `device` events).
   */
  constructor(
    service: LedService,
    options: {
      heartbeatMs?: number;
      maxViewers?: number;
      maxQueuedBytes?: number;
      fleet?: FleetView;
      fleetSelf?: string;
    } = {},
  ) {
    this.#service = service;
    this.#fleet = options.fleet;
    this.#fleetSelf = options.fleetSelf;
    this.#heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.#maxViewers = options.maxViewers ?? MAX_VIEWERS;
    this.#maxQueued = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  }

  /** Streams open right now. */
  get viewers(): number {
    return this.#streams.size;
  }

  /**
   * A `text/event-stream` response following the service from now on (and
   * the fleet, which it subscribes to first if it was not followed).
   */
  async open(): Promise<Response> {
    if (this.#closed) return new Response("shutting down\n", { status: 503 });
    // A broker that does not answer: the page gets the fleet it has (maybe none) and its events later.
    await this.#fleet?.ensure().catch(() => {});
    if (this.#closed) return new Response("shutting down\n", { status: 503 });
    if (this.#streams.size >= this.#maxViewers) {
      return new Response(
        `too many open pages (${this.#maxViewers}): close one, or reload later\n`,
        {
          status: 503,
          headers: { "retry-after": "10", "content-type": "text/plain; charset=utf-8" },
        },
      );
    }
    let self: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      // desiredSize then counts queued bytes, so a reader that stops reading is noticed.
      start: (controller) => {
        self = controller;
        const present = enc.encode(
          "retry: 2000\n\n" +
            sseMessage("state", stateJson(this.#service.state)) +
            sseMessage("clients", { count: this.#service.clients }) +
            (this.#fleet
              ? sseMessage("fleet", fleetList(this.#fleet, this.#fleetSelf, FLEET_PAGE_MAX))
              : ""),
        );
        controller.enqueue(present);
        // The present may itself be over the bound (a big fleet): only what piles up after it counts.
        this.#slack.set(controller, present.byteLength);
        this.#add(controller);
      },
      cancel: () => this.#remove(self),
    }, { highWaterMark: 0, size: (chunk) => chunk.byteLength });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every stream and stops following the service. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#streams]) {
      try {
        c.close();
      } catch { /* already closed */ }
      this.#remove(c);
    }
  }

  #add(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.#streams.add(c);
    if (this.#fleet) this.#fleetHolds.set(c, this.#fleet.hold());
    if (this.#streams.size === 1) {
      this.#unsubscribe = this.#service.subscribe((e) => this.#onEvent(e));
      if (this.#fleet) {
        this.#unsubscribeFleet = this.#fleet.subscribe((d) => this.#onDevice(d));
        for (const d of this.#fleet.devices()) this.#fleetIds.add(d.id);
      }
      this.#timer = setInterval(() => this.#send(": ping\n\n"), this.#heartbeatMs);
    }
    this.#sendViewers();
  }

  #remove(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.#slack.delete(c);
    this.#fleetHolds.get(c)?.();
    this.#fleetHolds.delete(c);
    if (!this.#streams.delete(c)) return;
    if (this.#streams.size === 0) {
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
      this.#unsubscribeFleet?.();
      this.#unsubscribeFleet = undefined;
      this.#fleetIds.clear();
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    this.#sendViewers();
  }

  #onEvent(e: ServiceEvent): void {
    if (e.type === "state") this.#send(sseMessage("state", stateJson(e.state, e.by)));
    else this.#send(sseMessage("clients", { count: e.count }));
  }

  #onDevice(d: FleetDevice): void {
    const total = this.#fleetIds.add(d.id).size;
    this.#send(sseMessage("device", { device: fleetDeviceJson(d, this.#fleetSelf), total }));
  }

  #sendViewers(): void {
    this.#send(sseMessage("viewers", { count: this.#streams.size }));
  }

  #send(text: string): void {
    const bytes = enc.encode(text);
    for (const c of [...this.#streams]) {
      try {
        if ((c.desiredSize ?? 0) < -(this.#maxQueued + (this.#slack.get(c) ?? 0))) {
          // The page stopped reading: end its stream rather than buffer forever.
          c.close();
          this.#remove(c);
          continue;
        }
        c.enqueue(bytes);
      } catch {
        this.#remove(c);
      }
    }
  }
}
