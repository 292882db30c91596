/**
 * `ledctl config`: the settings `ledctl serve` would run with, given the
 * same options, environment and config file, and where each comes from.
 *
 * @module
 */
import { parse } from "./args.ts";
import {
  describeOrigin,
  type Origin,
  type RawSetting,
  resolveServeSettings,
  type ServeSettings,
} from "./config.ts";
import { serveArgOptions } from "./serve.ts";
import { SERVE_OPTIONS } from "./serve_options.ts";

/** Help text of `ledctl config`. */
export const CONFIG_HELP = `Usage: ledctl config [serve options]

Prints the settings ledctl serve would run with — from its options, the
LEDCTL_* environment variables, the config file (--config FILE, default
/etc/ledctl/ledctl.toml when it exists) and the defaults, in that order of
precedence — and where each one comes from. The output is itself a valid
config file. A bad setting is reported with its file and line (exit 2).
Secrets (the token) are never printed.

Options: every option of ledctl serve (ledctl serve --help), and
  -h, --help    this help

Examples:
  ledctl config
  ledctl config --config ./ledctl.toml
  LEDCTL_PORT=10001 ledctl config
`;

/**
 * Runs `ledctl config`; returns the exit code.
 *
 * @example
 * ```ts
 * import { config } from "./config_cmd.ts";
 * await config(["--port", "10001"]);
 * ```
 */
export async function config(args: string[]): Promise<number> {
  const { values } = parse(args, serveArgOptions());
  if (values.help) {
    console.log(CONFIG_HELP);
    return 0;
  }
  const { settings, raw } = await resolveServeSettings(
    values as Record<string, string | boolean | string[] | undefined>,
  );
  console.log(formatSettings(settings, raw));
  return 0;
}

/**
 * The settings as a config file, each line commented with its source.
 *
 * @example
 * ```ts
 * import { formatSettings } from "./config_cmd.ts";
 * import { resolveServeSettings } from "./config.ts";
 * const { settings, raw } = await resolveServeSettings({ config: "none" });
 * console.log(formatSettings(settings, raw));
 * ```
 */
export function formatSettings(settings: ServeSettings, raw: Map<string, RawSetting>): string {
  const out = [
    "# ledctl serve's settings: flags > LEDCTL_* variables > config file > defaults",
    settings.configPath === undefined
      ? "# config file: none"
      : `# config file: ${settings.configPath}`,
  ];
  const rows: [string, string][] = [];
  for (const o of SERVE_OPTIONS) {
    if (o.notInFile) continue;
    const r = raw.get(o.key);
    if (o.secret) {
      if (r) rows.push([`# ${o.key} = (set, not shown)`, source(o.key, r.origin)]);
      continue;
    }
    let value = r?.value;
    let origin = r ? source(o.key, r.origin) : "default";
    if (o.key === "led" && value === undefined) {
      value = settings.ledUri;
      origin = "default on this machine";
    }
    if (o.key === "state-file" && value === undefined) {
      value = settings.stateFile ?? "off";
      origin = settings.stateFile ? "default (from the environment)" : "default: no home directory";
    }
    if (value === undefined) {
      rows.push([`# ${o.key} =`, "not set"]);
      continue;
    }
    rows.push([`${o.key} = ${tomlValue(value, o.key)}`, origin]);
  }
  const width = Math.min(60, Math.max(...rows.map(([l]) => l.length)) + 2);
  for (const [line, origin] of rows) out.push(`${line.padEnd(width)}# ${origin}`);
  return out.join("\n");
}

/** Where a value came from, in a few words: `--port`, `LEDCTL_PORT`, `/etc/…:3`, `default`. */
function source(key: string, origin: Origin): string {
  if (origin.kind === "default") return "default";
  if (origin.kind === "file") return `${origin.path}:${origin.line}`;
  return describeOrigin(key, origin);
}

/** A value written back as TOML: numbers bare, text quoted, lists as arrays. */
function tomlValue(v: string | boolean | string[], key: string): string {
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
  if (/^\d+$/.test(v) && !["host", "led"].includes(key)) return v;
  return JSON.stringify(v);
}
