/**
 * Regenerates `docs/web-page.png` (and `docs/web-page-phone.png`): the web
 * page in headless Chromium, against a real `ledctl serve` with the mock LED
 * blinking at 2,5 Hz and two TCP clients connected, the LED caught lit.
 *
 * With `--fleet`, only `docs/web-fleet-phone.png` instead: the fleet
 * section (`serve --mqtt`) on a phone, three devices on a real Mosquitto,
 * one of them killed (offline).
 *
 * Usage: `deno run -A tests/browser/screenshot.ts [--lang en|fr] [--fleet]`
 *
 * @module
 */
import { launchBrowser, missingBrowser, type Page, startWebServer } from "./browser.ts";
import { RawClient, runLedctl, ServerProcess } from "../harness.ts";
import { Mosquitto } from "../mosquitto.ts";

const docs = new URL("../../docs/", import.meta.url);

/** Freezes the LED's blink animation on its lit half, so the picture shows it lit. */
async function freezeLit(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    for (const a of document.getElementById("led").getAnimations()) {
      a.pause();
      a.currentTime = 0;
    }
  })()`);
}

/** `docs/web-fleet-phone.png`: the fleet section on a phone, as `kitchen`'s page shows it. */
async function fleetShot(lang: string): Promise<void> {
  await using broker = await Mosquitto.start();
  const mqtt = (id: string, ...groups: string[]) => [
    "--mqtt",
    broker.url,
    "--id",
    id,
    "--led",
    "mock",
    ...groups.flatMap((g) => ["--group", g]),
  ];
  await using kitchen = await startWebServer(mqtt("kitchen", "ground"));
  await using hall = await ServerProcess.start(mqtt("hall", "ground", "front"));
  await using attic = await ServerProcess.start(mqtt("attic", "upstairs"));
  await using chromium = await launchBrowser();
  const context = await chromium.browser.newContext({
    locale: lang === "fr" ? "fr-FR" : "en-US",
    viewport: { width: 360, height: 640 },
    deviceScaleFactor: 2,
    isMobile: true,
    colorScheme: "light",
  });
  const page = await context.newPage();
  await page.goto(kitchen.url);
  const row = (id: string) => page.locator(`#fleet-list li.device[data-id="${id}"]`);
  await row("attic").waitFor();
  const states: [ServerProcess, string[]][] = [
    [kitchen, ["blink", "2.5"]],
    [hall, ["on"]],
    [attic, ["blink", "1"]],
  ];
  for (const [p, words] of states) {
    const sent = await runLedctl(["send", "--port", String(p.port), ...words]);
    if (sent.code !== 0) throw new Error(sent.stderr);
  }
  await row("hall").and(page.locator('[data-mode="on"]')).waitFor();
  await row("attic").and(page.locator('[data-mode="blink"]')).waitFor();
  await attic.stop("SIGKILL");
  await row("attic").and(page.locator(".offline")).waitFor();
  await row("kitchen").and(page.locator('[data-mode="blink"]')).waitFor();
  await page.evaluate(`(() => {
    for (const a of document.querySelectorAll("#fleet .dot")) {
      for (const x of a.getAnimations()) { x.pause(); x.currentTime = 0; }
    }
  })()`);
  const path = new URL("web-fleet-phone.png", docs);
  // The section with the card's margin around it, not cut at its edges.
  const box = (await page.locator("#fleet").boundingBox())!;
  const clip = { x: 0, y: box.y - 8, width: 360, height: box.height + 24 };
  await page.screenshot({ path: path.pathname, clip, fullPage: true });
  console.log(`wrote ${path.pathname}`);
  await context.close();
}

async function main(): Promise<number> {
  const missing = missingBrowser();
  if (missing) {
    console.error(`screenshot: ${missing}`);
    return 1;
  }
  const lang = Deno.args.includes("--lang") ? Deno.args[Deno.args.indexOf("--lang") + 1] : "en";
  if (Deno.args.includes("--fleet")) {
    await fleetShot(lang);
    return 0;
  }
  await using server = await startWebServer(["--idle-timeout", "0", "--led", "mock"]);
  using a = await RawClient.connect(server.port);
  using b = await RawClient.connect(server.port);
  await a.write("hello from Client 1\n");
  await a.readLine();
  await b.write("hello from Client 2\n");
  await b.readLine();
  await using chromium = await launchBrowser();
  const shots = [
    { file: "web-page.png", viewport: { width: 760, height: 560 }, isMobile: false },
    { file: "web-page-phone.png", viewport: { width: 360, height: 640 }, isMobile: true },
  ];
  for (const shot of shots) {
    const context = await chromium.browser.newContext({
      locale: lang === "fr" ? "fr-FR" : "en-US",
      viewport: shot.viewport,
      deviceScaleFactor: shot.isMobile ? 2 : 1,
      isMobile: shot.isMobile,
      colorScheme: "light",
    });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.locator("#live.up").waitFor();
    await page.fill("#hz", lang === "fr" ? "2,5" : "2.5");
    await page.click("#blink");
    await page.locator("#message.ok").waitFor();
    await page.locator("#clients", { hasText: "2" }).waitFor();
    await page.locator("#hz").blur();
    await freezeLit(page);
    const path = new URL(shot.file, docs);
    await page.screenshot({ path: path.pathname, fullPage: true });
    console.log(`wrote ${path.pathname}`);
    await context.close();
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
