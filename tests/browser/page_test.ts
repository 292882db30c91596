/**
 * The web page in headless Chromium against a real `ledctl serve` process
 * with the traced mock LED. Waits on page state, server output and trace
 * file events, never on fixed sleeps.
 */
import assert from "node:assert/strict";
import { launchBrowser, missingBrowser, type Page, startWebServer } from "./browser.ts";
import { RawClient, runLedctl } from "../harness.ts";

const ignore = missingBrowser();
if (ignore) console.warn(`browser tests skipped: ${ignore}`);

/** A browser test: skipped (with the reason printed) without Chromium. */
function browserTest(name: string, fn: () => Promise<void>) {
  Deno.test({
    name: ignore ? `${name} (skipped: ${ignore})` : name,
    ignore: ignore !== undefined,
    // Playwright keeps its pipe and timers to Chromium between calls.
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

/** Waits until `selector`'s text contains `wanted`. */
async function waitForText(page: Page, selector: string, wanted: string): Promise<void> {
  await page.locator(selector, { hasText: wanted }).waitFor({ timeout: 10_000 });
}

/** The server's LED state, from the API. */
async function apiState(url: string): Promise<string> {
  return (await (await fetch(`${url}api/state`)).json()).text;
}

browserTest("typing 2,5 and pressing Blink blinks the LED at 2.5 Hz and shows it", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor(); // the event stream is open
  await page.fill("#hz", "2,5");
  await page.click("#blink");
  await waitForText(page, "#message", "OK blink 2.5 Hz");
  await waitForText(page, "#state", "Blinking at 2.5 Hz");
  const led = await page.evaluate(`(() => {
    const el = document.getElementById("led");
    const style = getComputedStyle(el);
    return { mode: el.dataset.mode, name: style.animationName, duration: style.animationDuration };
  })()`);
  assert.deepEqual(led, { mode: "blink", name: "led-blink", duration: "0.4s" });
  assert.ok(!(await page.locator("#message").getAttribute("class"))!.includes("error"));

  // The mock LED: an edge every 200 ms (half of 1/2.5 s).
  const edges = (await server.waitForEdges(10)).filter((e, i) => i > 0 || e.level);
  const times = edges.map((e) => e.t);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  for (const gap of gaps) assert.ok(gap > 130 && gap < 270, `edge gaps ${gaps.join(", ")} ms`);
  const mean = (times.at(-1)! - times[0]) / (times.length - 1);
  assert.ok(Math.abs(mean - 200) < 10, `mean edge gap ${mean} ms`);
  assert.deepEqual(edges.slice(0, 3).map((e) => e.level), [true, false, true]);
});

browserTest("a TCP client's off updates the page without a reload", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor();
  await page.fill("#hz", "4");
  await page.click("#blink");
  await waitForText(page, "#state", "Blinking at 4 Hz");
  await page.evaluate(() => (globalThis as unknown as { noReload: boolean }).noReload = true);

  // A TCP client connects: the page counts it; it leaves: the count drops.
  const tcp = await RawClient.connect(server.port);
  await waitForText(page, "#clients", "1 connected client");
  const sent = await runLedctl(["send", "--port", String(server.port), "off"]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stdout.trim(), "OK off");
  await waitForText(page, "#state", "Off");
  await waitForText(page, "#by", "127.0.0.1");
  assert.equal(await page.locator("#led").getAttribute("data-mode"), "off");
  tcp.conn.close();
  await waitForText(page, "#clients", "No client connected");
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { noReload?: boolean }).noReload),
    true,
  );
});

browserTest("a bad frequency shows the inline error and leaves the LED alone", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor();
  await page.click("#on");
  await waitForText(page, "#state", "On");
  const before = (await server.trace()).length;

  await page.fill("#hz", "vite");
  await page.click("#blink");
  await page.locator("#message.error").waitFor();
  // The same text a TCP client gets for the same line.
  const tcp = await runLedctl(["send", "--port", String(server.port), "blink", "vite"]);
  const tcpError = tcp.stderr.trim();
  assert.match(tcpError, /^ERR bad-argument "vite" is not a frequency/);
  assert.equal(await text(page, "#message"), `Refused: ${tcpError}`);
  assert.equal(await page.locator("#hz").getAttribute("aria-invalid"), "true");
  assert.equal(await text(page, "#state"), "On");
  assert.equal(await apiState(server.url), "on");
  assert.equal((await server.trace()).length, before);

  await page.fill("#hz", "0,01");
  await page.click("#blink");
  await waitForText(page, "#message", "out of range");
  assert.equal(await apiState(server.url), "on");
});

browserTest("with JavaScript off the form still works (in French here)", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const context = await b.browser.newContext({ javaScriptEnabled: false, locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto(server.url);
  assert.equal(await text(page, "#blink"), "Clignoter");
  assert.equal(await text(page, "#state"), "Éteinte");
  await page.fill("#hz", "3");
  await Promise.all([page.waitForURL(server.url), page.click("#blink")]);
  await page.locator("#message.ok").waitFor();
  assert.equal(await text(page, "#message"), "Fait : OK blink 3 Hz");
  assert.equal(await text(page, "#state"), "Clignote à 3 Hz");
  assert.equal(await apiState(server.url), "blink 3 Hz");
  await server.waitForEdges(3);

  await page.fill("#hz", "trois");
  await Promise.all([page.waitForURL(server.url), page.click("#blink")]);
  await page.locator("#message.error").waitFor();
  assert.match(await text(page, "#message"), /^Refusé : ERR bad-argument "trois"/);
  assert.equal(await page.locator("#hz").inputValue(), "trois");
  assert.equal(await apiState(server.url), "blink 3 Hz");

  await Promise.all([page.waitForURL(server.url), page.click("#off")]);
  await page.locator("#message.ok").waitFor();
  assert.equal(await text(page, "#state"), "Éteinte");
  assert.equal(await apiState(server.url), "off");
});

browserTest("a page from another site cannot blink the LED", async () => {
  await using server = await startWebServer();
  const target = `${server.url}api/led`;
  // The attacker's page, on another origin: a fetch and a self-submitting form.
  const evil = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        `<!doctype html><title>cute cats</title>
<form method="post" action="${target}"><input name="command" value="blink"><input name="hz" value="9"></form>
<script>
fetch(${JSON.stringify(target)}, { method: "POST", mode: "no-cors",
  headers: { "content-type": "application/x-www-form-urlencoded" }, body: "command=on" })
  .finally(() => document.forms[0].submit());
</script>`,
        { headers: { "content-type": "text/html" } },
      ),
  );
  try {
    await using b = await launchBrowser();
    const page = await b.browser.newPage();
    const response = page.waitForResponse((r) =>
      r.url() === target && r.request().method() === "POST" && r.request().isNavigationRequest()
    );
    await page.goto(`http://localhost:${evil.addr.port}/`);
    const refused = await response;
    assert.equal(refused.status(), 403);
    assert.match(await refused.text(), /cross-origin request refused/);
    await server.stdout.waitFor(/web: refused POST \/api\/led .*cross-origin/);
    assert.equal(await apiState(server.url), "off");
    assert.deepEqual((await server.trace()).filter((e) => e.level), []);
  } finally {
    await evil.shutdown();
  }
});

browserTest("the page follows navigator.language and fits a phone screen", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const context = await b.browser.newContext({
    locale: "fr-FR",
    viewport: { width: 360, height: 740 },
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor();
  assert.equal(await page.locator("html").getAttribute("lang"), "fr");
  assert.equal(await page.evaluate("document.documentElement.scrollWidth <= innerWidth"), true);
  for (const id of ["#hz", "#blink", "#on", "#off", "#led"]) {
    const box = (await page.locator(id).boundingBox())!;
    assert.ok(
      box.x >= 0 && box.x + box.width <= 360,
      `${id} is off screen: ${JSON.stringify(box)}`,
    );
    assert.ok(box.height >= 40 || id === "#hz" || id === "#led", `${id} is too small to tap`);
  }
  await page.fill("#hz", "2.5");
  await page.tap("#blink");
  await waitForText(page, "#state", "Clignote à 2,5 Hz");
  assert.equal(await text(page, "#message"), "Fait : OK blink 2.5 Hz");
});

browserTest("with --token the page asks for it once, then works live", async () => {
  const token = "browser-test-token";
  await using server = await startWebServer(["--token", token]);
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  assert.equal(await page.locator("#led-form").isVisible(), false);
  await page.fill("#token", "not-the-token");
  await Promise.all([page.waitForURL(server.url), page.click("#login-form button")]);
  await page.locator("#login-message", { hasText: "Wrong token." }).waitFor();
  assert.equal(await page.locator("#led-form").isVisible(), false);

  await page.fill("#token", token);
  await Promise.all([page.waitForURL(server.url), page.click("#login-form button")]);
  await page.locator("#live.up").waitFor(); // the event stream got through with the cookie
  assert.equal(await page.locator("#login-form").isVisible(), false);
  await page.fill("#hz", "5");
  await page.click("#blink");
  await waitForText(page, "#message", "OK blink 5 Hz");
  const sent = await runLedctl(["send", "--port", String(server.port), "--token", token, "on"]);
  assert.equal(sent.stdout.trim(), "OK on");
  await waitForText(page, "#state", "On");
  // Without the cookie or header the API stays shut.
  const shut = await fetch(`${server.url}api/state`);
  assert.equal(shut.status, 401);
  await shut.body?.cancel();
});
