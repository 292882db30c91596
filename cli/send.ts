/**
 * `ledctl send`: one command to a server, its reply printed — the seed's
 * `clientLed.py`, with errors that say what to do.
 *
 * @module
 */
import { parse, parseHost, parsePort, UsageError } from "./args.ts";
import { ClientError } from "../clients/connect.ts";
import { sendCommand } from "../clients/send.ts";
import { parseDuration } from "../server/duration.ts";
import { parseReply } from "../protocol/reply.ts";

/** Help text of `ledctl send`. */
export const SEND_HELP = `Usage: ledctl send [options] <command…>

Sends one command to a ledctl server and prints its reply. Exit code 0 for
an OK reply, 1 for an ERR reply or no connection, 2 for a usage mistake.

Commands: blink <hz> (clignote), on (allume), off (eteindre), status (etat),
hello [name], help, quit. The frequency takes 2.5 or 2,5.

Options:
  --host ADDR     server address (default 127.0.0.1)
  --port N        server port (default 10000)
  --timeout T     give up after T (default 5s)
  --token T       authenticate first (for a server started with --token; also LEDCTL_TOKEN)
  -h, --help      this help

Examples:
  ledctl send blink 3
  ledctl send --host raspberrypi.local clignote 2,5
  ledctl send off
`;

/**
 * Sends the command in `args`; returns the exit code.
 *
 * @example
 * ```ts
 * import { send } from "./send.ts";
 * await send(["blink", "3"]); // prints "OK blink 3 Hz", returns 0
 * ```
 */
export async function send(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    host: { type: "string" },
    port: { type: "string" },
    timeout: { type: "string" },
    token: { type: "string" },
  }, true);
  if (values.help) {
    console.log(SEND_HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw new UsageError(
      'say what to send, e.g. "ledctl send blink 3" (ledctl send --help lists commands)',
    );
  }
  const host = parseHost(values.host ?? "127.0.0.1");
  const port = parsePort(values.port ?? "10000");
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout ?? "5s", "--timeout");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let reply: string;
  try {
    const token = values.token ?? (Deno.env.get("LEDCTL_TOKEN") || undefined);
    reply = await sendCommand(positionals.join(" "), { host, port, timeoutMs, token });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    if (e instanceof ClientError) {
      console.error(`ledctl send: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const parsed = parseReply(reply);
  if (parsed.ok) {
    console.log(reply);
    return 0;
  }
  console.error(reply);
  return 1;
}
