/**
 * The web page and HTTP API, in the same process as the TCP server:
 *
 * | path | methods | what |
 * |---|---|---|
 * | `/` | GET | the page (works without JavaScript) |
 * | `/app.js`, `/style.css`, `/favicon.svg` | GET | its files, embedded |
 * | `/api/state` | GET | `{state, text, clients, viewers, led}` |
 * | `/api/led` | POST | JSON or form `{command, hz}` → `{ok, reply, state, text}`; a browser form gets a 303 back to `/` |
 * | `/api/events` | GET | Server-Sent Events (see `sse.ts`) |
 * | `/api/fleet` | GET | with `fleet` (`serve --mqtt`): every device on the broker, this one first (`fleet.ts`) |
 * | `/api/fleet/<id>` | POST | with `fleet`: `/api/led`'s fields → published to that device, 202 |
 * | `/login` | POST | form `token=…`: sets the session cookie when `--token` is set |
 * | `/healthz` | GET | 200 `{ok, status, state, text, led, link}`; 503 while the board link is down (`health.ts`) |
 * | `/metrics` | GET | Prometheus text format 0.0.4 (`../metrics.ts`) |
 *
 * Safety: POSTs from another site's page are refused (403, see
 * `origin.ts`), so are host names that could be DNS-rebound; bodies over
 * 4 KiB get 413; with a token, the API (and `/healthz`, `/metrics`) needs `Authorization: Bearer <token>`
 * or the session cookie (401). Commands go through the same parser and
 * {@linkcode execute} as TCP: bad input gets 400 and the TCP `ERR` line.
 *
 * Transport: our own HTTP/1.1 server ({@linkcode serveHttp1}), which bounds
 * connections, request heads and bodies in size and time, and closes
 * within a second (`Deno.serve` offered none of these limits).
 *
 * @module
 */
import type { LogFn } from "../../core/log.ts";
import type { Clock } from "../../hal/clock.ts";
import type { LedService } from "../../core/led_service.ts";
import type { ClientInfo } from "../../core/commands.ts";
import { checkHost, checkOrigin } from "./origin.ts";
import { HttpAuth } from "./auth.ts";
import { AuthLimiter } from "../auth_limit.ts";
import { LED_OFF } from "../../core/state.ts";
import { BodyError, type Fields, MAX_BODY, readFields } from "./body.ts";
import { runLedRequest, webClientName } from "./api.ts";
import { fleetList, runFleetRequest } from "./fleet.ts";
import { CLEAR_FLASH, flashCookie, readFlash } from "./flash.ts";
import { EventHub, stateJson } from "./sse.ts";
import { pickLanguage, renderPage } from "./page.ts";
import { assetResponse, ASSETS } from "./web_assets.ts";
import { HTTP1_DEFAULTS, type Http1Info, serveHttp1 } from "./http1.ts";
import { health } from "./health.ts";
import { CONTENT_TYPE, metricsFor } from "../metrics.ts";
import type { FleetView } from "../mqtt/fleet_view.ts";

/** Options for {@linkcode startHttpServer}. */
export interface HttpServerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port. Default 8080; 0 picks a free one. */
  port?: number;
  /** When set, API calls must carry it (header `Authorization: Bearer <token>`). */
  token?: string;
  /** Log sink. Default `console.log`. */
  log?: LogFn;
  /**
   * Host names the page may be reached by besides IP addresses, localhost,
   * one-word names and `.local`/`.lan`/`.home.arpa`/`.internal` names.
   */
  allowedHosts?: readonly string[];
  /** Wrong-token limiter, shared with TCP. Default: 5 wrong tokens per address per minute. */
  authLimiter?: AuthLimiter;
  /** Largest request body in bytes. Default {@linkcode MAX_BODY} (4 KiB). */
  maxBody?: number;
  /** Most connections open at once; a newcomer beyond it gets 503. Default 256. */
  maxConnections?: number;
  /** A request head must arrive within this, in ms (else 408). Default 10 000. */
  headerTimeoutMs?: number;
  /** A request body must arrive within this, in ms (else 408). Default 10 000. */
  bodyTimeoutMs?: number;
  /** An idle connection between requests is closed after this, in ms. Default 5 000. */
  keepAliveTimeoutMs?: number;
  /** Log every connection and request, not just refusals and errors. Default false. */
  verbose?: boolean;
  /** Clock for the connection timeouts. Default: the real one. */
  clock?: Clock;
  /**
   * The fleet on the MQTT broker (`serve --mqtt`), for the page's fleet
   * view: every device's live state, and commands to them. Default: none
   * (no `--mqtt`: the page shows the local LED only).
   */
  fleet?: FleetView;
  /**
   * This server's own device id in {@linkcode fleet} (`serve --id`): listed
   * first and marked `self`. Default: none (no device is marked).
   */
  fleetSelf?: string;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The port actually bound. */
  readonly port: number;
  /** Connections open right now. */
  readonly connections: number;
  /** Stops listening, ends open event streams, closes every connection within 1 s. */
  close(): Promise<void>;
}

/**
 * The route table: each path the server answers and its methods, as sent in
 * `Allow`. Frozen: the tests read it to try every `POST` route.
 */
export const ALLOW: Readonly<Record<string, string>> = Object.freeze({
  "/": "GET, HEAD",
  "/api/state": "GET, HEAD",
  "/api/led": "POST",
  "/api/events": "GET",
  "/api/fleet": "GET, HEAD",
  // Every /api/fleet/<id> (routeOf); 404 when the server has no fleet.
  "/api/fleet/:id": "POST",
  "/login": "POST",
  "/healthz": "GET, HEAD",
  "/metrics": "GET, HEAD",
  ...Object.fromEntries(Object.keys(ASSETS).map((p) => [p, "GET, HEAD"])),
});

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...SECURITY_HEADERS,
      ...headers,
    },
  });
}

function text(status: number, body: string, headers: HeadersInit = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...headers },
  });
}

function redirect(location: string, cookie?: string): Response {
  const headers = new Headers({ location, "cache-control": "no-store", ...SECURITY_HEADERS });
  if (cookie) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

/** A form posted by a browser navigating (no JavaScript): answer with a redirect. */
function isFormNavigation(request: Request): boolean {
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  const accept = (request.headers.get("accept") ?? "").toLowerCase();
  return type.startsWith("application/x-www-form-urlencoded") && accept.includes("text/html");
}

/** The route table's key for `path`: one key stands for every `/api/fleet/<id>`. */
function routeOf(path: string): string {
  return path.startsWith("/api/fleet/") ? "/api/fleet/:id" : path;
}

function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Starts the HTTP server for `service`. Rejects with `Deno.errors.AddrInUse`,
 * `AddrNotAvailable` or `PermissionDenied` when it cannot listen.
 *
 * @example
 * ```ts
 * import { startHttpServer } from "./server.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const http = await startHttpServer(service, { port: 0 });
 * const r = await fetch(`http://127.0.0.1:${http.port}/api/state`);
 * (await r.json()).text; // "off"
 * await http.close();
 * await service.close();
 * ```
 */
export async function startHttpServer(
  service: LedService,
  options: HttpServerOptions = {},
): Promise<HttpServer> {
  const log = options.log ?? ((line: string) => console.log(line));
  const auth = new HttpAuth(options.token);
  const limiter = options.authLimiter ?? new AuthLimiter({ log });
  const fleet = options.fleet;
  const hub = new EventHub(service, { fleet, fleetSelf: options.fleetSelf });
  const extraHosts = options.allowedHosts ?? [];
  const maxBody = options.maxBody ?? MAX_BODY;
  const metrics = metricsFor(service);
  // One web server per service: a second one's viewers are not counted.
  const unregisterViewers = metrics.has("ledctl_viewers") ? () => {} : metrics.register({
    name: "ledctl_viewers",
    type: "gauge",
    help: "Web pages following the LED (event streams open).",
    collect: () => [{ value: hub.viewers }],
  });
  // Web requests are numbered on their own and named `web #N` (api.ts), apart from TCP clients.
  let webRequests = 0;

  const handle = async (request: Request, info: Http1Info): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    const method = request.method;
    const isApi = path.startsWith("/api/");
    const refuse = (status: number, reason: string) =>
      isApi ? json(status, { ok: false, error: reason }) : text(status, reason);

    const host = request.headers.get("host") ?? url.host;
    const hostVerdict = checkHost(host, extraHosts);
    if (!hostVerdict.ok) return refuse(403, hostVerdict.reason);

    const route = routeOf(path);
    const allow = ALLOW[route];
    if (allow === undefined) {
      return refuse(404, `no such page: ${path.slice(0, 100)} (the page is at /)`);
    }
    if (!allow.split(", ").includes(method)) {
      return new Response(`${method} is not allowed on ${path}: use ${allow}\n`, {
        status: 405,
        headers: { allow, "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS },
      });
    }

    if (method === "POST") {
      const verdict = checkOrigin(request, extraHosts);
      if (!verdict.ok) {
        log(`web: refused ${method} ${path} from ${remoteOf(info)}: ${verdict.reason}`);
        return refuse(403, verdict.reason);
      }
    }

    const asset = assetResponse(path);
    if (asset) return asset;

    const remote = remoteOf(info);
    const address = info.remoteAddr.hostname;
    switch (route) {
      case "/":
        return page(request, guard(request, address) === undefined);
      case "/login":
        return await login(request, address);
      case "/api/state": {
        const refused = guard(request, address);
        if (refused) return refused;
        return json(200, {
          ...stateJson(service.state),
          clients: service.clients,
          viewers: hub.viewers,
          led: service.description,
        });
      }
      case "/api/events":
        return guard(request, address) ?? await hub.open();
      case "/healthz": {
        const refused = guard(request, address);
        if (refused) return refused;
        const { status, body } = health(service);
        return json(status, body);
      }
      case "/metrics": {
        const refused = guard(request, address);
        if (refused) return refused;
        return new Response(await metrics.render(), {
          headers: {
            "content-type": CONTENT_TYPE,
            "cache-control": "no-store",
            ...SECURITY_HEADERS,
          },
        });
      }
      case "/api/led": {
        const form = isFormNavigation(request);
        const refused = guard(request, address);
        if (refused) return form ? redirect("/") : refused;
        let fields: Fields;
        try {
          fields = await readFields(request, maxBody);
        } catch (e) {
          if (!(e instanceof BodyError)) throw e;
          if (form) return redirect("/", flashCookie({ ok: false, reply: e.message }));
          return json(e.status, { ok: false, error: e.message });
        }
        const client: ClientInfo = { id: ++webRequests, remote };
        const result = await runLedRequest(fields, service, client, options.token);
        if (form) {
          const hz = typeof (fields.hz ?? fields.freq) === "string"
            ? String(fields.hz ?? fields.freq).slice(0, 64)
            : undefined;
          return redirect(
            "/",
            flashCookie({ ok: result.body.ok, reply: result.body.reply, hz }),
          );
        }
        return json(result.status, result.body);
      }
      case "/api/fleet": {
        if (!fleet) return refuse(404, NO_FLEET);
        const refused = guard(request, address);
        if (refused) return refused;
        const unreachable = await followFleet(fleet);
        if (unreachable) return unreachable;
        return json(200, fleetList(fleet, options.fleetSelf));
      }
      case "/api/fleet/:id": {
        if (!fleet) return refuse(404, NO_FLEET);
        const refused = guard(request, address);
        if (refused) return refused;
        let fields: Fields;
        try {
          fields = await readFields(request, maxBody);
        } catch (e) {
          if (!(e instanceof BodyError)) throw e;
          return json(e.status, { ok: false, error: e.message });
        }
        const id = decodeURIComponentOr(path.slice("/api/fleet/".length));
        const unreachable = await followFleet(fleet);
        if (unreachable) return unreachable;
        const by = webClientName({ id: ++webRequests, remote });
        const result = await runFleetRequest(fleet, id, fields, by);
        const what = result.body.ok
          ? `sent ${result.body.sent}`
          : `refused ${result.status}: ${result.body.reply ?? result.body.error}`;
        log(printable(`web: fleet ${id.slice(0, 64)} ← ${what} (${by})`));
        return json(result.status, result.body);
      }
    }
    return refuse(404, "no such page");
  };

  const unauthorized = () =>
    json(401, {
      ok: false,
      error:
        'this server needs its token: send the header "Authorization: Bearer <token>" (or sign in on the page)',
    }, { "www-authenticate": 'Bearer realm="ledctl"' });

  /**
   * Undefined when `request` may go on; else the refusal: 401 without a
   * token, 429 from an address locked out by wrong tokens. A wrong token
   * counts against its address.
   */
  const guard = (request: Request, address: string): Response | undefined => {
    if (!auth.required) return undefined;
    const verdict = auth.verdict(request);
    const wait = limiter.retryAfterS(address);
    if (verdict !== "missing" && wait > 0) return tooMany(address, wait);
    if (verdict === "ok") return undefined;
    if (verdict === "wrong") limiter.fail(address, "web");
    return unauthorized();
  };

  const tooMany = (address: string, wait: number) =>
    json(429, {
      ok: false,
      error: `too many wrong tokens from ${address}; try again in ${wait} s`,
    }, { "retry-after": String(wait) });

  const page = (request: Request, allowed: boolean): Response => {
    const flash = readFlash(request);
    const n = nonce();
    // Without the token, nothing about the LED: not its state, its clients or its name.
    const html = renderPage({
      lang: pickLanguage(request),
      state: allowed ? service.state : LED_OFF,
      clients: allowed ? service.clients : 0,
      led: allowed ? service.description : "",
      flash,
      signIn: !allowed,
      nonce: n,
      fleet: allowed && fleet !== undefined,
    });
    const headers = new Headers({
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-language": pickLanguage(request),
      "vary": "Accept-Language, Cookie",
      "content-security-policy":
        `default-src 'none'; script-src 'self'; style-src 'self' 'nonce-${n}'; img-src 'self'; ` +
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      ...SECURITY_HEADERS,
    });
    if (flash) headers.append("set-cookie", CLEAR_FLASH);
    return new Response(html, { headers });
  };

  const login = async (request: Request, address: string): Promise<Response> => {
    let fields: Fields;
    try {
      fields = await readFields(request, maxBody);
    } catch (e) {
      if (!(e instanceof BodyError)) throw e;
      return text(e.status, e.message);
    }
    const token = typeof fields.token === "string" ? fields.token : "";
    if (!auth.required) return redirect("/");
    const wait = limiter.retryAfterS(address);
    if (wait > 0) {
      const reply = `too many wrong tokens; try again in ${wait} s`;
      return redirect("/", flashCookie({ ok: false, reply, form: "login" }));
    }
    if (auth.check(token)) return redirect("/", auth.sessionCookie());
    limiter.fail(address, "web");
    return redirect("/", flashCookie({ ok: false, reply: "wrong token", form: "login" }));
  };

  // A handler that throws gets 500 and one log line with its stack, from serveHttp1.
  const server = await serveHttp1(handle, {
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
    log,
    verbose: options.verbose ?? false,
    clock: options.clock,
    maxConnections: options.maxConnections,
    headerTimeoutMs: options.headerTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    // The API's own limit (maxBody) answers with JSON; this one only bounds memory.
    maxBodyBytes: Math.max(HTTP1_DEFAULTS.maxBodyBytes, maxBody),
  });
  return {
    port: server.port,
    get connections() {
      return server.connections;
    },
    close: async () => {
      unregisterViewers();
      hub.close();
      await server.close();
    },
  };
}

/**
 * Follows the fleet (subscribing on first use: serve's view is on demand,
 * see fleet_view.ts); a 503 response when the broker does not answer.
 */
async function followFleet(fleet: FleetView): Promise<Response | undefined> {
  try {
    await fleet.ensure();
    return undefined;
  } catch (e) {
    return new Response(
      JSON.stringify({
        ok: false,
        error: `the MQTT broker does not answer (${(e as Error).message}): try again shortly`,
      }),
      {
        status: 503,
        headers: { "content-type": "application/json; charset=utf-8", "retry-after": "5" },
      },
    );
  }
}

const NO_FLEET = "no fleet here: this server was started without --mqtt (see docs/mqtt.md)";

/** `line` with its control characters escaped: a posted id cannot forge log lines. */
function printable(line: string): string {
  // deno-lint-ignore no-control-regex
  const control = /[\x00-\x1f\x7f]/g;
  return line.replace(control, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** A path segment, percent-decoded; as written if it is not valid percent-encoding. */
function decodeURIComponentOr(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function remoteOf(info: Http1Info): string {
  const addr = info.remoteAddr;
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
