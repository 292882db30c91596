/**
 * `ledctl completions bash|zsh|fish`: prints a shell completion script for
 * the subcommands and each subcommand's options.
 *
 * Nothing here lists an option: the subcommands come from the commands
 * `main.ts` dispatches to (described by the `Commands:` lines of its help),
 * and each one's options from the `--option` lines of the help it prints
 * for `--help`. A new option, or a new subcommand, appears in the scripts
 * without a change here.
 *
 * @module
 */
import { UsageError } from "./args.ts";

/** The shells a script is made for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** A shell a script is made for. */
export type Shell = (typeof SHELLS)[number];

/** Help text of `ledctl completions`. */
export const COMPLETIONS_HELP = `Usage: ledctl completions <bash|zsh|fish>

Prints a completion script for the shell: the subcommands, and each
subcommand's options (as its --help lists them).

Options:
  -h, --help      this help

Install:
  bash   ledctl completions bash | sudo tee /etc/bash_completion.d/ledctl
         (or, for this shell only: source <(ledctl completions bash))
  zsh    ledctl completions zsh > "\${fpath[1]}/_ledctl"   (then start a new shell)
  fish   ledctl completions fish > ~/.config/fish/completions/ledctl.fish
`;

/** One option as a help text lists it. */
export interface HelpOption {
  /** The long name with its dashes, e.g. `--port`. */
  name: string;
  /** True when a value follows it (the help shows one: `--port N`). */
  takesValue: boolean;
  /** What it does: the help's text on the same line. */
  description: string;
}

/** A subcommand and its options. */
export interface CompletionCommand {
  /** The subcommand's name, e.g. `serve`. */
  name: string;
  /** What it does, one line. */
  description: string;
  /** Its options. */
  options: HelpOption[];
  /** Words it takes after it, e.g. `help`'s subcommands. Default none. */
  words?: string[];
}

/** What the scripts complete: the subcommands, and the options taken before one. */
export interface CompletionSpec {
  /** The subcommands. */
  commands: CompletionCommand[];
  /** The options of `ledctl` itself (`--help`, `--version`). */
  options: HelpOption[];
}

/** What a subcommand is to {@linkcode completions}: it prints its help for `--help`. */
export type CommandRun = (args: string[]) => Promise<number>;

/**
 * The options a help text lists: each line of its `Options:` block (any
 * line indented by 1 to 6 spaces) that starts with `--name` or
 * `-x, --name`, then maybe a value, then two spaces and a description.
 *
 * @example
 * ```ts
 * import { optionsFromHelp } from "./completions.ts";
 * optionsFromHelp("Options:\n  --port N        server port\n  -h, --help      this help\n");
 * // [{ name: "--port", takesValue: true, description: "server port" },
 * //  { name: "--help", takesValue: false, description: "this help" }]
 * ```
 */
export function optionsFromHelp(help: string): HelpOption[] {
  const seen = new Set<string>();
  const out: HelpOption[] = [];
  const re =
    /^ {1,6}(?:-[A-Za-z0-9], )?(--[A-Za-z0-9][A-Za-z0-9-]*)((?: ?[^ ]+)?)(?: {2,}(.*))?$/gm;
  for (const m of help.matchAll(re)) {
    if (seen.has(m[1])) continue;
    seen.add(m[1]);
    out.push({ name: m[1], takesValue: m[2].trim() !== "", description: (m[3] ?? "").trim() });
  }
  return out;
}

/**
 * The `name  description` lines of a help text's `Commands:` block.
 *
 * @example
 * ```ts
 * import { commandsFromHelp } from "./completions.ts";
 * commandsFromHelp("Commands:\n  serve      start the server\n\nMore.").get("serve");
 * // "start the server"
 * ```
 */
export function commandsFromHelp(help: string): Map<string, string> {
  const block = /^Commands:\n((?: .*\n?)*)/m.exec(help)?.[1] ?? "";
  const out = new Map<string, string>();
  for (const m of block.matchAll(/^ {1,6}([a-z][a-z0-9-]*) {2,}(.*)$/gm)) out.set(m[1], m[2]);
  return out;
}

/**
 * What `run(["--help"])` prints with `console.log`, caught instead of
 * printed (the subcommands print their help that way).
 */
async function helpOf(run: CommandRun): Promise<string> {
  const log = console.log;
  let text = "";
  console.log = (...data: unknown[]) => {
    text += data.map(String).join(" ") + "\n";
  };
  try {
    await run(["--help"]);
  } finally {
    console.log = log;
  }
  return text;
}

/**
 * The subcommands of `commands` (with `help`, and their options read from
 * each one's `--help`), described by the `Commands:` lines of `mainHelp`,
 * and the options `mainHelp` lists.
 *
 * @example
 * ```ts
 * import { completionSpec } from "./completions.ts";
 * const spec = await completionSpec("Commands:\n  hi   say hi\n", {
 *   hi: () => (console.log("Options:\n  --loud   shout\n"), Promise.resolve(0)),
 * });
 * console.log(spec.commands[0].options[0].name); // "--loud"
 * ```
 */
export async function completionSpec(
  mainHelp: string,
  commands: Record<string, CommandRun>,
): Promise<CompletionSpec> {
  const described = commandsFromHelp(mainHelp);
  const out: CompletionCommand[] = [];
  for (const [name, run] of Object.entries(commands)) {
    const options = optionsFromHelp(await helpOf(run));
    const words = name === "completions" ? [...SHELLS] : undefined;
    out.push({ name, description: described.get(name) ?? "", options, words });
  }
  if (!commands.help) {
    out.push({
      name: "help",
      description: described.get("help") ?? "help on a command",
      options: [],
      words: Object.keys(commands),
    });
  }
  return { commands: out, options: optionsFromHelp(mainHelp) };
}

/** `s` in single quotes for a POSIX shell (bash, zsh). */
function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `s` as a bash/zsh case pattern or word list: only names are ever given here. */
function words(list: string[]): string {
  return list.join(" ");
}

/**
 * The bash completion script for `spec` (function `_ledctl`, registered
 * with `complete -F`).
 *
 * @example
 * ```ts
 * import { bashScript } from "./completions.ts";
 * console.log(bashScript({ commands: [{ name: "serve", description: "", options: [] }], options: [] }));
 * ```
 */
export function bashScript({ commands, options }: CompletionSpec): string {
  const cases = commands.map((c) => {
    const opts = c.options.map((o) => o.name);
    const valued = c.options.filter((o) => o.takesValue).map((o) => o.name);
    return `    ${c.name})\n      opts=${shq(words(opts))}\n      valued=${
      shq(words(valued))
    }\n      args=${shq(words(c.words ?? []))}\n      ;;`;
  }).join("\n");
  return `# bash completion for ledctl (ledctl completions bash)
_ledctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local prev=\${COMP_WORDS[COMP_CWORD-1]}
  local opts="" valued="" args=""
  if [ "$COMP_CWORD" -le 1 ]; then
    COMPREPLY=($(compgen -W ${shq(words(commands.map((c) => c.name)))} -- "$cur"))
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W ${shq(words(options.map((o) => o.name)))} -- "$cur"))
    fi
    return 0
  fi
  case \${COMP_WORDS[1]} in
${cases}
    *) return 0 ;;
  esac
  if [[ " $valued " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ -n "$args" ]; then
    COMPREPLY=($(compgen -W "$args" -- "$cur"))
  fi
  return 0
}
complete -F _ledctl ledctl
`;
}

/** `s` safe inside a zsh `_describe`/`_arguments` spec: `:`, `[`, `]` and `\\` escaped. */
function zshSpec(s: string): string {
  return s.replace(/[\\:[\]]/g, (c) => `\\${c}`);
}

/**
 * The zsh completion script for `spec`: a `#compdef` function file, which
 * also registers itself when sourced.
 *
 * @example
 * ```ts
 * import { zshScript } from "./completions.ts";
 * console.log(zshScript({ commands: [{ name: "serve", description: "the server", options: [] }], options: [] }));
 * ```
 */
export function zshScript({ commands, options }: CompletionSpec): string {
  const list = commands.map((c) => `    ${shq(`${c.name}:${zshSpec(c.description)}`)}`).join(
    "\n",
  );
  const cases = commands.map((c) => {
    const specs = c.options.map((o) =>
      shq(
        `${o.name}[${zshSpec(o.description)}]` +
          (o.takesValue ? `:${zshSpec(o.name.slice(2))}:_files` : ""),
      )
    );
    if (c.words?.length) specs.push(shq(`1:argument:(${words(c.words)})`));
    else specs.push(shq("*:argument:_files"));
    return `    ${c.name})\n      _arguments -s ${specs.join(" ")}\n      ;;`;
  }).join("\n");
  return `#compdef ledctl
# zsh completion for ledctl (ledctl completions zsh)
_ledctl() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    if [[ $words[2] == -* ]]; then
      compadd -- ${words(options.map((o) => o.name))}
    else
      _describe -t commands 'ledctl command' commands
    fi
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _ledctl "$@"
else
  compdef _ledctl ledctl
fi
`;
}

/** `s` in single quotes for fish (only `\\` and `'` are special there). */
function fishq(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * The fish completion script for `spec`.
 *
 * @example
 * ```ts
 * import { fishScript } from "./completions.ts";
 * console.log(fishScript({ commands: [{ name: "serve", description: "the server", options: [] }], options: [] }));
 * ```
 */
export function fishScript({ commands, options }: CompletionSpec): string {
  const lines = [
    "# fish completion for ledctl (ledctl completions fish)",
    "complete -c ledctl -f",
    ...options.map((o) =>
      `complete -c ledctl -n '__fish_use_subcommand' -l ${o.name.slice(2)} -d ${
        fishq(o.description)
      }`
    ),
  ];
  for (const c of commands) {
    lines.push(
      `complete -c ledctl -n '__fish_use_subcommand' -a ${c.name} -d ${fishq(c.description)}`,
    );
    const when = `'__fish_seen_subcommand_from ${c.name}'`;
    for (const o of c.options) {
      lines.push(
        `complete -c ledctl -n ${when} -l ${o.name.slice(2)}${o.takesValue ? " -r -F" : ""} -d ${
          fishq(o.description)
        }`,
      );
    }
    if (c.words?.length) {
      lines.push(`complete -c ledctl -n ${when} -a ${fishq(words(c.words))}`);
    }
  }
  lines.push("");
  return lines.join("\n");
}

/** Options for {@linkcode completions}. */
export interface CompletionsOptions {
  /** `ledctl --help`: its `Commands:` lines describe the subcommands. */
  mainHelp: string;
  /** The subcommands, each printing its help for `--help`. */
  commands: Record<string, CommandRun>;
}

/**
 * Runs `ledctl completions <shell>`: prints the script; returns the exit
 * code. Throws {@linkcode UsageError} for a missing or unknown shell.
 *
 * @example
 * ```ts
 * import { completions } from "./completions.ts";
 * await completions(["bash"], { mainHelp: "", commands: {} });
 * ```
 */
export async function completions(args: string[], options: CompletionsOptions): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(COMPLETIONS_HELP);
    return 0;
  }
  const [shell, ...rest] = args;
  if (shell === undefined || rest.length > 0) {
    throw new UsageError(`name one shell: ${SHELLS.join(", ")}`);
  }
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`no completion for "${shell}": use one of ${SHELLS.join(", ")}`);
  }
  const spec = await completionSpec(options.mainHelp, options.commands);
  const script = { bash: bashScript, zsh: zshScript, fish: fishScript }[shell as Shell](spec);
  console.log(script.trimEnd());
  return 0;
}
