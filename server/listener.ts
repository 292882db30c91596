/**
 * A `node:net` listening socket that survives descriptor exhaustion.
 *
 * Deno 2.9's `node:net` server stops accepting for good once `accept()`
 * fails with EMFILE or ENFILE: no `error` event, no retry (its accept poll
 * drops the error and is never woken again). So this wrapper checks the
 * listening socket once a second: when connections wait in its accept
 * queue and none was accepted since the last check, it logs one line for
 * the burst (descriptors in use and the limit) and hands the same socket
 * (a duplicate of its descriptor: the queue is kept, the port never
 * closes) to a fresh `node:net` server, until one accepts again. The
 * connections already open are untouched throughout.
 *
 * A busy event loop can delay an accept for a moment, so only two checks in
 * a row that find connections waiting and none accepted count as a stall.
 *
 * The check needs `--allow-ffi` (it reads the queue with `getsockopt`);
 * without it the listener works but cannot recover, and says so at start.
 *
 * @module
 */
import { createServer, type Server, type ServerOpts, type Socket } from "node:net";
import { type Clock, realClock, type TimerId } from "../hal/clock.ts";
import {
  acceptQueueLength,
  closeFd,
  describeFdUse,
  fdLimits,
  fdsInUse,
  keepSpareFd,
  setKeepAlive,
} from "./fd_limit.ts";

/** Options for {@linkcode GuardedListener.listen}. */
export interface GuardedListenerOptions {
  /** Address. Default `127.0.0.1`. */
  hostname?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** What the log lines call this listener, e.g. `tcp` or `web`. */
  name: string;
  /** Log sink. Default `console.log`. */
  log?: (line: string) => void;
  /** How often the accept queue is checked, in ms. Default 1000. */
  checkIntervalMs?: number;
  /** Clock for the check timer. Default: the real one. */
  clock?: Clock;
  /** Passed to `net.createServer`. */
  server?: ServerOpts;
}

/** Turns node's listen errors into the `Deno.errors` the CLI explains. */
function listenError(e: NodeJS.ErrnoException): Error {
  const message = e.message;
  switch (e.code) {
    case "EADDRINUSE":
      return new Deno.errors.AddrInUse(message);
    case "EADDRNOTAVAIL":
    case "EINVAL": // what Deno's node:net reports for an address not on this machine
      return new Deno.errors.AddrNotAvailable(message);
    case "EACCES":
    case "EPERM":
      return new Deno.errors.PermissionDenied(message);
    default:
      return e;
  }
}

interface NodeHandle {
  fdForIpc?: () => number;
}

/** A duplicate of the descriptor under `server` or `socket`, or -1. */
function dupFd(server: Server | Socket): number {
  const handle = (server as unknown as { _handle?: NodeHandle })._handle;
  try {
    const fd = handle?.fdForIpc?.();
    return typeof fd === "number" ? fd : -1;
  } catch {
    return -1;
  }
}

/**
 * A listening TCP socket that keeps accepting through descriptor exhaustion.
 *
 * @example
 * ```ts
 * import { GuardedListener } from "./listener.ts";
 * const l = await GuardedListener.listen({ port: 0, name: "demo" }, (socket) => socket.end("hi\n"));
 * console.log(l.port);
 * await l.close();
 * ```
 */
type Opts = Required<Omit<GuardedListenerOptions, "hostname">>;

export class GuardedListener {
  #server: Server;
  readonly #opts: Opts;
  readonly #onConnection: (socket: Socket) => void;
  /** Our own duplicate of the listening descriptor: read for the queue, duplicated to restart. */
  readonly #fd: number;
  #timer: TimerId | undefined;
  #accepted = 0;
  #acceptedAtCheck = 0;
  #stalled = false;
  /** Consecutive checks that found connections waiting and none accepted. */
  #stuckChecks = 0;
  #closed: Promise<void> | undefined;
  readonly #address: { address: string; port: number };

  private constructor(
    server: Server,
    opts: Opts,
    onConnection: (socket: Socket) => void,
  ) {
    this.#server = server;
    this.#opts = opts;
    this.#onConnection = onConnection;
    const a = server.address();
    this.#address = typeof a === "object" && a
      ? { address: a.address, port: a.port }
      : { address: "", port: 0 };
    this.#fd = dupFd(server);
    keepSpareFd();
    this.#attach(server);
    if (this.#fd >= 0 && acceptQueueLength(this.#fd) !== undefined) {
      this.#arm();
    } else {
      opts.log(
        `${opts.name}: cannot watch the listening socket (needs --allow-ffi on Linux): ` +
          "after descriptor exhaustion it may stop accepting until restarted",
      );
    }
  }

  /**
   * Listens. Rejects with `Deno.errors.AddrInUse`, `AddrNotAvailable` or
   * `PermissionDenied` (the CLI turns them into one clear line).
   */
  static listen(
    options: GuardedListenerOptions,
    onConnection: (socket: Socket) => void,
  ): Promise<GuardedListener> {
    const opts = {
      port: options.port,
      name: options.name,
      log: options.log ?? ((l: string) => console.log(l)),
      checkIntervalMs: options.checkIntervalMs ?? 1000,
      clock: options.clock ?? realClock,
      server: options.server ?? {},
    };
    const server = createServer(opts.server);
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => reject(listenError(e));
      server.once("error", onError);
      server.listen({ host: options.hostname ?? "127.0.0.1", port: options.port }, () => {
        server.off("error", onError);
        resolve(new GuardedListener(server, opts, onConnection));
      });
    });
  }

  /** The port actually bound. */
  get port(): number {
    return this.#address.port;
  }

  /** The address actually bound. */
  get hostname(): string {
    return this.#address.address;
  }

  /** True while the listener cannot accept (descriptors exhausted). */
  get stalled(): boolean {
    return this.#stalled;
  }

  #attach(server: Server): void {
    server.on("connection", (socket: Socket) => {
      this.#accepted++;
      if (this.#stalled) {
        this.#stalled = false;
        this.#stuckChecks = 0;
        this.#opts.log(`${this.#opts.name}: accepting connections again (${describeFdUse()})`);
      }
      this.#onConnection(socket);
    });
    server.on("error", (e: Error) => {
      this.#opts.log(`${this.#opts.name}: accept failed: ${e.message}; still listening`);
    });
  }

  #arm(): void {
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#check();
      if (!this.#closed) this.#arm();
    }, this.#stalled ? Math.min(250, this.#opts.checkIntervalMs) : this.#opts.checkIntervalMs);
    // The check alone must not keep the process alive.
    if (this.#opts.clock === realClock && typeof this.#timer === "number") {
      Deno.unrefTimer(this.#timer);
    }
  }

  #check(): void {
    if (this.#closed) return;
    const waiting = acceptQueueLength(this.#fd) ?? 0;
    const progressed = this.#accepted !== this.#acceptedAtCheck;
    this.#acceptedAtCheck = this.#accepted;
    if (waiting === 0 || progressed) {
      this.#stuckChecks = 0;
      return;
    }
    // A busy event loop can leave a connection waiting for a second; two
    // checks in a row with none accepted cannot be that.
    if (!this.#stalled && ++this.#stuckChecks < 2) return;
    if (!this.#stalled) {
      this.#stalled = true;
      const used = fdsInUse();
      const limit = fdLimits()?.soft;
      const exhausted = used !== undefined && limit !== undefined && used >= limit - 16;
      this.#opts.log(
        `${this.#opts.name}: cannot accept new connections: ` +
          (exhausted
            ? "too many open files"
            : "the listener stopped after running out of descriptors") +
          ` (${used ?? "?"} descriptors in use, limit ${limit ?? "?"}); ${waiting} waiting; ` +
          "open connections keep being served",
      );
    }
    this.#restart();
  }

  /** Hands the listening socket to a fresh server; the old one stopped accepting. */
  #restart(): void {
    const fd = dupFd(this.#server);
    if (fd < 0) return; // no descriptor free yet: try at the next check
    const next = createServer(this.#opts.server);
    next.once("error", () => {/* no descriptor for its machinery yet: next check */});
    next.listen({ fd }, () => {
      const old = this.#server;
      this.#server = next;
      this.#attach(next);
      old.close();
      if (this.#closed) next.close();
    });
  }

  /** Stops listening (open connections are the caller's). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
      this.#server.close(() => resolve());
      if (this.#fd >= 0) closeFd(this.#fd);
    });
    return this.#closed;
  }
}

/**
 * Turns on TCP keepalive for a connection (30 s idle, then a probe every
 * 10 s, dead after 3 unanswered: about 60 s), so a peer that vanished
 * without a FIN or RST is found. Deno's `socket.setKeepAlive` does
 * nothing, so this sets the options on a duplicate of its descriptor.
 * Returns false when that is not possible (no FFI).
 *
 * @example
 * ```ts
 * import { keepAlive } from "./listener.ts";
 * // in a connection handler: keepAlive(socket);
 * ```
 */
export function keepAlive(socket: Socket): boolean {
  const fd = dupFd(socket);
  if (fd < 0) return false;
  try {
    return setKeepAlive(fd, { idleS: 30, intervalS: 10, count: 3 });
  } finally {
    closeFd(fd);
  }
}
