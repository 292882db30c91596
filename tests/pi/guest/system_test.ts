/**
 * The chip and board discovery against the machine's own /dev and
 * /proc/device-tree: the hardware half of hal/gpio/chip_test.ts and
 * board_test.ts, whose other tests run on a fake tree anywhere. These need
 * a GPIO chip (or a device tree) and say so in their names; where there is
 * none they are reported as ignored. They live here, not in hal/gpio/, so
 * that CI runs them (on the emulated Pi) instead of counting them as
 * skipped on a host without GPIO.
 */
import { assert, assertEquals } from "./assert.ts";
import { boardModel } from "../../../hal/gpio/board.ts";
import { chipPaths, findChip, listChips, PI_CHIP_LABELS } from "../../../hal/gpio/chip.ts";
import { isRaspberryPi, REAL_SYSTEM } from "../../../hal/gpio/mod.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const hasChip = [...Deno.readDirSync("/dev")].some((e) => /^gpiochip\d+$/.test(e.name));
const hasDeviceTree = exists("/proc/device-tree/model");

Deno.test({
  name: "every /dev/gpiochip* node is listed as a chip or a problem (needs a GPIO chip)",
  ignore: !hasChip,
  fn() {
    const nodes = [...Deno.readDirSync("/dev")]
      .map((e) => e.name)
      .filter((n) => /^gpiochip\d+$/.test(n))
      .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
      .map((n) => `/dev/${n}`);
    assertEquals(chipPaths(), nodes);
    const { chips, problems } = listChips();
    assertEquals([...chips, ...problems].map((c) => c.path).sort(), [...nodes].sort());
    for (const c of chips) assert(c.lines > 0 && c.label !== "", `${c.path}: ${c.label}`);
    assertEquals(listChips(REAL_SYSTEM), { chips, problems }, "the default is the real system");
    if (isRaspberryPi()) assert(PI_CHIP_LABELS.includes(findChip(undefined, "test").label));
  },
});

Deno.test({
  name: "the board model is /proc/device-tree/model without its NUL (needs a device tree)",
  ignore: !hasDeviceTree,
  fn() {
    const model = Deno.readTextFileSync("/proc/device-tree/model").replace(/\0+$/, "");
    assertEquals(boardModel(), model);
    assertEquals(isRaspberryPi(), model.startsWith("Raspberry Pi"));
  },
});
