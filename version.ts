/**
 * The program's version, in one place: `ledctl --version`, the MQTT state
 * and discovery payloads, and `deno.json`'s `version` (a test keeps them equal).
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`ledctl ${VERSION}`);
 * ```
 *
 * @module
 */

/** The program's version. */
export const VERSION = "0.1.0";
