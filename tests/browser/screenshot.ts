/**
 * Regenerates `docs/web-page.png` (and `docs/web-page-phone.png`): the web
 * page in headless Chromium, against a real `ledctl serve` with the mock LED
 * blinking at 2,5 Hz and two TCP clients connected, the LED caught lit.
 *
 * Usage: `deno run -A tests/browser/screenshot.ts [--lang en|fr]`
 *
 * @module
 */
import { launchBrowser, missingBrowser, type Page, startWebServer } from "./browser.ts";
import { RawClient } from "../harness.ts";

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

async function main(): Promise<number> {
  const missing = missingBrowser();
  if (missing) {
    console.error(`screenshot: ${missing}`);
    return 1;
  }
  const lang = Deno.args.includes("--lang") ? Deno.args[Deno.args.indexOf("--lang") + 1] : "en";
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
