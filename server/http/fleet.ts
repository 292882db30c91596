/**
 * The fleet on the MQTT broker, for the web page and the HTTP API (only
 * with `serve --mqtt`): every device as JSON, this one first, and commands
 * to one device, checked by the protocol's parser before they are
 * published.
 *
 * - `GET /api/fleet` → `{"self":"kitchen","total":3,"devices":[…]}`
 * - `POST /api/fleet/<id>` with the fields of `POST /api/led` → 202
 *   `{"ok":true,"device":"hall","sent":"blink 2.5",…}`; the device's new
 *   state arrives on the event stream (`sse.ts`, event `device`).
 *
 * @module
 */
import type { FleetDevice, FleetView } from "../mqtt/fleet_view.ts";
import { checkName, decodeCommand } from "../mqtt/topics.ts";
import { formatHz, type LedState } from "../../core/state.ts";
import { err } from "../../protocol/reply.ts";
import type { Fields } from "./body.ts";
import { commandFromFields } from "./api.ts";

/** Most devices the page is sent and draws; the rest are counted ("N more"). */
export const FLEET_PAGE_MAX = 500;

/** How long the broker has to acknowledge a command before the request gets 503. */
export const SEND_TIMEOUT_MS = 5_000;

/** One device as the API and the event stream send it. */
export interface FleetDeviceJson {
  /** Its id (`--id`). */
  readonly id: string;
  /** True for the device this server is. */
  readonly self: boolean;
  /** `online`/`offline` from its availability topic; null until heard. */
  readonly online: boolean | null;
  /** Its LED state, as `/api/state` writes it; null until its state is heard. */
  readonly state: LedState | null;
  /** The state in ledctl's words (`blink 2.5 Hz`); null until heard. */
  readonly text: string | null;
  /** Its groups (`--group`). */
  readonly groups: readonly string[];
  /** Who made the last change, as that device names it. */
  readonly by: string;
  /** When its state last changed (ISO 8601), as that device says; "" if unknown. */
  readonly changed: string;
}

/**
 * A device of the view as JSON; `self` is this server's own id.
 *
 * @example
 * ```ts
 * import { fleetDeviceJson } from "./fleet.ts";
 * fleetDeviceJson({ id: "hall", online: true, seen: 0, state: {
 *   state: "ON", effect: "blink", hz: 2.5, text: "blink 2.5 Hz", by: "client #1",
 *   groups: ["ground"], changed: "2026-01-01T00:00:00.000Z", version: "0.1.0" } }, "kitchen");
 * // { id: "hall", self: false, online: true, state: { mode: "blink", hz: 2.5 }, text: "blink 2.5 Hz", … }
 * ```
 */
export function fleetDeviceJson(device: FleetDevice, self?: string): FleetDeviceJson {
  const s = device.state;
  const state: LedState | null = !s
    ? null
    : s.state === "OFF"
    ? { mode: "off" }
    : typeof s.hz === "number" && s.hz > 0
    ? { mode: "blink", hz: s.hz }
    : { mode: "on" };
  return {
    id: device.id,
    self: device.id === self,
    online: device.online ?? null,
    state,
    text: s ? s.text : null,
    groups: s ? s.groups : [],
    by: s ? s.by : "",
    changed: s ? s.changed : "",
  };
}

/** Ids in code-unit order, as the page sorts them too (not the locale's). */
function byId(a: FleetDevice, b: FleetDevice): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The fleet's devices as JSON, this server's own first, then by id; at
 * most `limit` of them, and how many there are.
 *
 * @example
 * ```ts
 * import { fleetList } from "./fleet.ts";
 * // fleetList(fleet, "kitchen", 500); // { self: "kitchen", total: 3, devices: [kitchen, hall, porch] }
 * ```
 */
export function fleetList(
  fleet: FleetView,
  self: string | undefined,
  limit = Infinity,
): { self: string | null; total: number; devices: FleetDeviceJson[] } {
  const all = fleet.devices().sort((a, b) => a.id === self ? -1 : b.id === self ? 1 : byId(a, b));
  return {
    self: self ?? null,
    total: all.length,
    devices: all.slice(0, limit).map((d) => fleetDeviceJson(d, self)),
  };
}

/** What `POST /api/fleet/<id>` answers: the HTTP status and the JSON body. */
export interface FleetResult {
  /** 202 sent, 400 bad command or id, 404 unknown device, 409 offline, 503 broker. */
  readonly status: number;
  /** `{ok, device, sent, client}` or `{ok: false, reply|error}`. */
  readonly body: Record<string, unknown>;
}

/**
 * The protocol line the fields ask a fleet device for (`blink 2.5`, `on`,
 * `off`), or the `ERR` line refusing them: the same parser and texts as
 * `POST /api/led`, then the MQTT transport's own rule (only commands that
 * change the LED).
 *
 * @example
 * ```ts
 * import { fleetLine } from "./fleet.ts";
 * fleetLine({ command: "blink", hz: "2,5" }); // { ok: true, line: "blink 2.5" }
 * fleetLine({ command: "blink", hz: "vite" }).ok; // false
 * ```
 */
export function fleetLine(
  fields: Fields,
): { ok: true; line: string } | { ok: false; reply: string } {
  const cmd = commandFromFields(fields);
  if (cmd.verb === "error") return { ok: false, reply: err(cmd.code, cmd.text) };
  const line = cmd.verb === "blink" ? `blink ${formatHz(cmd.hz)}` : cmd.verb;
  // What the device will do with it: refused here rather than on its error topic.
  const decoded = decodeCommand(new TextEncoder().encode(line));
  if (decoded.kind === "command" && decoded.command.verb === "error") {
    return { ok: false, reply: err(decoded.command.code, decoded.command.text) };
  }
  return { ok: true, line };
}

/**
 * Publishes the fields' command to device `id` through `fleet`, once the
 * id and the command are checked. `client` names the web request
 * (`web #3 127.0.0.1:51000`) for the reply and the log.
 *
 * @example
 * ```ts
 * import { runFleetRequest } from "./fleet.ts";
 * // const r = await runFleetRequest(fleet, "hall", { command: "on" }, "web #1 127.0.0.1:5000");
 * // r.status; // 202
 * ```
 */
export async function runFleetRequest(
  fleet: FleetView,
  id: string,
  fields: Fields,
  client: string,
): Promise<FleetResult> {
  try {
    // "--id" also refuses `all` and `group`: fleet.send("all") would reach every device.
    checkName(id, "--id");
  } catch (e) {
    const why = (e as Error).message.replace(/^--id /, "the device id ");
    return { status: 400, body: { ok: false, error: why } };
  }
  const device = fleet.device(id);
  if (!device) {
    return {
      status: 404,
      body: { ok: false, error: `no device "${id}" on the broker (GET /api/fleet lists them)` },
    };
  }
  const checked = fleetLine(fields);
  if (!checked.ok) return { status: 400, body: { ok: false, reply: checked.reply } };
  if (device.online === false) {
    return {
      status: 409,
      body: { ok: false, error: `"${id}" is offline: it would not receive the command` },
    };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fleet.send(id, checked.line),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no acknowledgement within ${SEND_TIMEOUT_MS / 1000} s`)),
          SEND_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    return {
      status: 503,
      body: {
        ok: false,
        error: `the MQTT broker did not take the command: ${(e as Error).message}`,
      },
    };
  } finally {
    clearTimeout(timer);
  }
  return { status: 202, body: { ok: true, device: id, sent: checked.line, client } };
}
