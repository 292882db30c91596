/**
 * The Ethernet side of the board link: `tcp:<host>:<port>` parsed, and a
 * TCP connection to the firmware's LED listener (port 7000) made with a
 * connect timeout, as a {@linkcode Port}.
 *
 * @module
 */
import { HalError } from "../types.ts";
import type { Port } from "./port.ts";

/** The firmware's LED listener port. */
export const BOARD_PORT = 7000;

/**
 * Splits `host:port` (`[v6]:port` for IPv6; the port defaults to 7000).
 * Throws `TypeError` saying what is wrong.
 *
 * @example
 * ```ts
 * import { parseTcpTarget } from "./tcp.ts";
 * parseTcpTarget("192.168.1.50:7000"); // { host: "192.168.1.50", port: 7000 }
 * ```
 */
export function parseTcpTarget(target: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+))(?::(\d{1,5}))?$/.exec(target);
  if (!m) {
    throw new TypeError(
      `--led tcp:${target}: expected host:port, e.g. tcp:192.168.1.50:7000`,
    );
  }
  const port = m[3] === undefined ? BOARD_PORT : Number(m[3]);
  if (!(port >= 1 && port <= 65535)) {
    throw new TypeError(`--led tcp:${target}: port must be 1 to 65535`);
  }
  return { host: m[1] ?? m[2], port };
}

/** A TCP connection as a {@linkcode Port}. */
class TcpPort implements Port {
  readonly #conn: Deno.TcpConn;
  readonly #what: string;
  #closed = false;

  constructor(conn: Deno.TcpConn, what: string) {
    this.#conn = conn;
    this.#what = what;
  }

  async read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) return null;
    try {
      return await this.#conn.read(buf);
    } catch (e) {
      if (this.#closed || e instanceof Deno.errors.BadResource) return null;
      throw new HalError("io", `${this.#what}: ${(e as Error).message}`, { cause: e });
    }
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    try {
      while (off < data.length) off += await this.#conn.write(data.subarray(off));
    } catch (e) {
      throw new HalError("io", `${this.#what}: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
    return Promise.resolve();
  }
}

/**
 * Connects to the board's listener; rejects with {@linkcode HalError}:
 * `unavailable` (refused, unreachable, no route) or `timeout` after
 * `timeoutMs`.
 *
 * @example
 * ```ts
 * import { connectTcp } from "./tcp.ts";
 * const port = await connectTcp("192.168.1.50", 7000, 3000);
 * await port.close();
 * ```
 */
export async function connectTcp(host: string, port: number, timeoutMs: number): Promise<Port> {
  const what = `tcp:${host.includes(":") ? `[${host}]` : host}:${port}`;
  const attempt = Deno.connect({ hostname: host, port, transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HalError(
            "timeout",
            `${what}: no answer to the connection within ${timeoutMs} ms: ` +
              `is the board powered, cabled and at this address?`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    const conn = await Promise.race([attempt, timeout]);
    conn.setNoDelay(true);
    return new TcpPort(conn, what);
  } catch (e) {
    attempt.then((late) => late.close(), () => {});
    if (e instanceof HalError) throw e;
    if (e instanceof Deno.errors.ConnectionRefused) {
      throw new HalError(
        "unavailable",
        `${what}: connection refused: the board is up but its LED listener is not ` +
          `(is the ledctl firmware running, and is the port 7000?)`,
        { cause: e },
      );
    }
    throw new HalError("unavailable", `${what}: cannot connect: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    clearTimeout(timer);
  }
}
