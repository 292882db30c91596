/**
 * Splitting a byte stream into request lines: LF-terminated (CRLF accepted),
 * at most {@linkcode MAX_LINE} bytes each, with a bounded buffer.
 *
 * @module
 */

/** Longest request line in bytes, not counting its CR LF. */
export const MAX_LINE = 1024;

/** What {@linkcode LineFramer.push} found in the bytes it was given. */
export type Frame =
  | { readonly kind: "line"; readonly bytes: Uint8Array }
  | { readonly kind: "too-long" };

/**
 * Accumulates bytes and cuts them into lines. After a `too-long` frame the
 * framer is spent: the connection is to be closed. A line that arrived whole
 * in one chunk is handed out as a view of that chunk (no copy): use it before
 * the chunk's buffer is reused, or copy it.
 *
 * @example
 * ```ts
 * import { LineFramer } from "./framing.ts";
 * const f = new LineFramer();
 * f.push(new TextEncoder().encode("on\r\nblink 2")); // [{ kind: "line", bytes: "on\r" }]
 * f.pending;       // true: "blink 2" waits for its LF
 * f.flush();       // the partial line "blink 2", e.g. at half-close
 * ```
 */
export class LineFramer {
  readonly #max: number;
  /** Holds an unfinished line; allocated only while there is one (idle connections hold none). */
  #buf: Uint8Array | undefined;
  #len = 0;
  #spent = false;

  /** `maxLine` bytes per line, default {@linkcode MAX_LINE}. */
  constructor(maxLine = MAX_LINE) {
    if (!Number.isInteger(maxLine) || maxLine < 1) {
      throw new RangeError(`maxLine must be a positive integer, got ${maxLine}`);
    }
    this.#max = maxLine;
  }

  /** True when bytes of an unfinished line are waiting. */
  get pending(): boolean {
    return this.#len > 0;
  }

  /**
   * Feeds bytes; returns the complete lines (LF removed, CR kept) in order.
   * Lines may be views into `chunk`.
   */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    if (this.#spent) return frames;
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(10, start);
      const end = lf === -1 ? chunk.length : lf;
      const piece = end - start;
      if (!this.#fits(chunk, start, end)) {
        this.#spent = true;
        this.#len = 0;
        this.#buf = undefined;
        frames.push({ kind: "too-long" });
        return frames;
      }
      if (lf === -1) {
        // One extra byte so a line of exactly maxLine bytes may end in CR LF.
        this.#buf ??= new Uint8Array(this.#max + 1);
        this.#buf.set(chunk.subarray(start, end), this.#len);
        this.#len += piece;
        break;
      }
      let bytes: Uint8Array;
      if (this.#len === 0) {
        bytes = chunk.subarray(start, end);
      } else {
        bytes = new Uint8Array(this.#len + piece);
        bytes.set(this.#buf!.subarray(0, this.#len));
        bytes.set(chunk.subarray(start, end), this.#len);
        this.#len = 0;
        this.#buf = undefined;
      }
      frames.push({ kind: "line", bytes });
      start = lf + 1;
    }
    return frames;
  }

  /** A line, finished or not, may hold maxLine bytes plus one final CR. */
  #fits(chunk: Uint8Array, start: number, end: number): boolean {
    const total = this.#len + end - start;
    if (total <= this.#max) return true;
    const last = end > start ? chunk[end - 1] : this.#buf![this.#len - 1];
    return total === this.#max + 1 && last === 13;
  }

  /** Takes the unfinished line, if any, as a complete one. */
  flush(): Uint8Array | undefined {
    if (this.#len === 0 || this.#spent) return undefined;
    const bytes = this.#buf!.slice(0, this.#len);
    this.#len = 0;
    this.#buf = undefined;
    return bytes;
  }
}
