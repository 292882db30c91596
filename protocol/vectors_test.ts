import assert from "node:assert/strict";
import { loadVectors, parseVectors, unescapeField } from "./vectors.ts";
import { parseCommand } from "./command.ts";
import { execute } from "../core/commands.ts";
import { LedService } from "../core/led_service.ts";
import { SoftwareBlinker } from "../hal/blinker.ts";
import { MockLine } from "../hal/mock.ts";
import { FakeClock } from "../hal/clock.ts";

Deno.test("every vector in testdata/vectors.tsv gets its exact reply", async (t) => {
  const vectors = await loadVectors();
  if (vectors.length < 80) throw new Error(`only ${vectors.length} vectors loaded`);
  for (const v of vectors) {
    await t.step(
      `line ${v.lineNo}: ${JSON.stringify(new TextDecoder().decode(v.request))}`,
      async () => {
        const clock = new FakeClock();
        const service = new LedService(new SoftwareBlinker(new MockLine({ clock }), { clock }), {
          log: () => {},
        });
        const { reply } = await execute(parseCommand(v.request), service, {
          id: 1,
          remote: "127.0.0.1:40000",
        });
        assert.deepEqual(reply, v.reply);
        await service.close();
      },
    );
  }
});

Deno.test("vector escapes decode to the bytes they name", () => {
  assert.deepEqual([...unescapeField("a\\tb\\r\\\\\\x00\\xff")], [97, 9, 98, 13, 92, 0, 255]);
  assert.deepEqual([...unescapeField("é")], [0xc3, 0xa9]);
});

Deno.test("a malformed vector file is refused with its line number", () => {
  let msg = "";
  try {
    parseVectors("led\tonly-two-fields\n");
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.deepEqual(msg.startsWith("vectors line 1:"), true);
});
