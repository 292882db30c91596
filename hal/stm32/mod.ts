/**
 * STM32 board backends: the LED on a board running the ledctl firmware,
 * reached over its serial port (`serial:/dev/ttyACM0?baud=115200`, the
 * ST-LINK's virtual COM port) or over Ethernet (`tcp:192.168.1.50:7000`).
 * The board blinks the LED with its own timer; this side keeps the link
 * (see {@linkcode BoardLink}).
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

/** Options shared by the board links. */
export interface BoardLinkOptions {
  /** Log sink for link events. Default: stderr. */
  log?: (line: string) => void;
  /** Time source for timeouts, heartbeat and backoff. Default: the real clock. */
  clock?: Clock;
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
 * `TypeError` for a bad target and {@linkcode HalError} when the board
 * cannot be reached or does not answer.
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
  return await BoardLink.open({
    name: `${scheme}:${target}`,
    connect,
    log: options.log,
    clock: options.clock,
  });
}
