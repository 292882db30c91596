/**
 * The heart of the epoll engine, whichever thread runs it: the listening
 * socket, every connection as a session's {@linkcode Connection} over its
 * descriptor, and what one batch of `epoll_wait` events does to them. The
 * host owns the wait: `epoll_worker.ts` blocks in `epoll_wait` in a Web
 * Worker (production); `epoll.ts` waits on a runtime pool thread when a
 * test injects its own clock. Either way the host calls
 * {@linkcode EpollLoop.handle} with the events and {@linkcode EpollLoop.prepare}
 * before it waits again.
 *
 * Rules kept here (see ../shared/notes/ffi-epoll.md for why):
 * - level-triggered; a read shorter than the buffer ends the event, at
 *   most {@linkcode READS_PER_EVENT} reads of {@linkcode READ_SIZE} per
 *   event, {@linkcode ACCEPTS_PER_WAKE} accepts per batch;
 * - one reused read buffer; the replies a connection got in one batch go
 *   out in one `send` (MSG_NOSIGNAL); what the kernel does not take waits
 *   for EPOLLOUT;
 * - a connection that wants no event (paused while the LED is applied
 *   elsewhere, nothing to send) leaves the epoll set;
 * - events carry the descriptor's generation ({@linkcode FdTable});
 * - `accept4` out of descriptors (EMFILE, ENFILE…) takes the listener out
 *   of the set for {@linkcode ACCEPT_PAUSE_MS}, logs one line per burst,
 *   and one more when accepting works again;
 * - the busy refusal (at most {@linkcode MAX_REFUSING} at once), lingering
 *   closes, and `close()` that aborts every session, as the node engine.
 *
 * @module
 */
import type { LogLevel } from "../../core/log.ts";
import type { Clock, TimerId } from "../../hal/clock.ts";
import type { LedControl } from "../../core/led_service.ts";
import { err } from "../../protocol/reply.ts";
import { errorKey } from "../../core/tally.ts";
import { describeErrno, Errno, type Libc } from "../../sys/libc.ts";
import { acceptQueueLength, setKeepAlive } from "../fd_limit.ts";
import { type Connection, Session, type SessionOptions } from "../session.ts";
import {
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  type EpollLayout,
  EPOLLOUT,
  EventArray,
  IPPROTO_TCP,
  LISTEN_BACKLOG,
  MSG_NOSIGNAL,
  parseSockaddr,
  SHUT_WR,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOCKADDR_STORAGE_SIZE,
  sockaddrFor,
  SOL_SOCKET,
  TCP_NODELAY,
} from "./epoll_abi.ts";
import { FdTable } from "./fd_table.ts";

/** Bytes asked of one `recv`. */
export const READ_SIZE = 64 * 1024;
/** Reads per readable event, at most (fairness: 4 × 64 KiB). */
export const READS_PER_EVENT = 4;
/** Accepts per readable listener event, at most. */
export const ACCEPTS_PER_WAKE = 64;
/** Events taken from one `epoll_wait`, at most. */
export const MAX_EVENTS = 1024;
/** How long the listener stays out of the set after `accept4` ran out of descriptors, in ms. */
export const ACCEPT_PAUSE_MS = 100;
/** Refused (busy) connections being answered at once; more are closed without a word. */
export const MAX_REFUSING = 32;
/** How long a refused (busy) connection is kept to read its ERR line, in ms. */
const REFUSE_LINGER_MS = 200;
/** How much a closing connection may still send before it is cut. */
const LINGER_BYTES = 1 << 20;
/** Unsent bytes past which a write asks for a drain call (node's highWaterMark). */
const HIGH_WATER = 16 * 1024;
/** The buffer replies are encoded into before `send`. */
const WRITE_SCRATCH = 256 * 1024;
/** Replies up to this many characters are copied byte by byte when ASCII. */
const ASCII_INLINE = 512;

/** libc and the calling thread's errno cell (`errnoView()`). */
export interface Sys {
  readonly c: Libc;
  readonly errno: Int32Array;
}

/** `socket`/`bind`/`listen` failed: the call and its errno, for the caller to explain. */
export class ListenError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** The call that failed. */
  readonly call: string;
  /** Records `code` for `call` on `where`. */
  constructor(call: string, where: string, code: number) {
    super(`${call} ${where}: ${describeErrno(code)}`);
    this.name = "ListenError";
    this.errno = code;
    this.call = call;
  }
}

/**
 * Opens a non-blocking listening TCP socket on an IP literal. Throws
 * {@linkcode ListenError} (the descriptor closed) or a `RangeError` for a
 * host that is not an IP literal.
 */
export function openListener(
  sys: Sys,
  host: string,
  port: number,
): { fd: number; address: string; port: number } {
  const addr = sockaddrFor(host, port);
  if (!addr) throw new RangeError(`not an IP address: ${host}`);
  const { c } = sys;
  const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const fd = c.socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new ListenError("socket", where, sys.errno[0]);
  const fail = (call: string): never => {
    const code = sys.errno[0];
    c.close(fd);
    throw new ListenError(call, where, code);
  };
  // As node does: a restarted server can bind while old connections linger in TIME_WAIT.
  if (c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, int32(1), 4) !== 0) fail("setsockopt");
  if (c.bind(fd, addr.bytes, addr.bytes.length) !== 0) fail("bind");
  if (c.listen(fd, LISTEN_BACKLOG) !== 0) fail("listen");
  const name = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  const len = int32(name.length);
  if (c.getsockname(fd, name, len) !== 0) fail("getsockname");
  const bound = parseSockaddr(name) ?? { address: host, port };
  return { fd, address: bound.address, port: bound.port };
}

/** A 32-bit integer as bytes, for `setsockopt` and socklen_t arguments. */
function int32(v: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** What {@linkcode EpollLoop} is given. */
export interface LoopOptions {
  readonly sys: Sys;
  readonly layout: EpollLayout;
  /** The epoll instance (the loop closes it in {@linkcode EpollLoop.dispose}). */
  readonly epfd: number;
  /** The listening socket from {@linkcode openListener} (the loop closes it). */
  readonly listenFd: number;
  /** An eventfd that wakes the wait (the host's; drained, never closed here), or -1. */
  readonly wakeFd: number;
  /** The LED, or the worker's proxy of it. */
  readonly service: LedControl;
  /** The sessions' options; their timers run on its clock. */
  readonly session: SessionOptions;
  /** The engine's own timers (lingering closes, the accept pause). */
  readonly timers: Clock;
  /** Most simultaneous clients; a newcomer above it gets `ERR busy`. */
  readonly maxClients: number;
  /** Called when there is something to flush (a host that is not in a loop schedules `prepare`). */
  readonly onWork?: () => void;
  /**
   * Logs `before + "N descriptors in use, limit L" + after` (`describeFdUse`),
   * counted on the main thread: counting needs a descriptor in reserve, and
   * that reserve is the process's one (`keepSpareFd`), not one per worker.
   */
  readonly logFdUse: (before: string, after: string) => void;
}

/**
 * One descriptor's connection: the session's {@linkcode Connection}, and
 * its part of the loop's bookkeeping.
 */
class Conn implements Connection {
  readonly fd: number;
  gen = 0;
  readonly #loop: EpollLoop;
  session: Session | undefined;
  onClosed: (() => void) | undefined;
  /** Replies written and not yet encoded (sent at the next flush). */
  #text = "";
  /** Encoded bytes the kernel did not take yet (sent at EPOLLOUT). */
  #chunks: Uint8Array[] = [];
  #head = 0;
  #outBytes = 0;
  #paused = false;
  /** The peer sent its FIN (a read returned 0). */
  #peerEof = false;
  /** `end()` was called: no more writes; reads are dropped. */
  #ending = false;
  #finSent = false;
  #needDrain = false;
  #lingerTimer: TimerId | undefined;
  #lingerDue = Infinity;
  #lingerBytes = 0;
  #closed = false;
  /** The events it is registered for (0: not in the set). */
  mask = 0;
  inDirty = false;
  inTouched = false;

  constructor(loop: EpollLoop, fd: number) {
    this.#loop = loop;
    this.fd = fd;
  }

  // --- Connection (what the session sees) ---

  write(text: string): void {
    if (this.#closed || this.#ending || text === "") return;
    this.#text += text;
    this.#loop.markDirty(this);
    if (this.writableLength >= HIGH_WATER) this.#needDrain = true;
  }

  get writableLength(): number {
    return this.#outBytes + this.#text.length;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.writableLength > 0) this.#needDrain = true;
    this.#loop.touch(this);
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#loop.touch(this);
  }

  end(text: string, lingerMs: number): void {
    if (this.#closed) return;
    if (!this.#ending) {
      if (text) this.#text += text;
      this.#ending = true;
      this.#loop.markDirty(this); // the FIN goes out after what is queued
      this.#loop.touch(this); // read (and drop) until the peer's FIN
    }
    if (lingerMs > 0) {
      const due = this.#loop.timers.now() + lingerMs;
      if (due < this.#lingerDue) {
        if (this.#lingerTimer !== undefined) this.#loop.timers.clearTimeout(this.#lingerTimer);
        this.#lingerDue = due;
        this.#lingerTimer = this.#loop.timers.setTimeout(() => {
          this.#lingerTimer = undefined;
          this.destroy();
        }, lingerMs);
      }
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  keepAlive(): void {
    // As node's engine: if it cannot be set (it can on any TCP socket we
    // own), the watcher still works; a vanished peer is then found only
    // once its unsent EVENT lines pass the session's watch backlog.
    if (!this.#closed) setKeepAlive(this.fd, { idleS: 30, intervalS: 10, count: 3 });
  }

  // --- the loop's side ---

  /** The events this connection wants now. */
  wanted(): number {
    if (this.#closed) return 0;
    let w = 0;
    if (!this.#peerEof && (this.#ending || !this.#paused)) w |= EPOLLIN;
    if (this.#outBytes > 0) w |= EPOLLOUT;
    return w;
  }

  /** One event from `epoll_wait`. */
  onEvents(bits: number): void {
    if (bits & EPOLLOUT && this.#outBytes > 0) {
      this.#sendOut();
      if (this.#closed) return;
    }
    if (bits & EPOLLIN && !this.#peerEof && (this.#ending || !this.#paused)) {
      this.#read();
      return;
    }
    // An error, or both directions shut (a reset), while we were not reading: it is gone.
    if (bits & (EPOLLERR | EPOLLHUP)) this.destroy();
  }

  #read(): void {
    const loop = this.#loop;
    const { c, errno } = loop.sys;
    const buf = loop.readBuffer;
    for (let i = 0; i < READS_PER_EVENT; i++) {
      const n = c.recv(this.fd, buf, READ_SIZE, 0);
      if (n > 0) {
        if (this.#ending) {
          this.#lingerBytes += n;
          if (this.#lingerBytes > LINGER_BYTES) return this.destroy();
        } else {
          this.session?.onData(buf.subarray(0, n));
          if (this.#closed || this.#paused) return;
        }
        if (n < READ_SIZE) return;
        continue;
      }
      if (n === 0) return this.#onEof();
      const e = errno[0];
      if (e === Errno.EAGAIN) return;
      if (e === Errno.EINTR) continue;
      return this.destroy(); // ECONNRESET, ETIMEDOUT (keepalive)…
    }
  }

  #onEof(): void {
    this.#peerEof = true;
    this.#loop.touch(this);
    if (this.#ending) {
      // Our FIN is out (or goes out after the queued bytes): nothing more to wait for.
      if (this.#finSent) this.destroy();
      return;
    }
    if (this.session) {
      this.#loop.settling = true;
      void this.session.onEnd();
    } else this.destroy();
  }

  /** Sends what the batch wrote, in one `send`. */
  flush(): void {
    this.inDirty = false;
    if (this.#closed || this.#outBytes > 0) return; // EPOLLOUT will send it
    if (this.#text !== "") {
      const text = this.#text;
      this.#text = "";
      const { bytes, length } = this.#loop.encode(text);
      if (!this.#send(bytes, length)) return;
      if (this.#outBytes > 0) return;
    }
    this.#drained();
  }

  /**
   * Sends `bytes[0…length)`; keeps what the kernel did not take. False
   * when the connection failed (and is closed).
   */
  #send(bytes: Uint8Array, length: number): boolean {
    const { c, errno } = this.#loop.sys;
    let n = c.send(this.fd, bytes, length, MSG_NOSIGNAL);
    if (n < 0) {
      const e = errno[0];
      if (e !== Errno.EAGAIN && e !== Errno.EINTR) {
        this.destroy(); // EPIPE, ECONNRESET: the peer is gone
        return false;
      }
      n = 0;
    }
    if (n < length) {
      this.#chunks.push(bytes.slice(n, length));
      this.#head = 0;
      this.#outBytes = length - n;
      this.#loop.touch(this);
    }
    return true;
  }

  #sendOut(): void {
    const { c, errno } = this.#loop.sys;
    while (this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const rest = chunk.length - this.#head;
      const n = c.send(
        this.fd,
        this.#head === 0 ? chunk : chunk.subarray(this.#head),
        rest,
        MSG_NOSIGNAL,
      );
      if (n < 0) {
        const e = errno[0];
        if (e === Errno.EAGAIN) return;
        if (e === Errno.EINTR) continue;
        return this.destroy();
      }
      this.#outBytes -= n;
      if (n < rest) {
        this.#head += n;
        return;
      }
      this.#chunks.shift();
      this.#head = 0;
    }
    this.#loop.touch(this);
    this.flush(); // what was written meanwhile, then FIN or the drain call
  }

  /** Everything written is with the kernel. */
  #drained(): void {
    if (this.#ending) {
      if (this.#finSent) return;
      // The peer is done sending and everything was read: close() sends our FIN.
      if (this.#peerEof) return this.destroy();
      if (this.#loop.sys.c.shutdown(this.fd, SHUT_WR) !== 0) return this.destroy(); // ENOTCONN: reset
      this.#finSent = true;
      return;
    }
    if (this.#needDrain) {
      this.#needDrain = false;
      this.#loop.settling = true;
      this.session?.onDrain();
    }
  }

  /** Closes now (node's `destroy()`): unsent bytes are dropped. Idempotent. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#text = "";
    this.#chunks = [];
    this.#outBytes = 0;
    if (this.#lingerTimer !== undefined) this.#loop.timers.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.#loop.release(this);
    if (this.session) this.#loop.settling = true;
    this.session?.onClose();
    this.onClosed?.();
  }
}

/**
 * The listening socket and its connections. Not thread-safe: one thread
 * calls everything, the host's wait aside.
 *
 * @example
 * ```ts
 * // A host's loop (see epoll_worker.ts):
 * // loop.start();
 * // for (;;) { loop.prepare(); n = epoll_wait(epfd, events.bytes, MAX_EVENTS, t); loop.handle(events, n); }
 * ```
 */
export class EpollLoop {
  readonly sys: Sys;
  readonly timers: Clock;
  /** The one read buffer every connection reads into. */
  readonly readBuffer = new Uint8Array(READ_SIZE);
  readonly #opts: LoopOptions;
  readonly #epfd: number;
  #listenFd: number;
  readonly #wakeFd: number;
  readonly #conns = new FdTable<Conn>();
  readonly #sessions = new Set<Session>();
  readonly #watchers = new Set<unknown>();
  readonly #ctl: EventArray;
  readonly #scratch = new Uint8Array(WRITE_SCRATCH);
  readonly #encoder = new TextEncoder();
  readonly #addr = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  readonly #addrLen = new Uint8Array(4);
  readonly #addrLenWord = new Uint32Array(this.#addrLen.buffer);
  readonly #one = int32(1);
  readonly #wakeBuf = new Uint8Array(8);
  #dirty: Conn[] = [];
  #touched: Conn[] = [];
  #listening = false;
  #pauseTimer: TimerId | undefined;
  #stalled = false;
  #refusing = 0;
  #nextId = 1;
  #closing = false;
  #done = Promise.withResolvers<void>();
  #isDone = false;
  #disposed = false;
  #workScheduled = false;
  /**
   * Set when a session was handed something whose follow-up runs as
   * promise reactions (its end, a drain, its close): the host lets them
   * all run (a full event-loop turn) before it blocks in the next wait.
   * Reads and writes alone settle synchronously; an LED change settles
   * when the main thread's answer comes, itself a turn.
   */
  settling = false;

  constructor(opts: LoopOptions) {
    this.#opts = opts;
    this.sys = opts.sys;
    this.timers = opts.timers;
    this.#epfd = opts.epfd;
    this.#listenFd = opts.listenFd;
    this.#wakeFd = opts.wakeFd;
    this.#ctl = new EventArray(opts.layout, 1);
  }

  /** Puts the listener (and the wake eventfd) in the set. Throws a `ListenError`. */
  start(): void {
    if (this.#wakeFd >= 0 && !this.#ctlFd(EPOLL_CTL_ADD, this.#wakeFd, EPOLLIN)) {
      throw new ListenError("epoll_ctl", "eventfd", this.sys.errno[0]);
    }
    if (!this.#ctlFd(EPOLL_CTL_ADD, this.#listenFd, EPOLLIN)) {
      throw new ListenError("epoll_ctl", "listener", this.sys.errno[0]);
    }
    this.#listening = true;
  }

  /** The epoll instance, for the host's wait. */
  get epfd(): number {
    return this.#epfd;
  }

  /** Connected clients (sessions). */
  get clients(): number {
    return this.#sessions.size;
  }

  /** Open descriptors for connections (sessions and refusals). */
  get connections(): number {
    return this.#conns.size;
  }

  /** Settles once {@linkcode EpollLoop.close} was called and every connection has closed. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /** True once {@linkcode EpollLoop.done} settled. */
  get isDone(): boolean {
    return this.#isDone;
  }

  /** True when {@linkcode EpollLoop.prepare} has something to send or register. */
  get hasWork(): boolean {
    return this.#dirty.length > 0 || this.#touched.length > 0;
  }

  /** Handles `n` events of `events` (what `epoll_wait` returned). */
  handle(events: EventArray, n: number): void {
    for (let i = 0; i < n; i++) {
      const fd = events.fd(i);
      const gen = events.gen(i);
      if (gen === 0) {
        if (fd === this.#wakeFd) this.sys.c.read32(fd, this.#wakeBuf, 8); // EAGAIN: drained already
        else if (fd === this.#listenFd && this.#listening) this.#acceptSome();
        continue;
      }
      const c = this.#conns.get(fd, gen);
      if (!c) continue; // closed meanwhile: the number may be another connection's now
      c.onEvents(events.events(i));
      // Its replies go now, in one send, while the next events are read:
      // the peer gets to work on them sooner (measured: more round trips).
      if (c.inDirty) c.flush();
    }
  }

  /**
   * Sends what connections wrote since the last call (one `send` each)
   * and brings the epoll set up to date. True when more is left (a drain
   * call wrote again): the host should not block in its next wait.
   */
  prepare(): boolean {
    this.#workScheduled = false;
    if (this.#dirty.length > 0) {
      const dirty = this.#dirty;
      this.#dirty = [];
      for (const c of dirty) if (c.inDirty) c.flush();
    }
    if (this.#touched.length > 0) {
      const touched = this.#touched;
      this.#touched = [];
      for (const c of touched) this.#sync(c);
    }
    return this.hasWork;
  }

  /** Stops listening and aborts every session (FIN, short linger); see {@linkcode EpollLoop.done}. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#opts.session.refusals?.close();
    this.#closeListener();
    for (const s of this.#sessions) s.abort();
    for (const c of this.#conns.values()) if (!c.session) c.destroy();
    this.#checkDone();
  }

  /** Closes what is left (connections, listener, the epoll instance). Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#closing = true;
    this.#closeListener();
    for (const c of this.#conns.values()) c.destroy();
    this.#closeFd(this.#epfd, "epoll");
  }

  // --- for Conn ---

  markDirty(c: Conn): void {
    if (c.inDirty) return;
    c.inDirty = true;
    this.#dirty.push(c);
    this.#wantWork();
  }

  touch(c: Conn): void {
    if (c.inTouched) return;
    c.inTouched = true;
    this.#touched.push(c);
    this.#wantWork();
  }

  /** `text` as UTF-8, in the scratch buffer when it fits. */
  encode(text: string): { bytes: Uint8Array; length: number } {
    const n = text.length;
    if (n <= ASCII_INLINE) {
      // Replies are short ASCII lines: copying them here costs less than
      // a call into the runtime's encoder.
      const out = this.#scratch;
      let i = 0;
      for (; i < n; i++) {
        const ch = text.charCodeAt(i);
        if (ch >= 0x80) break;
        out[i] = ch;
      }
      if (i === n) return { bytes: out, length: n };
    }
    if (n * 3 <= this.#scratch.length) {
      const { written } = this.#encoder.encodeInto(text, this.#scratch);
      return { bytes: this.#scratch, length: written };
    }
    const bytes = this.#encoder.encode(text);
    return { bytes, length: bytes.length };
  }

  /** A connection closed: forget its descriptor (its generation moves on) and close it. */
  release(c: Conn): void {
    this.#conns.remove(c.fd);
    // close() takes it out of the set (no EPOLL_CTL_DEL: a syscall per
    // connection). Were another reference to the socket left (a child
    // between fork and exec), its events would name an old generation.
    c.mask = 0;
    this.#closeFd(c.fd, "connection");
    this.#checkDone();
  }

  // --- internals ---

  #wantWork(): void {
    if (this.#workScheduled || !this.#opts.onWork) return;
    this.#workScheduled = true;
    this.#opts.onWork();
  }

  #closeFd(fd: number, what: string): void {
    // Linux closes the descriptor even when close() reports EINTR: never retry.
    if (this.sys.c.close(fd) !== 0) {
      const e = this.sys.errno[0];
      if (e !== Errno.EINTR) this.#log(`tcp: close(${what} ${fd}) failed: ${describeErrno(e)}`);
    }
  }

  #ctlFd(op: number, fd: number, events: number, gen = 0): boolean {
    this.#ctl.set(0, events, fd, gen);
    return this.sys.c.epoll_ctl(this.#epfd, op, fd, this.#ctl.bytes) === 0;
  }

  #sync(c: Conn): void {
    c.inTouched = false;
    if (c.closed) return;
    const want = c.wanted();
    if (want === c.mask) return;
    const op = want === 0 ? EPOLL_CTL_DEL : c.mask === 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (!this.#ctlFd(op, c.fd, want, c.gen)) {
      // Cannot happen for an open socket we own; if it does, the
      // connection could hang unseen: close it rather than leak it.
      this.#log(`tcp: epoll_ctl(${op}, fd ${c.fd}) failed: ${describeErrno(this.sys.errno[0])}`);
      c.destroy();
      return;
    }
    c.mask = want;
  }

  #closeListener(): void {
    if (this.#pauseTimer !== undefined) this.timers.clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    this.#listening = false;
    if (this.#listenFd >= 0) this.#closeFd(this.#listenFd, "listener");
    this.#listenFd = -1;
  }

  #log(line: string, level?: LogLevel): void {
    this.#opts.session.log(line, level);
  }

  #acceptSome(): void {
    const { c, errno } = this.sys;
    for (let i = 0; i < ACCEPTS_PER_WAKE; i++) {
      this.#addrLenWord[0] = this.#addr.length;
      const fd = c.accept4(this.#listenFd, this.#addr, this.#addrLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const e = errno[0];
        if (e === Errno.EAGAIN) return;
        // The peer gave up while queued, or a signal: the next one.
        if (e === Errno.EINTR || e === Errno.ECONNABORTED || e === Errno.EPROTO) continue;
        return this.#cannotAccept(e);
      }
      if (this.#stalled) {
        this.#stalled = false;
        this.#opts.logFdUse("tcp: accepting connections again (", ")");
      }
      this.#accepted(fd);
    }
  }

  /**
   * `accept4` failed with the connection left queued: the listener stays
   * readable and level-triggered epoll would spin. Take it out of the set
   * for a moment; say so once per burst.
   */
  #cannotAccept(e: number): void {
    if (!this.#stalled) {
      this.#stalled = true;
      const waiting = acceptQueueLength(this.#listenFd);
      const why = e === Errno.EMFILE || e === Errno.ENFILE
        ? "too many open files"
        : describeErrno(e);
      this.#opts.logFdUse(
        `tcp: cannot accept new connections: ${why} (`,
        `); ${waiting ?? "?"} waiting; open connections keep being served`,
      );
    }
    if (!this.#ctlFd(EPOLL_CTL_DEL, this.#listenFd, 0)) return; // stays in: retried next wait
    this.#listening = false;
    this.#pauseTimer = this.timers.setTimeout(() => {
      this.#pauseTimer = undefined;
      if (this.#closing || this.#listenFd < 0) return;
      if (this.#ctlFd(EPOLL_CTL_ADD, this.#listenFd, EPOLLIN)) this.#listening = true;
      else this.#cannotAccept(this.sys.errno[0]);
      this.#wantWork();
    }, ACCEPT_PAUSE_MS);
  }

  #accepted(fd: number): void {
    const { c } = this.sys;
    if (this.#closing) {
      this.#closeFd(fd, "connection");
      return;
    }
    const peer = parseSockaddr(this.#addr) ?? { address: "?", port: 0 };
    const remote = `${peer.address}:${peer.port}`;
    const opts = this.#opts;
    if (this.#sessions.size >= opts.maxClients) {
      if (opts.session.verbose) {
        this.#log(`refused ${remote}: ${this.#sessions.size} clients (the limit)`, "debug");
      } else {
        opts.session.refusals?.refused(
          "busy",
          peer.address,
          `server has ${opts.maxClients} clients (its limit)`,
        );
      }
      // A flood of refusals must not hold descriptors: past a few at once, no reply.
      if (this.#refusing >= MAX_REFUSING) {
        this.#closeFd(fd, "connection");
        return;
      }
      const conn = this.#adopt(fd);
      this.#refusing++;
      conn.onClosed = () => this.#refusing--;
      const line = err(
        "busy",
        `server has ${opts.maxClients} clients (its limit); try again later`,
      );
      opts.service.tally(errorKey("busy"));
      conn.end(line + "\n", REFUSE_LINGER_MS);
      return;
    }
    // Replies are whole lines sent at once: no reason to wait for more (as node's setNoDelay).
    c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, this.#one, 4); // a failure only costs latency
    const conn = this.#adopt(fd);
    const session = new Session(
      conn,
      { id: this.#nextId++, remote, address: peer.address },
      opts.service,
      opts.session,
      this.#watchers,
    );
    conn.session = session;
    this.#sessions.add(session);
    opts.service.countClient(1);
    session.finished.then(() => {
      this.#sessions.delete(session);
      opts.service.countClient(-1);
      this.#checkDone();
    });
    this.touch(conn);
  }

  #adopt(fd: number): Conn {
    const conn = new Conn(this, fd);
    conn.gen = this.#conns.add(fd, conn);
    return conn;
  }

  #checkDone(): void {
    if (!this.#closing || this.#isDone) return;
    if (this.#sessions.size > 0 || this.#conns.size > 0) return;
    this.#isDone = true;
    this.#done.resolve();
    this.settling = true;
    this.#wantWork();
  }
}
