/**
 * STM32 board backends: the LED on a board running the ledctl firmware,
 * reached over its serial port (`serial:/dev/ttyACM0?baud=115200`, the
 * ST-LINK's virtual COM port) or over Ethernet (`tcp:192.168.1.50:7000`).
 * The board blinks the LED with its own timer; this side keeps the link
 * (see {@linkcode BoardLink}).
 *
 * The heartbeat (`status` every 3 s) can be changed with the environment
 * variable `LEDCTL_STM32_HEARTBEAT_MS` (100 to 9000; the firmware drops a
 * TCP client silent for 10 s). The end-to-end tests lengthen it so that only
 * the re-apply on reconnection can restore the board's state in their window.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { LedDriver } from "../types.ts";
import { BoardLink } from "./link.ts";
import type { Connector } from "./port.ts";
import { openSerial, parseBaud } from "./serial.ts";
import { connectTcp, parseTcpTarget } from "./tcp.ts";

/** How long a TCP connection attempt may take, ms. */
export const CONNECT_TIMEOUT_MS = 3000;

/** The environment variable that sets the heartbeat interval, ms. */
export const HEARTBEAT_ENV = "LEDCTL_STM32_HEARTBEAT_MS";
/** The heartbeat interval when {@linkcode HEARTBEAT_ENV} is not set, ms. */
export const DEFAULT_HEARTBEAT_MS = 3000;
/** The longest heartbeat interval allowed: under the firmware's 10 s idle timeout. */
export const MAX_HEARTBEAT_MS = 9000;

/**
 * The heartbeat interval from {@linkcode HEARTBEAT_ENV}, read with `getEnv`
 * (default: the process environment; unset, or no permission to read it,
 * gives {@linkcode DEFAULT_HEARTBEAT_MS}). Throws `TypeError` for a value
 * that is not a whole number of ms from 100 to {@linkcode MAX_HEARTBEAT_MS}.
 *
 * @example
 * ```ts
 * import { heartbeatFromEnv } from "./mod.ts";
 * heartbeatFromEnv(() => "5000"); // 5000
 * heartbeatFromEnv(() => undefined); // 3000
 * ```
 */
export function heartbeatFromEnv(
  getEnv: (name: string) => string | undefined = readEnv,
): number {
  const raw = getEnv(HEARTBEAT_ENV);
  if (raw === undefined || raw === "") return DEFAULT_HEARTBEAT_MS;
  const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(ms >= 100 && ms <= MAX_HEARTBEAT_MS)) {
    throw new TypeError(
      `${HEARTBEAT_ENV}=${JSON.stringify(raw)}: want a whole number of ms from 100 to ` +
        `${MAX_HEARTBEAT_MS} (the firmware drops a client silent for 10 s)`,
    );
  }
  return ms;
}

function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Options shared by the board links. */
export interface BoardLinkOptions {
  /** Log sink for link events. Default: stderr. */
  log?: (line: string) => void;
  /** Time source for timeouts, heartbeat and backoff. Default: the real clock. */
  clock?: Clock;
  /** Pause between heartbeats, ms. Default: {@linkcode heartbeatFromEnv}. */
  heartbeatMs?: number;
}

/**
 * The {@linkcode Connector} for a `serial:` or `tcp:` target. Throws
 * `TypeError` for a malformed target or option.
 *
 * @example
 * ```ts
 * import { boardConnector } from "./mod.ts";
 * const connect = boardConnector("tcp", "192.168.1.50:7000", new URLSearchParams());
 * ```
 */
export function boardConnector(
  scheme: "serial" | "tcp",
  target: string,
  params: URLSearchParams,
): Connector {
  if (scheme === "serial") {
    const baud = parseBaud(params);
    return () => openSerial(target, baud);
  }
  const { host, port } = parseTcpTarget(target);
  return () => connectTcp(host, port, CONNECT_TIMEOUT_MS);
}

/**
 * Opens `serial:<device>?baud=N` or `tcp:<host>:<port>` as a LED driver:
 * connects, checks the board answers, turns its LED off. Rejects with
 * `TypeError` for a bad target or heartbeat setting and
 * {@linkcode HalError} when the board cannot be reached or does not answer.
 *
 * @example
 * ```ts
 * import { openBoardLink } from "./mod.ts";
 * await using led = await openBoardLink("serial", "/dev/ttyACM0", new URLSearchParams("baud=115200"));
 * await led.apply({ mode: "blink", hz: 3 });
 * ```
 */
export async function openBoardLink(
  scheme: "serial" | "tcp",
  target: string,
  params: URLSearchParams,
  options: BoardLinkOptions = {},
): Promise<LedDriver> {
  const connect = boardConnector(scheme, target, params);
  const heartbeatMs = options.heartbeatMs ?? heartbeatFromEnv();
  return await BoardLink.open({
    name: `${scheme}:${target}`,
    connect,
    log: options.log,
    clock: options.clock,
    heartbeatMs,
  });
}
