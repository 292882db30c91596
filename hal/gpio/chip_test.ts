import { equal, throws } from "node:assert/strict";
import { halError } from "./testing.ts";
import { chipPaths, findChip, listChips } from "./chip.ts";
import { openGpioLine } from "./mod.ts";

const noChips = chipPaths().length === 0;

Deno.test("a path that is not a GPIO chip is an io error", () => {
  throws(
    () => findChip("/dev/null", "gpio:GPIO17"),
    halError("io", /chip \/dev\/null: GPIO_GET_CHIPINFO_IOCTL .*ENOTTY/),
  );
});

Deno.test("a missing chip path is unavailable and says what exists", () => {
  throws(
    () => findChip("gpiochip99", "gpio:GPIO17"),
    halError(
      "unavailable",
      /^gpio:GPIO17: chip \/dev\/gpiochip99: open \/dev\/gpiochip99: No such file or directory \(ENOENT\); (chips here: |there is no \/dev\/gpiochip\*)/,
    ),
  );
});

Deno.test("an unknown chip label, or no Pi controller, is unavailable and says what exists", async () => {
  try {
    await openGpioLine("BOARD8", new URLSearchParams("chip=no-such-label"));
    throw new Error("should have failed");
  } catch (e) {
    halError(
      "unavailable",
      /^gpio:BOARD8: no GPIO chip labelled "no-such-label"; (chips here: |there is no \/dev\/gpiochip\* on this machine)/,
    )(e);
  }
  // An ignored test counts as a failure in CI, so branch instead of ignoring.
  if (noChips) {
    equal(listChips().chips.length, 0);
    throws(
      () => findChip(undefined, "gpio:BOARD8"),
      halError(
        "unavailable",
        /no Raspberry Pi GPIO controller \(pinctrl-bcm2835, pinctrl-bcm2711, pinctrl-rp1\); there is no \/dev\/gpiochip\* on this machine/,
      ),
    );
  } else {
    equal(listChips().chips.length + listChips().problems.length, chipPaths().length);
  }
});

Deno.test("a bad pin fails before any chip is touched", async () => {
  try {
    await openGpioLine("BOARD6", new URLSearchParams("chip=/nonexistent"));
    throw new Error("should have failed");
  } catch (e) {
    halError("unavailable", /^gpio:BOARD6: header pin 6 is ground/)(e);
  }
});
