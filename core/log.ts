/**
 * How modules log: one function taking the line and, optionally, its level
 * (default `info`). The command line's terminal (cli/term.ts) filters by
 * `--log-level` and writes text or JSON; modules below `cli/` only call it.
 *
 * @example
 * ```ts
 * import type { LogFn } from "./log.ts";
 * const log: LogFn = (line, level = "info") => console.log(`${level}: ${line}`);
 * log("LED on");
 * log("connected client #1", "debug");
 * ```
 *
 * @module
 */

/** The levels, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Logs `line` at `level` (default `info`). */
export type LogFn = (line: string, level?: LogLevel) => void;
