/**
 * Terminal output for the long-running subcommands: timestamped log lines
 * and, on a TTY, one status line kept at the bottom (the LED drawn ● / ○).
 *
 * Output never blocks the event loop. A write to a pipe nobody reads (a
 * stalled log collector) or to a terminal paused with Ctrl-S blocks until
 * the reader comes back; `Deno.stdout.writeSync` would block the whole
 * server with it. So {@linkcode Terminal.log} and
 * {@linkcode Terminal.status} only queue, and the queue is written with
 * asynchronous writes (`Deno.stdout.write`, which in Deno 2.9 waits off the
 * event loop: measured on a full pipe and on an unread pty, timers and
 * sockets carry on; and `Deno.exit` still exits at once while a write
 * waits), one write at a time, in order.
 *
 * The queue is bounded: by default 2,000 lines or 256 KiB, whichever comes
 * first, counting the write in progress (see
 * {@linkcode TerminalOptions.maxQueuedLines} and
 * {@linkcode TerminalOptions.maxQueuedBytes}). While it is full, new log
 * lines are dropped and counted; as soon as a write completes, one line
 * takes their place: `(1,234 log lines dropped: the output was not being
 * read)`. The status line is never dropped and never queued twice: only
 * the newest is drawn, after the queued log lines.
 *
 * Writes complete after `log()` returns, so before exiting call
 * {@linkcode Terminal.flush}: it waits for the queue to be written, but at
 * most the time given, so a stalled reader cannot hang the exit. Output
 * written by other means (`console.log`) is not ordered with the queue
 * unless the queue is flushed first.
 *
 * @module
 */

const enc = new TextEncoder();
const CLEAR_LINE = "\r\x1b[K";

/** Where a {@linkcode Terminal} writes: `Deno.stdout`, or a stand-in in tests. */
export interface TerminalSink {
  /** Writes some of `bytes` (at least one byte); resolves with how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Options for {@linkcode Terminal}. */
export interface TerminalOptions {
  /** Draw the status line. Default: stdout is a TTY and `NO_COLOR` is unset or empty. */
  live?: boolean;
  /** Prefix log lines with the time. Default true. */
  timestamps?: boolean;
  /** Where output goes. Default `Deno.stdout`. */
  sink?: TerminalSink;
  /**
   * Most log lines queued (the write in progress included) before new ones
   * are dropped. Default 2,000.
   */
  maxQueuedLines?: number;
  /**
   * Most bytes of log lines queued (the write in progress included) before
   * new ones are dropped. Default 262,144 (256 KiB).
   */
  maxQueuedBytes?: number;
}

/**
 * Writes log lines and a live status line without mixing them up, and
 * without ever blocking on the output (see the module docs).
 *
 * @example
 * ```ts
 * import { Terminal } from "./term.ts";
 * const term = new Terminal();
 * term.status("● LED on");
 * term.log("LED on  ← cli");
 * term.end();
 * await term.flush(1000);
 * ```
 */
export class Terminal {
  /** True when the status line is drawn (a TTY, unless told otherwise). */
  readonly live: boolean;
  readonly #timestamps: boolean;
  readonly #color: boolean;
  readonly #sink: TerminalSink;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  /** The status line as it should look once the queue is written. */
  #status = "";
  /** The status line changed since the last write was put together. */
  #statusDirty = false;
  /** Log lines not handed to the sink yet, each ending in "\n". */
  #lines: Uint8Array[] = [];
  /** Log lines and their bytes queued, the write in progress included. */
  #queuedLines = 0;
  #queuedBytes = 0;
  /** Log lines dropped since the last count line. */
  #dropped = 0;
  #writing = false;
  #idle: (() => void)[] = [];

  /** Detects the TTY unless told. */
  constructor(options: TerminalOptions = {}) {
    const tty = Deno.stdout.isTerminal();
    this.#color = tty && !Deno.env.get("NO_COLOR");
    this.live = options.live ?? tty;
    this.#timestamps = options.timestamps ?? true;
    this.#sink = options.sink ?? Deno.stdout;
    this.#maxLines = options.maxQueuedLines ?? 2_000;
    this.#maxBytes = options.maxQueuedBytes ?? 256 * 1024;
  }

  /** Colors `text` when the terminal takes colors. */
  paint(text: string, color: "green" | "red" | "yellow" | "dim" | "bold"): string {
    if (!this.#color) return text;
    const code = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 }[color];
    return `\x1b[${code}m${text}\x1b[0m`;
  }

  /**
   * Prints a log line above the status line. Never blocks: the line is
   * queued, or dropped and counted when the queue is full.
   */
  log(line: string): void {
    const bytes = enc.encode(this.#format(line));
    if (
      this.#queuedLines + 1 > this.#maxLines ||
      this.#queuedBytes + bytes.length > this.#maxBytes
    ) {
      this.#dropped++;
      return;
    }
    this.#enqueue(bytes);
    this.#kick();
  }

  /** Replaces the status line (TTY only). Only the newest is drawn. */
  status(text: string): void {
    if (!this.live) return;
    this.#status = text;
    this.#statusDirty = true;
    this.#kick();
  }

  /**
   * Clears the status line, e.g. before exiting (queued like the rest:
   * `await flush(ms)` before writing to stdout by other means).
   */
  end(): void {
    if (!this.live || !this.#status) return;
    this.#status = "";
    this.#statusDirty = true;
    this.#kick();
  }

  /**
   * Resolves once everything queued is written (true), or after `ms` if the
   * output is not being read (false), whichever comes first.
   */
  flush(ms: number): Promise<boolean> {
    if (!this.#writing) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer: { id?: ReturnType<typeof setTimeout> } = {};
      const done = () => {
        clearTimeout(timer.id);
        resolve(true);
      };
      this.#idle.push(done);
      const id = setTimeout(() => {
        this.#idle = this.#idle.filter((f) => f !== done);
        resolve(false);
      }, ms);
      // Creating a timer can run pending microtasks (seen in Deno 2.9 for the
      // first timer of a `deno test`): the write may have completed, and
      // `done` run, in there.
      if (this.#idle.includes(done)) timer.id = id;
      else clearTimeout(id);
    });
  }

  #enqueue(bytes: Uint8Array): void {
    this.#lines.push(bytes);
    this.#queuedLines++;
    this.#queuedBytes += bytes.length;
  }

  /** Starts writing unless a write is in progress (which then goes on). */
  #kick(): void {
    if (this.#writing) return;
    const next = this.#take();
    if (next) this.#pump(next);
  }

  /** What to write next: the queued lines, then the status line; null if nothing. */
  #take(): Chunk | null {
    if (this.#lines.length === 0 && !this.#statusDirty) return null;
    const lines = this.#lines;
    this.#lines = [];
    const status = this.live && (lines.length > 0 || this.#statusDirty);
    this.#statusDirty = false;
    const head = status ? enc.encode(CLEAR_LINE) : new Uint8Array(0);
    const tail = status ? enc.encode(this.#status) : new Uint8Array(0);
    let lineBytes = 0;
    for (const l of lines) lineBytes += l.length;
    const bytes = new Uint8Array(head.length + lineBytes + tail.length);
    bytes.set(head);
    let off = head.length;
    for (const l of lines) {
      bytes.set(l, off);
      off += l.length;
    }
    bytes.set(tail, off);
    return { bytes, lines: lines.length, lineBytes };
  }

  /**
   * Writes `first`, then whatever was queued meanwhile, until nothing is
   * left. The first write starts before this returns, so output already
   * flowing keeps its order.
   */
  async #pump(first: Chunk): Promise<void> {
    this.#writing = true;
    let chunk: Chunk | null = first;
    while (chunk) {
      const { bytes, lines, lineBytes } = chunk;
      try {
        for (let off = 0; off < bytes.length;) {
          const n = await this.#sink.write(bytes.subarray(off));
          if (!(n > 0)) break; // Nothing taken: the output is gone.
          off += n;
        }
      } catch { /* stdout closed: nothing to tell */ }
      this.#queuedLines -= lines;
      this.#queuedBytes -= lineBytes;
      if (this.#dropped > 0) {
        const n = this.#dropped;
        this.#dropped = 0;
        this.#enqueue(enc.encode(this.#format(droppedLine(n))));
      }
      chunk = this.#take();
    }
    this.#writing = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const f of idle) f();
  }

  #format(line: string): string {
    const stamp = this.#timestamps
      ? this.paint(new Date().toTimeString().slice(0, 8), "dim") + " "
      : "";
    return `${stamp}${line}\n`;
  }
}

/** One write: the bytes, and how many queued log lines (and their bytes) it holds. */
interface Chunk {
  bytes: Uint8Array;
  lines: number;
  lineBytes: number;
}

/** The line that stands for `n` dropped log lines. */
function droppedLine(n: number): string {
  return `(${n.toLocaleString("en-US")} log line${
    n === 1 ? "" : "s"
  } dropped: the output was not being read)`;
}
