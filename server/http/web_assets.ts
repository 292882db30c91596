/**
 * The files of `web/`, read once from beside the code. `deno compile
 * --include web` embeds them, so this works from the compiled binary too.
 *
 * @module
 */

/** The files the page is made of, by URL path. */
export const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

const cache = new Map<string, Uint8Array<ArrayBuffer>>();

/**
 * The bytes of `web/<name>`. Throws if the file is missing (a broken build).
 *
 * @example
 * ```ts
 * import { webFile } from "./web_assets.ts";
 * new TextDecoder().decode(webFile("index.html")).startsWith("<!doctype html>"); // true
 * ```
 */
export function webFile(name: string): Uint8Array<ArrayBuffer> {
  let bytes = cache.get(name);
  if (bytes === undefined) {
    bytes = Deno.readFileSync(new URL(`../../web/${name}`, import.meta.url));
    cache.set(name, bytes);
  }
  return bytes;
}

/**
 * `web/<name>` as text.
 *
 * @example
 * ```ts
 * import { webText } from "./web_assets.ts";
 * JSON.parse(webText("strings.json")).fr.blink; // "Clignoter"
 * ```
 */
export function webText(name: string): string {
  return new TextDecoder().decode(webFile(name));
}

/**
 * The response for a static asset path, or `undefined` if `path` is not one.
 *
 * @example
 * ```ts
 * import { assetResponse } from "./web_assets.ts";
 * assetResponse("/style.css")?.headers.get("content-type"); // "text/css; charset=utf-8"
 * ```
 */
export function assetResponse(path: string): Response | undefined {
  const asset = ASSETS[path];
  if (asset === undefined) return undefined;
  return new Response(webFile(asset.file), {
    headers: { "content-type": asset.type, "cache-control": "no-cache" },
  });
}
