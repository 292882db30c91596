/**
 * `GET /healthz`: whether ledctl can drive its LED right now, for a
 * monitor or a service manager. 200 while it can; 503 while the board link
 * is down (the LED does not follow requests until it is back). The body
 * says the LED's state, the link's, and why when it is unhealthy:
 *
 * ```json
 * {"ok":false,"status":"board link down","why":"heartbeat: no reply to \"status\" within 2000 ms",
 *  "state":{"mode":"blink","hz":3},"text":"blink 3 Hz","led":"serial:/dev/ttyACM0",
 *  "link":{"up":false,"reconnects":0,"reason":"heartbeat: no reply to \"status\" within 2000 ms"}}
 * ```
 *
 * `link` is `null` for a LED without a board link (mock, GPIO): always
 * reachable.
 *
 * @module
 */
import type { LedService } from "../../core/led_service.ts";
import type { LinkStatus } from "../../hal/types.ts";
import type { LedState } from "../../core/state.ts";
import { stateJson } from "./sse.ts";

/** The JSON `/healthz` answers with. */
export interface HealthBody {
  /** True when the LED can be driven now (status 200). */
  readonly ok: boolean;
  /** `ok` or `board link down`. */
  readonly status: "ok" | "board link down";
  /** Why it is not ok; absent when it is. */
  readonly why?: string;
  /** The LED's state (the last one asked for: the board gets it once back). */
  readonly state: LedState;
  /** `state` as the protocol writes it, e.g. `blink 2.5 Hz`. */
  readonly text: string;
  /** The driver, e.g. `mock` or `serial:/dev/ttyACM0`. */
  readonly led: string;
  /** The board link; `null` for a LED without one. */
  readonly link: LinkStatus | null;
}

/**
 * The health of `service`: the HTTP status (200 or 503) and the body.
 *
 * @example
 * ```ts
 * import { health } from "./health.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * health(service); // { status: 200, body: { ok: true, status: "ok", text: "off", led: "mock", link: null, … } }
 * await service.close();
 * ```
 */
export function health(service: LedService): { status: 200 | 503; body: HealthBody } {
  const link = service.link;
  const common = {
    ...stateJson(service.state),
    led: service.description,
    link: link ? { ...link } : null,
  } as Pick<HealthBody, "state" | "text" | "led" | "link">;
  if (link && !link.up) {
    const why = link.reason || "the board does not answer";
    return { status: 503, body: { ok: false, status: "board link down", why, ...common } };
  }
  return { status: 200, body: { ok: true, status: "ok", ...common } };
}
