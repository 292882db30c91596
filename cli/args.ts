/**
 * Argument helpers shared by the subcommands: parsing with clear errors,
 * host and port checks, usage errors.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { openLed, type OpenLedOptions } from "../hal/select.ts";
import { HalError, type LedDriver } from "../hal/types.ts";

/** A mistake on the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  /** Makes a UsageError. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses `args` strictly; unknown options become a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * import { parse } from "./args.ts";
 * const { values } = parse(["--port", "9"], { port: { type: "string" } });
 * ```
 */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, "."));
  }
}

/** Checks a TCP port: a whole number 0–65535 (`allowZero`) or 1–65535. */
export function parsePort(text: string, option = "--port", allowZero = false): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  const min = allowZero ? 0 : 1;
  if (!(n >= min && n <= 65535)) {
    throw new UsageError(
      `${option} "${text}" is not a port: use a whole number from ${min} to 65535`,
    );
  }
  return n;
}

/** Checks a positive whole number option. */
export function parseCount(text: string, option: string, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new UsageError(`${option} "${text}" must be a whole number from 1 to ${max}`);
  }
  return n;
}

/** Checks a host name or address (no spaces, no scheme, no port). */
export function parseHost(text: string, option = "--host"): string {
  if (!/^[A-Za-z0-9.:_\[\]-]+$/.test(text) || text.includes("//")) {
    throw new UsageError(
      `${option} "${text}" is not a host name or IP address (e.g. 127.0.0.1, 0.0.0.0, raspberrypi.local)`,
    );
  }
  return text.replace(/^\[(.*)\]$/, "$1");
}

/**
 * Opens the LED for a subcommand: a bad URI becomes a {@linkcode UsageError}
 * (exit 2); a hardware fault is printed as one line and gives `undefined`
 * (the caller exits 1).
 *
 * @example
 * ```ts
 * import { openLedForCli } from "./args.ts";
 * const led = await openLedForCli("led", "mock");
 * if (!led) Deno.exit(1);
 * ```
 */
export async function openLedForCli(
  command: string,
  uri: string,
  options: OpenLedOptions = {},
): Promise<LedDriver | undefined> {
  try {
    return await openLed(uri, options);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message);
    if (e instanceof HalError) {
      console.error(`ledctl ${command}: cannot open the LED (${e.kind}): ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

/**
 * Parses `args` as `[options…] <command…>`: the options before the first
 * word that is not one (or after `--`), strictly, as {@linkcode parse}
 * does; from that word on, every word is the command's, even one that
 * looks like an option (`blink -1`).
 *
 * @example
 * ```ts
 * import { parseUntilCommand } from "./args.ts";
 * const { values, command } = parseUntilCommand(["--port", "9", "blink", "-1"], {
 *   port: { type: "string" },
 * });
 * // values.port === "9", command: ["blink", "-1"]
 * ```
 */
export function parseUntilCommand<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== "string") continue;
    takesValue.add(`--${name}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  let i = 0;
  while (i < args.length) {
    const a = args[i];
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") break;
    i += takesValue.has(a) ? 2 : 1;
  }
  const head = args.slice(0, Math.min(i, args.length));
  const command = args[i] === "--" ? args.slice(i + 1) : args.slice(i);
  const { values } = parse(head, options);
  return { values, command };
}

/** The token options every client subcommand takes; see {@linkcode clientToken}. */
export const TOKEN_OPTIONS = {
  token: { type: "string" },
  "token-file": { type: "string" },
} as const;

/** Help lines for {@linkcode TOKEN_OPTIONS}, aligned as the subcommands' help is. */
export const TOKEN_HELP =
  `  --token-file F  authenticate first with the token in F (its first line), for a
                  server started with a token; also LEDCTL_TOKEN
  --token T       the same, given inline (visible in ps: prefer --token-file or
                  LEDCTL_TOKEN)`;

/**
 * The token in `file`: its first line, surrounding whitespace dropped. An
 * unreadable file is a {@linkcode UsageError} naming it.
 *
 * @example
 * ```ts
 * import { readTokenFile } from "./args.ts";
 * await readTokenFile("/etc/ledctl/token");
 * ```
 */
export async function readTokenFile(file: string): Promise<string> {
  try {
    return (await Deno.readTextFile(file)).split("\n")[0].trim();
  } catch (e) {
    throw new UsageError(`cannot read --token-file ${file}: ${(e as Error).message}`);
  }
}

/**
 * The token a client subcommand authenticates with: `--token`, else the
 * first line of `--token-file`, else `LEDCTL_TOKEN`, else none. Throws a
 * {@linkcode UsageError} for both options at once, an unreadable file, or a
 * token with spaces.
 *
 * @example
 * ```ts
 * import { clientToken } from "./args.ts";
 * await clientToken({ token: "s3cret-token" }); // "s3cret-token"
 * ```
 */
export async function clientToken(
  values: { token?: string; "token-file"?: string },
): Promise<string | undefined> {
  const inline = values.token;
  const file = values["token-file"];
  if (inline !== undefined && file !== undefined) {
    throw new UsageError("give --token or --token-file, not both");
  }
  let token = inline;
  let from = "--token";
  if (file !== undefined) {
    token = await readTokenFile(file);
    from = `the token in ${file} (its first line)`;
  } else if (token === undefined) {
    token = Deno.env.get("LEDCTL_TOKEN") || undefined;
    from = "LEDCTL_TOKEN";
  }
  if (token !== undefined && (token === "" || /\s/.test(token))) {
    throw new UsageError(`${from} is not a token: a token is one word, without spaces`);
  }
  return token;
}

/**
 * True when a server's first line is an HTTP status line: the client was
 * pointed at a web port (ledctl's own, or another web server's).
 *
 * @example
 * ```ts
 * import { isHttpAnswer } from "./args.ts";
 * isHttpAnswer("HTTP/1.1 400 Bad Request"); // true
 * ```
 */
export function isHttpAnswer(line: string): boolean {
  return /^HTTP\/\d/.test(line);
}

/**
 * What to say when `host:port` answered in HTTP.
 *
 * @example
 * ```ts
 * import { httpAnswerMessage } from "./args.ts";
 * httpAnswerMessage("127.0.0.1", 8080);
 * ```
 */
export function httpAnswerMessage(host: string, port: number): string {
  return `${host}:${port} answered in HTTP: that is ledctl's web port (or another web ` +
    `server), not its TCP port, which is 10000 unless serve was given --port; ` +
    `use --port with that one`;
}
