/**
 * The web page's fleet section in headless Chromium, end to end: a real
 * Mosquitto, three real `ledctl serve --mqtt` processes with traced mock
 * LEDs, the page served by one of them. Waits on page state, trace file
 * events and process exits, never on fixed sleeps.
 */
import assert from "node:assert/strict";
import { browserTest, launchBrowser, type Page, startWebServer } from "./browser.ts";
import { runLedctl, ServerProcess, waitForTraceEdges } from "../harness.ts";
import { haveMosquitto, Mosquitto } from "../mosquitto.ts";
import mqtt from "mqtt";
import { statePayload } from "../../server/mqtt/topics.ts";

/** A device's row on the page. */
const row = (page: Page, id: string) => page.locator(`#fleet-list li.device[data-id="${id}"]`);

/** Registers a browser test that also needs Mosquitto (skipped, saying why, without it). */
function fleetTest(name: string, fn: () => Promise<void>): void {
  if (haveMosquitto()) browserTest(name, fn);
  else {
    Deno.test({
      name: `${name} (skipped: /usr/sbin/mosquitto is missing: apt-get install mosquitto)`,
      ignore: true,
      fn() {},
    });
  }
}

fleetTest("the page lists the fleet live and drives another device", async () => {
  await using broker = await Mosquitto.start();
  const mqtt = (id: string, ...groups: string[]) => [
    "--mqtt",
    broker.url,
    "--id",
    id,
    ...groups.flatMap((g) => ["--group", g]),
  ];
  // The page's own device sorts last by id, so "first" is the page's doing.
  await using kitchen = await startWebServer(mqtt("kitchen", "ground"));
  await using attic = await ServerProcess.start(mqtt("attic", "upstairs"));
  await using hall = await ServerProcess.start(mqtt("hall", "ground", "front"));

  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(kitchen.url);
  await page.locator("#live.up").waitFor();
  for (const id of ["kitchen", "attic", "hall"]) {
    await row(page, id).and(page.locator('[data-mode="off"]')).waitFor();
  }
  assert.deepEqual(
    await page.evaluate(
      `[...document.querySelectorAll("#fleet-list li.device")].map((li) => li.dataset.id)`,
    ),
    ["kitchen", "attic", "hall"],
    "this one first, then by id",
  );
  assert.equal(await row(page, "kitchen").locator(".device-self").innerText(), "this one");
  assert.equal(await row(page, "attic").locator(".device-self").innerText(), "");
  assert.equal(
    await row(page, "hall").locator(".device-groups").innerText(),
    "groups: ground, front",
  );
  assert.equal(await row(page, "hall").locator(".device-state").innerText(), "Off");
  await page.evaluate(() => (globalThis as unknown as { noReload: boolean }).noReload = true);

  // Another device's On: its own LED lights (its trace), and the page shows it.
  const before = (await hall.trace()).length;
  await row(page, "hall").locator('button[data-command="on"]').click();
  const [high] = await waitForTraceEdges(hall.tracePath!, 1, { from: before });
  assert.equal(high.level, true, "hall's LED went high");
  await row(page, "hall").and(page.locator('[data-mode="on"]')).waitFor();
  assert.equal(await row(page, "hall").locator(".device-state").innerText(), "On");
  // Neither the page's own LED nor the third device moved.
  const lit = async (p: ServerProcess) => (await p.trace()).filter((e) => e.level);
  assert.deepEqual(await lit(kitchen), []);
  assert.deepEqual(await lit(attic), []);

  // Blink takes the frequency field; a bad one is refused in the row, nothing sent.
  await page.fill("#hz", "vite");
  await row(page, "attic").locator('button[data-command="blink"]').click();
  await row(page, "attic").locator(".device-note.error", { hasText: '"vite" is not a frequency' })
    .waitFor();

  // A change made over a device's own TCP port shows up live.
  const sent = await runLedctl(["send", "--port", String(attic.port), "blink", "2"]);
  assert.equal(sent.code, 0, sent.stderr);
  await row(page, "attic").and(page.locator('[data-mode="blink"]')).waitFor();
  assert.equal(await row(page, "attic").locator(".device-state").innerText(), "Blinking at 2 Hz");
  // Its row's stale refusal went with the change.
  assert.equal(await row(page, "attic").locator(".device-note").innerText(), "");

  // A device killed without a goodbye: the broker's last will marks it offline.
  await attic.stop("SIGKILL");
  await row(page, "attic").and(page.locator(".offline")).waitFor();
  assert.equal(
    await row(page, "attic").locator(".device-state").innerText(),
    "Blinking at 2 Hz · offline",
  );
  assert.ok(await row(page, "attic").locator("button").first().isDisabled());
  assert.ok(!(await row(page, "hall").locator("button").first().isDisabled()));
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { noReload?: boolean }).noReload),
    true,
  );
});

fleetTest("without --mqtt the page has no fleet section", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor();
  assert.equal(await page.locator("#fleet").isVisible(), false);
  assert.equal((await fetch(`${server.url}api/fleet`)).status, 404);
});

fleetTest("the fleet section fits a phone, in French", async () => {
  await using broker = await Mosquitto.start();
  await using kitchen = await startWebServer(["--mqtt", broker.url, "--id", "cuisine"]);
  await using b = await launchBrowser();
  const page = await b.browser.newPage({ viewport: { width: 360, height: 740 }, locale: "fr-FR" });
  await page.goto(kitchen.url);
  await row(page, "cuisine").and(page.locator('[data-mode="off"]')).waitFor();
  assert.equal(await page.locator("#fleet-title").innerText(), "Flotte");
  assert.equal(await row(page, "cuisine").locator(".device-self").innerText(), "celui-ci");
  assert.equal(await row(page, "cuisine").locator(".device-state").innerText(), "Éteinte");
  const width = await page.evaluate("document.documentElement.scrollWidth") as number;
  assert.ok(width <= 360, `the page is ${width} px wide on a 360 px screen`);
  const box = await row(page, "cuisine").locator('button[data-command="off"]').boundingBox();
  assert.ok(
    box && box.height >= 40 && box.width >= 80,
    `a finger-sized button: ${JSON.stringify(box)}`,
  );
  // The page's own device, from the page: its LED lights.
  const before = (await kitchen.trace()).length;
  await row(page, "cuisine").locator('button[data-command="on"]').click();
  const [high] = await waitForTraceEdges(kitchen.tracePath!, 1, { from: before });
  assert.equal(high.level, true);
  await row(page, "cuisine").locator(".device-state", { hasText: "Allumée" }).waitFor();
  await page.locator("#state", { hasText: "Allumée" }).waitFor();
});

fleetTest("a fleet over 500 devices: the page draws 500 and counts the rest", async () => {
  await using broker = await Mosquitto.start();
  await using kitchen = await startWebServer(["--mqtt", broker.url, "--id", "kitchen"]);
  // The other devices as the broker holds them: retained states, as `serve --mqtt` publishes.
  const client = await mqtt.connectAsync(broker.url);
  try {
    const changed = new Date().toISOString();
    for (let i = 0; i < 520; i += 40) {
      await Promise.all(Array.from({ length: 40 }, (_, k) => {
        const id = `dev-${String(i + k).padStart(4, "0")}`;
        const state = statePayload({ mode: "off" }, { by: "x", groups: [], changed, version: "" });
        return client.publishAsync(`ledctl/${id}/state`, JSON.stringify(state), {
          qos: 1,
          retain: true,
        });
      }));
    }
    await using b = await launchBrowser();
    const page = await b.browser.newPage();
    await page.goto(kitchen.url);
    await page.locator("#fleet-more", { hasText: "21 more devices not shown" }).waitFor();
    assert.equal(await page.locator("#fleet-list li.device").count(), 500);
    assert.equal(
      await page.locator("#fleet-list li.device").first().getAttribute("data-id"),
      "kitchen",
    );
    assert.equal(
      await page.locator("#fleet-list li.device").last().getAttribute("data-id"),
      "dev-0498",
    );
  } finally {
    await client.endAsync();
  }
});
