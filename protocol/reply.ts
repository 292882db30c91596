/**
 * Reply lines of wire protocol v1: `OK <text>` or `ERR <code> <text>`.
 *
 * @module
 */

/** Error codes a reply may carry. */
export type ErrorCode =
  | "unknown-command"
  | "bad-argument"
  | "line-too-long"
  | "bad-encoding"
  | "busy"
  | "idle-timeout"
  | "led-fault"
  | "auth"
  | "auth-limited";

/**
 * A success reply line, without its LF.
 *
 * @example
 * ```ts
 * import { ok } from "./reply.ts";
 * ok("blink 2.5 Hz"); // "OK blink 2.5 Hz"
 * ```
 */
export function ok(text: string): string {
  return `OK ${text}`;
}

/**
 * An error reply line, without its LF.
 *
 * @example
 * ```ts
 * import { err } from "./reply.ts";
 * err("busy", "too many clients"); // "ERR busy too many clients"
 * ```
 */
export function err(code: ErrorCode, text: string): string {
  return `ERR ${code} ${text}`;
}

/** A parsed reply line. */
export type Reply = { ok: true; text: string } | { ok: false; code: string; text: string };

/**
 * Parses a reply line (as a client does). Anything not starting with `OK`
 * or `ERR` is reported as an error with code `bad-reply`.
 *
 * @example
 * ```ts
 * import { parseReply } from "./reply.ts";
 * parseReply("ERR busy full"); // { ok: false, code: "busy", text: "full" }
 * ```
 */
export function parseReply(line: string): Reply {
  const l = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (l === "OK" || l.startsWith("OK ")) return { ok: true, text: l.slice(3) };
  const m = /^ERR ([a-z-]+)(?: (.*))?$/.exec(l);
  if (m) return { ok: false, code: m[1], text: m[2] ?? "" };
  return { ok: false, code: "bad-reply", text: l };
}
