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
