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
