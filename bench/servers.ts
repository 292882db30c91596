/**
 * Building the C programs of the benchmark and starting the servers it
 * compares (ledctl on each of its TCP engines, the seed's Python server, the
 * C epoll server, two Deno floors) as child processes with a raised
 * descriptor limit.
 *
 * @module
 */

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

/** Descriptor limit asked for every spawned process (10,000 held connections + slack). */
export const NOFILE = 65536;

/** Which server. */
export type ServerKind = "c" | "epoll" | "node" | "seed" | "floor" | "nodefloor";

/** ledctl's servers: one per TCP engine (`serve --tcp-engine epoll|node`). */
export type LedctlKind = "epoll" | "node";

/** The ledctl kinds, epoll (the default where it runs) first. */
export const LEDCTL_KINDS: readonly LedctlKind[] = ["epoll", "node"];

/** Display names, in the order the tables use. */
export const SERVER_NAMES: Record<ServerKind, string> = {
  c: "C epoll",
  epoll: "ledctl epoll",
  node: "ledctl node",
  seed: "seed (Python select)",
  floor: "Deno floor",
  nodefloor: "node:net floor",
};

/** Paths of the compiled helpers. */
export interface Binaries {
  loadgen: string;
  cServer: string;
}

/** Compiles loadgen.c and c_server.c into `dir` with the project's C flags. */
export async function buildBinaries(dir: string): Promise<Binaries> {
  const out: Binaries = { loadgen: `${dir}/loadgen`, cServer: `${dir}/c_server` };
  for (const [src, bin] of [["loadgen.c", out.loadgen], ["c_server.c", out.cServer]]) {
    let res: Deno.CommandOutput;
    try {
      res = await new Deno.Command("gcc", {
        args: ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", bin, `${BENCH_DIR}${src}`],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (e) {
      throw new Error(`bench needs gcc to build bench/${src}: ${(e as Error).message}`);
    }
    if (!res.success) {
      throw new Error(`gcc failed on bench/${src}:\n${new TextDecoder().decode(res.stderr)}`);
    }
  }
  return out;
}

/** A free loopback port (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running server process. */
export interface RunningServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly pid: number;
  /** The last lines it printed (for error messages). */
  readonly log: string[];
  /** ledctl: the TCP engine its start-up line names (checked to be the one asked for). */
  readonly engine?: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** False once the process has exited. */
  running(): boolean;
  stop(): Promise<void>;
}

/** Options for {@linkcode startServer}. */
export interface StartOptions {
  /** Idle timeout in ms (0 = never). */
  idleMs: number;
  /** ledctl only: the mock LED's trace file. */
  tracePath?: string;
  /** ledctl only: extra `deno run` flags (e.g. `--v8-flags=...`). */
  denoFlags?: string[];
}

function commandFor(kind: ServerKind, port: number, bins: Binaries, o: StartOptions): string[] {
  switch (kind) {
    case "c":
      return [bins.cServer, String(port), String(o.idleMs), "20000"];
    case "floor":
      return [Deno.execPath(), "run", "--allow-net", `${BENCH_DIR}deno_floor.ts`, String(port)];
    case "nodefloor":
      return [Deno.execPath(), "run", "--allow-net", `${BENCH_DIR}node_floor.ts`, String(port)];
    case "seed":
      return ["python3", `${BENCH_DIR}seed_server.py`, String(port), String(o.idleMs / 1000)];
    case "epoll":
    case "node":
      return [
        Deno.execPath(),
        "run",
        "-A",
        "--no-check",
        ...(o.denoFlags ?? []),
        `${ROOT}main.ts`,
        "serve",
        "--port",
        String(port),
        "--http",
        "off",
        "--led",
        o.tracePath ? `mock?trace=${o.tracePath}` : "mock",
        "--idle-timeout",
        o.idleMs === 0 ? "0" : `${o.idleMs}ms`,
        "--max-clients",
        "20000",
        "--tcp-engine",
        kind,
        // Like the C reference, keep no state on disk (and do not write the user's own).
        "--state-file",
        "off",
      ];
  }
}

/**
 * Starts a server through `sh` (to raise RLIMIT_NOFILE, then `exec`, so the
 * pid is the server's own) and waits for its "listening" line.
 */
export async function startServer(
  kind: ServerKind,
  bins: Binaries,
  opts: StartOptions,
): Promise<RunningServer> {
  const port = freePort();
  const argv = commandFor(kind, port, bins, opts);
  const script = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const child = new Deno.Command("sh", {
    args: ["-c", script, "sh", ...argv],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const log: string[] = [];
  let engine: string | undefined;
  let ready: (() => void) | undefined;
  const listening = new Promise<void>((r) => ready = r);
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const lines = stream.pipeThrough(new TextDecoderStream());
    let pending = "";
    for await (const chunk of lines) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) {
        log.push(line);
        if (log.length > 40) log.shift();
        const eng = /tcp engine: (\w+)/.exec(line);
        if (eng) engine = eng[1];
        if (/listening on/.test(line)) ready?.();
      }
    }
  };
  drain(child.stdout).catch(() => {});
  drain(child.stderr).catch(() => {});
  const exited = child.status;
  let gone = false;
  exited.then(() => gone = true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    listening.then(() => "ok" as const),
    exited.then(() => "exited" as const),
    new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), 30_000)),
  ]);
  clearTimeout(timer);
  const wrongEngine = (kind === "epoll" || kind === "node") && engine !== kind;
  if (outcome !== "ok" || wrongEngine) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await exited;
    const why = outcome === "ok" ? `it runs the ${engine ?? "unnamed"} engine` : outcome;
    throw new Error(`${SERVER_NAMES[kind]} did not start (${why}):\n${log.join("\n")}`);
  }
  return {
    kind,
    port,
    pid: child.pid,
    log,
    engine,
    exited,
    running: () => !gone,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      let t: ReturnType<typeof setTimeout> | undefined;
      const done = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => t = setTimeout(() => r(false), 5000)),
      ]);
      clearTimeout(t);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await exited;
      }
    },
  };
}

/** Sends one request line and returns the reply line. */
export async function request(port: number, line: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(line + "\n"));
    const buf = new Uint8Array(1024);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.trim();
  } finally {
    conn.close();
  }
}

/** Runs the load generator; returns its JSON result. */
export async function loadgen(
  bins: Binaries,
  args: (string | number)[],
): Promise<Record<string, number | string>> {
  const res = await new Deno.Command(bins.loadgen, {
    args: args.map(String),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(res.stdout).trim();
  if (!res.success || !text) {
    throw new Error(
      `loadgen ${args.join(" ")} failed: ${new TextDecoder().decode(res.stderr)}`,
    );
  }
  return JSON.parse(text);
}
