/**
 * `ledctl completions`: the scripts come from the help texts the real
 * `ledctl` prints. bash's is run in bash (COMP_WORDS/COMP_CWORD set, the
 * function called, COMPREPLY read); zsh's and fish's are syntax-checked by
 * those shells when installed (scripts/install-deps.sh installs them).
 */
import assert from "node:assert/strict";
import { commandsFromHelp, optionsFromHelp } from "./completions.ts";
import { runLedctl } from "../tests/harness.ts";

const dec = new TextDecoder();

async function have(shell: string): Promise<boolean> {
  try {
    const cmd = new Deno.Command(shell, { args: ["-c", "exit 0"], stdout: "null", stderr: "null" });
    return (await cmd.output()).success;
  } catch {
    return false; // not installed
  }
}

async function script(shell: string): Promise<string> {
  const r = await runLedctl(["completions", shell]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** What `_ledctl` offers in bash for the words typed (the last one being completed). */
async function bashComplete(file: string, typed: string[]): Promise<string[]> {
  const words = typed.map((w) => `'${w}'`).join(" ");
  const out = await new Deno.Command("bash", {
    args: [
      "--norc",
      "-c",
      `source "$1" && COMP_WORDS=(${words}) && COMP_CWORD=${typed.length - 1} && _ledctl ` +
      `&& printf '%s\\n' "\${COMPREPLY[@]}"`,
      "bash",
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  return dec.decode(out.stdout).split("\n").filter((l) => l !== "");
}

Deno.test("optionsFromHelp reads the --option lines, with or without a value", () => {
  const help = `Usage: ledctl x [--led URI]

Options:
  --host ADDR          address (default 127.0.0.1)
  --http PORT|off      the web page
  --http-max-connections N   most web connections
  --verbose            log more
  -h, --help           this help
                       --not-an-option on a continuation line

Examples:
  ledctl x --host 0.0.0.0
`;
  assert.deepEqual(optionsFromHelp(help), [
    { name: "--host", takesValue: true, description: "address (default 127.0.0.1)" },
    { name: "--http", takesValue: true, description: "the web page" },
    { name: "--http-max-connections", takesValue: true, description: "most web connections" },
    { name: "--verbose", takesValue: false, description: "log more" },
    { name: "--help", takesValue: false, description: "this help" },
  ]);
  assert.deepEqual(
    [...commandsFromHelp("Commands:\n  serve    the server\n  help     help\n\nOptions:\n")],
    [["serve", "the server"], ["help", "help"]],
  );
});

Deno.test("bash: subcommands, each one's options as its --help lists them, run in bash", async () => {
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  try {
    await Deno.writeTextFile(file, await script("bash"));
    assert.deepEqual(await bashComplete(file, ["ledctl", "se"]), ["serve", "send"]);
    assert.deepEqual(await bashComplete(file, ["ledctl", "serve", "--po"]), ["--port"]);
    assert.deepEqual(await bashComplete(file, ["ledctl", "--v"]), ["--version"]);
    assert.deepEqual(await bashComplete(file, ["ledctl", "help", "d"]), ["doctor"]);
    assert.deepEqual(await bashComplete(file, ["ledctl", "completions", "f"]), ["fish"]);
    assert.deepEqual(await bashComplete(file, ["ledctl", "send", "--port", "1"]), []);
    // Every option of every subcommand's real --help is offered: none is listed by hand.
    for (const cmd of ["serve", "send", "watch", "clients", "led", "doctor"]) {
      const help = await runLedctl([cmd, "--help"]);
      const want = optionsFromHelp(help.stdout).map((o) => o.name);
      assert.ok(want.length >= 2, `${cmd} --help lists options`);
      assert.deepEqual(await bashComplete(file, ["ledctl", cmd, "--"]), want, cmd);
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("completions: an unknown or missing shell is a usage error", async () => {
  const r = await runLedctl(["completions", "tcsh"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /"tcsh".*bash, zsh, fish/);
  assert.equal((await runLedctl(["completions"])).code, 2);
  const help = await runLedctl(["completions", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: ledctl completions <bash\|zsh\|fish>/);
});

for (const [shell, args] of [["zsh", ["-n"]], ["fish", ["--no-execute"]]] as const) {
  const ok = await have(shell);
  Deno.test({
    name: `${shell}: the script passes ${shell} ${args.join(" ")}` +
      (ok ? "" : ` [unavailable: no ${shell}: sudo scripts/install-deps.sh installs it]`),
    ignore: !ok,
    async fn() {
      const file = await Deno.makeTempFile({ suffix: `.${shell}` });
      try {
        const text = await script(shell);
        assert.match(text, /serve/);
        assert.match(text, /--port|-l port/);
        await Deno.writeTextFile(file, text);
        const out = await new Deno.Command(shell, { args: [...args, file], stderr: "piped" })
          .output();
        assert.equal(out.code, 0, dec.decode(out.stderr));
        // And the check can fail: a broken copy is refused.
        await Deno.writeTextFile(file, `${text}\ncomplete -c ledctl -d 'unterminated\n`);
        const bad = await new Deno.Command(shell, {
          args: [...args, file],
          stderr: "piped",
        }).output();
        assert.notEqual(bad.code, 0, `${shell} accepted a broken script`);
        if (shell === "fish") {
          // fish can also say what it would complete.
          await Deno.writeTextFile(file, text);
          const ask = async (line: string) => {
            const o = await new Deno.Command("fish", {
              args: ["--no-config", "-c", `source ${file}; complete -C '${line}'`],
              stdout: "piped",
            }).output();
            return dec.decode(o.stdout).split("\n").map((l) => l.split("\t")[0]).filter(Boolean);
          };
          assert.deepEqual(await ask("ledctl se"), ["send", "serve"]);
          assert.deepEqual(await ask("ledctl serve --po"), ["--port"]);
        }
      } finally {
        await Deno.remove(file);
      }
    },
  });
}
