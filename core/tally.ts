/**
 * The counts behind `/metrics`, as plain numbers by key: requests by
 * transport, verb and result, `ERR` lines the server sent unasked, LED
 * changes, watchers. The {@linkcode LedControl} keeps them (its `tally`),
 * so that a TCP engine running in a worker can send its counts to the main
 * thread's service in batches, as it does the client count. Rendering them
 * is `server/metrics.ts`'s business.
 *
 * Every key is built from fixed sets (transports, the protocol's verbs,
 * its error codes, LED modes), never from what a client sent: the number
 * of keys, and so of metric series, is bounded.
 *
 * @module
 */
import type { Command, Rejection } from "../protocol/command.ts";
import type { ErrorCode } from "../protocol/reply.ts";
import type { LedState } from "./state.ts";
import type { Outcome } from "./commands.ts";
import type { LedControl } from "./led_service.ts";

/** Where a request came from. */
export type Transport = "tcp" | "http" | "mqtt";

/** A request's verb as counted: the protocol's verbs, `invalid` for a line that is none. */
export type CountedVerb = Command["verb"] | "invalid";

/**
 * The verbs a request is counted under.
 *
 * @example
 * ```ts
 * import { COUNTED_VERBS } from "./tally.ts";
 * COUNTED_VERBS.includes("blink"); // true
 * ```
 */
export const COUNTED_VERBS: readonly CountedVerb[] = [
  "blink",
  "on",
  "off",
  "status",
  "hello",
  "help",
  "watch",
  "quit",
  "auth",
  "invalid",
];

/**
 * The key counting requests of `verb` over `transport` that got `result`
 * (`ok` or the `ERR` code).
 *
 * @example
 * ```ts
 * import { requestKey } from "./tally.ts";
 * requestKey("tcp", "blink", "ok"); // "request tcp blink ok"
 * ```
 */
export function requestKey(
  transport: Transport,
  verb: CountedVerb,
  result: "ok" | ErrorCode,
): string {
  return `request ${transport} ${verb} ${result}`;
}

/**
 * The key counting `ERR <code>` lines sent outside any request (`busy` to
 * a client over the limit, `idle-timeout`).
 *
 * @example
 * ```ts
 * import { errorKey } from "./tally.ts";
 * errorKey("busy"); // "error busy"
 * ```
 */
export function errorKey(code: ErrorCode): string {
  return `error ${code}`;
}

/**
 * The key counting changes of the LED to `mode`.
 *
 * @example
 * ```ts
 * import { changeKey } from "./tally.ts";
 * changeKey("blink"); // "change blink"
 * ```
 */
export function changeKey(mode: LedState["mode"]): string {
  return `change ${mode}`;
}

/** The key of the watchers gauge: +1 when a connection starts watching, −1 when it ends. */
export const WATCHERS_KEY = "watchers";

/**
 * A key taken apart.
 *
 * @example
 * ```ts
 * import { parseKey } from "./tally.ts";
 * parseKey("request http on ok"); // { kind: "request", transport: "http", verb: "on", result: "ok" }
 * ```
 */
export function parseKey(
  key: string,
):
  | { kind: "request"; transport: string; verb: string; result: string }
  | { kind: "error"; code: string }
  | { kind: "change"; mode: string }
  | { kind: "watchers" }
  | undefined {
  const w = key.split(" ");
  if (w[0] === "request" && w.length === 4) {
    return { kind: "request", transport: w[1], verb: w[2], result: w[3] };
  }
  if (w[0] === "error" && w.length === 2) return { kind: "error", code: w[1] };
  if (w[0] === "change" && w.length === 2) return { kind: "change", mode: w[1] };
  if (key === WATCHERS_KEY) return { kind: "watchers" };
  return undefined;
}

/**
 * Counts one request's outcome on `service` once it is known (at once, or
 * when the promise settles).
 *
 * @example
 * ```ts
 * import { countOutcome } from "./tally.ts";
 * import { execute } from "./commands.ts";
 * // const o = execute(cmd, service, client); countOutcome(service, "tcp", cmd, o);
 * ```
 */
export function countOutcome(
  service: Pick<LedControl, "tally">,
  transport: Transport,
  cmd: Command | Rejection | undefined,
  outcome: Outcome | Promise<Outcome>,
): void {
  const verb: CountedVerb = cmd === undefined || cmd.verb === "error" ? "invalid" : cmd.verb;
  const count = (o: Outcome) =>
    service.tally(requestKey(transport, verb, o.ok ? "ok" : o.code ?? "bad-argument"));
  if (outcome instanceof Promise) outcome.then(count, () => {});
  else count(outcome);
}
