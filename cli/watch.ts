/**
 * `ledctl watch`: print the LED's state as it changes, whoever changes it.
 *
 * @module
 */
import {
  clientToken,
  httpAnswerMessage,
  isHttpAnswer,
  parse,
  parseHost,
  parsePort,
  TOKEN_HELP,
  TOKEN_OPTIONS,
} from "./args.ts";
import { Terminal } from "./term.ts";
import { ClientError } from "../clients/connect.ts";
import { watchLed } from "../clients/watch.ts";

/** Help text of `ledctl watch`. */
export const WATCH_HELP = `Usage: ledctl watch [options]

Prints the LED's state now and at each change, whoever makes it (a TCP
client, the web page, another ledctl). Stop with Ctrl-C (exit 0); exit 1
if the server cannot be reached or ends the connection.

Options:
  --host ADDR     server address (default 127.0.0.1)
  --port N        server's TCP port (default 10000; not the web page's port)
${TOKEN_HELP}
  -h, --help      this help
`;

/**
 * Follows the LED until Ctrl-C; returns the exit code.
 *
 * @example
 * ```ts
 * import { watch } from "./watch.ts";
 * Deno.exit(await watch(["--port", "10000"]));
 * ```
 */
export async function watch(args: string[]): Promise<number> {
  const { values } = parse(args, {
    host: { type: "string" },
    port: { type: "string" },
    ...TOKEN_OPTIONS,
  });
  if (values.help) {
    console.log(WATCH_HELP);
    return 0;
  }
  const host = parseHost(values.host ?? "127.0.0.1");
  const port = parsePort(values.port ?? "10000");
  const token = await clientToken(values);
  const term = new Terminal({ live: false });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await watchLed({
      host,
      port,
      token,
      signal: stop.signal,
      onState: (s) => term.log(`LED ${s}`),
    });
    return 0;
  } catch (e) {
    if (!(e instanceof ClientError)) throw e;
    const why = isHttpAnswer(e.message) ? httpAnswerMessage(host, port) : e.message;
    console.error(`ledctl watch: ${why}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await term.flush(1_000);
  }
}
