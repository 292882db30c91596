/**
 * Durations as users write them: `10s`, `300ms`, `1.5s`, `2m`, or a bare
 * number of seconds.
 *
 * @module
 */

/**
 * Parses a duration to milliseconds. Throws `RangeError` with the accepted
 * forms when it cannot.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("300ms"); // 300
 * parseDuration("10");    // 10000
 * ```
 */
export function parseDuration(text: string, what = "duration"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) {
    throw new RangeError(
      `${what}: "${text}" is not a duration; write e.g. 10s, 300ms, 2m or 0 (seconds if no unit)`,
    );
  }
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  if (!Number.isFinite(ms) || ms > 2 ** 31 - 1) {
    throw new RangeError(`${what}: ${text} is too long (at most 24 days)`);
  }
  return Math.round(ms);
}

/**
 * Formats milliseconds for messages: `10 s`, `300 ms`, `1.5 s`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * formatDuration(10000); // "10 s"
 * ```
 */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toPrecision(6))} s`;
}
