import { equal } from "node:assert/strict";
import { boardModel, isPi5Model, isRaspberryPiModel } from "./board.ts";
import { isRaspberryPi } from "./mod.ts";

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

const hasDeviceTree = (() => {
  try {
    Deno.statSync("/proc/device-tree/model");
    return true;
  } catch {
    return false;
  }
})();

// One test for both kinds of machine: an ignored test counts as a failure in CI.
Deno.test("isRaspberryPi agrees with the device-tree model, false without one", () => {
  if (!hasDeviceTree) {
    equal(boardModel(), undefined);
    equal(isRaspberryPi(), false);
    return;
  }
  const model = Deno.readTextFileSync("/proc/device-tree/model").replace(/\0+$/, "");
  equal(boardModel(), model);
  equal(isRaspberryPi(), model.startsWith("Raspberry Pi"));
});
