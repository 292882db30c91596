/**
 * Run by ffi_only_test.ts with `--allow-ffi` and nothing else: detects the
 * Pi and drives GPIO17, printing what it saw as one JSON line.
 *
 * @module
 */
import { isRaspberryPi, openGpioOutput } from "../../../hal/gpio/mod.ts";

const pi = isRaspberryPi();
await using line = openGpioOutput("GPIO17", new URLSearchParams());
line.set(true);
const on = line.get();
line.set(false);
console.log(JSON.stringify({ pi, on, off: line.get(), description: line.description }));
