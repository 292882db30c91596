/**
 * Where an HTTP request comes from: refuses requests another website makes
 * the browser send (cross-site request forgery) and requests reaching us
 * through a hostile DNS name (DNS rebinding). Either would let a random web
 * page blink the LED.
 *
 * @module
 */

/** Why a request was refused, as a sentence for the client. */
export type OriginVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: OriginVerdict = Object.freeze({ ok: true });

/**
 * Host names a browser may use to reach us: IP literals, `localhost`, names
 * of one label (`raspberrypi`) and names under suffixes nobody can register
 * on the public DNS (`.local`, `.lan`, `.home.arpa`, …), plus `extra`.
 * A public name could be pointed at 127.0.0.1 by its owner (DNS rebinding).
 *
 * @example
 * ```ts
 * import { isAllowedHost } from "./origin.ts";
 * isAllowedHost("raspberrypi.local:8080"); // true
 * isAllowedHost("evil.example:8080"); // false
 * ```
 */
export function isAllowedHost(host: string, extra: readonly string[] = []): boolean {
  const name = hostName(host);
  if (name === undefined) return false;
  if (extra.some((h) => h.toLowerCase() === name)) return true;
  if (name.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return true;
  if (!name.includes(".")) return true;
  return /\.(localhost|local|lan|home\.arpa|internal|home|localdomain)$/.test(name);
}

/** The lower-cased host name of a `Host` header value, without its port. */
function hostName(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  if (h === "") return undefined;
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end === -1 ? undefined : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(":");
  const name = colon === -1 ? h : h.slice(0, colon);
  return /^[a-z0-9.-]+$/.test(name) ? name.replace(/\.$/, "") : undefined;
}

/**
 * Checks that `request` may change something: its `Host` is one we answer
 * to, and a browser sending it says it comes from our own page
 * (`Sec-Fetch-Site: same-origin`/`none`, `Origin` equal to the host).
 * Clients that are not browsers (curl, scripts) send neither header and pass.
 *
 * @example
 * ```ts
 * import { checkOrigin } from "./origin.ts";
 * const req = new Request("http://127.0.0.1:8080/api/led", {
 *   method: "POST",
 *   headers: { origin: "https://evil.example" },
 * });
 * checkOrigin(req).ok; // false
 * ```
 */
export function checkOrigin(request: Request, extraHosts: readonly string[] = []): OriginVerdict {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  const hostCheck = checkHost(host, extraHosts);
  if (!hostCheck.ok) return hostCheck;
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return {
      ok: false,
      reason: `cross-origin request refused: a page of another site (Sec-Fetch-Site: ${
        clip(site)
      }) may not control the LED; use the page served at http://${clip(host)}/`,
    };
  }
  const origin = request.headers.get("origin");
  if (origin !== null) {
    let originHost: string | undefined;
    try {
      originHost = origin === "null" ? undefined : new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || originHost.toLowerCase() !== host.toLowerCase()) {
      return {
        ok: false,
        reason: `cross-origin request refused: Origin ${clip(origin)} is not this server (${
          clip(host)
        }); only the page served here may control the LED`,
      };
    }
  }
  return OK;
}

/**
 * Checks only the `Host` header (for reads: a rebound name must not read
 * the page either).
 *
 * @example
 * ```ts
 * import { checkHost } from "./origin.ts";
 * checkHost("localhost:8080").ok; // true
 * ```
 */
export function checkHost(host: string, extraHosts: readonly string[] = []): OriginVerdict {
  if (isAllowedHost(host, extraHosts)) return OK;
  return {
    ok: false,
    reason: `host name "${
      clip(host)
    }" refused: reach ledctl by its IP address, localhost, a one-word name or a .local/.lan name (protects against DNS rebinding)`,
  };
}

function clip(s: string): string {
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, "?");
  return clean.length > 80 ? clean.slice(0, 80) + "..." : clean;
}
