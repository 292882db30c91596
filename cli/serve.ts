/**
 * `ledctl serve`: the LED server (TCP protocol v1, and the web page when
 * built), on the LED chosen with `--led`.
 *
 * @module
 */
import { openLedForCli, parse, parseCount, parseHost, parsePort, UsageError } from "./args.ts";
import { Terminal } from "./term.ts";
import { defaultLedUri } from "../hal/select.ts";
import { formatState } from "../hal/types.ts";
import { LedService } from "../server/led_service.ts";
import { TcpServer } from "../server/tcp.ts";
import { type HttpServer, startHttpServer } from "../server/http.ts";
import { formatDuration, parseDuration } from "../server/duration.ts";

/** Help text of `ledctl serve`. */
export const SERVE_HELP = `Usage: ledctl serve [options]

Starts the LED server: clients send commands over TCP (ledctl send, the
seed's clientLed.py, nc, …), one line each; every client shares one LED.

Options:
  --host ADDR          address to listen on (default 127.0.0.1; 0.0.0.0 = every interface)
  --port N             TCP port (default 10000; 0 = any free port, printed at start)
  --led URI            the LED: mock, mock?trace=FILE, gpio:BOARD8, gpio:GPIO17?active-low,
                       serial:/dev/ttyACM0, tcp:HOST:7000 (default: gpio:BOARD8 on a
                       Raspberry Pi, mock elsewhere)
  --idle-timeout T     close connections silent for T (default 10s; 0 = never)
  --frame-timeout T    a command sent without newline counts after T of silence (default 100ms)
  --max-clients N      most clients at once; more get "ERR busy" (default 1000)
  --http PORT|off      the web page and HTTP API on this port, same --host (default 8080)
  --http-host NAME     also accept this DNS name in the page's address (repeatable); IPs,
                       localhost, one-word and .local/.lan names are always accepted
  --token T            require "auth T" from TCP clients and "Authorization: Bearer T"
                       from HTTP clients (default: none; also read from LEDCTL_TOKEN)
  --verbose            log every connection and request, not only LED changes
  -h, --help           this help

Stop with Ctrl-C (or SIGTERM): the LED goes off, the pin is released, every
client is disconnected, exit code 0.

Examples:
  ledctl serve
  ledctl serve --host 0.0.0.0 --led gpio:BOARD8
  ledctl serve --led mock?trace=/tmp/led.trace --idle-timeout 30s
`;

/**
 * Runs the server until SIGINT/SIGTERM; returns the exit code.
 *
 * @example
 * ```ts
 * import { serve } from "./serve.ts";
 * Deno.exit(await serve(["--port", "10000"]));
 * ```
 */
export async function serve(args: string[]): Promise<number> {
  const { values } = parse(args, {
    host: { type: "string" },
    port: { type: "string" },
    led: { type: "string" },
    "idle-timeout": { type: "string" },
    "frame-timeout": { type: "string" },
    "max-clients": { type: "string" },
    verbose: { type: "boolean" },
    http: { type: "string" },
    "http-host": { type: "string", multiple: true },
    token: { type: "string" },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const hostname = parseHost(values.host ?? "127.0.0.1");
  const port = parsePort(values.port ?? "10000", "--port", true);
  let idleTimeoutMs: number, frameTimeoutMs: number;
  try {
    idleTimeoutMs = parseDuration(values["idle-timeout"] ?? "10s", "--idle-timeout");
    frameTimeoutMs = parseDuration(values["frame-timeout"] ?? "100ms", "--frame-timeout");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (frameTimeoutMs < 1) throw new UsageError("--frame-timeout must be at least 1ms");
  const maxClients = parseCount(values["max-clients"] ?? "1000", "--max-clients", 1_000_000);
  const ledUri = values.led ?? defaultLedUri();
  const httpPort = values.http === "off"
    ? undefined
    : parsePort(values.http ?? "8080", "--http", true);
  const token = values.token ?? (Deno.env.get("LEDCTL_TOKEN") || undefined);
  if (token !== undefined && !/^[\x21-\x7e]{8,256}$/.test(token)) {
    throw new UsageError("--token must be 8 to 256 printable characters without spaces");
  }

  const term = new Terminal();
  const log = (line: string) => term.log(line);
  let level = false;
  let server: TcpServer | undefined;
  let service: LedService | undefined = undefined;
  const redraw = () => {
    if (!service) return;
    const glyph = level ? term.paint("●", "green") : term.paint("○", "dim");
    const n = service.clients;
    term.status(
      `${glyph} LED ${formatState(service.state)} · ${n} client${
        n === 1 ? "" : "s"
      } · ${service.description}`,
    );
  };

  const driver = await openLedForCli("serve", ledUri, {
    draw: (l) => {
      level = l;
      redraw();
    },
    onFault: (e) => log(`LED fault: ${e.message}`),
    log,
  });
  if (!driver) return 1;
  // Listen for signals before announcing anything, so none is missed.
  const stop = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => {
    const h = () => stop.resolve(sig);
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  service = new LedService(driver, { log });
  try {
    server = await TcpServer.listen(service, {
      hostname,
      port,
      idleTimeoutMs,
      frameTimeoutMs,
      maxClients,
      log,
      verbose: values.verbose,
      token,
    });
  } catch (e) {
    await service.close();
    console.error(listenError(e, hostname, port));
    return 1;
  }
  let http: HttpServer | undefined;
  if (httpPort !== undefined) {
    try {
      http = startHttpServer(service, {
        hostname,
        port: httpPort,
        token,
        log,
        allowedHosts: values["http-host"] ?? [],
      });
    } catch (e) {
      await server.close();
      await service.close();
      console.error(listenError(e, hostname, httpPort, "--http"));
      return 1;
    }
  }
  const idle = idleTimeoutMs === 0 ? "never" : formatDuration(idleTimeoutMs);
  log(
    `ledctl listening on ${server.hostname}:${server.port} · LED: ${service.description} · ` +
      `idle timeout ${idle} · max ${maxClients} clients`,
  );
  if (http) {
    const shown = hostname === "0.0.0.0"
      ? "localhost"
      : hostname.includes(":")
      ? `[${hostname}]`
      : hostname;
    log(`web page on http://${shown}:${http.port}/`);
  }
  if (token !== undefined) log("clients must authenticate (--token is set)");
  const unsubscribe = service.subscribe(redraw);
  redraw();

  const sig = await stop.promise;
  term.end();
  log(`${sig}: turning the LED off and closing`);
  // A second signal during shutdown forces the exit.
  for (const [s, h] of handlers) {
    Deno.removeSignalListener(s, h);
    Deno.addSignalListener(s, () => Deno.exit(130));
  }
  unsubscribe();
  let code = 0;
  try {
    await service.close();
  } catch (e) {
    console.error(`ledctl serve: could not turn the LED off: ${(e as Error).message}`);
    code = 1;
  }
  await Promise.all([server.close(), http?.close()]);
  log("stopped");
  return code;
}

/** One line saying why listening failed and what to do. */
function listenError(e: unknown, hostname: string, port: number, option = "--port"): string {
  const where = `${hostname}:${port}`;
  if (e instanceof Deno.errors.AddrInUse) {
    return `ledctl serve: ${where} is already in use (another ledctl serve?): stop it or pick another ${option}`;
  }
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return `ledctl serve: ${hostname} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its own addresses`;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return `ledctl serve: not allowed to listen on ${where}: ports below 1024 need root; use ${option} 10000`;
  }
  return `ledctl serve: cannot listen on ${where}: ${(e as Error).message}`;
}
