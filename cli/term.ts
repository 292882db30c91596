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
 * Log lines have a level ({@linkcode LOG_LEVELS}); those below the
 * terminal's level are dropped before they are queued. In the `json` format
 * ({@linkcode LOG_FORMATS}) each line is one JSON object,
 * `{"time":"<ISO 8601>","level":"info","msg":"…"}`, with no status line and
 * no colour, for log collectors.
 *
 * The status line is cut to the terminal's width (in display cells, with an
 * ellipsis): a line wider than the terminal wraps, and clearing it would
 * then clear only its last row, leaving the rest above at every redraw.
 * After {@linkcode Terminal.end} it is never drawn again.
 *
 * @module
 */

const enc = new TextEncoder();
const CLEAR_LINE = "\r\x1b[K";

/** The log levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** A log level: `error`, `warn`, `info` or `debug`. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The log formats: `text` (a terminal's) or `json` (one object per line). */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log format: `text` or `json`. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Checks a log level given by a user (any case). Throws a `RangeError`
 * listing the valid ones.
 *
 * @example
 * ```ts
 * import { parseLogLevel } from "./term.ts";
 * parseLogLevel("debug"); // "debug"
 * parseLogLevel("loud"); // throws RangeError: log level must be one of error, warn, info, debug, got "loud"
 * ```
 */
export function parseLogLevel(text: string): LogLevel {
  const l = text.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LogLevel;
  throw new RangeError(
    `log level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(text)}`,
  );
}

/**
 * Checks a log format given by a user (any case). Throws a `RangeError`
 * listing the valid ones.
 *
 * @example
 * ```ts
 * import { parseLogFormat } from "./term.ts";
 * parseLogFormat("json"); // "json"
 * parseLogFormat("xml"); // throws RangeError: log format must be one of text, json, got "xml"
 * ```
 */
export function parseLogFormat(text: string): LogFormat {
  const f = text.toLowerCase();
  if ((LOG_FORMATS as readonly string[]).includes(f)) return f as LogFormat;
  throw new RangeError(
    `log format must be one of ${LOG_FORMATS.join(", ")}, got ${JSON.stringify(text)}`,
  );
}

/** An ANSI escape sequence (CSI … final byte, or OSC … BEL/ST) at the start. */
// deno-lint-ignore no-control-regex -- escape sequences are what it matches
const ESCAPE = /^\x1b(?:\[[0-?]*[ -\/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/;

/** Cells taken by one code point: 0 (controls, combining marks), 2 (East Asian wide), else 1. */
function cells(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (
    cp === 0x200b || (cp >= 0x200c && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f) ||
    /\p{M}/u.test(String.fromCodePoint(cp))
  ) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return 1;
}

/** Splits `text` into escape sequences (width 0) and code points with their cells. */
function* pieces(text: string): Generator<{ text: string; cells: number; escape: boolean }> {
  for (let i = 0; i < text.length;) {
    const esc = text[i] === "\x1b" ? ESCAPE.exec(text.slice(i)) : null;
    if (esc) {
      yield { text: esc[0], cells: 0, escape: true };
      i += esc[0].length;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    yield { text: ch, cells: cells(cp), escape: false };
    i += ch.length;
  }
}

/**
 * How many terminal cells `text` takes: escape sequences (colours) none,
 * combining marks none, East Asian wide characters two, others one.
 *
 * @example
 * ```ts
 * import { displayWidth } from "./term.ts";
 * displayWidth("\x1b[32m●\x1b[0m LED"); // 5
 * displayWidth("漢字"); // 4
 * ```
 */
export function displayWidth(text: string): number {
  let n = 0;
  for (const p of pieces(text)) n += p.cells;
  return n;
}

/**
 * Cuts `text` to at most `width` cells (see {@linkcode displayWidth}),
 * ending in `…` when cut; escape sequences are kept, and a reset (`ESC[0m`)
 * is added after a cut that had any. Throws `RangeError` for a negative
 * or fractional width.
 *
 * @example
 * ```ts
 * import { truncateToWidth } from "./term.ts";
 * truncateToWidth("serial:/dev/serial/by-id/usb-STM32", 12); // "serial:/dev…"
 * ```
 */
export function truncateToWidth(text: string, width: number): string {
  if (!Number.isInteger(width) || width < 0) {
    throw new RangeError(`width must be a whole number of cells ≥ 0, got ${width}`);
  }
  if (displayWidth(text) <= width) return text;
  if (width === 0) return "";
  let out = "";
  let used = 0;
  let escapes = false;
  for (const p of pieces(text)) {
    if (p.escape) {
      out += p.text;
      escapes = true;
    } else if (used + p.cells <= width - 1) {
      out += p.text;
      used += p.cells;
    } else break;
  }
  return out + "…" + (escapes ? "\x1b[0m" : "");
}

/** The terminal's width in columns, or undefined when stdout is no terminal. */
function consoleColumns(): number | undefined {
  try {
    return Deno.consoleSize().columns || undefined;
  } catch {
    return undefined;
  }
}

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
  /**
   * The least severe level logged ({@linkcode LOG_LEVELS}); lines below it
   * are dropped. Default `"info"`. A `RangeError` if not a level.
   */
  level?: LogLevel;
  /**
   * `"text"` (default): lines as given, after the time. `"json"`: one
   * object per line, `{"time":"<ISO>","level":"info","msg":"…"}`, with no
   * status line and no colour, whatever `live` says. A `RangeError` if
   * neither.
   */
  format?: LogFormat;
  /**
   * The terminal's width in columns, asked at each draw of the status line,
   * which is cut to fit; undefined: not cut. Default: `Deno.consoleSize()`'s
   * columns when stdout is a terminal.
   */
  columns?: () => number | undefined;
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
  /** True when the status line is drawn (a TTY, unless told otherwise; never in JSON). */
  readonly live: boolean;
  /** The least severe level logged. */
  readonly level: LogLevel;
  /** How log lines are written. */
  readonly format: LogFormat;
  readonly #timestamps: boolean;
  readonly #columns: () => number | undefined;
  /** end() was called: the status line is never drawn again. */
  #ended = false;
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
    this.level = parseLogLevel(options.level ?? "info");
    this.format = parseLogFormat(options.format ?? "text");
    const json = this.format === "json";
    const tty = Deno.stdout.isTerminal();
    this.#color = tty && !Deno.env.get("NO_COLOR") && !json;
    this.live = !json && (options.live ?? tty);
    this.#columns = options.columns ?? consoleColumns;
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
   * Prints a log line above the status line, at `level` (default `"info"`).
   * Never blocks: the line is queued, or dropped and counted when the
   * queue is full; a line below the terminal's level is dropped uncounted.
   */
  log(line: string, level: LogLevel = "info"): void {
    if (LOG_LEVELS.indexOf(level) > LOG_LEVELS.indexOf(this.level)) return;
    const bytes = enc.encode(this.#format(line, level));
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

  /**
   * Replaces the status line (TTY only; ignored after {@linkcode end}).
   * Only the newest is drawn, cut to the terminal's width.
   */
  status(text: string): void {
    if (!this.live || this.#ended) return;
    this.#status = text;
    this.#statusDirty = true;
    this.#kick();
  }

  /**
   * Clears the status line for good, e.g. before exiting: later
   * {@linkcode status} calls are ignored, log lines go on below (queued
   * like the rest: `await flush(ms)` before writing to stdout by other
   * means).
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
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
    // Once ended and cleared, log lines go out plain: no status to keep below them.
    const status = this.live && (this.#statusDirty || (lines.length > 0 && !this.#ended));
    this.#statusDirty = false;
    const head = status ? enc.encode(CLEAR_LINE) : new Uint8Array(0);
    const tail = status ? enc.encode(this.#fit(this.#status)) : new Uint8Array(0);
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
        this.#enqueue(enc.encode(this.#format(droppedLine(n), "warn")));
      }
      chunk = this.#take();
    }
    this.#writing = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const f of idle) f();
  }

  /** The status line cut to the terminal's width, less one column (no wrap). */
  #fit(status: string): string {
    const columns = this.#columns();
    if (columns === undefined || !(columns > 0)) return status;
    return truncateToWidth(status, Math.max(0, Math.floor(columns) - 1));
  }

  #format(line: string, level: LogLevel = "info"): string {
    if (this.format === "json") {
      return JSON.stringify({ time: new Date().toISOString(), level, msg: line }) + "\n";
    }
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
