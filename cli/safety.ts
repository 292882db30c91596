/**
 * The LED's safety net for long-running subcommands: whatever ends the
 * process — SIGINT, SIGTERM, SIGHUP, an uncaught error, an unhandled
 * rejection — the LED is turned off and its line released first, once,
 * bounded in time, and then the process ends with one clear line.
 *
 * Signals resolve {@linkcode SafetyNet.signal} so the command can shut down
 * in order (exit 0); faults are handled here: LED off, one line on stderr,
 * exit 1.
 *
 * @module
 */

/** Options for {@linkcode SafetyNet}. */
export interface SafetyNetOptions {
  /** Turns the LED off and releases the line. Called at most once. */
  ledOff: () => Promise<void>;
  /** The command's name in the fault line, e.g. `serve`. */
  command: string;
  /** How long `ledOff` may take before the process exits anyway, in ms. Default 1000. */
  timeoutMs?: number;
  /** Where the fault line goes. Default: stderr. */
  error?: (line: string) => void;
  /** Ends the process. Default `Deno.exit`. */
  exit?: (code: number) => void;
  /** The signals that stop the command. Default SIGINT, SIGTERM, SIGHUP. */
  signals?: Deno.Signal[];
}

/** Resolves after `ms` with `fallback`. */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((r) => timer = setTimeout(() => r(fallback), ms)),
  ]);
}

/** Where an error was thrown: its first stack frame, shortened. */
function where(e: unknown): string {
  const frame = (e as Error)?.stack?.split("\n").find((l) => l.trim().startsWith("at "));
  return frame ? ` (${frame.trim()})` : "";
}

/**
 * Installs the handlers; {@linkcode SafetyNet.dispose} removes them.
 *
 * @example
 * ```ts
 * import { SafetyNet } from "./safety.ts";
 * const net = new SafetyNet({ command: "serve", ledOff: async () => {} });
 * const sig = await net.signal; // "SIGTERM"
 * await net.turnLedOff();
 * net.dispose();
 * ```
 */
export class SafetyNet implements Disposable {
  readonly #opts: Required<SafetyNetOptions>;
  readonly #signal = Promise.withResolvers<Deno.Signal>();
  readonly #handlers: [Deno.Signal, () => void][] = [];
  #off: Promise<boolean> | undefined;
  #failing = false;
  readonly #onError = (ev: ErrorEvent) => {
    ev.preventDefault();
    this.fatal(ev.error ?? ev.message);
  };
  readonly #onRejection = (ev: PromiseRejectionEvent) => {
    ev.preventDefault();
    this.fatal(ev.reason);
  };

  /** Listens for the signals and for uncaught errors from now on. */
  constructor(options: SafetyNetOptions) {
    this.#opts = {
      timeoutMs: 1000,
      error: (line) => console.error(line),
      exit: (code) => Deno.exit(code),
      signals: ["SIGINT", "SIGTERM", "SIGHUP"],
      ...options,
    };
    for (const sig of this.#opts.signals) {
      const h = () => this.#signal.resolve(sig);
      Deno.addSignalListener(sig, h);
      this.#handlers.push([sig, h]);
    }
    globalThis.addEventListener("error", this.#onError);
    globalThis.addEventListener("unhandledrejection", this.#onRejection);
  }

  /** The first stop signal received. */
  get signal(): Promise<Deno.Signal> {
    return this.#signal.promise;
  }

  /**
   * Turns the LED off (once; later calls share the first). Resolves true
   * when done, false when it failed or took longer than the timeout.
   */
  turnLedOff(): Promise<boolean> {
    this.#off ??= within(
      this.#opts.ledOff().then(() => true, () => false),
      this.#opts.timeoutMs,
      false,
    );
    return this.#off;
  }

  /** A fault: LED off, one line, exit 1. Never returns normally. */
  async fatal(e: unknown): Promise<void> {
    if (this.#failing) return;
    this.#failing = true;
    const off = await this.turnLedOff();
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const led = off ? "the LED is off" : "could not confirm the LED off";
    this.#opts.error(
      `ledctl ${this.#opts.command}: fatal error, stopped (${led}): ${what}${where(e)}`,
    );
    this.#opts.exit(1);
  }

  /** Removes every handler. */
  dispose(): void {
    for (const [sig, h] of this.#handlers) {
      try {
        Deno.removeSignalListener(sig, h);
      } catch { /* already removed */ }
    }
    globalThis.removeEventListener("error", this.#onError);
    globalThis.removeEventListener("unhandledrejection", this.#onRejection);
  }

  /** Same as {@linkcode SafetyNet.dispose}. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
