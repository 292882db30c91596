/**
 * `ledctl clients`: the seed 000 demo — N clients at once, each named.
 *
 * @module
 */
import {
  clientToken,
  httpAnswerMessage,
  isHttpAnswer,
  parse,
  parseCount,
  parseHost,
  parsePort,
  TOKEN_HELP,
  TOKEN_OPTIONS,
} from "./args.ts";
import { runClients, type SwarmResult } from "../clients/swarm.ts";
import { parseReply } from "../protocol/reply.ts";

/** Help text of `ledctl clients`. */
export const CLIENTS_HELP = `Usage: ledctl clients [options]

The seed's demo: COUNT clients connect at the same time, each sends
"Hello, server! from Client N" and prints the reply, which names it.
Exit code 0 when every client got its named reply; 1 otherwise, with one
line that says how many did not, and why.

Options:
  --count N       how many clients (default 2, at most 10000)
  --host ADDR     server address (default 127.0.0.1)
  --port N        server's TCP port (default 10000; not the web page's port)
${TOKEN_HELP}
  -h, --help      this help
`;

/** What to do about a reason clients failed, when there is something to do. */
const ADVICE: Record<string, string> = {
  "ERR busy": "the server's client limit: fewer --count, or serve --max-clients",
  "ERR auth": "the server needs a token: --token-file, LEDCTL_TOKEN or --token",
  "ERR auth-limited": "too many wrong tokens from this address; wait a minute",
};

/**
 * Why a client did not get its named reply (`ERR busy`, `no reply within
 * 5000 ms`, …), or undefined when it did.
 */
function failure(r: SwarmResult, host: string, port: number): string | undefined {
  if (r.error !== undefined) return r.error;
  const reply = r.reply ?? "";
  if (reply.startsWith(`OK hello ${r.name}: `)) return undefined;
  if (isHttpAnswer(reply)) return httpAnswerMessage(host, port);
  const p = parseReply(reply);
  if (!p.ok && p.code !== "bad-reply") return `ERR ${p.code}`;
  return "a reply that does not name it";
}

/**
 * One line: how many of `count` clients failed, grouped by reason, most
 * frequent first, e.g. `2770 of 5000 clients got no named reply: 2770 ERR
 * busy (the server's client limit: …)`.
 */
function summary(reasons: string[], count: number): string {
  const by = new Map<string, number>();
  for (const r of reasons) by.set(r, (by.get(r) ?? 0) + 1);
  const parts = [...by].sort((a, b) => b[1] - a[1]).map(([why, n]) =>
    `${n} ${why}${ADVICE[why] ? ` (${ADVICE[why]})` : ""}`
  );
  return `${reasons.length} of ${count} clients got no named reply: ${parts.join("; ")}`;
}

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
    ...TOKEN_OPTIONS,
  });
  if (values.help) {
    console.log(CLIENTS_HELP);
    return 0;
  }
  const count = parseCount(values.count ?? "2", "--count", 10_000);
  const host = parseHost(values.host ?? "127.0.0.1");
  const port = parsePort(values.port ?? "10000");
  const token = await clientToken(values);
  const results = await runClients({
    count,
    host,
    port,
    token,
    onEvent: (name, event) =>
      (event.startsWith("failed") ? console.error : console.log)(`${name} ${event}`),
  });
  const reasons = results.map((r) => failure(r, host, port)).filter((w) => w !== undefined);
  if (reasons.length === 0) return 0;
  console.error(`ledctl clients: ${summary(reasons, count)}`);
  return 1;
}
