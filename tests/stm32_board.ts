/**
 * Helpers for the STM32 integration tests: build the firmware's host build,
 * run it (and socat, and ledctl in a network namespace) as real processes,
 * and wait on their output lines — never on sleeps; every wait is bounded.
 *
 * @module
 */
import { ledctlArgv, Lines, waitForTraceEdges } from "./harness.ts";

export { ledctlArgv, Lines, waitForTraceEdges };

/** The repository root, with a trailing slash. */
export const root = new URL("..", import.meta.url).pathname;
/**
 * The firmware host build, in its own build directory so that other test
 * files building `firmware/build/ledfw-host` at the same time do not race.
 */
export const firmwareBin = `${root}firmware/build/stm32-link/ledfw-host`;

/**
 * The heartbeat the end-to-end tests give ledctl (`LEDCTL_STM32_HEARTBEAT_MS`
 * in {@linkcode HEARTBEAT_ENV}): longer than the default 3 s so that, once
 * ledctl logs `connected`, a board whose state is right within
 * {@linkcode REAPPLY_WINDOW_MS} got it from the re-apply on reconnection,
 * never from a heartbeat noticing the wrong state (the first heartbeat comes
 * this long after `connected`). Under the firmware's 10 s idle timeout.
 */
export const TEST_HEARTBEAT_MS = 6000;
/** {@linkcode TEST_HEARTBEAT_MS} as the environment of a ledctl process. */
export const HEARTBEAT_ENV = { LEDCTL_STM32_HEARTBEAT_MS: String(TEST_HEARTBEAT_MS) };
/**
 * How long after ledctl logs `connected; LED <state>` the board may take to
 * show that state. The re-apply happens before that log line, so only the
 * firmware's and ledctl's output pipes separate the two (measured over 6
 * serial reconnections: under 0.2 ms), but a whole second was once missed
 * over TAP with the load average at 7–10 on two cores; 3 s allows that and
 * is still half of {@linkcode TEST_HEARTBEAT_MS}.
 */
export const REAPPLY_WINDOW_MS = 3000;
/**
 * How long a killed board may go unnoticed: a heartbeat interval, then the
 * 2 s reply timeout, plus slack for a loaded machine.
 */
export const LOSS_WINDOW_MS = TEST_HEARTBEAT_MS + 2000 + 3000;

/** The firmware's `LED …` lines (its LED state changes) from stdout line `since` on. */
export function ledLines(fw: Proc, since = 0): string[] {
  return fw.stdout.all.slice(since).filter((l) => l.startsWith("LED "));
}

/**
 * Waits for ledctl's `board …: connected; LED <state>` (within `ms`,
 * reconnection backoff included), then for the firmware to show
 * `LED <state>` within {@linkcode REAPPLY_WINDOW_MS}: only the re-apply on
 * reconnection can have put it there so soon, as the first heartbeat that
 * could fix it comes {@linkcode TEST_HEARTBEAT_MS} after `connected` (the
 * ledctl process must run with {@linkcode HEARTBEAT_ENV}).
 */
export async function reconnectedWith(
  server: { stdout: Lines },
  fw: Proc,
  state: string,
  ms: number,
): Promise<void> {
  const esc = state.replaceAll(".", "\\.");
  await server.stdout.waitFor(new RegExp(`board \\S+: connected; LED ${esc}$`), ms);
  await fw.waitFor(new RegExp(`^LED ${esc}$`), REAPPLY_WINDOW_MS).catch((e) => {
    throw new Error(
      `ledctl logged "connected; LED ${state}" but the board did not show it within ` +
        `${REAPPLY_WINDOW_MS} ms (heartbeat ${TEST_HEARTBEAT_MS} ms): not re-applied on ` +
        `reconnection? board: ${ledLines(fw).join(", ")}`,
      { cause: e },
    );
  });
}

/** True when running as root (netns and TAP need it). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

let built: Promise<void> | undefined;

/**
 * Builds {@linkcode firmwareBin} (`make -C firmware BUILD=build/stm32-link
 * host`, under a file lock so parallel test files do not build at once).
 * Throws with make's output on failure.
 */
export function buildFirmware(): Promise<void> {
  built ??= (async () => {
    const out = await new Deno.Command("flock", {
      args: [
        "/tmp/ledctl-stm32-firmware-build.lock",
        "make",
        "-s",
        "-C",
        `${root}firmware`,
        "BUILD=build/stm32-link",
        "host",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const dec = new TextDecoder();
      throw new Error(
        `make -C firmware host failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
      );
    }
  })();
  return built;
}

/** A spawned process with its stdout and stderr as {@linkcode Lines}. */
export class Proc implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  readonly name: string;

  private constructor(name: string, child: Deno.ChildProcess) {
    this.name = name;
    this.child = child;
    this.stdout = new Lines(child.stdout);
    this.stderr = new Lines(child.stderr);
  }

  /** Spawns `argv` (stdin closed, output piped). */
  static spawn(argv: string[], env: Record<string, string> = {}): Proc {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: root,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new Proc(argv.map((a) => a.replace(/^.*\//, "")).slice(0, 2).join(" "), child);
  }

  /** Waits for a stdout line, failing early (with stderr) if the process exits first. */
  async waitFor(re: RegExp, ms = 10_000, since = 0): Promise<RegExpMatchArray> {
    let exited = false;
    const died = this.child.status.then(async (s) => {
      await this.stdout.done;
      exited = true;
      return s;
    });
    const found = this.stdout.waitFor(re, ms, since);
    const r = await Promise.race([found, died]);
    if (!exited || !("code" in r)) return r as RegExpMatchArray;
    // exited: the line may still have been printed before the end
    const late = this.stdout.all.slice(since).map((l) => l.match(re)).find((m) => m);
    found.catch(() => {});
    if (late) return late;
    throw new Error(
      `${this.name} exited (${r.code}) before printing ${re}:\n` +
        `${this.stdout.all.join("\n")}\n${this.stderr.all.join("\n")}`,
    );
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
    const s = await this.child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
    return s;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/** A pty pair made by socat, reachable as `dir/board` and `dir/host`. */
export async function ptyPair(dir: string): Promise<Proc> {
  const socat = Proc.spawn([
    "socat",
    "-d",
    "-d",
    `pty,rawer,link=${dir}/board`,
    `pty,rawer,link=${dir}/host`,
  ]);
  await Promise.race([
    socat.stderr.waitFor(/starting data transfer loop/, 5000),
    socat.child.status.then((s) => {
      throw new Error(`socat exited (${s.code}): ${socat.stderr.all.join("\n")}`);
    }),
  ]);
  return socat;
}
