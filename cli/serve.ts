/**
 * `ledctl serve`: the LED server (TCP protocol v1, and the web page when
 * built), on the LED chosen with `--led`.
 *
 * @module
 */
import type { LogFn } from "../core/log.ts";
import { openLedForCli, parse, readTokenFile, UsageError } from "./args.ts";
import { Terminal } from "./term.ts";
import { formatState, LED_OFF, type LedState, sameState } from "../core/state.ts";
import { LedService } from "../core/led_service.ts";
import { loadState, StateStore } from "../core/state_store.ts";
import { listenTcp, type TcpServerHandle } from "../server/tcp/mod.ts";
import { type HttpServer, startHttpServer } from "../server/http/server.ts";
import { formatDuration } from "../server/duration.ts";
import { AuthLimiter } from "../server/auth_limit.ts";
import { raiseFdLimit } from "../server/fd_limit.ts";
import { SafetyNet } from "./safety.ts";
import { parseLedUri } from "../hal/select.ts";
import {
  describeOrigin,
  type Origin,
  readMqttSecrets,
  resolveServeSettings,
  type RestorePolicy,
} from "./config.ts";
import { optionsHelp, SERVE_OPTIONS } from "./serve_options.ts";
import { MqttBridge } from "../server/mqtt/bridge.ts";
import { FleetView } from "../server/mqtt/fleet_view.ts";
import { VERSION } from "../version.ts";

/** Help text of `ledctl serve`. */
export const SERVE_HELP = `Usage: ledctl serve [options]

Starts the LED server: clients send commands over TCP (ledctl send, the
seed's clientLed.py, nc, …), one line each; every client shares one LED.

Options (each also a LEDCTL_* environment variable, e.g. LEDCTL_IDLE_TIMEOUT=30s,
and a key of the config file, e.g. idle-timeout = "30s"; ledctl config shows
the settings in effect and where each comes from):
${optionsHelp()}

Stop with Ctrl-C (or SIGTERM, SIGHUP): the LED goes off, the pin is released,
every client is disconnected, exit code 0, within about a second. On a fault
the LED goes off too, one line says why, exit code 1. At the next start the
LED comes back as it was last asked to be (--restore last).

Examples:
  ledctl serve
  ledctl serve --host 0.0.0.0 --led gpio:BOARD8
  ledctl serve --led mock?trace=/tmp/led.trace --idle-timeout 30s
  ledctl serve --config ./ledctl.toml --log-format json
  ledctl serve --mqtt mqtts://broker.lan --mqtt-user kitchen \\
        --mqtt-password-file /etc/ledctl/mqtt-password --id kitchen --group ground
`;

/** The `parseArgs` options of `ledctl serve`, from {@linkcode SERVE_OPTIONS}. */
export function serveArgOptions() {
  return Object.fromEntries(
    SERVE_OPTIONS.map((o) => [
      o.key,
      o.kind === "boolean"
        ? { type: "boolean" as const }
        : { type: "string" as const, multiple: o.kind === "list" },
    ]),
  );
}

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
  const { values } = parse(args, serveArgOptions());
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const { settings: s, raw } = await resolveServeSettings(
    values as Record<string, string | boolean | string[] | undefined>,
  );
  const { hostname, port, idleTimeoutMs, frameTimeoutMs, maxClients, maxWatchers } = s;
  const token = await readToken(s.token, s.tokenFile, raw.get("token")?.origin);
  const mqttSecrets = s.mqttUrl === undefined ? undefined : await readMqttSecrets(s);
  // A bad --led is a usage error before anything else is tried.
  try {
    parseLedUri(s.ledUri);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message);
    throw e;
  }
  // Before the LED is touched: a port that is taken must not turn off a
  // board another ledctl is driving.
  for (const [p, option] of [[port, "--port"], [s.httpPort, "--http"]] as const) {
    if (p === undefined || p === 0) continue;
    const why = probeListen(hostname, p, option);
    if (why) {
      console.error(why);
      return 1;
    }
  }

  const term = new Terminal({ level: s.logLevel, format: s.logFormat });
  const log: LogFn = (line, level = "info") => term.log(line, level);
  const warn = (line: string) => term.log(line, "warn");
  const debug = s.logLevel === "debug";
  if (raw.get("token")?.origin.kind === "flag") {
    warn("note: --token is visible to every user in ps; prefer --token-file or LEDCTL_TOKEN");
  }
  if (s.configPath !== undefined) log(`settings from ${s.configPath}`);
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

  const driver = await openLedForCli("serve", s.ledUri, {
    draw: (l) => {
      level = l;
      redraw();
    },
    onFault: (e) => term.log(`LED fault: ${e.message}`, "error"),
    log,
  });
  if (!driver) return 1;
  service = new LedService(driver, { log });
  const led = service;
  // Made now, so that it knows who made the restored state; connected after the listeners.
  const bridge = s.mqttUrl === undefined ? undefined : new MqttBridge(service, {
    url: s.mqttUrl,
    id: s.id!,
    groups: s.groups,
    prefix: s.mqttPrefix,
    username: s.mqttUser,
    password: mqttSecrets?.password,
    ca: mqttSecrets?.ca,
    caFile: s.mqttCa,
    version: VERSION,
    log: (line, level) => term.log(line, level),
    keepaliveSeconds: testKeepalive(),
  });
  // Before anything else can fail: whatever ends the process turns the LED off first.
  using net = new SafetyNet({ command: "serve", ledOff: () => led.close() });
  const fds = raiseFdLimit();
  if (fds) {
    const raised = fds.after.soft > fds.before.soft ? ` (raised from ${fds.before.soft})` : "";
    log(`descriptors: limit ${fds.after.soft}${raised}, hard limit ${fds.after.hard}`);
  }
  const authLimiter = new AuthLimiter({ log });
  const store = s.stateFile === undefined ? undefined : new StateStore(s.stateFile, { warn });
  await restoreState(led, store, s.restore, log, warn);
  const unsaved = store
    ? led.subscribe((e) => e.type === "state" && store.save(e.state, e.by))
    : undefined;
  try {
    const listening = await listenTcp(service, {
      engine: s.tcpEngine,
      hostname,
      port,
      idleTimeoutMs,
      frameTimeoutMs,
      maxClients,
      log,
      verbose: debug,
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
  let fleet: FleetView | undefined;
  if (bridge) {
    try {
      await bridge.start();
    } catch (e) {
      await server.close();
      await service.close();
      console.error(
        `ledctl serve: cannot start MQTT (${(e as Error).message}): is the mqtt npm package ` +
          "cached (deno install), or run the compiled ledctl",
      );
      return 1;
    }
    // The page's view of the fleet follows it only while a page or request
    // uses it: N devices each following the fleet would cost the broker N²
    // deliveries per command (docs/PERFORMANCE.md, the fleet benchmark).
    if (s.httpPort !== undefined) {
      fleet = new FleetView(bridge.client!, s.mqttPrefix, { idleMs: FLEET_IDLE_MS });
    }
  }
  let http: HttpServer | undefined;
  if (s.httpPort !== undefined) {
    try {
      http = await startHttpServer(service, {
        hostname,
        port: s.httpPort,
        token,
        log,
        allowedHosts: s.httpHosts,
        verbose: debug,
        maxConnections: s.httpMaxConnections,
        headerTimeoutMs: s.headerTimeoutMs,
        bodyTimeoutMs: s.bodyTimeoutMs,
        keepAliveTimeoutMs: s.keepAliveTimeoutMs,
        authLimiter,
        fleet,
        fleetSelf: s.id,
      });
    } catch (e) {
      await bridge?.close();
      await server.close();
      await service.close();
      console.error(listenError(e, hostname, s.httpPort, "--http"));
      return 1;
    }
  }
  const idle = idleTimeoutMs === 0 ? "never" : formatDuration(idleTimeoutMs);
  log(
    `ledctl listening on ${server.hostname}:${server.port} · LED: ${service.description} · ` +
      `idle timeout ${idle} · max ${maxClients} clients`,
  );
  if (http) log(`web page on ${pageUrls(hostname, http.port)}`);
  if (token !== undefined) log("clients must authenticate (--token is set)");
  const unsubscribe = service.subscribe(redraw);
  redraw();
  const fault = Deno.env.get("LEDCTL_TEST_FAULT");
  if (fault) injectFault(fault);

  const sig = await net.signal;
  term.end();
  log(`${sig}: turning the LED off and closing`);
  unsubscribe();
  unsaved?.();
  fleet?.stop();
  // "offline" goes out at once (the LED's off below is not a request, so not published).
  const bridgeClosed = bridge?.close(SHUTDOWN_MS);
  let code = 0;
  if (!await net.turnLedOff()) {
    console.error("ledctl serve: could not turn the LED off (see the log above)");
    code = 1;
  }
  await flushWithin(store, SHUTDOWN_MS);
  // Clients get their FIN; none may hold the exit back for more than a moment.
  const closed = Promise.all([server.close(), http?.close(), bridgeClosed]).then(() => true);
  const timer = Promise.withResolvers<boolean>();
  const t = setTimeout(() => timer.resolve(false), SHUTDOWN_MS);
  if (!await Promise.race([closed, timer.promise])) log("some connections did not close in time");
  clearTimeout(t);
  log("stopped");
  await term.flush(1_000);
  return code;
}

/** How long the page's fleet view stays subscribed with no page open, in ms. */
const FLEET_IDLE_MS = 60_000;

/** How long connections may take to close at shutdown, in ms. */
const SHUTDOWN_MS = 700;

/**
 * The token from `token` (`--token`, `LEDCTL_TOKEN` or the file's `token`)
 * or `token-file`, checked. A file's first line is the token (surrounding
 * whitespace dropped).
 */
async function readToken(
  inline?: string,
  file?: string,
  origin?: Origin,
): Promise<string | undefined> {
  if (inline !== undefined && file !== undefined) {
    throw new UsageError("give a token or a token file, not both");
  }
  let token = inline;
  let from = origin ? describeOrigin("token", origin) : "--token";
  if (file !== undefined) {
    token = await readTokenFile(file);
    from = `the token in ${file} (its first line)`;
  }
  if (token !== undefined && !/^[\x21-\x7e]{8,256}$/.test(token)) {
    throw new UsageError(
      `${from} must be 8 to 256 printable characters without spaces`,
    );
  }
  return token;
}

/**
 * Test hook (`LEDCTL_TEST_MQTT_KEEPALIVE=<seconds>`): a short MQTT
 * keepalive, so a test finds a silent broker quickly. Nothing else reads it.
 */
function testKeepalive(): number | undefined {
  const v = Number(Deno.env.get("LEDCTL_TEST_MQTT_KEEPALIVE"));
  return Number.isInteger(v) && v > 0 ? v : undefined;
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

/**
 * Sets the LED as `policy` says at start: `last` the state in the store's
 * file (a missing or bad file: a warning, the LED stays off), `on`, or `off`.
 */
async function restoreState(
  led: LedService,
  store: StateStore | undefined,
  policy: RestorePolicy,
  log: (line: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  let state: LedState = LED_OFF;
  let by = `restore ${policy}`;
  if (policy === "on") state = { mode: "on" };
  if (policy === "last") {
    if (!store) {
      log("no state file (--state-file off, or no home directory): the LED starts off");
      return;
    }
    const saved = await loadState(store.path);
    if (!saved.ok) {
      if (saved.missing) log(`no saved state yet in ${store.path}: the LED starts off`);
      else warn(`ignoring the state file ${store.path} (${saved.why}): the LED starts off`);
      return;
    }
    state = saved.state;
    by = `restore last (${saved.by}, ${saved.time})`;
  }
  if (sameState(state, LED_OFF)) return;
  try {
    await led.request(state, by);
  } catch (e) {
    warn(`could not restore the LED to ${formatState(state)}: ${(e as Error).message}`);
  }
}

/** Waits for the state file's last write, at most `ms`. */
async function flushWithin(store: StateStore | undefined, ms: number): Promise<void> {
  if (!store) return;
  let t: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([store.flush(), new Promise((r) => t = setTimeout(r, ms))]);
  clearTimeout(t);
}

/**
 * Where the web page can be opened, for the start line: on 0.0.0.0 (or ::)
 * the machine's own LAN addresses, which a phone can open, then localhost.
 */
function pageUrls(hostname: string, port: number): string {
  const url = (h: string) => `http://${h.includes(":") ? `[${h}]` : h}:${port}/`;
  if (hostname !== "0.0.0.0" && hostname !== "::") return url(hostname);
  let lan: string[] = [];
  try {
    lan = Deno.networkInterfaces()
      .filter((i) => (hostname === "::" || i.family === "IPv4") && !isLoopback(i.address))
      .filter((i) => !i.address.startsWith("fe80:"))
      .map((i) => url(i.address));
  } catch { /* no --allow-sys: localhost only */ }
  const local = url("localhost");
  return lan.length ? `${[...new Set(lan)].join(" ")} (this machine: ${local})` : local;
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/**
 * Whether `port` can be listened on now: undefined if so, else the line
 * saying why (listening for a moment, then closing).
 */
function probeListen(hostname: string, port: number, option: string): string | undefined {
  try {
    Deno.listen({ hostname, port }).close();
    return undefined;
  } catch (e) {
    return listenError(e, hostname, port, option);
  }
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
    const suggest = option === "--http" ? 8080 : 10000;
    return `ledctl serve: not allowed to listen on ${where}: ports below 1024 need root; use ${option} ${suggest}`;
  }
  return `ledctl serve: cannot listen on ${where}: ${(e as Error).message}`;
}
