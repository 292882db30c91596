/**
 * Executing one parsed request against the LED service and producing its
 * reply line. Every transport (TCP, HTTP) goes through here.
 *
 * @module
 */
import { type Command, helloName, type Rejection } from "../protocol/command.ts";
import { err, ok } from "../protocol/reply.ts";
import { HalError } from "../hal/types.ts";
import { formatState, type LedState, stateFor } from "./state.ts";
import type { LedService } from "./led_service.ts";

/** Who sent a request, for `hello` and for the log. */
export interface ClientInfo {
  /** 1-based connection number. */
  readonly id: number;
  /** `address:port` of the peer. */
  readonly remote: string;
  /** Name given by `hello`, if any. */
  name?: string;
  /** True once the client has sent the right `auth <token>` (or no token is set). */
  authed?: boolean;
}

/** Compares two strings in time independent of where they differ. */
export function tokensEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The reply to a request, and whether the connection should then close. */
export interface Outcome {
  /** The reply line, without its LF. */
  readonly reply: string;
  /** Close the connection after sending it (`quit`, a wrong token). */
  readonly close: boolean;
  /** From now on, send this connection an `EVENT <state>` line at each LED change. */
  readonly watch?: boolean;
}

/** The `help` reply text. */
export const HELP_TEXT =
  "commands: blink <hz>, on, off, status, hello [name], watch, help, quit (French: clignote <hz>, allume, eteindre, etat)";

/** ` (board link down; …)` when the driver has a caveat, else nothing. */
function noted(service: LedService): string {
  const note = service.note;
  return note ? ` (${note})` : "";
}

/** Names a client for the log: `client #3 127.0.0.1:5123 (Client 1)`. */
export function describeClient(c: ClientInfo): string {
  return `client #${c.id} ${c.remote}${c.name ? ` (${c.name})` : ""}`;
}

/**
 * Runs `cmd` for `client` and returns the reply line (without LF). Only
 * commands that change the LED wait for the driver: the others answer
 * synchronously, which keeps the server's hot path free of promises.
 *
 * @example
 * ```ts
 * import { execute } from "./commands.ts";
 * import { parseCommand } from "../protocol/command.ts";
 * // const { reply } = await execute(parseCommand("on"), service, client);  // "OK on"
 * ```
 */
export function execute(
  cmd: Command | Rejection,
  service: LedService,
  client: ClientInfo,
  token?: string,
): Outcome | Promise<Outcome> {
  if (cmd.verb === "auth") {
    if (token === undefined) {
      return { reply: ok("auth (this server needs no token)"), close: false };
    }
    if (tokensEqual(cmd.token, token)) {
      client.authed = true;
      return { reply: ok("auth"), close: false };
    }
    return { reply: err("auth", "wrong token; closing"), close: true };
  }
  if (token !== undefined && !client.authed && cmd.verb !== "quit" && cmd.verb !== "help") {
    return {
      reply: err(
        "auth",
        'this server needs a token: send "auth <token>" first (ledctl send --token)',
      ),
      close: false,
    };
  }
  switch (cmd.verb) {
    case "error":
      return { reply: err(cmd.code, cmd.text), close: false };
    case "blink":
    case "on":
    case "off":
      return applyState(stateFor(cmd)!, service, client);
    case "status":
      return { reply: ok(formatState(service.state) + noted(service)), close: false };
    case "hello": {
      client.name = helloName(cmd.text, `client #${client.id}`);
      return {
        reply: ok(`hello ${client.name}: you are client #${client.id} from ${client.remote}`),
        close: false,
      };
    }
    case "help":
      return { reply: ok(HELP_TEXT), close: false };
    case "watch":
      return {
        reply: ok(
          `watching: an EVENT line follows each LED change; now ${formatState(service.state)}`,
        ),
        close: false,
        watch: true,
      };
    case "quit":
      return { reply: ok("bye"), close: true };
  }
}

/** Asks the service for `state`; a hardware fault becomes `ERR led-fault`. */
async function applyState(
  state: LedState,
  service: LedService,
  client: ClientInfo,
): Promise<Outcome> {
  try {
    await service.request(state, describeClient(client));
  } catch (e) {
    const msg = e instanceof HalError ? e.message : `unexpected failure: ${(e as Error).message}`;
    return { reply: err("led-fault", msg), close: false };
  }
  return { reply: ok(formatState(state) + noted(service)), close: false };
}
