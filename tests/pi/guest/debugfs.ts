/**
 * Reads a GPIO line's state as the kernel reports it in debugfs
 * (`/sys/kernel/debug/gpio`): an observer outside the process that holds
 * the line. Guest-only (needs debugfs mounted and --allow-all).
 *
 * @module
 */

/** One requested line in debugfs: `gpio-529 (GPIO17 |ledctl ) out hi`. */
export interface DebugfsLine {
  /** Line name. */
  name: string;
  /** Consumer, e.g. `ledctl`. */
  consumer: string;
  /** `in` or `out`. */
  direction: string;
  /** Physical level. */
  high: boolean;
}

/** Where the kernel lists the GPIO lines. */
export const DEBUGFS_GPIO = "/sys/kernel/debug/gpio";

/**
 * The requested line named `name`, or undefined when no one holds it
 * (debugfs lists requested lines only). `path` is for trying this off a Pi.
 *
 * @example
 * ```ts
 * import { debugfsLine } from "./debugfs.ts";
 * console.log(debugfsLine("GPIO17")?.high);
 * ```
 */
export function debugfsLine(name: string, path = DEBUGFS_GPIO): DebugfsLine | undefined {
  const text = Deno.readTextFileSync(path);
  for (const row of text.split("\n")) {
    const m = /\(([^|]*)\|([^)]*)\)\s+(in|out)\s+(hi|lo)/.exec(row);
    if (m && m[1].trim() === name) {
      return { name, consumer: m[2].trim(), direction: m[3], high: m[4] === "hi" };
    }
  }
  return undefined;
}
