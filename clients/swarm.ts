/**
 * The seed 000 demo: N clients connect at once, each says
 * `Hello, server! from Client N` and prints the reply naming it.
 *
 * @module
 */
import { connect, type Endpoint, LineReader, withTimeout } from "./connect.ts";

/** What one demo client saw. */
export interface SwarmResult {
  /** `Client 1`, `Client 2`, … */
  readonly name: string;
  /** The reply line, when it came. */
  readonly reply?: string;
  /** Why it failed, when it did. */
  readonly error?: string;
}

/** Options for {@linkcode runClients}. */
export interface SwarmOptions extends Endpoint {
  /** How many clients. Default 2, as in the seed. */
  count?: number;
  /** Each client sends `auth <token>` first (a server started with a token). Default: none. */
  token?: string;
  /** Called as each client progresses, e.g. to print. Default: nothing. */
  onEvent?: (name: string, event: string) => void;
}

/**
 * Runs the clients concurrently and resolves with what each saw, in order.
 *
 * @example
 * ```ts
 * import { runClients } from "./swarm.ts";
 * const results = await runClients({ count: 2, port: 10000 });
 * results[0].reply; // "OK hello Client 1: you are client #… from 127.0.0.1:…"
 * ```
 */
export function runClients(options: SwarmOptions = {}): Promise<SwarmResult[]> {
  const count = options.count ?? 2;
  if (!(Number.isInteger(count) && count >= 1 && count <= 10_000)) {
    throw new RangeError(`count must be a whole number from 1 to 10000, got ${count}`);
  }
  const on = options.onEvent ?? (() => {});
  const one = async (i: number): Promise<SwarmResult> => {
    const name = `Client ${i}`;
    try {
      const conn = await connect(options);
      on(name, "connected");
      try {
        const ms = options.timeoutMs ?? 5000;
        const reply = await withTimeout(
          (async () => {
            const auth = options.token !== undefined ? `auth ${options.token}\n` : "";
            await conn.write(new TextEncoder().encode(`${auth}Hello, server! from ${name}\n`));
            const reader = new LineReader(conn);
            const first = await reader.readLine();
            // The answer to auth: an ERR (or no ledctl at all) is the client's reply.
            if (!auth || first === null || !first.startsWith("OK")) return first;
            return await reader.readLine();
          })(),
          ms,
          `no reply within ${ms} ms`,
          options.signal,
        );
        if (reply === null) throw new Error("server closed without replying");
        on(name, `received: ${reply}`);
        return { name, reply };
      } finally {
        conn.close();
      }
    } catch (e) {
      const error = (e as Error).message;
      on(name, `failed: ${error}`);
      return { name, error };
    }
  };
  return Promise.all(Array.from({ length: count }, (_, i) => one(i + 1)));
}
