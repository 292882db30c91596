/**
 * The `--token` rule for HTTP: API clients send `Authorization: Bearer
 * <token>`; a browser signs in once through the page's token form and then
 * carries a session cookie (`HttpOnly`, `SameSite=Strict`) derived from the
 * token, so the plain HTML form and the event stream (which cannot set
 * headers) work too. The cookie holds an HMAC of the token, not the token.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { tokensEqual } from "../../core/commands.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "ledctl_session";

/**
 * Checks requests against an optional token.
 *
 * @example
 * ```ts
 * import { HttpAuth } from "./auth.ts";
 * const auth = new HttpAuth("s3cret-token");
 * auth.allows(new Request("http://x/", { headers: { authorization: "Bearer s3cret-token" } })); // true
 * ```
 */
export class HttpAuth {
  readonly #token?: string;
  readonly #session?: string;

  /** `token` undefined: everything is allowed. */
  constructor(token?: string) {
    this.#token = token;
    if (token !== undefined) {
      this.#session = createHmac("sha256", token).update("ledctl web session v1").digest(
        "base64url",
      );
    }
  }

  /** True when a token is required. */
  get required(): boolean {
    return this.#token !== undefined;
  }

  /** True when `request` carries the token (header) or the session cookie. */
  allows(request: Request): boolean {
    return this.verdict(request) === "ok";
  }

  /**
   * `ok`: the request carries the token (header) or the session cookie, or
   * none is needed; `missing`: it carries neither; `wrong`: it carries a
   * wrong one (a guess, for the rate limit).
   */
  verdict(request: Request): "ok" | "missing" | "wrong" {
    if (this.#token === undefined) return "ok";
    const header = request.headers.get("authorization");
    if (header !== null) {
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      return m !== null && tokensEqual(m[1], this.#token) ? "ok" : "wrong";
    }
    const cookie = readCookie(request, SESSION_COOKIE);
    if (cookie === undefined) return "missing";
    return tokensEqual(cookie, this.#session!) ? "ok" : "wrong";
  }

  /** True when `token` (typed into the sign-in form) is the right one. */
  check(token: string): boolean {
    return this.#token !== undefined && tokensEqual(token, this.#token);
  }

  /** The `Set-Cookie` value that signs a browser in. */
  sessionCookie(): string {
    return `${SESSION_COOKIE}=${this.#session ?? ""}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

/**
 * The value of cookie `name` in `request`, if present.
 *
 * @example
 * ```ts
 * import { readCookie } from "./auth.ts";
 * readCookie(new Request("http://x/", { headers: { cookie: "a=1; b=2" } }), "b"); // "2"
 * ```
 */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
