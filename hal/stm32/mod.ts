/**
 * STM32 board backends (serial and TCP link to the firmware's listener).
 * Placeholder until the link lands: opening reports "unavailable".
 *
 * @module
 */
import { HalError, type LedDriver } from "../types.ts";

/** Options shared by the board links. */
export interface BoardLinkOptions {
  /** Log sink for link events. Default: stderr. */
  log?: (line: string) => void;
}

/** Opens `serial:<device>?baud=N` or `tcp:<host>:<port>` as a LED driver. */
export function openBoardLink(
  scheme: "serial" | "tcp",
  target: string,
  _params: URLSearchParams,
  _options: BoardLinkOptions = {},
): Promise<LedDriver> {
  return Promise.reject(
    new HalError("unavailable", `${scheme}:${target}: the STM32 link is not built yet`),
  );
}
