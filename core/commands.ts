/**
 * Executing one parsed request against the LED service and producing its
 * reply line. Every transport (TCP, HTTP) goes through here.
 *
 * @module
 */
import { type Command, helloName, type Rejection } from "../protocol/command.ts";
import { err, type ErrorCode, ok } from "../protocol/reply.ts";
import { HalError } from "../hal/types.ts";
import { formatState, type LedState, stateFor } from "./state.ts";
import type { LedControl } from "./led_service.ts";

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

/**
 * The reply to a request, and whether the connection should then close.
 * Transports read `ok` and `code` (HTTP picks its status from them) and
 * send `reply`, the protocol line `OK <text>` or `ERR <code> <text>`.
 */
export interface Outcome {
  /** True for an `OK` reply. */
  readonly ok: boolean;
  /** The error code of an `ERR` reply. */
  readonly code?: ErrorCode;
  /** The reply's text after `OK ` or `ERR <code> `. */
  readonly text: string;
  /** The reply line, without its LF. */
  readonly reply: string;
  /** Close the connection after sending it (`quit`, a wrong token). */
  readonly close: boolean;
  /** From now on, send this connection an `EVENT <state>` line at each LED change. */
  readonly watch?: boolean;
}

/**
 * An `OK` outcome.
 *
 * @example
 * ```ts
 * import { okOutcome } from "./commands.ts";
 * okOutcome("bye", true).reply; // "OK bye"
 * ```
 */
export function okOutcome(text: string, close = false, watch?: boolean): Outcome {
  return { ok: true, text, reply: ok(text), close, ...(watch ? { watch } : {}) };
}

/**
 * An `ERR` outcome.
 *
 * @example
 * ```ts
 * import { errOutcome } from "./commands.ts";
 * errOutcome("busy", "try again later").reply; // "ERR busy try again later"
 * ```
 */
export function errOutcome(code: ErrorCode, text: string, close = false): Outcome {
  return { ok: false, code, text, reply: err(code, text), close };
}

/** The `help` reply text. */
export const HELP_TEXT =
  "commands: blink <hz>, on, off, status, hello [name], watch, help, quit (French: clignote <hz>, allume, eteindre, etat)";

/** ` (board link down; …)` when the driver has a caveat, else nothing. */
function noted(service: LedControl): string {
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
  service: LedControl,
  client: ClientInfo,
  token?: string,
): Outcome | Promise<Outcome> {
  if (cmd.verb === "auth") {
    if (token === undefined) {
      return okOutcome("auth (this server needs no token)", false);
    }
    if (tokensEqual(cmd.token, token)) {
      client.authed = true;
      return okOutcome("auth", false);
    }
    return errOutcome("auth", "wrong token; closing", true);
  }
  if (token !== undefined && !client.authed && cmd.verb !== "quit" && cmd.verb !== "help") {
    return errOutcome(
      "auth",
      'this server needs a token: send "auth <token>" first (ledctl: --token-file or LEDCTL_TOKEN)',
      false,
    );
  }
  switch (cmd.verb) {
    case "error":
      return errOutcome(cmd.code, cmd.text, false);
    case "blink":
    case "on":
    case "off":
      return applyState(stateFor(cmd)!, service, client);
    case "status":
      return okOutcome(formatState(service.state) + noted(service), false);
    case "hello": {
      // No name given: keep the one it had, if any; the number is said once.
      const name = helloName(cmd.text, "");
      if (name !== "") client.name = name;
      const greeting = client.name ? `hello ${client.name}` : "hello";
      return okOutcome(
        `${greeting}: you are client #${client.id} from ${client.remote}`,
        false,
      );
    }
    case "help":
      return okOutcome(HELP_TEXT, false);
    case "watch":
      return okOutcome(
        `watching: an EVENT line follows each LED change; now ${formatState(service.state)}`,
        false,
        true,
      );
    case "quit":
      return okOutcome("bye", true);
  }
}

/** Asks the service for `state`; a hardware fault becomes `ERR led-fault`. */
async function applyState(
  state: LedState,
  service: LedControl,
  client: ClientInfo,
): Promise<Outcome> {
  try {
    await service.request(state, describeClient(client));
  } catch (e) {
    const msg = e instanceof HalError ? e.message : `unexpected failure: ${(e as Error).message}`;
    return errOutcome("led-fault", msg, false);
  }
  return okOutcome(formatState(state) + noted(service), false);
}
