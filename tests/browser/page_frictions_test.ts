/**
 * The web page frictions a new user hit (issue 13, item 10), each in
 * headless Chromium against a real `ledctl serve` process, with real TCP
 * clients and a real server stop. Waits on page state and server output,
 * never on fixed sleeps.
 */
import assert from "node:assert/strict";
import {
  apiState,
  browserTest,
  launchBrowser,
  type Page,
  startWebServer,
  waitForText,
} from "./browser.ts";
import { RawClient, runLedctl, type ServerProcess } from "../harness.ts";

const text = (page: Page, selector: string) => page.locator(selector).innerText();

/** The server's counts, from the API. */
async function apiCounts(url: string): Promise<{ clients: number; viewers: number }> {
  const s = await (await fetch(`${url}api/state`)).json();
  return { clients: s.clients, viewers: s.viewers };
}

browserTest("another client's change clears the page's last result; its own does not", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor();

  // The page's own change: its result stays, even after its own state event
  // arrives ("this page" in #by needs both the event and the reply).
  await page.fill("#hz", "2.5");
  await page.click("#blink");
  await waitForText(page, "#message", "Done: OK blink 2.5 Hz");
  await waitForText(page, "#by", "last change by this page");
  assert.equal(await text(page, "#message"), "Done: OK blink 2.5 Hz");

  // Someone else's change (the CLI, over TCP): the old result must go.
  const sent = await runLedctl(["send", "--port", String(server.port), "off"]);
  assert.equal(sent.stdout.trim(), "OK off", sent.stderr);
  await waitForText(page, "#state", "Off");
  // (A locator: the page's CSP forbids the eval that waitForFunction polls with.)
  await page.locator("#message:empty").waitFor({ state: "attached", timeout: 10_000 });
  assert.match(await text(page, "#by"), /last change by client #\d+ 127\.0\.0\.1:\d+/);
});

browserTest(
  "the counts match the server's: TCP clients, and open pages with this one",
  async () => {
    await using server = await startWebServer();
    await using b = await launchBrowser();
    const page = await b.browser.newPage();
    await page.goto(server.url);
    await page.locator("#live.up").waitFor();
    await waitForText(page, "#viewers", "1 page open (this one)");
    assert.equal(await text(page, "#clients"), "No TCP client connected now");
    assert.deepEqual(await apiCounts(server.url), { clients: 0, viewers: 1 });

    const other = await b.browser.newPage();
    await other.goto(server.url);
    await other.locator("#live.up").waitFor();
    await waitForText(page, "#viewers", "2 pages open (this one included)");
    await waitForText(other, "#viewers", "2 pages open (this one included)");
    assert.deepEqual(await apiCounts(server.url), { clients: 0, viewers: 2 });

    using tcp = await RawClient.connect(server.port);
    assert.match((await tcp.ask("hello Ada"))!, /^OK hello Ada: you are client #1 /);
    await waitForText(page, "#clients", "1 TCP client connected now");
    assert.deepEqual(await apiCounts(server.url), { clients: 1, viewers: 2 });

    await other.close();
    await waitForText(page, "#viewers", "1 page open (this one)");
    assert.deepEqual(await apiCounts(server.url), { clients: 1, viewers: 1 });
  },
);

browserTest("web requests are named web #N, never like TCP's client #N", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  await page.locator("#live.up").waitFor();

  using tcp = await RawClient.connect(server.port);
  assert.match((await tcp.ask("hello Ada"))!, /^OK hello Ada: you are client #1 /);
  await page.fill("#hz", "4");
  await page.click("#blink");
  await waitForText(page, "#message", "OK blink 4 Hz");
  const web = await server.stdout.waitFor(/LED blink 4 Hz +← (.*)$/);
  assert.match(web[1], /^web #1 127\.0\.0\.1:\d+$/);
  assert.equal(await tcp.ask("on"), "OK on");
  const byTcp = await server.stdout.waitFor(/LED on +← (.*)$/);
  assert.match(byTcp[1], /^client #1 127\.0\.0\.1:\d+ \(Ada\)$/);
  await waitForText(page, "#by", "last change by client #1 127.0.0.1:");
  // Exactly one "client #1" changed the LED: the TCP client.
  const named = server.stdout.all.filter((l) => /← client #1 /.test(l));
  assert.equal(named.length, 1, server.stdout.all.join("\n"));
});

browserTest("with the server down the page says so, disables its buttons, recovers", async () => {
  const first = await startWebServer();
  const httpPort = new URL(first.url).port;
  let second: ServerProcess | undefined;
  try {
    await using b = await launchBrowser();
    const page = await b.browser.newPage();
    await page.goto(first.url);
    await page.locator("#live.up").waitFor();
    await page.fill("#hz", "2.5");
    await page.click("#blink");
    await waitForText(page, "#message", "OK blink 2.5 Hz");

    assert.equal(await first.stop("SIGTERM"), 0);
    // Stale: marked so, the LED still, every button disabled, and it says it retries.
    await page.locator(".status.stale").waitFor({ timeout: 10_000 });
    await page.locator("#blink:disabled").waitFor();
    for (const id of ["#blink", "#on", "#off"]) {
      assert.equal(await page.locator(id).isDisabled(), true, `${id} is enabled`);
    }
    assert.match(await text(page, "#live"), /server unreachable.*retrying/i);
    assert.equal(
      await page.evaluate(`getComputedStyle(document.getElementById("led")).animationName`),
      "none",
    );
    assert.doesNotMatch(await text(page, "#message"), /Failed to fetch/);

    // Back on the same web port: the page recovers by itself, with the new server's state.
    second = await startWebServer(["--http", httpPort]);
    await page.locator("#live.up").waitFor({ timeout: 15_000 });
    await page.locator(".status:not(.stale)").waitFor();
    await page.locator("#blink:enabled").waitFor();
    const now = await apiState(first.url);
    const shown = await page.locator("#led").getAttribute("data-mode");
    assert.equal(shown, now.split(" ")[0]);
    await page.click("#on");
    await waitForText(page, "#message", "Done: OK on");
    assert.equal(await apiState(first.url), "on");
  } finally {
    await first[Symbol.asyncDispose]();
    await second?.[Symbol.asyncDispose]();
  }
});

/** WCAG relative luminance of a CSS `rgb(…)`/`rgba(…)` colour. */
function luminance(css: string): number {
  const [r, g, b] = css.match(/[\d.]+/g)!.slice(0, 3).map(Number).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours. */
function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

browserTest(
  "the field looks editable, its placeholder looks like one, empty Blink says why",
  async () => {
    await using server = await startWebServer();
    await using b = await launchBrowser();
    const context = await b.browser.newContext({ colorScheme: "light" });
    const page = await context.newPage();
    await page.goto(server.url);
    await page.locator("#live.up").waitFor();

    const look = await page.evaluate(`(() => {
    const input = document.getElementById("hz");
    const field = getComputedStyle(input);
    const card = getComputedStyle(document.querySelector(".card"));
    const placeholder = getComputedStyle(input, "::placeholder");
    return {
      background: field.backgroundColor,
      border: field.borderTopColor,
      text: field.color,
      card: card.backgroundColor,
      placeholder: placeholder.color,
    };
  })()`) as Record<string, string>;
    // Editable: as light as the card (a grey field reads as disabled), its edge visible (WCAG 3:1).
    assert.equal(look.background, look.card, JSON.stringify(look));
    assert.ok(contrast(look.border, look.card) >= 3, `border too faint: ${JSON.stringify(look)}`);
    // The placeholder: an example, in a lighter colour than a typed value.
    await page.fill("#hz", "");
    assert.equal(await page.locator("#hz").getAttribute("placeholder"), "e.g. 2.5");
    assert.ok(
      contrast(look.placeholder, look.background) < contrast(look.text, look.background) / 2,
      `the placeholder looks like a value: ${JSON.stringify(look)}`,
    );

    // Blink with the field empty: a plain message, the field marked, nothing sent.
    const edges = (await server.trace()).length;
    await page.click("#blink");
    await waitForText(page, "#message", "Type a frequency first, e.g. 2.5, then press Blink.");
    assert.equal(await page.locator("#hz").getAttribute("aria-invalid"), "true");
    assert.equal(await page.evaluate(`document.activeElement.id`), "hz");
    assert.equal(await apiState(server.url), "off");
    assert.equal((await server.trace()).length, edges);
    assert.ok(!server.stdout.all.some((l) => /\bLED .* ← /.test(l)), server.stdout.all.join("\n"));
  },
);

browserTest("the subtitle says what the LED is in plain words, in either language", async () => {
  await using server = await startWebServer();
  await using b = await launchBrowser();
  const page = await b.browser.newPage();
  await page.goto(server.url);
  assert.equal(await text(page, "#subtitle"), "A simulated LED: no real LED is attached");
  // Rendered in English by the server, translated by the script for a French browser.
  const context = await b.browser.newContext({
    locale: "fr-FR",
    extraHTTPHeaders: { "accept-language": "en" },
  });
  const fr = await context.newPage();
  await fr.goto(server.url);
  await fr.locator("html[lang=fr]").waitFor();
  assert.equal(await text(fr, "#subtitle"), "Une LED simulée : aucune vraie LED n’est branchée");
  assert.equal(await fr.locator("#hz").getAttribute("placeholder"), "ex. 2,5");
});
