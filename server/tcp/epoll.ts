/**
 * The epoll TCP engine of wire protocol v1 (Linux, x86-64 and aarch64,
 * through FFI): one Web Worker (`epoll_worker.ts`) owns the listening
 * socket and every connection, blocks in `epoll_wait`, and runs the same
 * protocol {@linkcode Session} as the node engine on each connection
 * (`epoll_loop.ts`). The main thread keeps the LED: read-only commands are
 * answered in the worker from a copy of the state it is sent at each
 * change; changes are asked of the main thread's `LedService` and come
 * back, replies in order per connection. The main thread's timers (the
 * blinker) keep their accuracy under load: the socket loop is not on it.
 *
 * Why: node:net and `Deno.listen` cap the server at 0.6–0.8× a C epoll
 * server; this design measured 0.95× (../shared/notes/ffi-epoll.md).
 *
 * A test that injects its own clock (`options.clock`) gets the same loop
 * on the calling thread instead, with `epoll_wait` on a runtime pool
 * thread: a clock cannot cross into a worker, and the tests' fake time
 * must drive the sessions' timers synchronously.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { realClock } from "../../hal/clock.ts";
import { HalError } from "../../hal/types.ts";
import type { LedControl } from "../../core/led_service.ts";
import { Errno, errnoView, type Libc, libc } from "../../sys/libc.ts";
import { describeFdUse, keepSpareFd } from "../fd_limit.ts";
import type { SessionOptions } from "../session.ts";
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  epollLayout,
  EventArray,
  parseIPv4,
  parseIPv6,
} from "./epoll_abi.ts";
import { EpollLoop, ListenError, MAX_EVENTS, openListener, type Sys } from "./epoll_loop.ts";
import {
  ANSWERED,
  type FromWorker,
  NOTE_LENGTH,
  NOTE_OFFSET,
  POSTED,
  RESULT,
  SHARED_BYTES,
  type ToWorker,
} from "./epoll_protocol.ts";
import { resolveTcpOptions, type TcpServerOptions } from "./node_net.ts";

/** The worker's module (listed with `--include` in the compile tasks). */
const WORKER_URL = new URL("./epoll_worker.ts", import.meta.url);

/**
 * How long `/metrics` waits for the worker's counts, in ms (then shows what
 * it has). A worker flooded with requests on a loaded machine was measured
 * to take over 250 ms to hear from the main thread; Prometheus waits 10 s.
 */
const SYNC_TIMEOUT_MS = 5000;

/** How long `close()` waits for the worker to close its connections, in ms. */
const CLOSE_WAIT_MS = 1000;

/**
 * Whether this process can run the epoll engine, and why (or why not):
 * Linux on x86-64 or aarch64, FFI allowed, glibc's epoll loadable.
 *
 * @example
 * ```ts
 * import { epollSupport } from "./epoll.ts";
 * epollSupport(); // { ok: true, why: "Linux x86_64 with --allow-ffi" }
 * ```
 */
export function epollSupport(): { ok: boolean; why: string } {
  const { os, arch } = Deno.build;
  if (os !== "linux") return { ok: false, why: `epoll needs Linux (this is ${os})` };
  if (!epollLayout(arch)) {
    return { ok: false, why: `epoll is built for x86-64 and aarch64 (this is ${arch})` };
  }
  let ffi: Deno.PermissionState;
  try {
    ffi = Deno.permissions.querySync({ name: "ffi" }).state;
  } catch {
    ffi = "denied";
  }
  if (ffi !== "granted") return { ok: false, why: "no --allow-ffi" };
  if (WORKER_URL.protocol === "file:") {
    // Starting a worker from a file reads it (a compiled binary embeds it instead).
    let read: Deno.PermissionState;
    try {
      read = Deno.permissions.querySync({ name: "read", path: WORKER_URL }).state;
    } catch {
      read = "denied";
    }
    if (read !== "granted") {
      return {
        ok: false,
        why: "no --allow-read for its worker module (server/tcp/epoll_worker.ts)",
      };
    }
  }
  try {
    libc();
  } catch (e) {
    return { ok: false, why: `libc does not load: ${(e as Error).message}` };
  }
  return { ok: true, why: `Linux ${arch} with --allow-ffi` };
}

/** An IP literal for `host`: itself, or the first address a name resolves to (as node's listen). */
async function resolveHost(host: string): Promise<string> {
  if (parseIPv4(host) || parseIPv6(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (e) {
    throw new Deno.errors.AddrNotAvailable(`${host}: ${(e as Error).message}`);
  }
}

/** A failed `socket`/`bind`/`listen` as the `Deno.errors` the CLI explains. */
function listenFailure(call: string, errno: number, message: string): Error {
  if (call === "bind" || call === "listen") {
    switch (errno) {
      case Errno.EADDRINUSE:
        return new Deno.errors.AddrInUse(message);
      case Errno.EADDRNOTAVAIL:
      case Errno.EINVAL:
        return new Deno.errors.AddrNotAvailable(message);
      case Errno.EACCES:
      case Errno.EPERM:
        return new Deno.errors.PermissionDenied(message);
    }
  }
  return new Error(message);
}

/**
 * A running epoll-engine server.
 *
 * @example
 * ```ts
 * import { EpollServer } from "./epoll.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const server = await EpollServer.listen(service, { port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export class EpollServer {
  readonly #host: WorkerHost | InThreadHost;
  /** The port actually bound. */
  readonly port: number;
  /** The address actually bound. */
  readonly hostname: string;
  #closing: Promise<void> | undefined;

  private constructor(host: WorkerHost | InThreadHost, hostname: string, port: number) {
    this.#host = host;
    this.hostname = hostname;
    this.port = port;
  }

  /**
   * Starts listening. Rejects with `Deno.errors.AddrInUse`,
   * `AddrNotAvailable` or `PermissionDenied` (the CLI turns them into one
   * clear line), `RangeError` for bad options, `Error` where epoll cannot
   * run ({@linkcode epollSupport}).
   */
  static async listen(service: LedControl, options: TcpServerOptions = {}): Promise<EpollServer> {
    const opts = resolveTcpOptions(options);
    const support = epollSupport();
    if (!support.ok) throw new Error(`the epoll engine cannot run here: ${support.why}`);
    const host = await resolveHost(options.hostname ?? "127.0.0.1");
    // The process's reserve descriptor, so that exhaustion can be counted (as node's listener).
    keepSpareFd();
    const port = options.port ?? 10000;
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new RangeError(`port must be a whole number from 0 to 65535, got ${port}`);
    }
    if (opts.clock !== realClock) {
      const h = InThreadHost.start(service, opts, host, port);
      return new EpollServer(h, h.address, h.port);
    }
    const h = await WorkerHost.start(service, opts, host, port);
    return new EpollServer(h, h.address, h.port);
  }

  /** Stops listening and closes every connection (FIN). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#host.close();
    return this.#closing;
  }
}

/** The production host: the loop in a worker, the LED here. */
class WorkerHost {
  readonly #worker: Worker;
  readonly #service: LedControl;
  readonly #opts: SessionOptions;
  readonly #c: Libc;
  readonly #errno: Int32Array;
  readonly #wakeFd: number;
  readonly #shared: Int32Array;
  readonly #sharedBytes: Uint8Array;
  readonly #one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  readonly #encoder = new TextEncoder();
  readonly #started = Promise.withResolvers<{ address: string; port: number }>();
  readonly #closed = Promise.withResolvers<void>();
  #unsubscribe: (() => void) | undefined;
  #unsource: (() => void) | undefined;
  readonly #syncs = new Map<number, () => void>();
  #syncId = 0;
  #wakeQueued = false;
  #gone = false;
  address = "";
  port = 0;

  private constructor(service: LedControl, opts: SessionOptions, c: Libc, wakeFd: number) {
    this.#service = service;
    this.#opts = opts;
    this.#c = c;
    this.#errno = errnoView();
    this.#wakeFd = wakeFd;
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    this.#shared = new Int32Array(shared);
    this.#sharedBytes = new Uint8Array(shared);
    this.#worker = new Worker(WORKER_URL, {
      type: "module",
      name: "ledctl tcp (epoll)",
    });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(e.data);
    this.#worker.onerror = (e) => {
      // A bug in the engine: say where, then let it end the process like
      // any uncaught error (the safety net turns the LED off).
      opts.log(`tcp: the epoll engine failed: ${e.message}`);
      this.#started.reject(new Error(`the epoll engine failed: ${e.message}`));
    };
  }

  static async start(
    service: LedControl,
    opts: SessionOptions & { maxClients: number },
    host: string,
    port: number,
  ): Promise<WorkerHost> {
    const c = libc();
    const wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) throw new Error(`eventfd failed: errno ${errnoView()[0]}`);
    const h = new WorkerHost(service, opts, c, wakeFd);
    // Pin backends (mock, gpio) never have a note; anything else (a board
    // link) may change it without an event: then the worker asks for it.
    const liveNote = service.note !== undefined || !/^(mock|gpio)\b/.test(service.description);
    h.#post({
      t: "init",
      settings: {
        host,
        port,
        idleTimeoutMs: opts.idleTimeoutMs,
        frameTimeoutMs: opts.frameTimeoutMs,
        maxClients: opts.maxClients,
        maxWatchers: opts.maxWatchers,
        verbose: opts.verbose,
        token: opts.token,
        liveNote,
      },
      led: {
        state: service.state,
        description: service.description,
        note: service.note,
        clients: service.clients,
      },
      shared: h.#shared.buffer as SharedArrayBuffer,
      wakeFd,
    });
    try {
      const bound = await h.#started.promise;
      h.address = bound.address;
      h.port = bound.port;
    } catch (e) {
      h.#stop();
      throw e;
    }
    h.#unsource = service.addTallySource?.(() => h.#sync());
    h.#unsubscribe = service.subscribe((e) => {
      if (e.type !== "state") return;
      h.#post({
        t: "state",
        state: e.state,
        by: e.by,
        note: service.note,
        clients: service.clients,
      });
    });
    return h;
  }

  /** Settles once the worker sent its counts (or after {@linkcode SYNC_TIMEOUT_MS}). */
  #sync(): Promise<void> {
    if (this.#gone) return Promise.resolve();
    const id = ++this.#syncId;
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(() => this.#syncs.get(id)?.(), SYNC_TIMEOUT_MS);
    this.#syncs.set(id, () => {
      clearTimeout(timer);
      this.#syncs.delete(id);
      resolve();
    });
    this.#post({ t: "sync", id });
    return promise;
  }

  /** Posts, counts, and wakes the worker (one eventfd write per task). */
  #post(m: ToWorker): void {
    if (this.#gone) return;
    this.#worker.postMessage(m);
    Atomics.add(this.#shared, POSTED, 1);
    if (this.#wakeQueued) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      if (this.#gone) return;
      if (this.#c.write32(this.#wakeFd, this.#one, 8) !== 8 && this.#errno[0] !== Errno.EAGAIN) {
        this.#opts.log(`tcp: cannot wake the epoll worker: errno ${this.#errno[0]}`);
      }
    });
  }

  #onMessage(m: FromWorker): void {
    const service = this.#service;
    switch (m.t) {
      case "listening":
        return this.#started.resolve(m);
      case "failed":
        return this.#started.reject(listenFailure(m.call, m.errno, m.message));
      case "log":
        return this.#opts.log(m.line, m.level);
      case "logFdUse":
        return this.#opts.log(m.before + describeFdUse() + m.after);
      case "count": {
        const step = m.delta > 0 ? 1 : -1;
        for (let i = 0; i < Math.abs(m.delta); i++) service.countClient(step);
        for (const [key, n] of m.tallies ?? []) service.tally(key, n);
        return;
      }
      case "request": {
        service.request(m.state, m.by).then(
          () => this.#post({ t: "reply", id: m.id, ok: true, note: service.note }),
          (e: Error) =>
            this.#post({
              t: "reply",
              id: m.id,
              ok: false,
              kind: e instanceof HalError ? e.kind : undefined,
              message: e?.message ?? String(e),
            }),
        );
        return;
      }
      case "authFail":
        return this.#opts.authLimiter.fail(m.address, "tcp");
      case "query": {
        if (m.op === "note") {
          const note = service.note;
          if (note === undefined) Atomics.store(this.#shared, NOTE_LENGTH, -1);
          else {
            const room = this.#sharedBytes.subarray(NOTE_OFFSET);
            const { written } = this.#encoder.encodeInto(note, room);
            Atomics.store(this.#shared, NOTE_LENGTH, written);
          }
        } else {
          Atomics.store(this.#shared, RESULT, this.#opts.authLimiter.retryAfterS(m.address));
        }
        Atomics.store(this.#shared, ANSWERED, m.seq);
        Atomics.notify(this.#shared, ANSWERED);
        return;
      }
      case "synced":
        return this.#syncs.get(m.id)?.();
      case "closed":
        return this.#closed.resolve();
    }
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsource?.();
    this.#post({ t: "close" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, CLOSE_WAIT_MS));
    await Promise.race([this.#closed.promise, late]);
    clearTimeout(timer);
    this.#stop();
  }

  /** Ends the worker and closes the eventfd (after the worker stopped using it). */
  #stop(): void {
    if (this.#gone) return;
    this.#gone = true;
    for (const done of [...this.#syncs.values()]) done();
    this.#worker.terminate();
    this.#c.close(this.#wakeFd);
  }
}

/**
 * The test host: the loop on this thread, on the injected clock, waiting
 * in `epoll_wait` on a runtime pool thread; an eventfd ends that wait at
 * close.
 */
class InThreadHost {
  readonly #loop: EpollLoop;
  readonly #sys: Sys;
  readonly #wakeFd: number;
  readonly #events: EventArray;
  #running: Promise<void> = Promise.resolve();
  #finished = false;
  address = "";
  port = 0;

  private constructor(loop: EpollLoop, sys: Sys, wakeFd: number, events: EventArray) {
    this.#loop = loop;
    this.#sys = sys;
    this.#wakeFd = wakeFd;
    this.#events = events;
  }

  static start(
    service: LedControl,
    opts: SessionOptions & { maxClients: number },
    host: string,
    port: number,
  ): InThreadHost {
    const sys: Sys = { c: libc(), errno: errnoView() };
    const layout = epollLayout()!;
    let listener;
    try {
      listener = openListener(sys, host, port);
    } catch (e) {
      if (e instanceof ListenError) throw listenFailure(e.call, e.errno, e.message);
      throw e;
    }
    const { c } = sys;
    const epfd = c.epoll_create1(EPOLL_CLOEXEC);
    const wakeFd = epfd < 0 ? -1 : c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd < 0 || wakeFd < 0) {
      const code = sys.errno[0];
      c.close(listener.fd);
      if (epfd >= 0) c.close(epfd);
      throw new Error(`epoll_create1/eventfd failed: errno ${code}`);
    }
    const loop: EpollLoop = new EpollLoop({
      sys,
      layout,
      epfd,
      listenFd: listener.fd,
      wakeFd,
      service,
      session: opts,
      timers: realClock,
      maxClients: opts.maxClients,
      logFdUse: (before, after) => opts.log(before + describeFdUse() + after),
      onWork: () => queueMicrotask(() => loop.prepare()),
    });
    const h = new InThreadHost(loop, sys, wakeFd, new EventArray(layout, MAX_EVENTS));
    try {
      loop.start();
    } catch (e) {
      loop.dispose();
      c.close(wakeFd);
      throw e;
    }
    h.address = listener.address;
    h.port = listener.port;
    h.#running = h.#run();
    return h;
  }

  async #run(): Promise<void> {
    const { c } = this.#sys;
    const loop = this.#loop;
    while (!loop.isDone) {
      loop.prepare();
      // -1: its errno is another thread's; EINTR is the only likely cause.
      const n = await c.epoll_waitAsync(loop.epfd, this.#events.bytes, MAX_EVENTS, -1);
      if (n > 0) loop.handle(this.#events, n);
      loop.prepare();
    }
    this.#finished = true;
    loop.dispose();
    c.close(this.#wakeFd);
  }

  async close(): Promise<void> {
    this.#loop.close();
    await this.#loop.done;
    // End the pending wait so the loop sees it is done (unless it saw already
    // and closed the eventfd: its number may be another file's by now).
    if (!this.#finished) {
      this.#sys.c.write32(this.#wakeFd, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8);
    }
    await this.#running;
  }
}
