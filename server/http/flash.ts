/**
 * The result of a form post without JavaScript, carried across the
 * redirect back to the page in a short-lived cookie (so the URL never
 * reflects text into the page), shown once, then cleared.
 *
 * @module
 */
import { readCookie } from "./auth.ts";

/** What the page shows after a form post. */
export interface Flash {
  /** True for an `OK` reply. */
  readonly ok: boolean;
  /** The reply line, or another message for the sign-in form. */
  readonly reply: string;
  /** The frequency typed, to fill the field again. */
  readonly hz?: string;
  /** `login` for the sign-in form's message. */
  readonly form?: "login";
}

/** Name of the cookie. */
export const FLASH_COOKIE = "ledctl_flash";

/**
 * The `Set-Cookie` value carrying `flash` (valid one minute).
 *
 * @example
 * ```ts
 * import { flashCookie } from "./flash.ts";
 * flashCookie({ ok: true, reply: "OK on" }).startsWith("ledctl_flash="); // true
 * ```
 */
export function flashCookie(flash: Flash): string {
  const json = JSON.stringify({ ...flash, reply: flash.reply.slice(0, 600) }).slice(0, 1500);
  const value = btoa(String.fromCodePoint(...new TextEncoder().encode(json)))
    .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
  return `${FLASH_COOKIE}=${value}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict`;
}

/** The `Set-Cookie` value that clears the flash. */
export const CLEAR_FLASH = `${FLASH_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`;

/**
 * The flash `request` carries, if any and well-formed.
 *
 * @example
 * ```ts
 * import { flashCookie, readFlash } from "./flash.ts";
 * const cookie = flashCookie({ ok: false, reply: "ERR bad-argument x" }).split(";")[0];
 * readFlash(new Request("http://x/", { headers: { cookie } }))?.ok; // false
 * ```
 */
export function readFlash(request: Request): Flash | undefined {
  const value = readCookie(request, FLASH_COOKIE);
  if (!value) return undefined;
  try {
    const b64 = value.replaceAll("-", "+").replaceAll("_", "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.codePointAt(0)!);
    const f = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof f?.ok !== "boolean" || typeof f.reply !== "string") return undefined;
    return {
      ok: f.ok,
      reply: f.reply,
      hz: typeof f.hz === "string" ? f.hz : undefined,
      form: f.form === "login" ? "login" : undefined,
    };
  } catch {
    return undefined;
  }
}
