/**
 * The web page and HTTP API (placeholder until the page lands: serves 503).
 *
 * @module
 */
import { type LedService } from "./led_service.ts";

/** Options for {@linkcode startHttpServer}. */
export interface HttpServerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port. Default 8080; 0 picks a free one. */
  port?: number;
  /** When set, API calls must carry it (header `Authorization: Bearer <token>`). */
  token?: string;
  /** Log sink. Default `console.log`. */
  log?: (line: string) => void;
}

/** A running HTTP server. */
export interface HttpServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops listening and ends open event streams. */
  close(): Promise<void>;
}

/**
 * Starts the HTTP server for `service`. Throws `Deno.errors.AddrInUse` etc.
 * from `Deno.serve` as they are.
 *
 * @example
 * ```ts
 * import { startHttpServer } from "./http.ts";
 * // const http = startHttpServer(service, { port: 8080 });
 * ```
 */
export function startHttpServer(_service: LedService, options: HttpServerOptions = {}): HttpServer {
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
    onListen: () => {},
  }, () => new Response("the web page is not built yet\n", { status: 503 }));
  return { port: server.addr.port, close: () => server.shutdown() };
}
