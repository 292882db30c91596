/**
 * `ledctl led`: drives the LED directly, no server.
 *
 * @module
 */
import { openLedForCli, parse, UsageError } from "./args.ts";
import { Terminal } from "./term.ts";
import { SafetyNet } from "./safety.ts";
import { parseCommand } from "../protocol/command.ts";
import { defaultLedUri } from "../hal/select.ts";
import { HalError } from "../hal/types.ts";
import { formatState, LED_OFF, type LedState, stateFor } from "../core/state.ts";

/** Help text of `ledctl led`. */
export const LED_HELP = `Usage: ledctl led [--led URI] <blink HZ | on | off>

Drives the LED directly, without a server. "blink" and "on" stay in the
foreground until Ctrl-C (releasing the pin would let the LED float), then
turn the LED off. "off" turns it off and exits. French words work too
(clignote 2,5 · allume · eteindre).

Options:
  --led URI       the LED (default: gpio:BOARD8 on a Raspberry Pi, mock elsewhere)
  -h, --help      this help

Examples:
  ledctl led blink 2.5
  ledctl led --led gpio:GPIO17 on
`;

/** The LED's commands, printed by `ledctl led help` and named by its errors. */
export const LED_COMMANDS = `ledctl led commands:
  blink HZ        blink at HZ full cycles per second, 0.05 to 500 (2.5, 2,5 or 2.5 Hz)
  on              light it
  off             turn it off
French: clignote HZ, allume, eteindre (éteindre, eteins, eteind).
Options and examples: ledctl led --help
`;

/**
 * Applies the state in `args` until interrupted; returns the exit code.
 *
 * @example
 * ```ts
 * import { led } from "./led.ts";
 * await led(["off"]);
 * ```
 */
export async function led(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { led: { type: "string" } }, true);
  if (values.help) {
    console.log(LED_HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw new UsageError('say what the LED should do: "blink 2", "on" or "off"');
  }
  const cmd = parseCommand(positionals.join(" "));
  if (cmd.verb === "help") {
    console.log(LED_COMMANDS);
    return 0;
  }
  if (cmd.verb === "error" && cmd.code === "unknown-command") {
    // The server's "(try: help)" names its own help; say the LED's commands here.
    const what = cmd.text.replace(/ \(try: help\)$/, "");
    throw new UsageError(
      `${what} is not an LED command: use blink HZ, on or off (clignote HZ, allume, eteindre; ledctl led help)`,
    );
  }
  if (cmd.verb === "error") throw new UsageError(cmd.text);
  const state: LedState | undefined = stateFor(cmd);
  if (state === undefined) {
    throw new UsageError(
      `"${cmd.verb}" is a server command; ledctl led takes blink HZ, on or off`,
    );
  }

  const term = new Terminal({ timestamps: false });
  const uri = values.led ?? defaultLedUri();
  const driver = await openLedForCli("led", uri, {
    draw: (level) =>
      term.status(
        `${level ? term.paint("●", "green") : term.paint("○", "dim")} LED ${
          formatState(state)
        } (Ctrl-C to stop)`,
      ),
  });
  if (!driver) return 1;
  // Before the LED is lit: whatever ends the process turns it off first.
  using net = new SafetyNet({
    command: "led",
    ledOff: async () => {
      await driver.apply(LED_OFF).catch(() => {});
      await driver[Symbol.asyncDispose]();
    },
  });
  let code = 0;
  try {
    await driver.apply(state);
    if (state.mode !== "off") {
      if (!term.live) {
        console.log(`LED ${formatState(state)} · ${driver.description} · Ctrl-C to stop`);
      }
      await net.signal;
    }
  } catch (e) {
    if (!(e instanceof HalError)) throw e;
    console.error(`ledctl led: ${e.message}`);
    code = 1;
  } finally {
    if (state.mode === "off") await driver[Symbol.asyncDispose]();
    else await net.turnLedOff();
    term.end();
    await term.flush(1_000);
  }
  if (state.mode !== "off") console.log("LED off");
  return code;
}
