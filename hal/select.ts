/**
 * Backend selection: `--led <uri>` to a {@linkcode LedDriver}.
 *
 * | URI | backend |
 * |---|---|
 * | `mock`, `mock?trace=PATH` | recording mock line, software blink |
 * | `gpio:BOARD8`, `gpio:GPIO17?chip=pinctrl-bcm2835&active-low` | Raspberry Pi GPIO line, software blink |
 * | `serial:/dev/ttyACM0?baud=115200` | STM32 board over its serial port, board blinks |
 * | `tcp:192.168.1.50:7000` | STM32 board over Ethernet, board blinks |
 *
 * @module
 */
import { SoftwareBlinker } from "./blinker.ts";
import type { Clock } from "./clock.ts";
import { isRaspberryPi, openGpioLine } from "./gpio/mod.ts";
import { MockLine } from "./mock.ts";
import { openBoardLink } from "./stm32/mod.ts";
import type { HalError, LedDriver } from "./types.ts";

/** The URI schemes `--led` accepts. */
export const SCHEMES = ["mock", "gpio", "serial", "tcp"] as const;

/** A split `--led` URI. */
export interface LedUri {
  /** The backend: one of {@linkcode SCHEMES}. */
  readonly scheme: (typeof SCHEMES)[number];
  /** What follows `scheme:` up to `?` (pin, device, host:port); may be empty. */
  readonly target: string;
  /** The options after `?`, e.g. `trace`, `chip`, `active-low`, `baud`. */
  readonly params: URLSearchParams;
}

const EXAMPLES = "mock, mock?trace=/tmp/led.trace, gpio:BOARD8, gpio:GPIO17?active-low, " +
  "serial:/dev/ttyACM0?baud=115200, tcp:192.168.1.50:7000";

/**
 * Splits and checks a `--led` URI. Throws `TypeError` naming the valid forms.
 *
 * @example
 * ```ts
 * import { parseLedUri } from "./select.ts";
 * parseLedUri("gpio:BOARD8?active-low").params.has("active-low"); // true
 * ```
 */
export function parseLedUri(uri: string): LedUri {
  const q = uri.indexOf("?");
  const head = q === -1 ? uri : uri.slice(0, q);
  const params = new URLSearchParams(q === -1 ? "" : uri.slice(q + 1));
  const colon = head.indexOf(":");
  const scheme = (colon === -1 ? head : head.slice(0, colon)).toLowerCase();
  const target = colon === -1 ? "" : head.slice(colon + 1);
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new TypeError(
      `unknown LED backend "${scheme}" in --led ${JSON.stringify(uri)}: ` +
        `use one of ${SCHEMES.join(", ")} (e.g. ${EXAMPLES})`,
    );
  }
  const s = scheme as LedUri["scheme"];
  if (s !== "mock" && target === "") {
    const what = {
      gpio: "a pin, e.g. gpio:BOARD8",
      serial: "a device, e.g. serial:/dev/ttyACM0",
      tcp: "host:port, e.g. tcp:192.168.1.50:7000",
    }[s];
    throw new TypeError(`--led ${JSON.stringify(uri)} needs ${what}`);
  }
  if (s === "mock" && target !== "") {
    throw new TypeError(
      `--led mock takes no target, got ${JSON.stringify(uri)} (did you mean mock?trace=${target}?)`,
    );
  }
  const allowed: Record<LedUri["scheme"], string[]> = {
    mock: ["trace"],
    gpio: ["chip", "active-low"],
    serial: ["baud"],
    tcp: [],
  };
  for (const key of params.keys()) {
    if (!allowed[s].includes(key)) {
      const valid = allowed[s].length ? allowed[s].join(", ") : "none";
      throw new TypeError(`--led ${s}: unknown option "${key}" (valid: ${valid})`);
    }
  }
  return { scheme: s, target, params };
}

/**
 * The default backend: `gpio:BOARD8` on a Raspberry Pi, `mock` elsewhere.
 *
 * @example
 * ```ts
 * import { defaultLedUri } from "./select.ts";
 * defaultLedUri(); // "mock" on a PC
 * ```
 */
export function defaultLedUri(): string {
  return isRaspberryPi() ? "gpio:BOARD8" : "mock";
}

/** Options for {@linkcode openLed}. */
export interface OpenLedOptions {
  /** Clock for the software blinker and mock. Default: the real one. */
  clock?: Clock;
  /** Called with each mock level, to draw it. Default: none. */
  draw?: (level: boolean) => void;
  /** Called when the LED fails while blinking. Default: log to stderr. */
  onFault?: (error: HalError) => void;
  /** Log sink for board link events. Default: stderr. */
  log?: (line: string) => void;
}

/**
 * Opens the LED named by `uri`. Rejects with `TypeError` for a bad URI and
 * {@linkcode HalError} when the hardware cannot be had.
 *
 * @example
 * ```ts
 * import { openLed } from "./select.ts";
 * await using led = await openLed("mock?trace=/tmp/led.trace");
 * await led.apply({ mode: "on" });
 * ```
 */
export async function openLed(uri: string, options: OpenLedOptions = {}): Promise<LedDriver> {
  const { scheme, target, params } = parseLedUri(uri);
  switch (scheme) {
    case "mock": {
      const line = new MockLine({
        clock: options.clock,
        tracePath: params.get("trace") ?? undefined,
        draw: options.draw,
      });
      return new SoftwareBlinker(line, { clock: options.clock, onFault: options.onFault });
    }
    case "gpio": {
      const line = await openGpioLine(target, params);
      try {
        return new SoftwareBlinker(line, { clock: options.clock, onFault: options.onFault });
      } catch (e) {
        await line[Symbol.asyncDispose]();
        throw e;
      }
    }
    case "serial":
    case "tcp":
      return await openBoardLink(scheme, target, params, { log: options.log });
  }
}
