import assert from "node:assert/strict";
import { health } from "./health.ts";
import { LedService } from "../../core/led_service.ts";
import { openLed } from "../../hal/select.ts";
import type { LedDriver, LinkStatus } from "../../hal/types.ts";

class LinkedDriver implements LedDriver {
  readonly description = "serial:/dev/fake";
  link: LinkStatus = { up: true, reconnects: 0 };
  apply(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("health: a LED without a board link is healthy, link null", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  try {
    await service.request({ mode: "on" }, "test");
    assert.deepEqual(health(service), {
      status: 200,
      body: { ok: true, status: "ok", state: { mode: "on" }, text: "on", led: "mock", link: null },
    });
  } finally {
    await service.close();
  }
});

Deno.test("health: 503 with why while the board link is down, 200 once back", async () => {
  const driver = new LinkedDriver();
  const service = new LedService(driver, { log: () => {} });
  try {
    await service.request({ mode: "blink", hz: 3 }, "test");
    assert.equal(health(service).status, 200);
    driver.link = { up: false, reconnects: 1, reason: "the board closed the link" };
    assert.deepEqual(health(service), {
      status: 503,
      body: {
        ok: false,
        status: "board link down",
        why: "the board closed the link",
        state: { mode: "blink", hz: 3 },
        text: "blink 3 Hz",
        led: "serial:/dev/fake",
        link: { up: false, reconnects: 1, reason: "the board closed the link" },
      },
    });
    driver.link = { up: false, reconnects: 1 };
    assert.equal(health(service).body.why, "the board does not answer");
    driver.link = { up: true, reconnects: 2 };
    assert.deepEqual(health(service).body.link, { up: true, reconnects: 2 });
    assert.equal(health(service).status, 200);
  } finally {
    await service.close();
  }
});
