/**
 * `ledctl serve`: the LED server (TCP protocol v1, and the web page when
 * built), on the LED chosen with `--led`.
 *
 * @module
 */
import { openLedForCli, parse, parseCount, parseHost, parsePort, UsageError } from "./args.ts";
import { Terminal } from "./term.ts";
import { defaultLedUri } from "../hal/select.ts";
import { formatState } from "../core/state.ts";
import { LedService } from "../core/led_service.ts";
import {
  ENGINE_NAMES,
  type EngineName,
  listenTcp,
  type TcpServerHandle,
} from "../server/tcp/mod.ts";
import { type HttpServer, startHttpServer } from "../server/http/server.ts";
import { formatDuration, parseDuration } from "../server/duration.ts";
import { AuthLimiter } from "../server/auth_limit.ts";
import { raiseFdLimit } from "../server/fd_limit.ts";
import { SafetyNet } from "./safety.ts";

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
  --tcp-engine E       the TCP engine: auto (default: the fastest this system allows), or
                       one of ${ENGINE_NAMES.filter((e) => e !== "auto").join(", ")}
  --max-watchers N     most clients in watch mode at once (default 100, at most max-clients − 1)
  --http PORT|off      the web page and HTTP API on this port, same --host (default 8080)
  --http-max-connections N   most web connections at once; more get 503 (default 256)
  --http-header-timeout T    a request's head must arrive within T (default 10s)
  --http-body-timeout T      its body within T (default 10s)
  --http-keepalive-timeout T close a web connection idle between requests for T (default 5s)
  --http-host NAME     also accept this DNS name in the page's address (repeatable); IPs,
                       localhost, one-word and .local/.lan names are always accepted
  --token-file FILE    require the token in FILE (its first line) from every client:
                       "auth T" over TCP, "Authorization: Bearer T" or the sign-in form
                       over HTTP; 5 wrong tokens from one address lock it out for 60 s
  --token T            the same, given inline (visible in ps: prefer --token-file or the
                       LEDCTL_TOKEN environment variable)
  --verbose            log every connection and request, not only LED changes
  -h, --help           this help

Stop with Ctrl-C (or SIGTERM, SIGHUP): the LED goes off, the pin is released,
every client is disconnected, exit code 0, within about a second. On a fault
the LED goes off too, one line says why, exit code 1.

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
    "max-watchers": { type: "string" },
    "tcp-engine": { type: "string" },
    "http-max-connections": { type: "string" },
    "http-header-timeout": { type: "string" },
    "http-body-timeout": { type: "string" },
    "http-keepalive-timeout": { type: "string" },
    "token-file": { type: "string" },
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
  let headerTimeoutMs: number, bodyTimeoutMs: number, keepAliveTimeoutMs: number;
  try {
    idleTimeoutMs = parseDuration(values["idle-timeout"] ?? "10s", "--idle-timeout");
    frameTimeoutMs = parseDuration(values["frame-timeout"] ?? "100ms", "--frame-timeout");
    headerTimeoutMs = parseDuration(
      values["http-header-timeout"] ?? "10s",
      "--http-header-timeout",
    );
    bodyTimeoutMs = parseDuration(values["http-body-timeout"] ?? "10s", "--http-body-timeout");
    keepAliveTimeoutMs = parseDuration(
      values["http-keepalive-timeout"] ?? "5s",
      "--http-keepalive-timeout",
    );
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const [name, ms] of [["header", headerTimeoutMs], ["body", bodyTimeoutMs]] as const) {
    if (ms < 1) throw new UsageError(`--http-${name}-timeout must be at least 1ms`);
  }
  const httpMaxConnections = parseCount(
    values["http-max-connections"] ?? "256",
    "--http-max-connections",
    1_000_000,
  );
  if (frameTimeoutMs < 1) throw new UsageError("--frame-timeout must be at least 1ms");
  const maxClients = parseCount(values["max-clients"] ?? "1000", "--max-clients", 1_000_000);
  const ledUri = values.led ?? defaultLedUri();
  const httpPort = values.http === "off"
    ? undefined
    : parsePort(values.http ?? "8080", "--http", true);
  const maxWatchers = values["max-watchers"] === undefined
    ? undefined
    : parseCount(values["max-watchers"], "--max-watchers", 1_000_000);
  if (maxWatchers !== undefined && maxWatchers >= maxClients) {
    throw new UsageError(
      `--max-watchers (${maxWatchers}) must be below --max-clients (${maxClients}), ` +
        "so that clients that send commands always have a slot",
    );
  }
  const token = await readToken(values.token, values["token-file"]);
  const tcpEngine = (values["tcp-engine"] ?? "auto") as EngineName;
  if (!ENGINE_NAMES.includes(tcpEngine)) {
    throw new UsageError(
      `--tcp-engine must be one of ${ENGINE_NAMES.join(", ")}, got "${values["tcp-engine"]}"`,
    );
  }

  const term = new Terminal();
  const log = (line: string) => term.log(line);
  if (values.token !== undefined) {
    log("note: --token is visible to every user in ps; prefer --token-file or LEDCTL_TOKEN");
  }
  let level = false;
  let server: TcpServerHandle | undefined;
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
  service = new LedService(driver, { log });
  const led = service;
  // Before anything else can fail: whatever ends the process turns the LED off first.
  using net = new SafetyNet({ command: "serve", ledOff: () => led.close() });
  const fds = raiseFdLimit();
  if (fds) {
    const raised = fds.after.soft > fds.before.soft ? ` (raised from ${fds.before.soft})` : "";
    log(`descriptors: limit ${fds.after.soft}${raised}, hard limit ${fds.after.hard}`);
  }
  const authLimiter = new AuthLimiter({ log });
  try {
    const listening = await listenTcp(service, {
      engine: tcpEngine,
      hostname,
      port,
      idleTimeoutMs,
      frameTimeoutMs,
      maxClients,
      log,
      verbose: values.verbose,
      token,
      maxWatchers,
      authLimiter,
    });
    server = listening.server;
    log(`tcp engine: ${listening.engine} (${listening.why})`);
  } catch (e) {
    await service.close();
    console.error(listenError(e, hostname, port));
    return 1;
  }
  let http: HttpServer | undefined;
  if (httpPort !== undefined) {
    try {
      http = await startHttpServer(service, {
        hostname,
        port: httpPort,
        token,
        log,
        allowedHosts: values["http-host"] ?? [],
        verbose: values.verbose,
        maxConnections: httpMaxConnections,
        headerTimeoutMs,
        bodyTimeoutMs,
        keepAliveTimeoutMs,
        authLimiter,
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
  const fault = Deno.env.get("LEDCTL_TEST_FAULT");
  if (fault) injectFault(fault);

  const sig = await net.signal;
  term.end();
  log(`${sig}: turning the LED off and closing`);
  unsubscribe();
  let code = 0;
  if (!await net.turnLedOff()) {
    console.error("ledctl serve: could not turn the LED off (see the log above)");
    code = 1;
  }
  // Clients get their FIN; none may hold the exit back for more than a moment.
  const closed = Promise.all([server.close(), http?.close()]).then(() => true);
  const timer = Promise.withResolvers<boolean>();
  const t = setTimeout(() => timer.resolve(false), SHUTDOWN_MS);
  if (!await Promise.race([closed, timer.promise])) log("some connections did not close in time");
  clearTimeout(t);
  log("stopped");
  await term.flush(1_000);
  return code;
}

/** How long connections may take to close at shutdown, in ms. */
const SHUTDOWN_MS = 700;

/**
 * The token from `--token`, `--token-file` or `LEDCTL_TOKEN`, checked.
 * A file's first line is the token (surrounding whitespace dropped).
 */
async function readToken(inline?: string, file?: string): Promise<string | undefined> {
  if (inline !== undefined && file !== undefined) {
    throw new UsageError("give --token or --token-file, not both");
  }
  let token = inline;
  let from = "--token";
  if (file !== undefined) {
    try {
      token = (await Deno.readTextFile(file)).split("\n")[0].trim();
    } catch (e) {
      throw new UsageError(`cannot read --token-file ${file}: ${(e as Error).message}`);
    }
    from = `the token in ${file} (its first line)`;
  } else if (token === undefined && Deno.env.get("LEDCTL_TOKEN")) {
    token = Deno.env.get("LEDCTL_TOKEN");
    from = "LEDCTL_TOKEN";
  }
  if (token !== undefined && !/^[\x21-\x7e]{8,256}$/.test(token)) {
    throw new UsageError(
      `${from} must be 8 to 256 printable characters without spaces`,
    );
  }
  return token;
}

/**
 * Test hook (`LEDCTL_TEST_FAULT=throw|reject`): SIGUSR2 then raises an
 * uncaught error or an unhandled rejection, so the tests can check that a
 * crash turns the LED off. Nothing else reads it.
 */
function injectFault(kind: string): void {
  Deno.addSignalListener("SIGUSR2", () => {
    const e = new Error(`injected fault (LEDCTL_TEST_FAULT=${kind})`);
    if (kind === "reject") Promise.reject(e);
    else {setTimeout(() => {
        throw e;
      }, 0);}
  });
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
