/**
 * Getting in step with the board on a fresh link: stale replies may still
 * be in the pipe (a serial line keeps what a dead session left), so send a
 * line with a fresh tag — `sync-3f9a1c`, which the firmware answers
 * `ERR unknown-command "sync-3f9a1c" (try: help)` — and skip every line
 * before that answer. It also proves the far end speaks the protocol.
 *
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import { parseReply } from "../../protocol/reply.ts";
import { HalError } from "../types.ts";
import type { LineChannel } from "./lines.ts";

/**
 * A fresh tag: `sync-` and 6 random hex digits.
 *
 * @example
 * ```ts
 * import { randomTag } from "./sync.ts";
 * randomTag(); // e.g. "sync-3f9a1c"
 * ```
 */
export function randomTag(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return "sync-" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * A line shortened (80 characters) and quoted for a message.
 *
 * @example
 * ```ts
 * import { quote } from "./sync.ts";
 * quote("OK on"); // "\"OK on\""
 * ```
 */
export function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? line.slice(0, 80) + "…" : line);
}

/** Options for {@linkcode syncBoard}. */
export interface SyncOptions {
  /** The link as the user named it, for messages: `serial:/dev/ttyACM0`. */
  name: string;
  /** How long the board has to answer the tag, ms. */
  timeoutMs: number;
  /** Time source. Default: the real clock. */
  clock?: Clock;
  /** The tag. Default: {@linkcode randomTag}. */
  tag?: string;
}

/**
 * Sends a tag and skips lines until the board answers it. Rejects with
 * {@linkcode HalError}: `timeout` (nothing came back), `io` (only garbage
 * came back: not our firmware, or a wrong baud rate), `busy` (the board has
 * no free session).
 *
 * @example
 * ```ts
 * import { LineChannel } from "./lines.ts";
 * import { syncBoard } from "./sync.ts";
 * import { connectTcp } from "./tcp.ts";
 * const ch = new LineChannel(await connectTcp("192.168.1.50", 7000, 3000));
 * await syncBoard(ch, { name: "tcp:192.168.1.50:7000", timeoutMs: 2000 });
 * ```
 */
export async function syncBoard(ch: LineChannel, options: SyncOptions): Promise<void> {
  const clock = options.clock ?? realClock;
  const tag = options.tag ?? randomTag();
  await ch.send(tag);
  const deadline = clock.now() + options.timeoutMs;
  let garbage: string | undefined;
  for (;;) {
    let line: string;
    try {
      line = await ch.next(Math.max(0, deadline - clock.now()));
    } catch (e) {
      if (!(e instanceof HalError) || e.kind !== "timeout") throw e;
      if (garbage !== undefined) {
        const baud = options.name.startsWith("serial:") ? ", at this baud rate" : "";
        throw new HalError(
          "io",
          `${options.name} answers, but not in the ledctl protocol (${quote(garbage)}): ` +
            `is it running the ledctl firmware${baud}?`,
        );
      }
      throw new HalError(
        "timeout",
        `${options.name} does not answer (nothing within ${options.timeoutMs} ms): ` +
          `is the board running the ledctl firmware?`,
      );
    }
    if (line.startsWith(`ERR unknown-command "${tag}"`)) return;
    const r = parseReply(line);
    if (!r.ok && r.code === "busy") {
      throw new HalError("busy", `${options.name} refused the connection: ${line}`);
    }
    if (!r.ok && r.code === "bad-reply") garbage ??= line;
  }
}
