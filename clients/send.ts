/**
 * The one-shot client, like the seed's `clientLed.py`: connect, send one
 * command line, return the reply line.
 *
 * @module
 */
import { ClientError, connect, type Endpoint, LineReader, withTimeout } from "./connect.ts";
import { MAX_LINE } from "../protocol/framing.ts";

/**
 * Sends `command` (after `auth <token>` when `ep.token` is set) and resolves with the server's reply line (`OK …` or
 * `ERR …`). Rejects with `ClientError` when the server cannot be reached or
 * does not answer, and `RangeError` for a command the protocol cannot carry.
 *
 * @example
 * ```ts
 * import { sendCommand } from "./send.ts";
 * const reply = await sendCommand("blink 3", { port: 10000 }); // "OK blink 3 Hz"
 * ```
 */
export async function sendCommand(
  command: string,
  ep: Endpoint & { token?: string } = {},
): Promise<string> {
  if (/[\r\n]/.test(command)) {
    throw new RangeError(
      "a command is one line: remove the line breaks (send one command at a time)",
    );
  }
  const size = new TextEncoder().encode(command).length;
  if (size > MAX_LINE) {
    throw new RangeError(`command is ${size} bytes; the protocol allows ${MAX_LINE}`);
  }
  if (ep.token !== undefined && /\s/.test(ep.token)) throw new RangeError("a token has no spaces");
  const auth = ep.token !== undefined ? `auth ${ep.token}\n` : "";
  const bytes = new TextEncoder().encode(auth + command + "\n");
  const conn = await connect(ep);
  try {
    const ms = ep.timeoutMs ?? 5000;
    const host = ep.host ?? "127.0.0.1";
    const port = ep.port ?? 10000;
    const reply = await withTimeout(
      (async () => {
        let off = 0;
        while (off < bytes.length) off += await conn.write(bytes.subarray(off));
        const reader = new LineReader(conn);
        if (auth) {
          const first = await reader.readLine();
          // An error, or not a ledctl answer at all (a web port's HTTP): the caller shows it.
          if (first === null || !first.startsWith("OK")) return first;
        }
        return await reader.readLine();
      })(),
      ms,
      `${host}:${port} accepted the connection but sent no reply within ${ms} ms: is it a ledctl server?`,
      ep.signal,
    );
    if (reply === null) {
      throw new ClientError(`${host}:${port} closed the connection without replying`);
    }
    return reply;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}
