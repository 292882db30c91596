/**
 * Test harness: runs `ledctl` as a real process and talks to it over real
 * TCP on loopback. Waits on output lines and socket events, never on sleeps.
 * The TCP suites register each test once per TCP engine ({@linkcode tcpTest}
 * over {@linkcode tcpEngines}), named `[engine] …`.
 *
 * @module
 */
import { type Edge, readTrace } from "../hal/mock.ts";
import { ENGINE_NAMES, type EngineName } from "../server/tcp/mod.ts";

const root = new URL("..", import.meta.url).pathname;
const deno = Deno.env.get("LEDCTL_DENO") ?? Deno.execPath();
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A TCP engine asked for by name (`serve --tcp-engine <engine>`), not `auto`. */
export type TcpEngine = Exclude<EngineName, "auto">;

/** Whether this machine can run `engine` (epoll: Linux on x86-64 or aarch64, through FFI). */
function canRun(engine: string): boolean {
  if (engine !== "epoll") return true;
  return Deno.build.os === "linux" && ["x86_64", "aarch64"].includes(Deno.build.arch);
}

/**
 * The TCP engines every TCP suite runs against, the one place that lists
 * them: each engine `--tcp-engine` accepts (server/tcp/mod.ts's
 * `ENGINE_NAMES`, without `auto`) that this machine can run: `node` always,
 * `epoll` as soon as it is built, on Linux x86-64 and aarch64. The
 * environment variable `LEDCTL_TCP_ENGINE=<engine>` keeps just that one
 * (to debug one engine); an engine not in the list is an error.
 */
export function tcpEngines(): TcpEngine[] {
  const all = (ENGINE_NAMES.filter((e) => e !== "auto") as TcpEngine[]).filter(canRun);
  const only = Deno.env.get("LEDCTL_TCP_ENGINE");
  if (only === undefined || only === "") return all;
  if (!(all as string[]).includes(only)) {
    throw new Error(
      `LEDCTL_TCP_ENGINE=${only}: not an engine this machine runs; use one of ${all.join(", ")}`,
    );
  }
  return [only as TcpEngine];
}

/** A test of {@linkcode tcpTest}: it gets the engine to run the server on. */
export type TcpTestDefinition = Omit<Deno.TestDefinition, "fn"> & {
  fn: (engine: TcpEngine, t: Deno.TestContext) => void | Promise<void>;
};

/**
 * Registers one test per engine of {@linkcode tcpEngines}, named
 * `[engine] name`; `fn` gets the engine (to pass to
 * {@linkcode ServerProcess.start} or to `--tcp-engine`).
 *
 * @example
 * ```ts
 * import { RawClient, ServerProcess, tcpTest } from "./harness.ts";
 * tcpTest("quit says bye", async (engine) => {
 *   await using server = await ServerProcess.start([], { engine });
 *   using c = await RawClient.connect(server.port);
 *   console.log(await c.ask("quit"));
 * });
 * ```
 */
export function tcpTest(
  name: string,
  fn: (engine: TcpEngine, t: Deno.TestContext) => void | Promise<void>,
): void;
export function tcpTest(def: TcpTestDefinition): void;
export function tcpTest(
  nameOrDef: string | TcpTestDefinition,
  fn?: (engine: TcpEngine, t: Deno.TestContext) => void | Promise<void>,
): void {
  const def = typeof nameOrDef === "string" ? { name: nameOrDef, fn: fn! } : nameOrDef;
  for (const engine of tcpEngines()) {
    Deno.test({ ...def, name: `[${engine}] ${def.name}`, fn: (t) => def.fn(engine, t) });
  }
}

/** Resident memory of process `pid` in KiB (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]);
}

/** How many descriptors process `pid` has open (its entries in /proc/PID/fd). */
export async function fdCount(pid: number): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
  return n;
}

/** The argv that runs ledctl from source (or the binary in LEDCTL_BIN). */
export function ledctlArgv(args: string[]): string[] {
  const bin = Deno.env.get("LEDCTL_BIN");
  return bin
    ? [bin, ...args]
    : [deno, "run", "--allow-all", "--no-check", `${root}main.ts`, ...args];
}

// Every ledctl a test starts, by whatever route (a pty, socat, a prefix
// command), inherits this: no state file unless the test names one, so no
// test restores another's LED or writes the developer's
// ~/.local/state/ledctl. ledctlCommand gives each spawn a fresh file instead.
Deno.env.set("LEDCTL_STATE_FILE", "off");

let stateDir: string | undefined;
let stateFiles = 0;

/**
 * A fresh state file path for one spawned ledctl (`LEDCTL_STATE_FILE`), in
 * a directory of this test process removed at its exit: each server starts
 * with no saved state (its LED off, as the tests expect), and none writes
 * the developer's own ~/.local/state/ledctl.
 */
function freshStateFile(): string {
  if (!stateDir) {
    const dir = stateDir = Deno.makeTempDirSync({ prefix: "ledctl-state-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
  }
  return `${stateDir}/state-${++stateFiles}.json`;
}

/**
 * The command that runs ledctl from source (or the binary in LEDCTL_BIN).
 * Each gets its own state file (`LEDCTL_STATE_FILE`, see
 * {@linkcode freshStateFile}) unless `env` names one.
 */
export function ledctlCommand(
  args: string[],
  env: Record<string, string> = {},
  prefix: string[] = [],
): Deno.Command {
  const [cmd, ...rest] = [...prefix, ...ledctlArgv(args)];
  return new Deno.Command(cmd, {
    args: rest,
    // The binary runs with nothing of the repo around it.
    cwd: Deno.env.get("LEDCTL_BIN") ? "/" : root,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", LEDCTL_STATE_FILE: freshStateFile(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** The edges in a `time_ms,level` trace file; none while it does not exist yet. */
export async function readTraceIfAny(path: string): Promise<Edge[]> {
  try {
    return await readTrace(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * Waits on file events (bounded by `ms`) until the trace at `path` holds at
 * least `n` edges after the first `from`; resolves with those edges.
 */
export async function waitForTraceEdges(
  path: string,
  n: number,
  { ms = 10_000, from = 0 }: { ms?: number; from?: number } = {},
): Promise<Edge[]> {
  const watcher = Deno.watchFs(path);
  const timer = setTimeout(() => watcher.close(), ms);
  try {
    let edges = (await readTraceIfAny(path)).slice(from);
    if (edges.length >= n) return edges;
    for await (const _ of watcher) {
      edges = (await readTraceIfAny(path)).slice(from);
      if (edges.length >= n) return edges;
    }
    throw new Error(`trace ${path} has ${edges.length} new edges, wanted ${n}, after ${ms} ms`);
  } finally {
    clearTimeout(timer);
    try {
      watcher.close();
    } catch { /* closed */ }
  }
}

/** Runs ledctl to completion. */
export async function runLedctl(args: string[], env: Record<string, string> = {}) {
  const out = await ledctlCommand(args, env).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * A process's output, line by line, keeping every line seen, with bounded
 * waits for a line that matches. A wait still pending when the output ends
 * fails at once, with what was seen.
 */
export class Lines {
  /** Every line so far. */
  readonly all: string[] = [];
  #waiters: {
    re: RegExp;
    since: number;
    resolve: (m: RegExpMatchArray) => void;
    reject: (e: Error) => void;
  }[] = [];
  #ended = false;
  /** Settles when the stream ends. */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      let buf = "";
      try {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) !== -1) {
            this.#push(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        }
        if (buf) this.#push(buf);
      } finally {
        this.#ended = true;
        for (const w of this.#waiters) w.reject(this.#missing(w.re));
        this.#waiters = [];
      }
    })();
  }

  #missing(re: RegExp, ms?: number): Error {
    const when = ms === undefined ? "before the output ended" : `within ${ms} ms`;
    return new Error(`no output line matched ${re} ${when}; saw:\n${this.all.join("\n")}`);
  }

  #push(line: string): void {
    this.all.push(line);
    const index = this.all.length - 1;
    this.#waiters = this.#waiters.filter((w) => {
      if (index < w.since) return true;
      const m = line.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** The first line at index ≥ `since` (seen or to come) matching `re`; rejects after `ms` or at the end. */
  waitFor(re: RegExp, ms = 10_000, since = 0): Promise<RegExpMatchArray> {
    for (let i = since; i < this.all.length; i++) {
      const m = this.all[i].match(re);
      if (m) return Promise.resolve(m);
    }
    if (this.#ended) return Promise.reject(this.#missing(re));
    return new Promise((resolve, reject) => {
      const waiter = {
        re,
        since,
        resolve: (m: RegExpMatchArray) => (clearTimeout(timer), resolve(m)),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(this.#missing(re, ms));
      }, ms);
      this.#waiters.push(waiter);
    });
  }
}

/** A running `ledctl serve`. */
export class ServerProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  port = 0;
  tracePath?: string;

  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.stdout = new Lines(child.stdout);
    this.stderr = new Lines(child.stderr);
  }

  /**
   * Starts `ledctl serve --port 0 --http off --led mock?trace=…
   * [--tcp-engine <engine>]` plus `args` and waits for its "listening"
   * line. With `engine`, it also checks that the server says it runs that
   * engine (a silent fallback would test the other one).
   */
  static async start(
    args: string[] = [],
    options: {
      /** The TCP engine to ask for; none: the server's default (`auto`). */
      engine?: TcpEngine;
      trace?: boolean;
      /** Runs the server through this command, e.g. `["prlimit", "--nofile=256:256", "--"]`. */
      prefix?: string[];
      env?: Record<string, string>;
    } = {},
  ): Promise<ServerProcess> {
    const trace = options.trace !== false
      ? await Deno.makeTempFile({ suffix: ".trace" })
      : undefined;
    const base = ["serve", "--port", "0", "--http", "off"];
    if (trace && !args.includes("--led")) base.push("--led", `mock?trace=${trace}`);
    if (options.engine) base.push("--tcp-engine", options.engine);
    const p = new ServerProcess(
      ledctlCommand([...base, ...args], options.env, options.prefix).spawn(),
    );
    p.tracePath = trace;
    const m = await Promise.race([
      p.stdout.waitFor(/listening on [^ ]+:(\d+) /),
      p.child.status.then((s) => {
        throw new Error(
          `ledctl serve exited (${s.code}) before listening:\n${p.stderr.all.join("\n")}`,
        );
      }),
    ]);
    p.port = Number(m[1]);
    if (options.engine) {
      // "hh:mm:ss tcp engine: <engine> (<why>)", printed before "listening".
      const said = p.stdout.all.map((l) => l.match(/\btcp engine: (\S+) .*/)).find((m) => m);
      if (said?.[1] !== options.engine) {
        await p[Symbol.asyncDispose]();
        throw new Error(
          `asked for --tcp-engine ${options.engine}, the server says: ${said?.[0] ?? "nothing"}`,
        );
      }
    }
    return p;
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
    const { code } = await this.child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
    return code;
  }

  /** Waits (on file events, bounded) until the trace holds at least `n` edges. */
  waitForEdges(n: number, ms = 10_000): Promise<Edge[]> {
    return waitForTraceEdges(this.tracePath!, n, { ms });
  }

  /** The mock LED's edges so far. */
  trace(): Promise<Edge[]> {
    if (!this.tracePath) throw new Error("started without a trace");
    return readTrace(this.tracePath);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL").catch(() => {});
    if (this.tracePath) await Deno.remove(this.tracePath).catch(() => {});
  }
}

/** A raw TCP client with line reads, for poking at the server. */
export class RawClient implements Disposable {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }
  /** Next line, or null at EOF (FIN). Rejects on reset or after `ms`. */
  async readLine(ms = 10_000): Promise<string | null> {
    const timer = setTimeout(() => this.conn.close(), ms);
    try {
      const chunk = new Uint8Array(4096);
      for (;;) {
        const lf = this.#buf.indexOf(10);
        if (lf !== -1) {
          const line = dec.decode(this.#buf.subarray(0, lf));
          this.#buf = this.#buf.slice(lf + 1);
          return line;
        }
        const n = await this.conn.read(chunk);
        if (n === null) return null;
        const next = new Uint8Array(this.#buf.length + n);
        next.set(this.#buf);
        next.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = next;
      }
    } finally {
      clearTimeout(timer);
    }
  }
  /** One request, one reply. */
  async ask(line: string): Promise<string | null> {
    await this.write(line + "\n");
    return await this.readLine();
  }
  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/**
 * A small seeded PRNG (mulberry32): generated test inputs can be replayed
 * from their seed.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
