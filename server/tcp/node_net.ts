/**
 * The `node:net` TCP engine of wire protocol v1: it accepts connections
 * (through a {@linkcode GuardedListener}), refuses those above the cap, and
 * runs a {@linkcode Session} (`../session.ts`) on each; the session holds
 * the protocol (replies in order, idle and frame timeouts, `auth`, `watch`,
 * the output bound).
 *
 * Built on `node:net` rather than `Deno.listen`: under load, `Deno.Conn`
 * reads were served unfairly (at 1,000 busy clients some connections got no
 * reply for a second while others got hundreds; see docs/PERFORMANCE.md),
 * and `node:net` sockets cost about half the memory per connection.
 *
 * @module
 */
import type { LogFn } from "../../core/log.ts";
import type { Socket } from "node:net";
import { type Clock, realClock } from "../../hal/clock.ts";
import { err } from "../../protocol/reply.ts";
import { errorKey } from "../../core/tally.ts";
import type { LedService } from "../../core/led_service.ts";
import { AuthLimiter } from "../auth_limit.ts";
import { RefusalLog } from "../refusal_log.ts";
import { GuardedListener, keepAlive } from "../listener.ts";
import { type Connection, Session, type SessionOptions } from "../session.ts";

/** Options for {@linkcode TcpServer.listen}. */
export interface TcpServerOptions {
  /** Address to listen on. Default `127.0.0.1` (loopback only). */
  hostname?: string;
  /** Port. Default 10000; 0 picks a free one (see {@linkcode TcpServer.port}). */
  port?: number;
  /** Close a connection silent this long, in ms. 0 = never. Default 10 000. */
  idleTimeoutMs?: number;
  /** A partial line counts as complete after this long without a byte, in ms. Default 100. */
  frameTimeoutMs?: number;
  /** Most simultaneous clients; a newcomer above it gets `ERR busy`. Default 1000. */
  maxClients?: number;
  /** Clock for the timers. Default: the real one. */
  clock?: Clock;
  /** Log sink. Default `console.log`. */
  log?: LogFn;
  /** Log every connection and request, not just LED changes. Default false. */
  verbose?: boolean;
  /** When set, clients must send `auth <token>` before other commands. Default: none. */
  token?: string;
  /**
   * Most connections in `watch` mode at once (they are exempt from the idle
   * timeout); a `watch` above it gets `ERR busy`. Default: 100, or
   * `maxClients - 1` when that is smaller.
   */
  maxWatchers?: number;
  /** Wrong-token limiter, shared with HTTP. Default: 5 wrong tokens per address per minute. */
  authLimiter?: AuthLimiter;
  /**
   * Where refusals (busy, no token) are logged: the first per address, then
   * a count per minute. Default: one on `log` and `clock`, closed with the server.
   */
  refusals?: RefusalLog;
}

type Opts = SessionOptions & { maxClients: number; refusals: RefusalLog };

/** How much a closing connection may still send before it is cut. */
const LINGER_BYTES = 1 << 20;
/** How long a refused (busy) connection is kept to read its ERR line, in ms. */
const REFUSE_LINGER_MS = 200;
/** Refused (busy) connections being answered at once; more are closed without a word. */
const MAX_REFUSING = 32;

/**
 * The options every TCP engine runs with: the defaults filled in, checked.
 * Throws `RangeError` for a bad value.
 *
 * @example
 * ```ts
 * import { resolveTcpOptions } from "./node_net.ts";
 * resolveTcpOptions({}).idleTimeoutMs; // 10000
 * ```
 */
export function resolveTcpOptions(
  options: TcpServerOptions,
): SessionOptions & { maxClients: number; refusals: RefusalLog } {
  const opts = {
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    frameTimeoutMs: options.frameTimeoutMs ?? 100,
    maxClients: options.maxClients ?? 1000,
    clock: options.clock ?? realClock,
    log: options.log ?? ((l: string) => console.log(l)),
    verbose: options.verbose ?? false,
    token: options.token,
    maxWatchers: options.maxWatchers ??
      Math.max(1, Math.min(100, (options.maxClients ?? 1000) - 1)),
    authLimiter: options.authLimiter ?? new AuthLimiter({ log: options.log }),
    refusals: options.refusals ??
      new RefusalLog({ log: options.log, clock: options.clock ?? realClock }),
  };
  for (
    const [k, v] of [["idleTimeoutMs", opts.idleTimeoutMs], ["frameTimeoutMs", opts.frameTimeoutMs]]
  ) {
    if (!((v as number) >= 0 && Number.isFinite(v))) {
      throw new RangeError(`${k} must be ≥ 0 ms, got ${v}`);
    }
  }
  if (!(Number.isInteger(opts.maxClients) && opts.maxClients >= 1)) {
    throw new RangeError(`maxClients must be a whole number ≥ 1, got ${opts.maxClients}`);
  }
  if (!(Number.isInteger(opts.maxWatchers) && opts.maxWatchers >= 1)) {
    throw new RangeError(`maxWatchers must be a whole number ≥ 1, got ${opts.maxWatchers}`);
  }
  return opts;
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * import { TcpServer } from "./node_net.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const server = await TcpServer.listen(service, { port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export class TcpServer {
  #listener!: GuardedListener;
  readonly #service: LedService;
  readonly #opts: Opts;
  readonly #sessions = new Set<Session>();
  /** Sessions in `watch` mode. */
  readonly watchers = new Set<unknown>();
  #refusing = 0;
  #nextId = 1;
  #closing: Promise<void> | undefined;

  private constructor(service: LedService, opts: Opts) {
    this.#service = service;
    this.#opts = opts;
  }

  /**
   * Starts listening. Rejects with `Deno.errors.AddrInUse`,
   * `AddrNotAvailable` or `PermissionDenied` (the CLI turns them into one
   * clear line), `RangeError` for bad options.
   */
  static listen(service: LedService, options: TcpServerOptions = {}): Promise<TcpServer> {
    let opts: Opts;
    try {
      opts = resolveTcpOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    const server = new TcpServer(service, opts);
    return GuardedListener.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 10000,
      name: "tcp",
      log: opts.log,
      clock: opts.clock,
      server: { allowHalfOpen: true, pauseOnConnect: false },
    }, (socket) => server.#accept(socket)).then((listener) => {
      server.#listener = listener;
      return server;
    });
  }

  /** The port actually bound. */
  get port(): number {
    return this.#listener.port;
  }

  /** The address actually bound. */
  get hostname(): string {
    return this.#listener.hostname;
  }

  #accept(socket: Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.#closing) {
      socket.destroy();
      return;
    }
    socket.on("error", () => socket.destroy()); // reset by peer, write after close…
    if (this.#sessions.size >= this.#opts.maxClients) {
      if (this.#opts.verbose) {
        this.#opts.log(`refused ${remote}: ${this.#sessions.size} clients (the limit)`, "debug");
      } else {
        this.#opts.refusals.refused(
          "busy",
          socket.remoteAddress ?? "?",
          `server has ${this.#opts.maxClients} clients (its limit)`,
        );
      }
      // A flood of refusals must not hold descriptors: past a few at once, no reply.
      if (this.#refusing >= MAX_REFUSING) {
        socket.destroy();
        return;
      }
      this.#refusing++;
      socket.once("close", () => this.#refusing--);
      const line = err(
        "busy",
        `server has ${this.#opts.maxClients} clients (its limit); try again later`,
      );
      this.#service.tally(errorKey("busy"));
      socket.end(line + "\n");
      lingerThenDestroy(socket, REFUSE_LINGER_MS);
      return;
    }
    socket.setNoDelay(true);
    const session = new Session(
      connectionOf(socket),
      { id: this.#nextId++, remote, address: socket.remoteAddress ?? "?" },
      this.#service,
      this.#opts,
      this.watchers,
    );
    socket.on("data", (chunk: Uint8Array) => session.onData(chunk));
    socket.on("end", () => session.onEnd());
    socket.on("drain", () => session.onDrain());
    socket.once("close", () => session.onClose());
    this.#sessions.add(session);
    this.#service.countClient(1);
    session.finished.then(() => {
      this.#sessions.delete(session);
      this.#service.countClient(-1);
    });
  }

  /** Stops listening and closes every connection (FIN). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = this.#listener.close();
      for (const s of this.#sessions) s.abort();
      await Promise.all([...this.#sessions].map((s) => s.finished));
      await stopped;
      this.#opts.refusals.close();
    })();
    return this.#closing;
  }
}

/** A node:net socket as the session's {@linkcode Connection}. */
function connectionOf(socket: Socket): Connection {
  return {
    write: (text) => void socket.write(text),
    get writableLength() {
      return socket.writableLength;
    },
    pause: () => void socket.pause(),
    resume: () => void socket.resume(),
    end: (text, lingerMs) => {
      socket.end(text);
      if (lingerMs > 0) lingerThenDestroy(socket, lingerMs);
    },
    get closed() {
      return socket.destroyed;
    },
    keepAlive: () => void keepAlive(socket),
  };
}

/**
 * After our FIN: read and drop what the peer still sends (bounded), and cut
 * the connection at its FIN or after `ms`, whichever comes first. Closing
 * with unread data would send a reset that could destroy our last reply.
 */
function lingerThenDestroy(socket: Socket, ms: number): void {
  let bytes = 0;
  const timer = setTimeout(() => socket.destroy(), ms);
  socket.removeAllListeners("data");
  socket.on("data", (chunk: Uint8Array) => {
    bytes += chunk.length;
    if (bytes > LINGER_BYTES) socket.destroy();
  });
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
  socket.resume();
}
