/**
 * Wire protocol v1: request parsing, reply lines, line framing.
 *
 * @example
 * ```ts
 * import { LineFramer, parseCommand } from "./mod.ts";
 * const framer = new LineFramer();
 * for (const f of framer.push(new TextEncoder().encode("blink 3\n"))) {
 *   if (f.kind === "line") console.log(parseCommand(f.bytes));
 * }
 * ```
 *
 * @module
 */
export * from "./command.ts";
export * from "./framing.ts";
export * from "./reply.ts";
