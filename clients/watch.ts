/**
 * Following the LED from a terminal: `watch` on the TCP protocol, then one
 * `EVENT <state>` line per change (a watching connection is exempt from the
 * server's idle timeout).
 *
 * @module
 */
import { ClientError, connect, type Endpoint, LineReader } from "./connect.ts";
import { parseReply } from "../protocol/reply.ts";

/** Options for {@linkcode watchLed}. */
export interface WatchOptions extends Endpoint {
  /** Authenticate first (a server started with `--token`). Default: none. */
  token?: string;
  /** Called with the state at start and after each change, e.g. `blink 3 Hz`. */
  onState: (state: string) => void;
}

/**
 * Follows the LED until `signal` aborts (resolves) or the server ends the
 * connection (rejects with `ClientError` saying why).
 *
 * @example
 * ```ts
 * import { watchLed } from "./watch.ts";
 * const stop = new AbortController();
 * await watchLed({ port: 10000, signal: stop.signal, onState: (s) => console.log(s) });
 * ```
 */
export async function watchLed(options: WatchOptions): Promise<void> {
  const conn = await connect(options);
  const enc = new TextEncoder();
  const send = (line: string) => conn.write(enc.encode(line + "\n")).catch(() => {});
  const onAbort = () => conn.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const where = `${options.host ?? "127.0.0.1"}:${options.port ?? 10000}`;
  try {
    if (options.token !== undefined) await send(`auth ${options.token}`);
    await send("watch");
    const reader = new LineReader(conn);
    let watching = false;
    for (;;) {
      let line: string | null;
      try {
        line = await reader.readLine();
      } catch (e) {
        if (options.signal?.aborted) return;
        throw new ClientError(`lost ${where}: ${(e as Error).message}`);
      }
      if (line === null) {
        if (options.signal?.aborted) return;
        throw new ClientError(`${where} closed the connection`);
      }
      if (line.startsWith("EVENT ")) {
        options.onState(line.slice(6));
        continue;
      }
      const r = parseReply(line);
      if (!r.ok) throw new ClientError(line);
      const m = /^watching: .*; now (.+)$/.exec(r.text);
      if (m && !watching) {
        watching = true;
        options.onState(m[1]);
      }
      // Other OK lines (the answer to auth): nothing to show.
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}
