/**
 * The options of `ledctl serve`, in one table: each is a command-line flag,
 * a `LEDCTL_*` environment variable and a key of the config file, with one
 * default and one line of help. `serve --help`, `ledctl config`, the config
 * file's checks and the shell completions all read this table, so an option
 * added here exists everywhere at once.
 *
 * @module
 */
import { ENGINE_NAMES } from "../server/tcp/mod.ts";

/** How an option's value is written: text, a switch, or a repeatable list. */
export type OptionKind = "string" | "boolean" | "list";

/** One option of `ledctl serve`. */
export interface ServeOption {
  /** The long name: `--<key>` on the command line, `<key> = …` in the file. */
  readonly key: string;
  /** Its kind; a `list` is repeated on the command line, an array in the file. */
  readonly kind: OptionKind;
  /** The placeholder in the help (`N`, `ADDR`, `T`…); none for a switch. */
  readonly arg?: string;
  /** The default, as it would be written on the command line; none: unset. */
  readonly default?: string;
  /** The help, one or more lines (no indentation). */
  readonly help: string;
  /** Secret: `ledctl config` never prints its value. */
  readonly secret?: boolean;
  /** Only on the command line or in the environment, not in the file (`config`). */
  readonly notInFile?: boolean;
  /**
   * Never a flag: only a `LEDCTL_*` variable or a key of the file (a secret
   * every user would see in `ps`). Left out of `--help`; the flag is refused
   * with a message saying where to put it instead.
   */
  readonly noFlag?: boolean;
}

/**
 * Every option of `ledctl serve`, in the order of its help.
 *
 * @example
 * ```ts
 * import { SERVE_OPTIONS } from "./serve_options.ts";
 * SERVE_OPTIONS.find((o) => o.key === "port")?.default; // "10000"
 * ```
 */
export const SERVE_OPTIONS: readonly ServeOption[] = Object.freeze([
  {
    key: "config",
    kind: "string",
    arg: "FILE",
    notInFile: true,
    help: `read settings from this TOML file (default: ${"/etc/ledctl/ledctl.toml"} when it
exists); "none": no file. Flags beat LEDCTL_* variables, which beat the file`,
  },
  {
    key: "host",
    kind: "string",
    arg: "ADDR",
    default: "127.0.0.1",
    help: "address to listen on (0.0.0.0 = every interface, to reach it from the LAN)",
  },
  {
    key: "port",
    kind: "string",
    arg: "N",
    default: "10000",
    help: "TCP port (0 = any free port, printed at start)",
  },
  {
    key: "led",
    kind: "string",
    arg: "URI",
    help: `the LED: mock, mock?trace=FILE, gpio:BOARD8, gpio:GPIO17?active-low,
serial:/dev/ttyACM0, tcp:HOST:7000 (default: gpio:BOARD8 on a Raspberry Pi,
mock elsewhere)`,
  },
  {
    key: "state-file",
    kind: "string",
    arg: "FILE",
    help: `where the LED's last requested state is kept across restarts (default:
$STATE_DIRECTORY/state.json under systemd, else $XDG_STATE_HOME/ledctl/state.json,
else ~/.local/state/ledctl/state.json); "off": keep none`,
  },
  {
    key: "restore",
    kind: "string",
    arg: "WHEN",
    default: "last",
    help: `the LED at start: last (the state last requested, even after a crash or a
power cut), off, or on`,
  },
  {
    key: "idle-timeout",
    kind: "string",
    arg: "T",
    default: "10s",
    help: "close connections silent for T (0 = never)",
  },
  {
    key: "frame-timeout",
    kind: "string",
    arg: "T",
    default: "100ms",
    help: "a command sent without newline counts after T of silence",
  },
  {
    key: "max-clients",
    kind: "string",
    arg: "N",
    default: "1000",
    help: 'most clients at once; more get "ERR busy"',
  },
  {
    key: "max-watchers",
    kind: "string",
    arg: "N",
    help: "most clients in watch mode at once (default 100, or max-clients − 1 if lower)",
  },
  {
    key: "tcp-engine",
    kind: "string",
    arg: "E",
    default: "auto",
    help: `the TCP engine: auto (the fastest this system allows), or one of ${
      ENGINE_NAMES.filter((e) => e !== "auto").join(", ")
    }`,
  },
  {
    key: "http",
    kind: "string",
    arg: "PORT|off",
    default: "8080",
    help: "the web page and HTTP API on this port, same --host",
  },
  {
    key: "http-max-connections",
    kind: "string",
    arg: "N",
    default: "256",
    help: "most web connections at once; more get 503",
  },
  {
    key: "http-header-timeout",
    kind: "string",
    arg: "T",
    default: "10s",
    help: "a request's head must arrive within T",
  },
  {
    key: "http-body-timeout",
    kind: "string",
    arg: "T",
    default: "10s",
    help: "its body within T",
  },
  {
    key: "http-keepalive-timeout",
    kind: "string",
    arg: "T",
    default: "5s",
    help: "close a web connection idle between requests for T",
  },
  {
    key: "http-host",
    kind: "list",
    arg: "NAME",
    help: `also accept this DNS name in the page's address (repeatable); IPs, localhost,
one-word and .local/.lan names are always accepted`,
  },
  {
    key: "token-file",
    kind: "string",
    arg: "FILE",
    help: `require the token in FILE (its first line) from every client: "auth T" over
TCP, "Authorization: Bearer T" or the sign-in form over HTTP; 5 wrong tokens
from one address lock it out for 60 s`,
  },
  {
    key: "token",
    kind: "string",
    arg: "T",
    secret: true,
    help: `the same, given inline (visible in ps: prefer --token-file or the
LEDCTL_TOKEN environment variable)`,
  },
  {
    key: "mqtt",
    kind: "string",
    arg: "URL",
    help: `join this MQTT broker: mqtt://HOST[:1883] or mqtts://HOST[:8883] (state,
commands, groups, Home Assistant discovery: docs/mqtt.md); the user may be in
the URL, the password never`,
  },
  {
    key: "mqtt-user",
    kind: "string",
    arg: "NAME",
    help: "the broker user (or the one in --mqtt's URL)",
  },
  {
    key: "mqtt-password-file",
    kind: "string",
    arg: "FILE",
    help: `the broker password: FILE's first line (or the LEDCTL_MQTT_PASSWORD
environment variable; never on the command line)`,
  },
  {
    key: "mqtt-password",
    kind: "string",
    arg: "P",
    secret: true,
    noFlag: true,
    help: "the broker password itself: only as LEDCTL_MQTT_PASSWORD or in the config file",
  },
  {
    key: "mqtt-ca",
    kind: "string",
    arg: "FILE",
    help: `trust the CA certificates (PEM) in FILE for mqtts, e.g. a private CA; the
broker's certificate is always verified (default: the system's CAs)`,
  },
  {
    key: "id",
    kind: "string",
    arg: "NAME",
    help: `this device's id on the broker: 1 to 64 of a-z, 0-9, _ and - (default: the
host name, lower case, other characters as -)`,
  },
  {
    key: "group",
    kind: "list",
    arg: "NAME",
    help: "a group this device is in, for <prefix>/group/NAME/set (repeatable)",
  },
  {
    key: "mqtt-prefix",
    kind: "string",
    arg: "P",
    default: "ledctl",
    help: "the first level of the device's topics: <prefix>/<id>/state",
  },
  {
    key: "log-level",
    kind: "string",
    arg: "L",
    default: "info",
    help: `error, warn, info (LED changes, refusals, board link) or debug (also every
connection and request)`,
  },
  {
    key: "log-format",
    kind: "string",
    arg: "F",
    default: "text",
    help: "text, or json: one object per line, for journald or a log shipper",
  },
  {
    key: "verbose",
    kind: "boolean",
    help: "the same as --log-level debug",
  },
]);

/**
 * The environment variable of an option: `LEDCTL_` and its key in capitals,
 * `-` as `_` (`idle-timeout` → `LEDCTL_IDLE_TIMEOUT`).
 *
 * @example
 * ```ts
 * import { envName } from "./serve_options.ts";
 * envName("http-host"); // "LEDCTL_HTTP_HOST"
 * ```
 */
export function envName(key: string): string {
  return `LEDCTL_${key.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * The options block of `serve --help`, from {@linkcode SERVE_OPTIONS}:
 * each option with its placeholder, its help, and its default.
 *
 * @example
 * ```ts
 * import { optionsHelp } from "./serve_options.ts";
 * console.log(optionsHelp());
 * ```
 */
export function optionsHelp(): string {
  const indent = 28;
  const out: string[] = [];
  for (const o of SERVE_OPTIONS) {
    if (o.noFlag) continue;
    const head = `  --${o.key}${o.arg ? ` ${o.arg}` : ""}`;
    const text = o.help.replaceAll("\n", " ") +
      (o.default !== undefined ? ` (default ${o.default})` : "");
    const lines = wrap(text, HELP_WIDTH - indent);
    const first = head.length < indent
      ? head.padEnd(indent) + lines[0]
      : `${head}\n${" ".repeat(indent)}${lines[0]}`;
    out.push(first, ...lines.slice(1).map((l) => " ".repeat(indent) + l));
  }
  out.push(`${"  -h, --help".padEnd(indent)}this help`);
  return out.join("\n");
}

/** The help's width in columns: it fits a terminal of 100, as the other subcommands' help. */
const HELP_WIDTH = 100;

/** Words of `text` in lines of at most `width` characters (a longer word keeps its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/ +/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}
