/**
 * `./run start` as a terminal runs it: its own process group, and Ctrl-C as
 * the terminal sends it, SIGINT to that whole group. Nothing may stand
 * between the terminal and the server (a `deno task` there exits 130 before
 * the server has turned the LED off): every round must print `stopped`, exit
 * 0, and leave the mock LED's trace ending dark.
 *
 * Real processes; waits on output lines and trace events, never on sleeps.
 */
import assert from "node:assert/strict";
import { Lines, RawClient, readTraceIfAny, waitForTraceEdges } from "./harness.ts";

const root = new URL("..", import.meta.url).pathname;
const ROUNDS = 10;

/** The process group of `pid`, from /proc/<pid>/stat (`pid (comm) state ppid pgrp …`). */
async function processGroup(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

/** Kills a process group, ignoring one that is gone. */
function killGroup(pgid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pgid, signal);
  } catch { /* gone */ }
}

Deno.test(`./run start: SIGINT to its process group stops it cleanly, ${ROUNDS} rounds`, async (t) => {
  const ownGroup = await processGroup(Deno.pid);
  for (let round = 1; round <= ROUNDS; round++) {
    await t.step(`round ${round}`, async () => {
      const trace = await Deno.makeTempFile({ suffix: ".trace" });
      // setsid: a new session and process group, led by ./run (which execs
      // on), as a shell gives a foreground job. Spawned from Deno, the child
      // is no group leader, so setsid does not fork and child.pid is the group.
      const child = new Deno.Command("setsid", {
        args: [
          "-w",
          "./run",
          "start",
          "--",
          "--port",
          "0",
          "--http",
          "off",
          "--led",
          `mock?trace=${trace}`,
          "--state-file",
          "off",
        ],
        cwd: root,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stdout = new Lines(child.stdout);
      const stderr = new Lines(child.stderr);
      let pgid = 0; // set once checked to be the child's own group
      let exited = false;
      child.status.then(() => exited = true);
      try {
        const m = await Promise.race([
          stdout.waitFor(/listening on [^ ]+:(\d+) /, 30_000),
          child.status.then((s) => {
            throw new Error(
              `./run start exited (${s.code}) before listening:\n${stderr.all.join("\n")}`,
            );
          }),
        ]);
        const group = await processGroup(child.pid);
        assert.equal(group, child.pid, "setsid did not make ./run start its own process group");
        assert.notEqual(group, ownGroup);
        pgid = group;

        // Light the LED before the signal: steady on in odd rounds, a fast
        // blink (stopped at any phase) in even ones.
        {
          using c = await RawClient.connect(Number(m[1]));
          if (round % 2) {
            assert.equal(await c.ask("on"), "OK on");
            await waitForTraceEdges(trace, 1);
          } else {
            assert.equal(await c.ask("blink 40"), "OK blink 40 Hz");
            await waitForTraceEdges(trace, 3);
          }
        }

        Deno.kill(-pgid, "SIGINT"); // Ctrl-C, as the terminal sends it
        const bound = setTimeout(() => killGroup(pgid, "SIGKILL"), 15_000);
        const { code } = await child.status.finally(() => clearTimeout(bound));
        await Promise.all([stdout.done, stderr.done]);
        const out = stdout.all.join("\n") + "\n" + stderr.all.join("\n");
        assert.equal(code, 0, `exit ${code}, output:\n${out}`);
        assert.ok(stdout.all.some((l) => / SIGINT: turning the LED off/.test(l)), out);
        assert.ok(stdout.all.some((l) => / stopped$/.test(l)), `no "stopped" line:\n${out}`);
        assert.ok(
          ![...stdout.all, ...stderr.all].some((l) => /^Task /.test(l)),
          `./run start went through deno task:\n${out}`,
        );
        const text = await Deno.readTextFile(trace);
        const last = text.trimEnd().split("\n").at(-1) ?? "";
        assert.ok(text.trim() === "" || last.endsWith(",0"), `the trace ends lit: ${last}`);
        assert.equal((await readTraceIfAny(trace)).at(-1)?.level ?? false, false);
      } finally {
        if (!exited) {
          if (pgid) killGroup(pgid, "SIGKILL");
          else {
            try {
              child.kill("SIGKILL");
            } catch { /* exited */ }
          }
        }
        await child.status;
        await Promise.allSettled([stdout.done, stderr.done]);
        await Deno.remove(trace).catch(() => {});
      }
    });
  }
});
