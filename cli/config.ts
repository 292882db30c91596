/**
 * Where `ledctl serve`'s settings come from, and what they are: the command
 * line beats `LEDCTL_*` environment variables, which beat the config file
 * (TOML, `--config`, default `/etc/ledctl/ledctl.toml` when it exists),
 * which beats the defaults. Every value is checked by the same code whatever
 * its source, and an error names the source: `--port`, `LEDCTL_PORT`, or
 * `/etc/ledctl/ledctl.toml:3: port`.
 *
 * @module
 */
import { parseCount, parseHost, parsePort, UsageError } from "./args.ts";
import { envName, SERVE_OPTIONS, type ServeOption } from "./serve_options.ts";
import { parseDuration } from "../server/duration.ts";
import { ENGINE_NAMES, type EngineName } from "../server/tcp/mod.ts";
import { defaultLedUri } from "../hal/select.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./term.ts";
import { checkName, cleanId } from "../server/mqtt/topics.ts";

/** The config file read when `--config` is not given, if it exists. */
export const DEFAULT_CONFIG_PATH = "/etc/ledctl/ledctl.toml";

/** Where a setting's value came from. */
export type Origin =
  | { readonly kind: "flag" }
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly path: string; readonly line: number }
  | { readonly kind: "default" };

/** A setting as written, before it is checked. */
export interface RawSetting {
  /** The text (a flag's or variable's), a switch, or a list. */
  readonly value: string | boolean | string[];
  /** Where it came from. */
  readonly origin: Origin;
}

/** `restore`: the LED at start. */
export type RestorePolicy = "last" | "off" | "on";

/** The checked settings of `ledctl serve`. */
export interface ServeSettings {
  /** The config file read, if any. */
  configPath?: string;
  hostname: string;
  port: number;
  ledUri: string;
  /** Where the state is kept; undefined: nowhere (`off`, or no place known). */
  stateFile?: string;
  restore: RestorePolicy;
  idleTimeoutMs: number;
  frameTimeoutMs: number;
  maxClients: number;
  maxWatchers?: number;
  tcpEngine: EngineName;
  /** The HTTP port; undefined: off. */
  httpPort?: number;
  httpMaxConnections: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  httpHosts: string[];
  tokenFile?: string;
  /** The token given inline (`--token`, `LEDCTL_TOKEN` or the file's `token`). */
  token?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** The MQTT broker (`--mqtt`), without credentials; undefined: no MQTT. */
  mqttUrl?: string;
  /** The broker user: `--mqtt-user`, or the one in the URL. */
  mqttUser?: string;
  /** Where the broker password is (its first line). */
  mqttPasswordFile?: string;
  /** The broker password from `LEDCTL_MQTT_PASSWORD` or the file's `mqtt-password`. */
  mqttPassword?: string;
  /** The CA certificates to trust for `mqtts`. */
  mqttCa?: string;
  /** The device id: `--id`, else (with `--mqtt`) the host name as {@linkcode cleanId} makes it. */
  id?: string;
  /** The device's groups (`--group`). */
  groups: string[];
  /** The topic prefix (`--mqtt-prefix`). */
  mqttPrefix: string;
}

/** How {@linkcode resolveServeSettings} reads the world; each has a real default. */
export interface ResolveOptions {
  /** Reads an environment variable. Default: `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** The file read when neither `--config` nor `LEDCTL_CONFIG` is set. Default: {@linkcode DEFAULT_CONFIG_PATH}. */
  defaultConfigPath?: string;
  /** The machine's name, the default `--id` with `--mqtt`. Default: `Deno.hostname`. */
  hostname?: () => string;
}

/** The settings, and where each raw value came from (for `ledctl config`). */
export interface Resolved {
  settings: ServeSettings;
  raw: Map<string, RawSetting>;
}

/**
 * Names a setting for a message: `--port`, `LEDCTL_PORT`,
 * `/etc/ledctl/ledctl.toml:3: port`, or `port (default)`.
 *
 * @example
 * ```ts
 * import { describeOrigin } from "./config.ts";
 * describeOrigin("port", { kind: "env", name: "LEDCTL_PORT" }); // "LEDCTL_PORT"
 * ```
 */
export function describeOrigin(key: string, origin: Origin): string {
  switch (origin.kind) {
    case "flag":
      return `--${key}`;
    case "env":
      return origin.name;
    case "file":
      return `${origin.path}:${origin.line}: ${key}`;
    case "default":
      return `${key} (default)`;
  }
}

/**
 * Reads the config file, the environment and the parsed flags, layers them
 * (flags > environment > file > defaults) and checks every value. Throws a
 * {@linkcode UsageError} that names the source of a bad value.
 *
 * @param flags the parsed command-line values of {@linkcode SERVE_OPTIONS} (`parseArgs`' `values`)
 * @example
 * ```ts
 * import { resolveServeSettings } from "./config.ts";
 * const { settings } = await resolveServeSettings({ port: "10001", config: "none" });
 * settings.port; // 10001
 * ```
 */
export async function resolveServeSettings(
  flags: Record<string, string | boolean | string[] | undefined>,
  options: ResolveOptions = {},
): Promise<Resolved> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const raw = new Map<string, RawSetting>();
  const configPath = await findConfig(flags, env, options.defaultConfigPath);
  if (configPath !== undefined) {
    for (const [key, setting] of await readConfigFile(configPath)) raw.set(key, setting);
  }
  for (const o of SERVE_OPTIONS) {
    const text = env(envName(o.key));
    if (text === undefined || text === "" || o.key === "config") continue;
    raw.set(o.key, { value: fromEnv(o, text), origin: { kind: "env", name: envName(o.key) } });
  }
  for (const o of SERVE_OPTIONS) {
    const v = flags[o.key];
    if (v === undefined || o.key === "config") continue;
    raw.set(o.key, { value: v, origin: { kind: "flag" } });
  }
  for (const o of SERVE_OPTIONS) {
    if (!raw.has(o.key) && o.default !== undefined) {
      raw.set(o.key, { value: o.default, origin: { kind: "default" } });
    }
  }
  if (configPath !== undefined) raw.set("config", { value: configPath, origin: { kind: "flag" } });
  return { settings: check(raw, env, configPath, options.hostname), raw };
}

/** The file to read: `--config`, `LEDCTL_CONFIG`, or the default when it exists; `none`: none. */
async function findConfig(
  flags: Record<string, unknown>,
  env: (name: string) => string | undefined,
  defaultPath = DEFAULT_CONFIG_PATH,
): Promise<string | undefined> {
  const given = (flags.config as string | undefined) ?? (env("LEDCTL_CONFIG") || undefined);
  if (given === "none") return undefined;
  if (given !== undefined) return given;
  try {
    await Deno.stat(defaultPath);
    return defaultPath;
  } catch {
    return undefined;
  }
}

/**
 * Reads a TOML config file into raw settings, each with its line. Unknown
 * keys, tables and values of the wrong type are errors naming the file and
 * line.
 *
 * @example
 * ```ts
 * import { readConfigFile } from "./config.ts";
 * const settings = await readConfigFile("/etc/ledctl/ledctl.toml");
 * settings.get("port")?.origin; // { kind: "file", path: "…", line: 3 }
 * ```
 */
export async function readConfigFile(path: string): Promise<Map<string, RawSetting>> {
  const toml = await loadToml();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied (is it readable by this user?)"
      : (e as Error).message;
    throw new UsageError(`cannot read the config file ${path}: ${why}`);
  }
  return parseConfigText(text, path, toml);
}

/** The TOML parser (smol-toml, from npm). */
type Toml = typeof import("smol-toml");

/**
 * Loads the TOML parser on first use only: a server without a config file
 * never needs it (the emulated Pi's tests run without network or npm cache).
 */
export function loadToml(): Promise<Toml> {
  return import("smol-toml");
}

/**
 * Parses the text of a config file (see {@linkcode readConfigFile}).
 *
 * @example
 * ```ts
 * import { loadToml, parseConfigText } from "./config.ts";
 * parseConfigText('port = 10001\n', "ledctl.toml", await loadToml()).get("port")?.value; // "10001"
 * ```
 */
export function parseConfigText(
  text: string,
  path: string,
  toml: Toml,
): Map<string, RawSetting> {
  let doc: Record<string, unknown>;
  try {
    doc = toml.parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof toml.TomlError) {
      const what = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new UsageError(`${path}:${e.line}:${e.column}: not valid TOML: ${what}`);
    }
    throw e;
  }
  const lines = keyLines(text);
  const out = new Map<string, RawSetting>();
  for (const [key, value] of Object.entries(doc)) {
    const line = lines.get(key) ?? 0;
    const where = `${path}:${line}`;
    const o = SERVE_OPTIONS.find((o) => o.key === key);
    if (!o || o.notInFile) {
      if (isTable(value)) {
        throw new UsageError(
          `${where}: [${key}]: the config file has no sections; write each setting at the top, e.g. port = 10000`,
        );
      }
      const near = closest(key);
      throw new UsageError(
        `${where}: unknown setting "${key}"${near ? `; did you mean "${near}"?` : ""} ` +
          "(the settings are serve's long options: ledctl serve --help)",
      );
    }
    out.set(key, { value: fromToml(o, value, where), origin: { kind: "file", path, line } });
  }
  return out;
}

/** The line (1-based) of each top-level `key =` in a TOML text. */
function keyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  text.split("\n").forEach((l, i) => {
    const m = /^\s*(?:"([^"]+)"|'([^']+)'|\[?\s*([A-Za-z0-9_-]+))\s*[=\]]/.exec(l);
    const key = m && (m[1] ?? m[2] ?? m[3]);
    if (key && !out.has(key)) out.set(key, i + 1);
  });
  return out;
}

function isTable(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** The known key nearest to a misspelt one (edit distance ≤ 2), if any. */
function closest(key: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const o of SERVE_OPTIONS) {
    const d = distance(key, o.key);
    if (d < bestD) [best, bestD] = [o.key, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** A TOML value as the text a flag would give, or an error naming the line. */
function fromToml(o: ServeOption, v: unknown, where: string): string | boolean | string[] {
  const bad = (expected: string) =>
    new UsageError(`${where}: ${o.key} must be ${expected}, not ${JSON.stringify(v)}`);
  switch (o.kind) {
    case "boolean":
      if (typeof v !== "boolean") throw bad("true or false");
      return v;
    case "list":
      if (typeof v === "string") return [v];
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
      throw bad(`a list of strings, like ${o.key} = ["pi.example.org"]`);
    case "string":
      if (typeof v === "string") return v;
      if (typeof v === "number" && Number.isFinite(v)) return String(v);
      if (o.key === "http" && v === false) return "off";
      throw bad(o.default ? `like ${o.key} = ${tomlExample(o)}` : "a string");
  }
}

function tomlExample(o: ServeOption): string {
  return /^\d+$/.test(o.default!) ? o.default! : JSON.stringify(o.default);
}

/** An environment variable's text as the value a flag would give. */
function fromEnv(o: ServeOption, text: string): string | boolean | string[] {
  if (o.kind === "list") return text.split(",").map((s) => s.trim()).filter((s) => s);
  if (o.kind === "string") return text;
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new UsageError(`${envName(o.key)}="${text}" must be 1 or 0 (or true/false)`);
}

/** Checks every raw value and builds the settings. */
function check(
  raw: Map<string, RawSetting>,
  env: (name: string) => string | undefined,
  configPath: string | undefined,
  hostname: () => string = () => Deno.hostname(),
): ServeSettings {
  const label = (key: string) => describeOrigin(key, raw.get(key)!.origin);
  const text = (key: string) => raw.get(key)?.value as string | undefined;
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw new UsageError(e.message);
      throw e;
    }
  };
  const duration = (key: string, min = 0) => {
    const ms = wrap(() => parseDuration(text(key)!, label(key)));
    if (ms < min) throw new UsageError(`${label(key)} must be at least ${min}ms`);
    return ms;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const v = text(key)!;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new UsageError(`${label(key)} must be one of ${allowed.join(", ")}, got "${v}"`);
    }
    return v as T;
  };

  const port = parsePort(text("port")!, label("port"), true);
  const httpText = text("http")!;
  const httpPort = httpText === "off" ? undefined : parsePort(httpText, label("http"), true);
  if (httpPort !== undefined && httpPort !== 0 && httpPort === port) {
    throw new UsageError(
      `${label("port")} and ${label("http")} are both ${port}: the TCP protocol and the web ` +
        `page need a port each (the defaults are 10000 and 8080)`,
    );
  }
  const maxClients = parseCount(text("max-clients")!, label("max-clients"), 1_000_000);
  const maxWatchers = raw.has("max-watchers")
    ? parseCount(text("max-watchers")!, label("max-watchers"), 1_000_000)
    : undefined;
  if (maxWatchers !== undefined && maxWatchers >= maxClients) {
    throw new UsageError(
      `${label("max-watchers")} (${maxWatchers}) must be below ${
        label("max-clients")
      } (${maxClients}), so that clients that send commands always have a slot`,
    );
  }
  const verbose = raw.get("verbose")?.value === true;
  const logLevel = verbose ? "debug" : oneOf("log-level", LOG_LEVELS);
  const stateText = text("state-file");
  const mqtt = checkMqtt(raw, label, wrap, hostname);
  return {
    configPath,
    hostname: parseHost(text("host")!, label("host")),
    port,
    ledUri: text("led") ?? defaultLedUri(),
    stateFile: stateText === "off" ? undefined : stateText ?? defaultStateFile(env),
    restore: oneOf("restore", ["last", "off", "on"] as const),
    idleTimeoutMs: duration("idle-timeout"),
    frameTimeoutMs: duration("frame-timeout", 1),
    maxClients,
    maxWatchers,
    tcpEngine: oneOf("tcp-engine", ENGINE_NAMES),
    httpPort,
    httpMaxConnections: parseCount(
      text("http-max-connections")!,
      label("http-max-connections"),
      1_000_000,
    ),
    headerTimeoutMs: duration("http-header-timeout", 1),
    bodyTimeoutMs: duration("http-body-timeout", 1),
    keepAliveTimeoutMs: duration("http-keepalive-timeout"),
    httpHosts: (raw.get("http-host")?.value as string[] | undefined) ?? [],
    tokenFile: text("token-file"),
    token: text("token"),
    logLevel,
    logFormat: oneOf("log-format", LOG_FORMATS),
    ...mqtt,
  };
}

/** The MQTT settings, checked: the URL, the credentials' sources, the id, groups and prefix. */
function checkMqtt(
  raw: Map<string, RawSetting>,
  label: (key: string) => string,
  wrap: <T>(f: () => T) => T,
  hostname: () => string,
): Pick<
  ServeSettings,
  | "mqttUrl"
  | "mqttUser"
  | "mqttPasswordFile"
  | "mqttPassword"
  | "mqttCa"
  | "id"
  | "groups"
  | "mqttPrefix"
> {
  const text = (key: string) => raw.get(key)?.value as string | undefined;
  if (raw.get("mqtt-password")?.origin.kind === "flag") {
    throw new UsageError(
      "--mqtt-password is not taken on the command line (every user of the machine sees it " +
        "in ps): put the password in a file readable by ledctl only and give " +
        "--mqtt-password-file FILE, or set LEDCTL_MQTT_PASSWORD",
    );
  }
  let mqttUrl: string | undefined;
  let mqttUser = text("mqtt-user");
  if (text("mqtt") !== undefined) {
    const url = parseMqttUrl(text("mqtt")!, label("mqtt"));
    mqttUrl = url.url;
    if (url.user !== undefined && mqttUser !== undefined && url.user !== mqttUser) {
      throw new UsageError(
        `${label("mqtt")} names the user "${url.user}" and ${label("mqtt-user")} "${mqttUser}": ` +
          "give the user once",
      );
    }
    mqttUser ??= url.user;
  }
  const mqttPasswordFile = text("mqtt-password-file");
  const mqttPassword = text("mqtt-password");
  if (mqttPasswordFile !== undefined && mqttPassword !== undefined) {
    throw new UsageError(
      `${label("mqtt-password-file")} and ${label("mqtt-password")} both give the broker ` +
        "password: keep one",
    );
  }
  if (mqttUrl !== undefined && mqttUser === undefined && mqttPassword !== undefined) {
    throw new UsageError(
      `${label("mqtt-password")} is set but no broker user: give --mqtt-user NAME (MQTT sends ` +
        "a password only with a user)",
    );
  }
  let id = text("id");
  if (id !== undefined) id = wrap(() => checkName(id!, label("id"), { id: true }));
  else if (mqttUrl !== undefined) {
    let host = "";
    try {
      host = hostname();
    } catch { /* no --allow-sys: the fallback id */ }
    id = cleanId(host);
  }
  const groups = [
    ...new Set(
      ((raw.get("group")?.value as string[] | undefined) ?? []).map((g) =>
        wrap(() => checkName(g, label("group")))
      ),
    ),
  ];
  const mqttPrefix = text("mqtt-prefix")!;
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(mqttPrefix) || mqttPrefix.length > 128) {
    throw new UsageError(
      `${label("mqtt-prefix")} "${mqttPrefix}" must be topic levels of A-Z, a-z, 0-9, _ and -, ` +
        'separated by "/" (e.g. ledctl or home/ledctl), at most 128 characters',
    );
  }
  return {
    mqttUrl,
    mqttUser,
    mqttPasswordFile,
    mqttPassword,
    mqttCa: text("mqtt-ca"),
    id,
    groups,
    mqttPrefix,
  };
}

/**
 * Checks an `--mqtt` URL: `mqtt://` or `mqtts://`, a host, an optional
 * port and user, no password (it would show in `ps` and in logs), no path.
 * Returns the URL without the user, and the user. `where` names the setting
 * in the {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { parseMqttUrl } from "./config.ts";
 * parseMqttUrl("mqtts://dev@broker.lan:8883", "--mqtt"); // { url: "mqtts://broker.lan:8883", user: "dev" }
 * ```
 */
export function parseMqttUrl(text: string, where: string): { url: string; user?: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(
      `${where} "${text}" is not a URL: write mqtt://HOST[:1883] or mqtts://HOST[:8883]`,
    );
  }
  if (u.protocol !== "mqtt:" && u.protocol !== "mqtts:") {
    throw new UsageError(
      `${where} must start with mqtt:// or mqtts:// (TLS), not ${u.protocol}//`,
    );
  }
  if (u.password !== "") {
    throw new UsageError(
      `${where}: a password in the URL is refused (every user sees it in ps): put it in a file ` +
        "readable by ledctl only and give --mqtt-password-file FILE, or set LEDCTL_MQTT_PASSWORD",
    );
  }
  if (u.hostname === "") throw new UsageError(`${where} "${text}" names no host`);
  if ((u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.hash !== "") {
    throw new UsageError(
      `${where} "${text}": an MQTT broker is a host and a port, with no path or query`,
    );
  }
  const url = `${u.protocol}//${u.host}`;
  return u.username === "" ? { url } : { url, user: decodeURIComponent(u.username) };
}

/**
 * The broker password (`--mqtt-password-file`'s first line, or
 * `LEDCTL_MQTT_PASSWORD`) and the CA certificates of `--mqtt-ca`, read
 * before the LED is touched: a file that cannot be read, an empty first
 * line or a file with no PEM certificate is a {@linkcode UsageError}.
 * `serve` and `ledctl fleet` both read their broker secrets with it.
 *
 * @example
 * ```ts
 * import { readMqttSecrets } from "./config.ts";
 * await readMqttSecrets({ mqttPasswordFile: "/etc/ledctl/mqtt-password" });
 * ```
 */
export async function readMqttSecrets(
  s: { mqttPasswordFile?: string; mqttPassword?: string; mqttCa?: string },
): Promise<{ password?: string; ca?: string }> {
  let password = s.mqttPassword;
  if (s.mqttPasswordFile !== undefined) {
    try {
      password = (await Deno.readTextFile(s.mqttPasswordFile)).split("\n")[0].replace(/\r$/, "");
    } catch (e) {
      throw new UsageError(
        `cannot read --mqtt-password-file ${s.mqttPasswordFile}: ${(e as Error).message}`,
      );
    }
    if (password === "") {
      throw new UsageError(`--mqtt-password-file ${s.mqttPasswordFile}: its first line is empty`);
    }
  }
  let ca: string | undefined;
  if (s.mqttCa !== undefined) {
    try {
      ca = await Deno.readTextFile(s.mqttCa);
    } catch (e) {
      throw new UsageError(`cannot read --mqtt-ca ${s.mqttCa}: ${(e as Error).message}`);
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw new UsageError(
        `--mqtt-ca ${s.mqttCa} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      );
    }
  }
  return { password, ca };
}

/**
 * The state file when `--state-file` is not given: `$STATE_DIRECTORY/state.json`
 * (systemd's `StateDirectory=`), else `$XDG_STATE_HOME/ledctl/state.json`,
 * else `$HOME/.local/state/ledctl/state.json`; none without a home.
 *
 * @example
 * ```ts
 * import { defaultStateFile } from "./config.ts";
 * defaultStateFile((n) => ({ HOME: "/home/pi" } as Record<string, string>)[n]);
 * // "/home/pi/.local/state/ledctl/state.json"
 * ```
 */
export function defaultStateFile(env: (name: string) => string | undefined): string | undefined {
  const systemd = env("STATE_DIRECTORY");
  // systemd lists several directories separated by ":" when the unit names several.
  if (systemd) return `${systemd.split(":")[0]}/state.json`;
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return `${xdg}/ledctl/state.json`;
  const home = env("HOME");
  return home ? `${home}/.local/state/ledctl/state.json` : undefined;
}
