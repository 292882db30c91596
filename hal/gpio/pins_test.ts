import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { HalError } from "../types.ts";
import { GROUND_PINS, HEADER, parsePin, pinLabel, validPinsText } from "./pins.ts";

// The 40-pin header, physical pin → function, as printed on pinout cards.
const PINOUT = `
 1 3V3     2 5V
 3 GPIO2   4 5V
 5 GPIO3   6 GND
 7 GPIO4   8 GPIO14
 9 GND    10 GPIO15
11 GPIO17 12 GPIO18
13 GPIO27 14 GND
15 GPIO22 16 GPIO23
17 3V3    18 GPIO24
19 GPIO10 20 GND
21 GPIO9  22 GPIO25
23 GPIO11 24 GPIO8
25 GND    26 GPIO7
27 GPIO0  28 GPIO1
29 GPIO5  30 GND
31 GPIO6  32 GPIO12
33 GPIO13 34 GND
35 GPIO19 36 GPIO16
37 GPIO26 38 GPIO20
39 GND    40 GPIO21`;

const card = new Map<number, string>();
for (const m of PINOUT.matchAll(/(\d+) (\w+)/g)) card.set(Number(m[1]), m[2]);

Deno.test("the BOARD map matches the header pinout, pin by pin", () => {
  equal(card.size, 40);
  for (const [board, fn] of card) {
    const got = HEADER.get(board);
    equal(typeof got === "number" ? `GPIO${got}` : got, fn, `pin ${board}`);
    if (fn.startsWith("GPIO")) {
      deepStrictEqual(parsePin(`BOARD${board}`), {
        bcm: Number(fn.slice(4)),
        board,
        name: fn,
        spelled: `BOARD${board}`,
      });
      equal(parsePin(fn).board, board, `${fn} is on pin ${board}`);
    }
  }
  deepStrictEqual(GROUND_PINS, [6, 9, 14, 20, 25, 30, 34, 39]);
});

Deno.test("the seed's BOARD8 is GPIO14; GPIO and BCM names are the same pin", () => {
  equal(parsePin("BOARD8").bcm, 14);
  equal(pinLabel(parsePin("BOARD8")), "GPIO14 (BOARD8)");
  deepStrictEqual(parsePin("GPIO17"), { bcm: 17, board: 11, name: "GPIO17", spelled: "GPIO17" });
  deepStrictEqual(parsePin("bcm17"), { bcm: 17, board: 11, name: "GPIO17", spelled: "bcm17" });
  equal(parsePin("board11").name, "GPIO17");
  equal(parsePin("GPIO0").board, 27);
  equal(parsePin("GPIO27").board, 13);
});

function rejects(name: string, re: RegExp): void {
  throws(() => parsePin(name), (e: unknown) => {
    if (!(e instanceof HalError)) throw new Error(`not a HalError: ${e}`);
    equal(e.kind, "unavailable");
    if (!re.test(e.message)) throw new Error(`${JSON.stringify(e.message)} does not match ${re}`);
    if (!e.message.includes("Valid pins: BOARD3, BOARD5, BOARD7, BOARD8")) {
      throw new Error(`no list of valid pins in ${JSON.stringify(e.message)}`);
    }
    return true;
  });
}

Deno.test("power, ground and off-header pins are refused with the valid pins listed", () => {
  rejects("BOARD6", /header pin 6 is ground/);
  rejects("BOARD1", /header pin 1 is 3V3 power/);
  rejects("BOARD2", /header pin 2 is 5V power/);
  rejects("BOARD0", /pins 1–40, not 0/);
  rejects("BOARD41", /pins 1–40, not 41/);
  rejects("GPIO28", /GPIO28 is not on the 40-pin header/);
  rejects("BCM53", /GPIO53 is not on the 40-pin header/);
  rejects("8", /bare number is ambiguous: write BOARD8 \(header pin\) or GPIO8/);
  rejects("PIN8", /not a pin name/);
  rejects("GPIO", /not a pin name/);
  rejects("GPIO100", /not a pin name/);
});

Deno.test("the valid pin list names the 28 header GPIOs", () => {
  const text = validPinsText();
  equal(text.match(/BOARD\d+/g)?.length, 28);
  equal(text.includes("BOARD6,"), false);
  equal(text.endsWith("or GPIO0–GPIO27 (also BCM0–BCM27)"), true);
});
