/**
 * Reply lines from the board: a pump reads the {@linkcode Port} all the
 * time (so a peer that goes away is noticed at once, not at the next
 * command), splits LF-terminated lines (CR dropped, bounded length) and
 * queues them for whoever waits, with a timeout on the injected clock.
 *
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import { HalError } from "../types.ts";
import type { Port } from "./port.ts";

/** Options for {@linkcode LineChannel}. */
export interface LineChannelOptions {
  /** Clock for {@linkcode LineChannel.next}'s timeout. Default: the real one. */
  clock?: Clock;
  /** Longest line accepted, in bytes; a longer one ends the channel. Default 4096. */
  maxLine?: number;
  /** Called once when the stream ends or fails, with the reason. */
  onEnd?: (reason: string) => void;
}

/**
 * Lines in, lines out, over one port.
 *
 * @example
 * ```ts
 * import { LineChannel } from "./lines.ts";
 * import { connectTcp } from "./tcp.ts";
 * const ch = new LineChannel(await connectTcp("192.168.1.50", 7000, 3000));
 * await ch.send("status");
 * console.log(await ch.next(2000)); // "OK off"
 * await ch.close();
 * ```
 */
export class LineChannel {
  readonly #port: Port;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #onEnd: (reason: string) => void;
  readonly #queue: string[] = [];
  #waiter: ((line: string | HalError) => void) | undefined;
  #ended: string | undefined;
  readonly #pump: Promise<void>;
  readonly #enc = new TextEncoder();

  /** Starts reading `port` at once. */
  constructor(port: Port, options: LineChannelOptions = {}) {
    this.#port = port;
    this.#clock = options.clock ?? realClock;
    this.#max = options.maxLine ?? 4096;
    this.#onEnd = options.onEnd ?? (() => {});
    this.#pump = this.#run();
  }

  /** Why the stream ended, or `undefined` while it is open. */
  get ended(): string | undefined {
    return this.#ended;
  }

  async #run(): Promise<void> {
    const dec = new TextDecoder();
    const chunk = new Uint8Array(1024);
    let pending: number[] = [];
    try {
      for (;;) {
        const n = await this.#port.read(chunk);
        if (n === null) return this.#end("the board closed the link");
        for (let i = 0; i < n; i++) {
          const b = chunk[i];
          if (b === 10) {
            const line = dec.decode(new Uint8Array(pending)).replace(/\r$/, "");
            pending = [];
            this.#deliver(line);
          } else if (pending.length >= this.#max) {
            return this.#end(`the board sent a line longer than ${this.#max} bytes`);
          } else {
            pending.push(b);
          }
        }
      }
    } catch (e) {
      this.#end((e as Error).message);
    }
  }

  #deliver(line: string): void {
    if (this.#ended !== undefined) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w(line);
    } else {
      this.#queue.push(line);
    }
  }

  #end(reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = reason;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(new HalError("io", reason));
    this.#onEnd(reason);
  }

  /** Takes the lines that arrived unasked (nobody was waiting), oldest first. */
  drain(): string[] {
    return this.#queue.splice(0);
  }

  /** Sends `line` plus LF. Rejects with {@linkcode HalError} if the link failed. */
  async send(line: string): Promise<void> {
    if (this.#ended !== undefined) throw new HalError("io", this.#ended);
    try {
      await this.#port.write(this.#enc.encode(line + "\n"));
    } catch (e) {
      const reason = (e as Error).message;
      this.#end(reason);
      throw e instanceof HalError ? e : new HalError("io", reason, { cause: e });
    }
  }

  /**
   * The next line (queued or to come). Rejects with {@linkcode HalError}
   * `timeout` after `timeoutMs`, or `io` when the stream ends first.
   */
  next(timeoutMs: number): Promise<string> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended !== undefined) return Promise.reject(new HalError("io", this.#ended));
    if (this.#waiter) return Promise.reject(new Error("LineChannel.next: already waiting"));
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#waiter = undefined;
        reject(new HalError("timeout", `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (v) => {
        this.#clock.clearTimeout(timer);
        if (v instanceof HalError) reject(v);
        else resolve(v);
      };
    });
  }

  /** Closes the port and waits for the pump to stop. */
  async close(): Promise<void> {
    this.#end("closed");
    await this.#port.close();
    await this.#pump;
  }
}
