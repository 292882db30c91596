/**
 * The mock LED line, after gpiozero's recording mock pin: it records every
 * edge with its time, can append them to a trace file (`time_ms,level` per
 * line) for tools outside the process, and can draw the LED on a terminal.
 *
 * @module
 */
import { type Clock, realClock } from "./clock.ts";
import { HalError, type OutputLine } from "./types.ts";

/** One recorded level change. */
export interface Edge {
  /** Clock time in ms. */
  readonly t: number;
  /** `true` = LED lit. */
  readonly level: boolean;
}

/** Options for {@linkcode MockLine}. */
export interface MockLineOptions {
  /** Time source for edge times. Default: {@linkcode realClock}. */
  clock?: Clock;
  /** Append each edge to this file as `time_ms,level`. Default: none. */
  tracePath?: string;
  /** Called with each new level, e.g. to draw ● / ○. Default: none. */
  draw?: (level: boolean) => void;
  /** Most edges kept in memory (oldest dropped). Default: 100 000. */
  maxEdges?: number;
}

/**
 * A recording output line.
 *
 * @example
 * ```ts
 * import { MockLine } from "./mock.ts";
 * const line = new MockLine();
 * line.set(true);
 * line.edges; // [{ t: …, level: true }]
 * ```
 */
export class MockLine implements OutputLine {
  /** `mock`, or `mock (trace: PATH)`. */
  readonly description: string;
  readonly #clock: Clock;
  readonly #draw?: (level: boolean) => void;
  readonly #maxEdges: number;
  readonly #edges: Edge[] = [];
  #trace?: Deno.FsFile;
  #level = false;
  #closed = false;
  readonly #enc = new TextEncoder();

  /** Creates a line that starts low; opens the trace file if asked. */
  constructor(options: MockLineOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#draw = options.draw;
    this.#maxEdges = options.maxEdges ?? 100_000;
    if (options.tracePath !== undefined) {
      try {
        this.#trace = Deno.openSync(options.tracePath, { write: true, create: true, append: true });
      } catch (e) {
        throw new HalError(
          e instanceof Deno.errors.PermissionDenied ? "permission" : "unavailable",
          `mock: cannot open trace file ${options.tracePath}: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
    this.description = options.tracePath ? `mock (trace: ${options.tracePath})` : "mock";
  }

  /** Current level. */
  get level(): boolean {
    return this.#level;
  }

  /** Every edge recorded so far (a level written twice records one edge). */
  get edges(): readonly Edge[] {
    return this.#edges;
  }

  /** True once disposed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sets the level; records an edge when it changes (and the first write). */
  set(high: boolean): void {
    if (this.#closed) throw new HalError("unavailable", "mock: line already released");
    if (high === this.#level && this.#edges.length > 0) return;
    this.#level = high;
    const edge = { t: this.#clock.now(), level: high };
    this.#edges.push(edge);
    if (this.#edges.length > this.#maxEdges) this.#edges.shift();
    this.#trace?.writeSync(this.#enc.encode(`${edge.t.toFixed(3)},${high ? 1 : 0}\n`));
    this.#draw?.(high);
  }

  /** Drives the line low and closes the trace. */
  [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) {
      this.set(false);
      this.#closed = true;
      this.#trace?.close();
    }
    return Promise.resolve();
  }
}

/**
 * Reads a trace file written by {@linkcode MockLine}.
 *
 * @example
 * ```ts
 * import { readTrace } from "./mock.ts";
 * const edges = await readTrace("/tmp/led.trace");
 * ```
 */
export async function readTrace(path: string): Promise<Edge[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => {
    const [t, level] = l.split(",");
    return { t: Number(t), level: level === "1" };
  });
}
