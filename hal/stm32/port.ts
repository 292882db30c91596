/**
 * The byte stream a board link runs over, whatever carries it (a tty, a TCP
 * connection, a test double), and the function that opens a fresh one.
 *
 * @module
 */

/**
 * An open byte stream to the board. Methods reject with
 * {@linkcode HalError} (`io`) when the stream fails.
 *
 * @example
 * ```ts
 * import type { Port } from "./port.ts";
 * async function hello(port: Port) {
 *   await port.write(new TextEncoder().encode("status\n"));
 *   const buf = new Uint8Array(64);
 *   const n = await port.read(buf); // null: the board went away
 * }
 * ```
 */
export interface Port {
  /** Reads some bytes into `buf`; `null` at end of stream (peer gone). One read at a time. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes all of `data`. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the stream; a pending `read` then resolves `null`. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a fresh {@linkcode Port} to the board; rejects with
 * {@linkcode HalError} saying why it cannot (and what to do).
 *
 * @example
 * ```ts
 * import type { Connector } from "./port.ts";
 * import { connectTcp } from "./tcp.ts";
 * const connect: Connector = () => connectTcp("192.168.1.50", 7000, 3000);
 * ```
 */
export type Connector = () => Promise<Port>;
