/**
 * The epoll engine's worker: it owns the listening socket, the epoll
 * instance and every connection, and blocks in `epoll_wait` between
 * batches, its timeout the nearest deadline of its {@linkcode LoopClock}.
 * The sessions here are the protocol's own `Session`; the LED they see is
 * a {@linkcode LedProxy}: the state from the main thread's events, changes
 * asked of the main thread's `LedService`. See `epoll_protocol.ts` for the
 * messages, `epoll_loop.ts` for the socket rules.
 *
 * Started by `epoll.ts` only; its first message is the settings.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { LogLevel } from "../../core/log.ts";
import type { LedControl, ServiceEvent } from "../../core/led_service.ts";
import type { LedState } from "../../core/state.ts";
import { HalError, type HalErrorKind } from "../../hal/types.ts";
import { Errno, errnoView, libc, SysError } from "../../sys/libc.ts";
import type { AuthLimiter } from "../auth_limit.ts";
import { RefusalLog } from "../refusal_log.ts";
import { EPOLL_CLOEXEC, epollLayout, EventArray } from "./epoll_abi.ts";
import { EpollLoop, type ListenError, MAX_EVENTS, openListener, type Sys } from "./epoll_loop.ts";
import {
  ANSWERED,
  type FromWorker,
  type LedCopy,
  NOTE_LENGTH,
  NOTE_OFFSET,
  POSTED,
  QUERY_TIMEOUT_MS,
  RESULT,
  type ToWorker,
  type WorkerSettings,
} from "./epoll_protocol.ts";
import { LoopClock } from "./loop_clock.ts";

const post = (m: FromWorker) => self.postMessage(m);

/** How long the main thread's client count may lag under load, in ms. */
const COUNT_EVERY_MS = 10;

let shared: Int32Array;
let sharedBytes: Uint8Array;
/** Messages handled, to compare with what the main thread posted. */
let handled = 0;
/** Loop iterations: a note asked for is good for the rest of one. */
let epoch = 0;
let querySeq = 0;
let loop: EpollLoop | undefined;
let proxy: LedProxy | undefined;
const decoder = new TextDecoder();

/**
 * Asks the main thread and blocks until it answers (bounded). False when
 * it did not answer in time.
 */
function query(m: { op: "note" } | { op: "retryAfter"; address: string }): boolean {
  const seq = ++querySeq;
  post({ t: "query", seq, ...m });
  const deadline = performance.now() + QUERY_TIMEOUT_MS;
  for (;;) {
    const answered = Atomics.load(shared, ANSWERED);
    if (answered === seq) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(shared, ANSWERED, answered, left);
  }
}

/** The main thread's `LedService`, as the sessions in this worker see it. */
class LedProxy implements LedControl {
  state: LedState;
  readonly description: string;
  clients: number;
  readonly #live: boolean;
  #note: string | undefined;
  #noteEpoch = -1;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  readonly #listeners = new Set<(e: ServiceEvent) => void>();
  #delta = 0;
  #countSent = -Infinity;
  readonly #tallies = new Map<string, number>();

  constructor(led: LedCopy, live: boolean) {
    this.state = led.state;
    this.description = led.description;
    this.#note = led.note;
    this.clients = led.clients;
    this.#live = live;
  }

  /**
   * The driver's note. A board link's note changes with no event (the link
   * drops), so there it is asked of the main thread, once per loop
   * iteration at most; otherwise it comes with the state.
   */
  get note(): string | undefined {
    if (this.#live && this.#noteEpoch !== epoch) {
      if (query({ op: "note" })) {
        const n = Atomics.load(shared, NOTE_LENGTH);
        this.#note = n < 0
          ? undefined
          : decoder.decode(sharedBytes.slice(NOTE_OFFSET, NOTE_OFFSET + n));
      }
      this.#noteEpoch = epoch;
    }
    return this.#note;
  }

  /** Counted here, sent by {@linkcode LedProxy.flushCount}. */
  countClient(delta: 1 | -1): void {
    this.#delta += delta;
  }

  /** Counted here, sent with the client count by {@linkcode LedProxy.flushCount}. */
  tally(key: string, n = 1): void {
    this.#tallies.set(key, (this.#tallies.get(key) ?? 0) + n);
  }

  /**
   * Sends the count's change: before the loop may block (`now`), else at
   * most every {@linkcode COUNT_EVERY_MS}: under connection churn a
   * message per iteration cost 8 % of the worker's time.
   */
  flushCount(now: boolean): void {
    if (this.#delta === 0 && this.#tallies.size === 0) return;
    const t = performance.now();
    if (!now && t - this.#countSent < COUNT_EVERY_MS) return;
    this.#countSent = t;
    const tallies = this.#tallies.size > 0 ? [...this.#tallies] : undefined;
    post({ t: "count", delta: this.#delta, ...(tallies ? { tallies } : {}) });
    this.#delta = 0;
    this.#tallies.clear();
  }

  request(state: LedState, by: string): Promise<void> {
    const id = this.#nextId++;
    post({ t: "request", id, state, by });
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  subscribe(listener: (e: ServiceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onState(m: Extract<ToWorker, { t: "state" }>): void {
    this.state = m.state;
    this.clients = m.clients;
    this.#setNote(m.note);
    const e: ServiceEvent = { type: "state", state: m.state, by: m.by };
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        post({ t: "log", line: `tcp: event listener failed: ${(err as Error).message}` });
      }
    }
  }

  onReply(m: Extract<ToWorker, { t: "reply" }>): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.ok) {
      this.#setNote(m.note);
      p.resolve();
    } else {
      p.reject(m.kind ? new HalError(m.kind as HalErrorKind, m.message) : new Error(m.message));
    }
  }

  #setNote(note: string | undefined): void {
    this.#note = note;
    this.#noteEpoch = epoch;
  }
}

/**
 * The wrong-token limiter, which lives on the main thread (shared with
 * HTTP): its verdict is a query, a wrong token a message (sent before any
 * later query, so counted first).
 */
const limiterProxy = {
  retryAfterS(address: string): number {
    return query({ op: "retryAfter", address }) ? Atomics.load(shared, RESULT) : 0;
  },
  fail(address: string, _transport: string): void {
    post({ t: "authFail", address });
  },
} as unknown as AuthLimiter;

function start(m: Extract<ToWorker, { t: "init" }>): void {
  shared = new Int32Array(m.shared);
  sharedBytes = new Uint8Array(m.shared);
  const s: WorkerSettings = m.settings;
  const layout = epollLayout();
  let sys: Sys;
  try {
    sys = { c: libc(), errno: errnoView() };
  } catch (e) {
    return post({ t: "failed", call: "dlopen", errno: 0, message: (e as Error).message });
  }
  if (!layout) {
    return post({
      t: "failed",
      call: "epoll",
      errno: 0,
      message: `no epoll layout for ${Deno.build.arch}`,
    });
  }
  let listener;
  try {
    listener = openListener(sys, s.host, s.port);
  } catch (e) {
    const l = e as ListenError;
    return post({ t: "failed", call: l.call ?? "listen", errno: l.errno ?? 0, message: l.message });
  }
  const { c } = sys;
  const epfd = c.epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    const code = sys.errno[0];
    c.close(listener.fd);
    return post({
      t: "failed",
      call: "epoll_create1",
      errno: code,
      message: new SysError("epoll_create1", "", code).message,
    });
  }
  const clock = new LoopClock();
  proxy = new LedProxy(m.led, s.liveNote);
  const log = (line: string, level?: LogLevel) => post({ t: "log", line, level });
  loop = new EpollLoop({
    sys,
    layout,
    epfd,
    listenFd: listener.fd,
    wakeFd: m.wakeFd,
    service: proxy,
    session: {
      idleTimeoutMs: s.idleTimeoutMs,
      frameTimeoutMs: s.frameTimeoutMs,
      clock,
      log,
      verbose: s.verbose,
      token: s.token,
      maxWatchers: s.maxWatchers,
      authLimiter: limiterProxy,
      refusals: new RefusalLog({ clock, log }),
    },
    timers: clock,
    maxClients: s.maxClients,
    logFdUse: (before, after) => post({ t: "logFdUse", before, after }),
  });
  try {
    loop.start();
  } catch (e) {
    loop.dispose();
    const l = e as ListenError;
    return post({ t: "failed", call: l.call, errno: l.errno, message: l.message });
  }
  post({ t: "listening", address: listener.address, port: listener.port });
  run(sys, loop, clock, new EventArray(layout, MAX_EVENTS));
}

/** Iterations run back to back before the event loop gets a turn anyway. */
const ITERATIONS_PER_TURN = 64;
/** Nor longer than this, in ms (the runtime's own tasks: GC finalizers…). */
const MS_PER_TURN = 5;
/**
 * The longest wait without a turn, in ms. V8 gives memory back to the
 * system from tasks the event loop runs (its memory reducer): a worker
 * that blocked for good once idle kept 60 MB it no longer used.
 */
const IDLE_TURN_MS = 1000;

/**
 * The loop. One iteration: send what was written, wait (blocking, unless
 * messages or work are pending), handle the events, run the timers that
 * fell due, send again. Between iterations, promise reactions run (an
 * `await`); the event loop gets a full turn (`setImmediate`: the main
 * thread's messages are handled then) when messages wait, when a session
 * has follow-ups to settle, at least every 64 iterations or 5 ms, and
 * after a second idle (so that V8's own tasks run). A turn costs ~10 µs,
 * as much as a round trip's own work: at low load every iteration would
 * pay it.
 */
function run(sys: Sys, loop: EpollLoop, clock: LoopClock, events: EventArray): void {
  const { c, errno } = sys;
  /** Returns true when it waited the idle cap out: time for a turn. */
  const iterate = (): boolean => {
    epoch++;
    const busy = loop.prepare();
    const waiting = Atomics.load(shared, POSTED) !== handled;
    let timeout = busy || waiting ? 0 : clock.timeoutMs();
    const capped = timeout < 0 || timeout > IDLE_TURN_MS;
    if (capped) timeout = IDLE_TURN_MS;
    proxy!.flushCount(timeout !== 0);
    const n = c.epoll_wait(loop.epfd, events.bytes, MAX_EVENTS, timeout);
    if (n < 0 && errno[0] !== Errno.EINTR) throw new SysError("epoll_wait", "", errno[0]);
    if (n > 0) loop.handle(events, n);
    clock.runDue();
    loop.prepare();
    return capped && n === 0;
  };
  const turn = async () => {
    const since = performance.now();
    for (let i = 0;; i++) {
      if (loop.isDone) {
        loop.dispose();
        proxy!.flushCount(true);
        post({ t: "closed" });
        self.close();
        return;
      }
      const idle = iterate();
      if (
        idle || loop.settling || Atomics.load(shared, POSTED) !== handled ||
        i + 1 >= ITERATIONS_PER_TURN || performance.now() - since >= MS_PER_TURN
      ) {
        loop.settling = false;
        setImmediate(turn);
        return;
      }
      await null;
    }
  };
  setImmediate(turn);
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  handled++;
  const m = e.data;
  switch (m.t) {
    case "init":
      return start(m);
    case "state":
      return proxy?.onState(m);
    case "reply":
      return proxy?.onReply(m);
    case "sync":
      proxy?.flushCount(true);
      return post({ t: "synced", id: m.id });
    case "close":
      return loop?.close();
  }
};
