/**
 * `ledctl clients`: the seed 000 demo — N clients at once, each named.
 *
 * @module
 */
import { parse, parseCount, parseHost, parsePort } from "./args.ts";
import { runClients } from "../clients/swarm.ts";

/** Help text of `ledctl clients`. */
export const CLIENTS_HELP = `Usage: ledctl clients [options]

The seed's demo: COUNT clients connect at the same time, each sends
"Hello, server! from Client N" and prints the reply, which names it.
Exit code 0 when every client got its reply, 1 otherwise.

Options:
  --count N       how many clients (default 2, at most 10000)
  --host ADDR     server address (default 127.0.0.1)
  --port N        server port (default 10000)
  -h, --help      this help
`;

/**
 * Runs the demo clients; returns the exit code.
 *
 * @example
 * ```ts
 * import { clients } from "./clients.ts";
 * await clients(["--count", "2"]);
 * ```
 */
export async function clients(args: string[]): Promise<number> {
  const { values } = parse(args, {
    count: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
  });
  if (values.help) {
    console.log(CLIENTS_HELP);
    return 0;
  }
  const count = parseCount(values.count ?? "2", "--count", 10_000);
  const host = parseHost(values.host ?? "127.0.0.1");
  const port = parsePort(values.port ?? "10000");
  const results = await runClients({
    count,
    host,
    port,
    onEvent: (name, event) =>
      (event.startsWith("failed") ? console.error : console.log)(`${name} ${event}`),
  });
  const failed = results.filter((r) => r.error !== undefined).length;
  if (failed > 0) console.error(`${failed} of ${count} clients failed`);
  return failed > 0 ? 1 : 0;
}
