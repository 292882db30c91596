/**
 * `ledctl send`: one command to a server, its reply printed — the seed's
 * `clientLed.py`, with errors that say what to do.
 *
 * @module
 */
import {
  clientToken,
  httpAnswerMessage,
  isHttpAnswer,
  parseHost,
  parsePort,
  parseUntilCommand,
  TOKEN_HELP,
  TOKEN_OPTIONS,
  UsageError,
} from "./args.ts";
import { ClientError } from "../clients/connect.ts";
import { sendCommand } from "../clients/send.ts";
import { parseDuration } from "../server/duration.ts";
import { parseReply } from "../protocol/reply.ts";

/** Help text of `ledctl send`. */
export const SEND_HELP = `Usage: ledctl send [options] <command…>

Sends one command to a ledctl server and prints its reply. Exit code 0 for
an OK reply, 1 for an ERR reply or no connection, 2 for a usage mistake.

Commands: blink <hz> (clignote), on (allume), off (eteindre), status (etat),
hello [name], help, quit. The frequency takes 2.5, 2,5 or 2.5 Hz. Options
go before the command: every word after it is the command's (blink -1).

Options:
  --host ADDR     server address (default 127.0.0.1)
  --port N        server's TCP port (default 10000; not the web page's port)
  --timeout T     give up after T (default 5s)
${TOKEN_HELP}
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
  const { values, command: positionals } = parseUntilCommand(args, {
    host: { type: "string" },
    port: { type: "string" },
    timeout: { type: "string" },
    ...TOKEN_OPTIONS,
  });
  if (values.help) {
    console.log(SEND_HELP);
    return 0;
  }
  // main adds the pointer to --help, which lists the commands.
  if (positionals.length === 0) {
    throw new UsageError('say what to send, e.g. "ledctl send blink 3"');
  }
  const host = parseHost(values.host ?? "127.0.0.1");
  const port = parsePort(values.port ?? "10000");
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(values.timeout ?? "5s", "--timeout");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const token = await clientToken(values);
  let reply: string;
  try {
    reply = await sendCommand(positionals.join(" "), { host, port, timeoutMs, token });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    if (e instanceof ClientError) {
      console.error(`ledctl send: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (isHttpAnswer(reply)) {
    console.error(`ledctl send: ${httpAnswerMessage(host, port)}`);
    return 1;
  }
  const parsed = parseReply(reply);
  if (parsed.ok) {
    console.log(reply);
    return 0;
  }
  console.error(reply);
  return 1;
}
