import { equal } from "node:assert/strict";
import { boardModel, isPi5Model, isRaspberryPiModel } from "./board.ts";
import { FakeGpio } from "./fake_gpio.ts";
import { isRaspberryPi } from "./mod.ts";

// The device tree is a fake one in a temporary directory (fake_gpio.ts); the
// same check on the machine's own /proc/device-tree is in
// tests/pi/guest/system_test.ts, which the emulated Pi runs.

Deno.test("Raspberry Pi models are recognised from the device-tree model", () => {
  equal(isRaspberryPiModel("Raspberry Pi 3 Model B Rev 1.2"), true);
  equal(isRaspberryPiModel("Raspberry Pi 5 Model B Rev 1.0"), true);
  equal(isRaspberryPiModel("Raspberry Pi Zero 2 W Rev 1.0"), true);
  equal(isRaspberryPiModel("Pine64 RockPro64 v2.1"), false);
  equal(isRaspberryPiModel(undefined), false);
  equal(isPi5Model("Raspberry Pi 5 Model B Rev 1.0"), true);
  equal(isPi5Model("Raspberry Pi Compute Module 5 Rev 1.0"), true);
  equal(isPi5Model("Raspberry Pi 500 Rev 1.0"), true);
  equal(isPi5Model("Raspberry Pi 4 Model B Rev 1.4"), false);
  equal(isPi5Model("Raspberry Pi 3 Model B Rev 1.2"), false);
});

Deno.test("the board model is read from <device tree>/model without its NUL", () => {
  using pi = FakeGpio.create({ model: "Raspberry Pi 3 Model B Rev 1.2" });
  equal(boardModel(pi.system.deviceTree), "Raspberry Pi 3 Model B Rev 1.2");
  equal(isRaspberryPi(pi.system), true);
});

Deno.test("another board, or no device tree, is not a Raspberry Pi", () => {
  using pine = FakeGpio.create({ model: "Pine64 RockPro64 v2.1" });
  equal(boardModel(pine.system.deviceTree), "Pine64 RockPro64 v2.1");
  equal(isRaspberryPi(pine.system), false);
  using pc = FakeGpio.create();
  equal(boardModel(pc.system.deviceTree), undefined);
  equal(isRaspberryPi(pc.system), false);
  using blank = FakeGpio.create({ model: "" });
  equal(boardModel(blank.system.deviceTree), undefined, "an empty model is no model");
});
