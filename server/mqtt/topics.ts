/**
 * The MQTT contract of a ledctl fleet: topic names, the retained state
 * payload (Home Assistant's JSON-schema light state plus ledctl's own
 * fields), the commands a device accepts (a protocol line, or Home
 * Assistant JSON), and the Home Assistant discovery payload. Pure functions:
 * the transport (`bridge.ts`), `ledctl fleet` and the web page's fleet view
 * all read and write MQTT through this one module.
 *
 * | topic | retained | payload |
 * |---|---|---|
 * | `<prefix>/<id>/state` | yes | {@linkcode statePayload} |
 * | `<prefix>/<id>/availability` | yes | `online` / `offline` (last will) |
 * | `<prefix>/<id>/set` | no | a command ({@linkcode decodeCommand}) |
 * | `<prefix>/group/<group>/set` | no | the same, to every device of the group |
 * | `<prefix>/all/set` | no | the same, to every device |
 * | `<prefix>/<id>/error` | no | `{"error":"ERR …","command":"…"}` for a refused command |
 * | `homeassistant/light/ledctl_<id>/config` | yes | {@linkcode discoveryPayload} |
 * | `homeassistant/status` | (HA's) | `online` when Home Assistant (re)starts |
 *
 * @module
 */
import { type Command, parseCommand, type Rejection } from "../../protocol/command.ts";
import type { ErrorCode } from "../../protocol/reply.ts";
import { formatHz, formatState, type LedState } from "../../core/state.ts";

/** The default topic prefix (`--mqtt-prefix`). */
export const DEFAULT_PREFIX = "ledctl";

/** Home Assistant's discovery prefix and its birth/will topic. */
export const HA_PREFIX = "homeassistant";
/** Where Home Assistant says `online` when it (re)starts: discovery is sent again. */
export const HA_STATUS_TOPIC = `${HA_PREFIX}/status`;

/** The blink presets offered to Home Assistant as effects. */
export const EFFECT_PRESETS: readonly number[] = Object.freeze([0.5, 1, 2, 5, 10]);

/** A device id or group name: 1–64 of `[a-z0-9_-]`. */
const NAME_RE = /^[a-z0-9_-]{1,64}$/;

/** Names that cannot be a device id: they are topic levels of their own. */
const RESERVED_IDS = new Set(["group", "all"]);

/**
 * A host name as a device id: lower case, every other character `-`,
 * at most 64; `ledctl` if nothing is left.
 *
 * @example
 * ```ts
 * import { cleanId } from "./topics.ts";
 * cleanId("Kitchen Pi.local"); // "kitchen-pi-local"
 * ```
 */
export function cleanId(text: string): string {
  const id = text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "")
    .slice(0, 64);
  return id === "" || RESERVED_IDS.has(id) ? "ledctl" : id;
}

/**
 * Checks a device id or group name (`--id`, `--group`); a `RangeError` says
 * what is allowed.
 *
 * @example
 * ```ts
 * import { checkName } from "./topics.ts";
 * checkName("kitchen", "--id"); // "kitchen"
 * ```
 */
export function checkName(
  text: string,
  option: string,
  options: {
    /** A device id: `group` and `all` are refused too. Default: when `option` is `--id`. */
    id?: boolean;
  } = {},
): string {
  if (!NAME_RE.test(text)) {
    throw new RangeError(
      `${option} "${text}" must be 1 to 64 of a-z, 0-9, _ and - (it is an MQTT topic level)`,
    );
  }
  if ((options.id ?? option === "--id") && RESERVED_IDS.has(text)) {
    throw new RangeError(`${option} "${text}" is reserved (it is a topic level of its own)`);
  }
  return text;
}

/** The topics of one device. */
export interface DeviceTopics {
  readonly state: string;
  readonly availability: string;
  readonly set: string;
  readonly error: string;
  readonly allSet: string;
  /** The command topic of each of the device's groups. */
  readonly groupSet: readonly string[];
  readonly discovery: string;
}

/**
 * The topics of device `id` in `groups`, under `prefix`.
 *
 * @example
 * ```ts
 * import { deviceTopics } from "./topics.ts";
 * deviceTopics("ledctl", "kitchen", ["ground"]).groupSet; // ["ledctl/group/ground/set"]
 * ```
 */
export function deviceTopics(
  prefix: string,
  id: string,
  groups: readonly string[] = [],
): DeviceTopics {
  return {
    state: `${prefix}/${id}/state`,
    availability: `${prefix}/${id}/availability`,
    set: `${prefix}/${id}/set`,
    error: `${prefix}/${id}/error`,
    allSet: `${prefix}/all/set`,
    groupSet: groups.map((g) => `${prefix}/group/${g}/set`),
    discovery: `${HA_PREFIX}/light/ledctl_${id}/config`,
  };
}

/**
 * The command topic for a `ledctl fleet send` target: a device id,
 * `group:<name>`, or `all`.
 *
 * @example
 * ```ts
 * import { targetTopic } from "./topics.ts";
 * targetTopic("ledctl", "group:ground"); // "ledctl/group/ground/set"
 * ```
 */
export function targetTopic(prefix: string, target: string): string {
  if (target === "all") return `${prefix}/all/set`;
  if (target.startsWith("group:")) {
    return `${prefix}/group/${checkName(target.slice(6), "group")}/set`;
  }
  return `${prefix}/${checkName(target, "device id", { id: true })}/set`;
}

/** ledctl's state payload, as published and as read back. */
export interface StatePayload {
  /** Home Assistant's on/off. */
  readonly state: "ON" | "OFF";
  /** `blink 2 Hz` for a preset, else `blink`; absent when off or steady on. */
  readonly effect?: string;
  /** The blink frequency; absent unless blinking. */
  readonly hz?: number;
  /** ledctl's own words: `off`, `on`, `blink 2.5 Hz`. */
  readonly text: string;
  /** Who asked for it (`client #3 …`, `web #1 …`, `mqtt …`, `restore …`). */
  readonly by: string;
  /** The device's groups. */
  readonly groups: readonly string[];
  /** When it changed, ISO 8601. */
  readonly changed: string;
  /** The ledctl version. */
  readonly version: string;
}

/**
 * The state payload for `state`.
 *
 * @example
 * ```ts
 * import { statePayload } from "./topics.ts";
 * statePayload({ mode: "blink", hz: 2.5 }, { by: "client #1", groups: [], changed: "…", version: "0.1.0" });
 * // {"state":"ON","effect":"blink","hz":2.5,"text":"blink 2.5 Hz",…}
 * ```
 */
export function statePayload(
  state: LedState,
  more: { by: string; groups: readonly string[]; changed: string; version: string },
): StatePayload {
  const base = { text: formatState(state), ...more };
  if (state.mode === "off") return { state: "OFF", ...base };
  if (state.mode === "on") return { state: "ON", ...base };
  return { state: "ON", effect: effectName(state.hz), hz: state.hz, ...base };
}

/** The effect of a blink: the preset's name if it is one, else `blink`. */
function effectName(hz: number): string {
  return EFFECT_PRESETS.includes(hz) ? presetName(hz) : "blink";
}

function presetName(hz: number): string {
  return `blink ${formatHz(hz)} Hz`;
}

/**
 * Reads a state payload (as `ledctl fleet` and the web page see other
 * devices); undefined for anything that is not one.
 *
 * @example
 * ```ts
 * import { parseStatePayload } from "./topics.ts";
 * parseStatePayload('{"state":"OFF","text":"off","by":"x","groups":[],"changed":"","version":""}')?.text; // "off"
 * ```
 */
export function parseStatePayload(text: string): StatePayload | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  if (v.state !== "ON" && v.state !== "OFF") return undefined;
  if (typeof v.text !== "string") return undefined;
  return {
    state: v.state,
    effect: typeof v.effect === "string" ? v.effect : undefined,
    hz: typeof v.hz === "number" ? v.hz : undefined,
    text: v.text,
    by: typeof v.by === "string" ? v.by : "",
    groups: Array.isArray(v.groups) ? v.groups.filter((g) => typeof g === "string") : [],
    changed: typeof v.changed === "string" ? v.changed : "",
    version: typeof v.version === "string" ? v.version : "",
  };
}

/** Most bytes of a command payload; longer ones are refused unread. */
export const MAX_COMMAND_BYTES = 1024;

/** A decoded command: what to run, or why not; `flash` is Home Assistant's. */
export type DecodedCommand =
  | { readonly kind: "command"; readonly command: Command | Rejection; readonly source: string }
  | { readonly kind: "flash"; readonly length: "short" | "long"; readonly source: string };

/**
 * Decodes a command payload: Home Assistant JSON (`{"state":"ON"}`,
 * `{"state":"OFF"}`, `{"state":"ON","effect":"blink 2 Hz"}`,
 * `{"flash":"short"}`) or a protocol line (`blink 2,5`, `eteindre`), by the
 * same parser as TCP and HTTP, so the same checks apply (frequency range,
 * unknown verbs). Only LED commands are accepted: `status`, `hello`,
 * `watch`, `auth`… have no meaning on a broker and are refused. A refusal
 * is a `Rejection` with its `ERR` code and text, never an exception.
 *
 * @example
 * ```ts
 * import { decodeCommand } from "./topics.ts";
 * decodeCommand(new TextEncoder().encode('{"state":"ON","effect":"blink 2 Hz"}'));
 * // { kind: "command", command: { verb: "blink", hz: 2 }, source: "blink 2 Hz" }
 * ```
 */
export function decodeCommand(payload: Uint8Array): DecodedCommand {
  const reject = (text: string, source = "", code: ErrorCode = "bad-argument"): DecodedCommand => ({
    kind: "command",
    command: { verb: "error", code, text },
    source,
  });
  if (payload.length > MAX_COMMAND_BYTES) {
    return reject(
      `a command is at most ${MAX_COMMAND_BYTES} bytes (got ${payload.length})`,
      "",
      "line-too-long",
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(payload).trim();
  } catch {
    return reject("a command must be UTF-8 text", "", "bad-encoding");
  }
  if (!text.startsWith("{")) return lineCommand(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return reject("not valid JSON (a Home Assistant command) nor a command line", text);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return reject("a Home Assistant command is a JSON object", text);
  }
  const o = json as Record<string, unknown>;
  if (o.flash !== undefined) {
    if (o.flash === "short" || o.flash === "long") {
      return { kind: "flash", length: o.flash, source: text };
    }
    return reject('"flash" must be "short" or "long"', text);
  }
  if (o.state === "OFF") return lineCommand("off", text);
  if (o.state !== "ON" && o.state !== undefined) {
    return reject('"state" must be "ON" or "OFF"', text);
  }
  if (o.effect !== undefined) {
    if (typeof o.effect !== "string") return reject('"effect" must be a string', text);
    // "blink" alone (HA's state carries it back) keeps the frequency in "hz" if given.
    const line = o.effect === "blink" && typeof o.hz === "number" ? `blink ${o.hz}` : o.effect;
    return lineCommand(line, text);
  }
  if (o.state === "ON") return lineCommand("on", text);
  return reject('expected "state", "effect" or "flash"', text);
}

/** A protocol line as a command; only the verbs that change the LED. */
function lineCommand(line: string, source = line): DecodedCommand {
  const command = parseCommand(line);
  if (command.verb === "error" || ["blink", "on", "off"].includes(command.verb)) {
    return { kind: "command", command, source };
  }
  return {
    kind: "command",
    command: {
      verb: "error",
      code: "unknown-command",
      text: `"${command.verb}" has no meaning over MQTT: send blink HZ, on or off`,
    },
    source,
  };
}

/** What a device says about itself in discovery. */
export interface DiscoveryInfo {
  readonly prefix: string;
  readonly id: string;
  readonly version: string;
  /** The LED's description, e.g. `gpio:/dev/gpiochip0 GPIO14 (BOARD8)`. */
  readonly model: string;
}

/**
 * Home Assistant's MQTT discovery payload for the device: a JSON-schema
 * light with the blink presets as effects, availability, and the device
 * and origin blocks (field names as in Home Assistant's MQTT light
 * documentation).
 *
 * @example
 * ```ts
 * import { discoveryPayload } from "./topics.ts";
 * discoveryPayload({ prefix: "ledctl", id: "kitchen", version: "0.1.0", model: "mock" }).schema; // "json"
 * ```
 */
export function discoveryPayload(info: DiscoveryInfo): Record<string, unknown> {
  const t = deviceTopics(info.prefix, info.id);
  return {
    name: null, // the entity takes the device's name
    unique_id: `ledctl_${info.id}`,
    object_id: `ledctl_${info.id}`,
    schema: "json",
    command_topic: t.set,
    state_topic: t.state,
    availability_topic: t.availability,
    payload_available: "online",
    payload_not_available: "offline",
    supported_color_modes: ["onoff"],
    effect: true,
    effect_list: EFFECT_PRESETS.map(presetName),
    flash: true,
    flash_time_short: 2,
    flash_time_long: 10,
    optimistic: false,
    qos: 1,
    retain: false,
    device: {
      identifiers: [`ledctl_${info.id}`],
      name: `ledctl ${info.id}`,
      model: info.model,
      manufacturer: "ledctl",
      sw_version: info.version,
    },
    origin: {
      name: "ledctl",
      sw_version: info.version,
      support_url: "https://github.com/ledctl/ledctl",
    },
  };
}
