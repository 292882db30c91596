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
