/**
 * Terminal output for the long-running subcommands: timestamped log lines
 * and, on a TTY, one status line kept at the bottom (the LED drawn ● / ○).
 *
 * @module
 */

const enc = new TextEncoder();

/** Options for {@linkcode Terminal}. */
export interface TerminalOptions {
  /** Draw the status line. Default: stdout is a TTY and `NO_COLOR` is unset or empty. */
  live?: boolean;
  /** Prefix log lines with the time. Default true. */
  timestamps?: boolean;
}

/**
 * Writes log lines and a live status line without mixing them up.
 *
 * @example
 * ```ts
 * import { Terminal } from "./term.ts";
 * const term = new Terminal();
 * term.status("● LED on");
 * term.log("LED on  ← cli");
 * term.end();
 * ```
 */
export class Terminal {
  /** True when the status line is drawn (a TTY, unless told otherwise). */
  readonly live: boolean;
  readonly #timestamps: boolean;
  readonly #color: boolean;
  #status = "";

  /** Detects the TTY unless told. */
  constructor(options: TerminalOptions = {}) {
    const tty = Deno.stdout.isTerminal();
    this.#color = tty && !Deno.env.get("NO_COLOR");
    this.live = options.live ?? tty;
    this.#timestamps = options.timestamps ?? true;
  }

  /** Colors `text` when the terminal takes colors. */
  paint(text: string, color: "green" | "red" | "yellow" | "dim" | "bold"): string {
    if (!this.#color) return text;
    const code = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 }[color];
    return `\x1b[${code}m${text}\x1b[0m`;
  }

  /** Prints a log line above the status line. */
  log(line: string): void {
    const stamp = this.#timestamps
      ? this.paint(new Date().toTimeString().slice(0, 8), "dim") + " "
      : "";
    this.#write(`${this.live ? "\r\x1b[K" : ""}${stamp}${line}\n${this.live ? this.#status : ""}`);
  }

  /** Replaces the status line (TTY only). */
  status(text: string): void {
    if (!this.live) return;
    this.#status = text;
    this.#write(`\r\x1b[K${text}`);
  }

  /** Clears the status line, e.g. before exiting. */
  end(): void {
    if (this.live && this.#status) this.#write("\r\x1b[K");
    this.#status = "";
  }

  #write(s: string): void {
    try {
      Deno.stdout.writeSync(enc.encode(s));
    } catch { /* stdout closed: nothing to tell */ }
  }
}
