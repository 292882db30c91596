/**
 * Headless Chromium for the browser tests and the screenshot task:
 * Debian's `chromium` driven by `playwright-core` (no browser download).
 *
 * @module
 */
// Pinned in deno.json "imports" (and deno.lock).
import { type Browser, chromium, type Page } from "playwright-core";
import { ServerProcess } from "../harness.ts";

export type { Browser, Page };

/** The Chromium binary: `LEDCTL_CHROMIUM`, else Debian's. */
export const CHROMIUM = Deno.env.get("LEDCTL_CHROMIUM") ?? "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or `undefined` when they can.
 *
 * @example
 * ```ts
 * import { missingBrowser } from "./browser.ts";
 * Deno.test({ name: "…", ignore: missingBrowser() !== undefined, fn() {} });
 * ```
 */
export function missingBrowser(): string | undefined {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} is missing: apt-get install chromium (or set LEDCTL_CHROMIUM)`;
  }
}

/**
 * Launches headless Chromium (Playwright gives it a fresh temporary profile).
 * `await using` closes it.
 *
 * @example
 * ```ts
 * import { launchBrowser } from "./browser.ts";
 * await using b = await launchBrowser();
 * const page = await b.browser.newPage();
 * ```
 */
export async function launchBrowser(): Promise<{ browser: Browser } & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  };
}

/**
 * `ledctl serve` with the mock LED (traced) and the web page on a free port.
 *
 * @example
 * ```ts
 * import { startWebServer } from "./browser.ts";
 * await using server = await startWebServer();
 * console.log(server.url); // http://127.0.0.1:PORT/
 * ```
 */
export async function startWebServer(
  args: string[] = [],
): Promise<ServerProcess & { url: string }> {
  const server = await ServerProcess.start(["--http", "0", ...args]);
  const m = await server.stdout.waitFor(/web page on (http:\/\/127\.0\.0\.1:\d+\/)/);
  return Object.assign(server, { url: m[1] });
}

const skipped = missingBrowser();

/**
 * Registers a browser test: skipped, with the reason in its name, when
 * Chromium is missing (which CI counts as a failure). Playwright keeps its
 * pipe and timers to Chromium between calls, so the op and resource
 * sanitizers are off.
 *
 * @example
 * ```ts
 * import { browserTest, launchBrowser } from "./browser.ts";
 * browserTest("the page loads", async () => {
 *   await using b = await launchBrowser();
 * });
 * ```
 */
export function browserTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: skipped ? `${name} (skipped: ${skipped})` : name,
    ignore: skipped !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/**
 * Waits (at most `ms`, default 10 s) until `selector`'s text contains `wanted`.
 *
 * @example
 * ```ts
 * import { waitForText } from "./browser.ts";
 * // await waitForText(page, "#state", "Blinking at 2.5 Hz");
 * ```
 */
export async function waitForText(
  page: Page,
  selector: string,
  wanted: string,
  ms = 10_000,
): Promise<void> {
  await page.locator(selector, { hasText: wanted }).waitFor({ timeout: ms });
}

/**
 * The server's LED state as the protocol writes it (`blink 2.5 Hz`), from
 * `GET /api/state` at `url` (the page's address).
 *
 * @example
 * ```ts
 * import { apiState } from "./browser.ts";
 * // await apiState("http://127.0.0.1:8080/"); // "off"
 * ```
 */
export async function apiState(url: string): Promise<string> {
  return (await (await fetch(`${url}api/state`)).json()).text;
}
