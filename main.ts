/**
 * ledctl: drive an LED over the network — from a Raspberry Pi's GPIO, an
 * STM32 board, or a mock. `ledctl --help` lists the subcommands.
 *
 * @example
 * ```sh
 * deno run -A main.ts serve
 * deno run -A main.ts send blink 3
 * ```
 *
 * @module
 */
import { UsageError } from "./cli/args.ts";
import { clients } from "./cli/clients.ts";
import { completions } from "./cli/completions.ts";
import { config } from "./cli/config_cmd.ts";
import { doctor } from "./cli/doctor.ts";
import { fleet } from "./cli/fleet.ts";
import { led } from "./cli/led.ts";
import { send } from "./cli/send.ts";
import { serve } from "./cli/serve.ts";
import { watch } from "./cli/watch.ts";

import { VERSION } from "./version.ts";

/** The program's version (from version.ts). */
export { VERSION };

const HELP = `ledctl ${VERSION} — drive an LED over the network

Usage: ledctl <command> [options]
       ledctl --version | --help

Commands:
  serve        start the LED server (TCP, port 10000)
  send         send one command to a server: ledctl send blink 3
  watch        print the LED's state at each change, whoever makes it
  fleet        the devices on an MQTT broker: ledctl fleet list|send|watch
  clients      the demo: N clients say hello at once and get named replies
  led          drive the LED directly: ledctl led blink 2
  doctor       check this machine: GPIO chips, pins, permissions
  config       the settings serve would use, and where each comes from
  completions  print a shell completion script: ledctl completions bash|zsh|fish
  help         help on a command: ledctl help serve

Options:
  -V, --version  print the version
  -h, --help     this help

Every command takes --help. LED URIs (--led): mock, gpio:BOARD8,
serial:/dev/ttyACM0, tcp:HOST:7000. See README.md and docs/.
`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve,
  send,
  clients,
  watch,
  fleet,
  led,
  doctor,
  config,
  completions: (args) => completions(args, { mainHelp: HELP, commands: COMMANDS }),
};

/** Runs ledctl with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h") {
    console.log(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(`ledctl ${VERSION} (deno ${Deno.version.deno})`);
    return 0;
  }
  if (name === "help") {
    const sub = rest[0];
    if (sub === undefined) {
      console.log(HELP);
      return 0;
    }
    return await main([sub, "--help"]);
  }
  const run = COMMANDS[name];
  if (!run) {
    console.error(
      `ledctl: unknown command "${name}": use one of ${
        Object.keys(COMMANDS).join(", ")
      } (ledctl --help)`,
    );
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`ledctl ${name}: ${e.message}\n(see: ledctl ${name} --help)`);
      return 2;
    }
    console.error(`ledctl ${name}: unexpected error: ${(e as Error)?.stack ?? e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
