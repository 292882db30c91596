/**
 * `POST /api/led`: turns the posted fields into one protocol request line,
 * parses it with the protocol's parser and runs it through the same
 * {@linkcode execute} as TCP, so the web gets the very same replies (and
 * the same `ERR` texts) as `ledctl send`. No shell, no second parser.
 *
 * Fields: `command` (`blink`, `on`, `off`, `status`, or a French alias:
 * `clignote`, `allume`, `eteindre`, `etat`) and `hz` for blink (`2.5` or
 * `2,5`; a JSON number works too). The seed's form fields are accepted as
 * well: a `clignote`, `allume` or `eteindre` button and `freq`.
 *
 * @module
 */
import { type Command, parseCommand, type Rejection } from "../../protocol/command.ts";
import { MAX_LINE } from "../../protocol/framing.ts";
import type { LedState } from "../../core/state.ts";
import { type ClientInfo, execute } from "../../core/commands.ts";
import { countOutcome } from "../../core/tally.ts";
import type { LedControl, LedService } from "../../core/led_service.ts";
import type { Fields } from "./body.ts";
import { stateJson } from "./sse.ts";

/** The verbs the web API runs; the others only make sense on a connection. */
const WEB_VERBS = new Set(["blink", "on", "off", "status"]);

/** The JSON `POST /api/led` answers with, and its HTTP status. */
export interface LedResult {
  /** 200 for `OK`, 400 bad request, 401 auth, 503 LED fault. */
  readonly status: number;
  /** The JSON body. */
  readonly body: {
    /** True for an `OK` reply. */
    readonly ok: boolean;
    /** The protocol reply line, e.g. `OK blink 2.5 Hz` or `ERR bad-argument …`. */
    readonly reply: string;
    /** The LED state after the request. */
    readonly state: LedState;
    /** `state` as the protocol writes it, e.g. `blink 2.5 Hz`. */
    readonly text: string;
    /**
     * This request's name, as the log and the event stream's `by` write it
     * (`web #3 127.0.0.1:51000`): a page tells its own changes from others'.
     */
    readonly client: string;
  };
}

/**
 * How a web request is named in the log and in the event stream's `by`:
 * `web #N address:port`. Web requests are numbered on their own, so they
 * get their own label and never read like TCP's `client #N`.
 *
 * @example
 * ```ts
 * import { webClientName } from "./api.ts";
 * webClientName({ id: 3, remote: "127.0.0.1:51000" }); // "web #3 127.0.0.1:51000"
 * ```
 */
export function webClientName(client: ClientInfo): string {
  return `web #${client.id} ${client.remote}`;
}

/** `service`, with every change it is asked for made in the name `by`. */
function actingAs<T extends LedControl>(service: T, by: string): T {
  return new Proxy(service, {
    get(target, key) {
      if (key === "request") return (state: LedState) => target.request(state, by);
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function fieldText(value: unknown, name: string): string | Rejection | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return {
    verb: "error",
    code: "bad-argument",
    text: `"${name}" must be a string or a number`,
  };
}

/**
 * The protocol request the fields ask for, parsed, or the rejection a TCP
 * client would get for the same line.
 *
 * @example
 * ```ts
 * import { commandFromFields } from "./api.ts";
 * commandFromFields({ command: "blink", hz: "2,5" }); // { verb: "blink", hz: 2.5 }
 * commandFromFields({ command: "blink", hz: "fast" }).verb; // "error"
 * commandFromFields({ clignote: "", freq: "3" }); // { verb: "blink", hz: 3 } (the seed's form)
 * ```
 */
export function commandFromFields(fields: Fields): Command | Rejection {
  let command = fieldText(fields.command, "command");
  if (command === undefined) {
    for (const alias of ["clignote", "allume", "eteindre"]) {
      if (fields[alias] !== undefined) command = alias;
    }
  }
  if (command === undefined) {
    return {
      verb: "error",
      code: "bad-argument",
      text: 'say what to do: {"command":"blink","hz":"2,5"}, {"command":"on"} or {"command":"off"}',
    };
  }
  if (typeof command !== "string") return command;
  const hz = fieldText(fields.hz ?? fields.freq, "hz");
  if (hz !== undefined && typeof hz !== "string") return hz;

  let line = command;
  const alone = parseCommand(command);
  // A bare verb that needs its argument (blink) takes hz; on/off ignore the
  // frequency field a form always sends.
  if (alone.verb === "error" && hz !== undefined && !/[ \t]/.test(command.trim())) {
    line = `${command} ${hz}`;
  }
  if (new TextEncoder().encode(line).length > MAX_LINE) {
    return { verb: "error", code: "line-too-long", text: `line exceeds ${MAX_LINE} bytes` };
  }
  const cmd = line === command ? alone : parseCommand(line);
  if (cmd.verb !== "error" && !WEB_VERBS.has(cmd.verb)) {
    return {
      verb: "error",
      code: "unknown-command",
      text: `"${cmd.verb}" is not available over HTTP: use blink, on, off or status`,
    };
  }
  return cmd;
}

/**
 * Runs the fields' command for `client` through {@linkcode execute}, its
 * changes named {@linkcode webClientName}. The caller has checked the
 * token already; `client.authed` is set.
 *
 * @example
 * ```ts
 * import { runLedRequest } from "./api.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"), { log: () => {} });
 * const r = await runLedRequest({ command: "on" }, service, { id: 1, remote: "127.0.0.1:5000" });
 * r.body.reply; // "OK on"
 * r.body.client; // "web #1 127.0.0.1:5000"
 * await service.close();
 * ```
 */
export async function runLedRequest(
  fields: Fields,
  service: LedService,
  client: ClientInfo,
  token?: string,
): Promise<LedResult> {
  const cmd = commandFromFields(fields);
  client.authed = true;
  const by = webClientName(client);
  const outcome = await execute(cmd, actingAs(service, by), client, token);
  countOutcome(service, "http", cmd, outcome);
  const status = outcome.ok
    ? 200
    : outcome.code === "led-fault"
    ? 503
    : outcome.code === "auth"
    ? 401
    : 400;
  const state = service.state;
  return {
    status,
    body: {
      ok: outcome.ok,
      reply: outcome.reply,
      ...stateJson(state),
      client: by,
    } as LedResult["body"],
  };
}
