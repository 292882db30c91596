/**
 * `ledctl serve` on a real pseudo-terminal 80 columns wide (util-linux
 * `script`, `stty cols 80` inside), with a status line longer than that (a
 * long `--led mock?trace=…` path), redrawn at every LED edge. What the pty
 * carried is replayed on a small model of a terminal (cursor, auto-wrap at
 * the last column, `\r`, `\n`, erase-in-line): no redraw may wrap onto a new
 * row, and after Ctrl-C (written to the pty, so the line discipline sends
 * SIGINT as a terminal does) nothing may be drawn after `stopped`, and the
 * output must end with a newline.
 *
 * Real processes; waits on output lines and trace events, never on sleeps.
 */
import assert from "node:assert/strict";
import { ledctlArgv, Lines, RawClient, waitForTraceEdges } from "./harness.ts";

const COLUMNS = 80;
const hasScript = await (async () => {
  try {
    return (await new Deno.Command("script", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false; // not installed
  }
})();

/** Quotes `s` for sh. */
function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * What a terminal `columns` wide shows after `text`; `wraps` counts the rows
 * a status line wrapped onto: wraps not ended by a newline (a log line's
 * are) before the row is erased for a redraw, or before the end.
 */
function replay(text: string, columns: number): { rows: string[]; wraps: number; col: number } {
  const rows: string[][] = [[]];
  let row = 0, col = 0, wraps = 0, pending = 0;
  const at = () => (rows[row] ??= []);
  for (let i = 0; i < text.length;) {
    const ch = text[i];
    if (ch === "\x1b") {
      // deno-lint-ignore no-control-regex -- an escape sequence is what it matches
      const m = /^\x1b\[([0-9;?]*)([@-~])/.exec(text.slice(i));
      assert.ok(m, `unexpected escape at ${JSON.stringify(text.slice(i, i + 10))}`);
      const n = m[1] === "" ? 0 : Number(m[1]);
      if (m[2] === "K") { // a redraw: rows wrapped onto since the last newline stay above
        wraps += pending;
        pending = 0;
        at().length = n === 2 ? 0 : Math.min(at().length, col);
      } else if (m[2] === "J" && n === 0) { // to the screen's end
        at().length = Math.min(at().length, col);
        rows.length = row + 1;
      } else if (m[2] === "G") col = Math.max(0, (n || 1) - 1); // to a column
      else assert.equal(m[2], "m", `escape ${JSON.stringify(m[0])} not modelled`);
      i += m[0].length;
      continue;
    }
    i++;
    if (ch === "\r") col = 0;
    else if (ch === "\n") {
      row++;
      pending = 0; // a log line: wrapping is fine, the terminal scrolls
    } else if (ch >= " ") {
      if (col + 1 > columns) { // auto-wrap: the line did not fit
        pending++;
        row++;
        col = 0;
      }
      const line = at();
      while (line.length < col) line.push(" ");
      line[col++] = ch;
    }
  }
  return { rows: rows.map((r) => (r ?? []).join("")), wraps: wraps + pending, col };
}

Deno.test({
  name:
    `serve on an ${COLUMNS}-column pty: a long status line never wraps, Ctrl-C leaves it cleared` +
    (hasScript ? "" : " [unavailable: no `script` (util-linux) on this machine]"),
  ignore: !hasScript,
  async fn() {
    const dir = await Deno.makeTempDir({
      prefix: "ledctl-term-pty-a-directory-name-long-enough-to-overflow-an-80-column-terminal-",
    });
    const trace = `${dir}/led.trace`;
    const argv = ledctlArgv([
      "serve",
      "--port",
      "0",
      "--http",
      "off",
      "--tcp-engine",
      "node",
      "--led",
      `mock?trace=${trace}`,
    ]);
    // -echo: the pty does not echo the Ctrl-C byte back (as "^C"), which
    // is the terminal's doing, not ledctl's.
    const inner = `stty cols ${COLUMNS} rows 24 -echo && exec ${argv.map(shq).join(" ")}`;
    const child = new Deno.Command("script", {
      args: ["-qfec", inner, "/dev/null"],
      env: { TERM: "xterm", DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const [forLines, forRaw] = child.stdout.tee();
    const stdout = new Lines(forLines);
    const raw = new Response(forRaw).text();
    const stderr = new Response(child.stderr).text();
    const stdin = child.stdin.getWriter();
    let exited = false;
    child.status.then(() => exited = true);
    try {
      const m = await Promise.race([
        stdout.waitFor(/listening on [^ ]+:(\d+) /, 30_000),
        child.status.then(async (s) => {
          throw new Error(
            `serve exited (${s.code}) before listening:\n${await raw}${await stderr}`,
          );
        }),
      ]);
      {
        using c = await RawClient.connect(Number(m[1]));
        assert.equal(await c.ask("blink 20"), "OK blink 20 Hz");
        await waitForTraceEdges(trace, 12); // a dozen redraws of the long status line
      }
      await stdin.write(new Uint8Array([3])); // Ctrl-C, typed into the terminal
      await stdin.close();
      const { code } = await child.status;
      const text = await raw;
      assert.equal(code, 0, `exit ${code}:\n${text}\n${await stderr}`);

      const screen = replay(text, COLUMNS);
      const shown = screen.rows.join("\n");
      assert.equal(screen.wraps, 0, `the status line wrapped ${screen.wraps} times:\n${shown}`);
      const stopped = text.lastIndexOf("stopped");
      assert.ok(stopped > 0, `no "stopped":\n${shown}`);
      assert.match(text.slice(stopped), /^stopped\r?\n$/, "something drawn after stopped");
      assert.equal(screen.col, 0, "the output does not end with a newline");
      // What stays on screen: the log lines only, the status line cleared.
      const left = screen.rows.filter((r) => r.trim() !== "");
      for (const r of left) assert.doesNotMatch(r, /[●○] LED/, `a status line is left:\n${shown}`);
      assert.match(left.at(-1)!, / stopped$/);
      assert.ok(left.some((r) => / SIGINT: turning the LED off/.test(r)), shown);
    } finally {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }
      await child.status;
      await Promise.allSettled([raw, stderr, stdout.done]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
