/**
 * The one LED state every transport shares: requests are applied to the
 * driver one at a time in arrival order (the last one wins), each change is
 * logged with who made it and pushed to subscribers (SSE, watchers).
 *
 * @module
 */
import { HalError, type LedDriver, type LinkStatus } from "../hal/types.ts";
import { changeKey } from "./tally.ts";
import { formatState, LED_OFF, type LedState, sameState } from "./state.ts";

/** Something subscribers hear about. */
export type ServiceEvent =
  | { readonly type: "state"; readonly state: LedState; readonly by: string }
  | { readonly type: "clients"; readonly count: number };

/** Options for {@linkcode LedService}. */
export interface LedServiceOptions {
  /** Where LED changes are logged. Default: `console.log`. */
  log?: (line: string) => void;
}

/**
 * What a transport needs of the LED service: read the state, ask for a
 * change, hear about changes, count its clients. {@linkcode LedService}
 * is the real one; a TCP engine running in a worker implements it as a
 * proxy to the main thread's service.
 */
export interface LedControl {
  /** The state last applied successfully. */
  readonly state: LedState;
  /** The driver's description, e.g. `mock`. */
  readonly description: string;
  /** The driver's caveat right now, if any. */
  readonly note: string | undefined;
  /** Connected clients, as counted by the transports. */
  readonly clients: number;
  /** A client came (+1) or went (−1). */
  countClient(delta: 1 | -1): void;
  /** Adds `n` (default 1) to the count `key` of `/metrics` (keys: `core/tally.ts`). */
  tally(key: string, n?: number): void;
  /**
   * Registers how to flush counts a transport batches (the epoll engine's
   * worker); returns the function that unregisters it. Only the service
   * itself has it.
   */
  addTallySource?(source: () => Promise<void>): () => void;
  /** Applies `state` for `by`; rejects with a HalError when the driver fails. */
  request(state: LedState, by: string): Promise<void>;
  /** Calls `listener` at each change; returns the function that unsubscribes. */
  subscribe(listener: (e: ServiceEvent) => void): () => void;
}

/**
 * Owns the driver and the current state.
 *
 * @example
 * ```ts
 * import { LedService } from "./led_service.ts";
 * import { openLed } from "../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * await service.request({ mode: "blink", hz: 2 }, "cli");
 * service.state; // { mode: "blink", hz: 2 }
 * await service.close();
 * ```
 */
export class LedService implements LedControl {
  readonly #driver: LedDriver;
  readonly #log: (line: string) => void;
  readonly #listeners = new Set<(e: ServiceEvent) => void>();
  #state: LedState = LED_OFF;
  #queue: Promise<unknown> = Promise.resolve();
  #clients = 0;
  #closed = false;
  readonly #tallies = new Map<string, number>();
  readonly #tallySources = new Set<() => Promise<void>>();

  /** Takes ownership of `driver`; the LED is assumed off. */
  constructor(driver: LedDriver, options: LedServiceOptions = {}) {
    this.#driver = driver;
    this.#log = options.log ?? ((l) => console.log(l));
  }

  /** The state last applied successfully. */
  get state(): LedState {
    return this.#state;
  }

  /** The driver's description, e.g. `mock`. */
  get description(): string {
    return this.#driver.description;
  }

  /** The driver's caveat right now (e.g. a board link that is down), if any. */
  get note(): string | undefined {
    return this.#driver.note;
  }

  /** Connected clients, as counted by the transports. */
  get clients(): number {
    return this.#clients;
  }

  /** The driver's link to its board; `undefined` for drivers without one (always reachable). */
  get link(): LinkStatus | undefined {
    return this.#driver.link;
  }

  /** The counts of `/metrics` so far, by key (see `core/tally.ts`). */
  get tallies(): ReadonlyMap<string, number> {
    return this.#tallies;
  }

  /** Adds `n` (default 1) to the count `key` of `/metrics`. */
  tally(key: string, n = 1): void {
    this.#tallies.set(key, (this.#tallies.get(key) ?? 0) + n);
  }

  /** A transport that batches its counts registers how to flush them. */
  addTallySource(source: () => Promise<void>): () => void {
    this.#tallySources.add(source);
    return () => this.#tallySources.delete(source);
  }

  /**
   * Settles once every batching transport has sent its counts: the
   * {@linkcode LedService.tallies} then include every request answered
   * before the call.
   */
  async syncTallies(): Promise<void> {
    await Promise.all([...this.#tallySources].map((s) => s()));
  }

  /** Transports call this when a client comes (+1) or goes (−1). */
  countClient(delta: 1 | -1): void {
    this.#clients += delta;
    this.#emit({ type: "clients", count: this.#clients });
  }

  /**
   * Applies `state` on behalf of `by` (for the log). Resolves once the
   * driver has it; rejects with {@linkcode HalError} and keeps the previous
   * state if the driver fails. Subscribers hear of it only when the state
   * changed: `on` while on is logged, and makes no event.
   */
  request(state: LedState, by: string): Promise<void> {
    const run = async () => {
      if (this.#closed) throw new HalError("unavailable", "ledctl is shutting down");
      await this.#driver.apply(state);
      const changed = !sameState(this.#state, state);
      this.#state = state;
      this.#log(`LED ${formatState(state)}  ← ${by}`);
      if (changed) this.#emit({ type: "state", state, by });
    };
    const p = this.#queue.then(run);
    this.#queue = p.catch(() => {});
    return p;
  }

  /**
   * Calls `listener` on every state change and client count change.
   * Returns the function that unsubscribes.
   */
  subscribe(listener: (e: ServiceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: ServiceEvent): void {
    if (e.type === "state") this.tally(changeKey(e.state.mode));
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        console.error(`ledctl: event listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Turns the LED off and releases the driver. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    try {
      await this.#driver.apply(LED_OFF);
      if (this.#state.mode !== "off") this.#log("LED off  ← shutdown");
      this.#state = LED_OFF;
    } finally {
      await this.#driver[Symbol.asyncDispose]();
    }
  }
}
