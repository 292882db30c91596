/**
 * Test double for the far end of a board link: an in-memory board that
 * speaks the `led` subset of wire protocol v1 like the firmware, and can be
 * told to go silent, answer garbage, refuse connections or hang up. Used by
 * the unit tests of the link; not part of the backend.
 *
 * @module
 */
import { HalError } from "../types.ts";
import { formatHz } from "../../core/state.ts";
import type { Port } from "./port.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** How the fake board behaves. */
export type FakeBoardMode = "ok" | "silent" | "garbage";

/** One connection to a {@linkcode FakeBoard}, seen from the link. */
class FakePort implements Port {
  readonly #board: FakeBoard;
  #inbox: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #partial = "";
  closed = false;
  hungUp = false;

  constructor(board: FakeBoard) {
    this.#board = board;
  }

  push(line: string): void {
    this.#inbox.push(enc.encode(line + "\n"));
    this.#wake?.();
  }

  hangUp(): void {
    this.hungUp = true;
    this.#wake?.();
  }

  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#inbox.length === 0 && !this.closed && !this.hungUp) {
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
    if (this.closed || (this.hungUp && this.#inbox.length === 0)) return null;
    const head = this.#inbox[0];
    const n = Math.min(buf.length, head.length);
    buf.set(head.subarray(0, n));
    if (n === head.length) this.#inbox.shift();
    else this.#inbox[0] = head.subarray(n);
    return n;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new HalError("io", "fake port closed"));
    if (this.hungUp) return Promise.reject(new HalError("io", "fake board hung up"));
    this.#partial += dec.decode(data);
    let i;
    while ((i = this.#partial.indexOf("\n")) !== -1) {
      const line = this.#partial.slice(0, i);
      this.#partial = this.#partial.slice(i + 1);
      this.#board.receive(this, line);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    this.#wake?.();
    return Promise.resolve();
  }
}

/**
 * A board: its LED state (as the firmware formats it), what it received,
 * and knobs for faults.
 *
 * @example
 * ```ts
 * import { FakeBoard } from "./fake_board.ts";
 * const board = new FakeBoard();
 * const port = await board.connect();
 * await port.write(new TextEncoder().encode("blink 3\n"));
 * board.state; // "blink 3 Hz"
 * ```
 */
export class FakeBoard {
  /** The LED as `status` would report it. */
  state = "off";
  /** `ok` answers, `silent` does not, `garbage` answers noise. */
  mode: FakeBoardMode = "ok";
  /** When false, {@linkcode FakeBoard.connect} rejects (board unplugged). */
  reachable = true;
  /** Every line received, over all connections. */
  readonly received: string[] = [];
  /** Lines sent first on the next connection (stale replies in the pipe). */
  stale: string[] = [];
  /** Number of connections made. */
  connections = 0;
  /** Called with each line received, before it is answered. */
  onLine: ((line: string) => void) | undefined;
  #current: FakePort | undefined;

  /** A new connection; the previous one, if any, is left as is. */
  connect(): Promise<Port> {
    if (!this.reachable) {
      return Promise.reject(new HalError("unavailable", "fake board unplugged"));
    }
    this.connections++;
    const port = new FakePort(this);
    this.#current = port;
    for (const l of this.stale.splice(0)) port.push(l);
    return Promise.resolve(port);
  }

  /** The board end closes the current connection (reset, cable pulled). */
  hangUp(): void {
    this.#current?.hangUp();
  }

  /** True when the link side closed the current connection. */
  get closedByLink(): boolean {
    return this.#current?.closed ?? false;
  }

  /** Handles one line from `port` as the firmware would. */
  receive(port: { push(line: string): void }, line: string): void {
    const reply = this.reply(line);
    if (reply !== undefined) port.push(reply);
  }

  /** Records `line` and returns the board's reply line, or `undefined` when silent. */
  reply(line: string): string | undefined {
    this.received.push(line);
    this.onLine?.(line);
    if (this.mode === "silent") return undefined;
    if (this.mode === "garbage") return "\u00ff\u00fe~~ 8N1? ~~";
    return this.#answer(line);
  }

  /**
   * Serves this board on a real loopback TCP port, like the firmware's
   * listener. `dropClients` closes the current connections (a reset board).
   */
  listenTcp(): { port: number; dropClients(): void; close(): Promise<void> } {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns = new Set<Deno.Conn>();
    const serve = async (conn: Deno.Conn) => {
      conns.add(conn);
      const buf = new Uint8Array(1024);
      let pending = "";
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          pending += dec.decode(buf.subarray(0, n));
          let i;
          while ((i = pending.indexOf("\n")) !== -1) {
            const reply = this.reply(pending.slice(0, i));
            pending = pending.slice(i + 1);
            if (reply !== undefined) await conn.write(enc.encode(reply + "\n"));
          }
        }
      } catch { /* closed */ }
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    };
    const accepting = (async () => {
      for await (const conn of listener) serve(conn);
    })().catch(() => {});
    const dropClients = () => {
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      conns.clear();
    };
    return {
      port: (listener.addr as Deno.NetAddr).port,
      dropClients,
      async close() {
        listener.close();
        dropClients();
        await accepting;
      },
    };
  }

  #answer(line: string): string {
    const [verb, arg] = line.trim().split(/\s+/);
    switch (verb.toLowerCase()) {
      case "on":
      case "off":
        this.state = verb.toLowerCase();
        return `OK ${this.state}`;
      case "blink": {
        const hz = Number(arg);
        if (!(hz >= 0.05 && hz <= 500)) {
          return `ERR bad-argument ${arg} Hz is out of range: use 0.05 to 500 Hz`;
        }
        this.state = `blink ${formatHz(hz)} Hz`;
        return `OK ${this.state}`;
      }
      case "status":
        return `OK ${this.state}`;
      default:
        return `ERR unknown-command "${verb.toLowerCase()}" (try: help)`;
    }
  }
}
