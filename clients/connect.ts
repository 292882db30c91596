/**
 * Client-side plumbing: connecting with a timeout and reading reply lines.
 *
 * @module
 */

/** Where a client connects, and how long it waits. */
export interface Endpoint {
  /** Server address. Default `127.0.0.1`. */
  host?: string;
  /** Server port. Default 10000. */
  port?: number;
  /** Give up connecting or waiting for a reply after this many ms. Default 5000. */
  timeoutMs?: number;
  /** Aborts the connection attempt or the wait. */
  signal?: AbortSignal;
}

/** The connection could not be made or the reply did not come. */
export class ClientError extends Error {
  /** Makes a ClientError. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClientError";
  }
}

/** Runs `p`, failing with `ClientError(what)` after `ms` or on abort; `onLate` cleans up. */
export function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  signal?: AbortSignal,
  onLate?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new ClientError(what))), ms);
    const onAbort = () => finish(() => reject(signal!.reason ?? new ClientError("aborted")));
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => settled ? onLate?.(v) : finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

/**
 * Connects over TCP, with a timeout and a message that says what to do.
 *
 * @example
 * ```ts
 * import { connect } from "./connect.ts";
 * const conn = await connect({ port: 10000 });
 * conn.close();
 * ```
 */
export async function connect(ep: Endpoint = {}): Promise<Deno.TcpConn> {
  const host = ep.host ?? "127.0.0.1";
  const port = ep.port ?? 10000;
  const ms = ep.timeoutMs ?? 5000;
  try {
    return await withTimeout(
      Deno.connect({ hostname: host, port }),
      ms,
      `no answer from ${host}:${port} within ${ms} ms: is the address right, and is a firewall in the way?`,
      ep.signal,
      (late) => late.close(),
    );
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused) {
      throw new ClientError(
        `nothing listens on ${host}:${port}: start the server with "ledctl serve" (or check --host/--port)`,
        { cause: e },
      );
    }
    if (e instanceof ClientError) throw e;
    throw new ClientError(`cannot connect to ${host}:${port}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Reads bytes up to the first LF and returns the line (CR stripped), or
 * `null` if the peer closed first without sending anything. Bounded.
 */
export class LineReader {
  readonly #conn: Deno.Conn;
  readonly #max: number;
  #buf = new Uint8Array(0);
  readonly #dec = new TextDecoder();

  /** Reads from `conn`, lines up to `maxBytes` (default 64 KiB). */
  constructor(conn: Deno.Conn, maxBytes = 65536) {
    this.#conn = conn;
    this.#max = maxBytes;
  }

  /** The next line, or `null` at EOF. A partial line at EOF is returned as a line. */
  async readLine(): Promise<string | null> {
    const chunk = new Uint8Array(4096);
    for (;;) {
      const lf = this.#buf.indexOf(10);
      if (lf !== -1) {
        const line = this.#buf.subarray(0, lf);
        this.#buf = this.#buf.slice(lf + 1);
        return this.#dec.decode(line).replace(/\r$/, "");
      }
      if (this.#buf.length > this.#max) {
        throw new ClientError(`reply longer than ${this.#max} bytes`);
      }
      const n = await this.#conn.read(chunk);
      if (n === null) {
        if (this.#buf.length === 0) return null;
        const line = this.#dec.decode(this.#buf);
        this.#buf = new Uint8Array(0);
        return line;
      }
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }
}
