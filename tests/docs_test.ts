/**
 * The documentation against the program and the repository:
 * - every option a subcommand's real `ledctl <cmd> --help` lists (and
 *   `ledctl --help`'s own) is in README.md's tables: in the command's row of
 *   the commands table, or in a table under a heading naming `ledctl <cmd>`;
 * - no markdown link in README.md, docs/ or firmware/README.md points
 *   outside the repository (`../…` past its root) or to a file that does
 *   not exist;
 * - firmware/README.md's pty demo runs `ledctl serve` on ports that do not
 *   collide with a running `./run start` (10000, 8080).
 */
import assert from "node:assert/strict";
import { runLedctl } from "./harness.ts";

const root = new URL("..", import.meta.url).pathname;

/** The long options (`--x`) a help text lists on its option lines, `--help` aside. */
function helpOptions(help: string): string[] {
  return [...help.matchAll(/^ {1,6}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1])
    .filter((o) => o !== "--help");
}

/** The subcommands `ledctl --help` lists, `help` aside. */
function helpCommands(help: string): string[] {
  const block = /^Commands:\n((?: .*\n?)*)/m.exec(help)?.[1] ?? "";
  return [...block.matchAll(/^ {1,6}([a-z][a-z0-9-]*) {2,}/gm)].map((m) => m[1])
    .filter((c) => c !== "help");
}

/**
 * The options README.md's tables document, by command: a row whose first
 * cell starts with `ledctl <cmd>` is that command's; any other row is the
 * command its section's heading names (`ledctl <cmd>`), if any; `""` is
 * `ledctl` itself (a row or heading naming `ledctl --…`).
 */
function readmeOptions(readme: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let section: string | undefined;
  for (const line of readme.split("\n")) {
    const heading = /^#+ (.*)$/.exec(line);
    if (heading) {
      section = /`ledctl ([a-z][a-z0-9-]*)\b/.exec(heading[1])?.[1];
      continue;
    }
    if (!line.startsWith("|")) continue;
    const first = line.split("|")[1] ?? "";
    const named = /`ledctl (?:([a-z][a-z0-9-]*)|(?=-))/.exec(first);
    const owner = named ? (named[1] ?? "") : section;
    if (owner === undefined) continue;
    const set = out.get(owner) ?? new Set();
    for (const m of line.matchAll(/--[a-z][a-z0-9-]*/g)) set.add(m[0]);
    // A row naming a command documents it even with no option.
    out.set(owner, set);
  }
  return out;
}

Deno.test("README.md's tables list every command and every option their --help lists", async () => {
  const readme = await Deno.readTextFile(`${root}README.md`);
  const documented = readmeOptions(readme);
  const main = await runLedctl(["--help"]);
  assert.equal(main.code, 0, main.stderr);
  const missing: string[] = [];
  for (const o of helpOptions(main.stdout)) {
    if (!documented.get("")?.has(o)) missing.push(`ledctl ${o}`);
  }
  const commands = helpCommands(main.stdout);
  assert.ok(commands.length >= 6, `commands read from ledctl --help: ${commands}`);
  for (const cmd of commands) {
    const help = await runLedctl([cmd, "--help"]);
    assert.equal(help.code, 0, `ledctl ${cmd} --help: ${help.stderr}`);
    const have = documented.get(cmd);
    if (!have) {
      missing.push(`ledctl ${cmd} (no row)`);
      continue;
    }
    for (const o of helpOptions(help.stdout)) if (!have.has(o)) missing.push(`ledctl ${cmd} ${o}`);
  }
  assert.deepEqual(missing, [], `README.md's tables lack: ${missing.join(", ")}`);
});

Deno.test("the README check can fail: a command's option missing from its row is found", () => {
  const table = "## Commands\n\n| command | what |\n|---|---|\n| `ledctl send [--host]` | x |\n" +
    "\n### `ledctl serve` options\n\n| option | what |\n|---|---|\n| `--port N` | p |\n";
  const got = readmeOptions(table);
  assert.deepEqual([...got.get("send")!], ["--host"]);
  assert.deepEqual([...got.get("serve")!], ["--port"]);
  assert.equal(got.has("watch"), false);
  assert.deepEqual(helpOptions("Options:\n  --host ADDR  x\n  -h, --help  y\n"), ["--host"]);
});

/** The markdown files whose links are checked. */
async function markdownFiles(): Promise<string[]> {
  const files = [`${root}README.md`, `${root}firmware/README.md`];
  for await (const e of Deno.readDir(`${root}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) files.push(`${root}docs/${e.name}`);
  }
  return files.sort();
}

/** Problems of the relative links in `text`, a markdown file at `file`. */
async function linkProblems(file: string, text: string): Promise<string[]> {
  const problems: string[] = [];
  const rel = file.slice(root.length);
  // [text](target) and ![alt](target), outside code blocks and inline code.
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
    const path = decodeURIComponent(target.replace(/#.*$/, ""));
    const resolved = new URL(path, `file://${file}`).pathname;
    if (!resolved.startsWith(root)) {
      problems.push(`${rel}: ${target} points outside the repository`);
      continue;
    }
    try {
      await Deno.stat(resolved);
    } catch {
      problems.push(`${rel}: ${target} does not exist`);
    }
  }
  // Paths written out with ../ (prose or commands): inside the repository, and there.
  for (const m of text.matchAll(/(?:^|[\s(`'"])((?:\.\.\/)+[\w.-][^\s)`'",;:]*)/gm)) {
    const path = m[1].replace(/[.]$/, "");
    if (/[*<>$]/.test(path)) continue; // a pattern or a placeholder
    const resolved = new URL(path, `file://${file}`).pathname;
    if (!resolved.startsWith(root)) {
      problems.push(`${rel}: ${path} points outside the repository`);
      continue;
    }
    try {
      await Deno.stat(resolved);
    } catch {
      problems.push(`${rel}: ${path} does not exist`);
    }
  }
  return problems;
}

Deno.test("markdown links stay inside the repository and point to files that exist", async () => {
  const problems: string[] = [];
  for (const file of await markdownFiles()) {
    problems.push(...await linkProblems(file, await Deno.readTextFile(file)));
  }
  assert.deepEqual(problems, []);
  // The check can fail.
  const readme = `${root}README.md`;
  assert.deepEqual(
    await linkProblems(readme, "[a](../design.md) [b](docs/nope.md) [c](docs/web.md)"),
    [
      "README.md: ../design.md points outside the repository",
      "README.md: docs/nope.md does not exist",
      // Written out as well as linked.
      "README.md: ../design.md points outside the repository",
    ],
  );
  const doc = `${root}docs/architecture.md`;
  assert.deepEqual(
    await linkProblems(
      doc,
      "## Where it differs from ../shared/DESIGN.md, and why\n(../README.md)",
    ),
    ["docs/architecture.md: ../shared/DESIGN.md does not exist"],
  );
});

Deno.test("firmware/README.md's pty demo serves on ports apart from ./run start's", async () => {
  const text = await Deno.readTextFile(`${root}firmware/README.md`);
  // Commands outside a network namespace share the machine's ports.
  const code = [...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
  const serves = [...code.matchAll(/^.*\bledctl serve\b.*$/gm)].map((m) => m[0])
    .filter((l) => !/ip netns exec/.test(l));
  assert.ok(serves.length >= 1, "no ledctl serve in firmware/README.md");
  for (const line of serves) {
    const port = /--port (\d+)/.exec(line)?.[1];
    const http = /--http (\S+)/.exec(line)?.[1];
    assert.ok(port && port !== "10000", `collides with ./run start's TCP port 10000: ${line}`);
    assert.ok(http && http !== "8080", `collides with ./run start's web port 8080: ${line}`);
  }
});
