/**
 * Parsing one request line of wire protocol v1 into a command, following the
 * grammar in `testdata/README.md` (shared with the firmware's C parser).
 *
 * @module
 */
import type { ErrorCode } from "./reply.ts";

/** Lowest blink frequency accepted, in Hz. */
export const MIN_HZ = 0.05;
/** Highest blink frequency accepted, in Hz. */
export const MAX_HZ = 500;
/**
 * Significant digits of a frequency that are used: longer numbers are
 * accepted (their range is checked on the exact value) and rounded half-up
 * to this many digits, all of which a double holds faithfully.
 */
export const HZ_DIGITS = 15;

/** A well-formed request. */
export type Command =
  | { readonly verb: "blink"; readonly hz: number }
  | { readonly verb: "on" }
  | { readonly verb: "off" }
  | { readonly verb: "status" }
  | { readonly verb: "hello"; readonly text: string }
  | { readonly verb: "help" }
  | { readonly verb: "quit" }
  | { readonly verb: "auth"; readonly token: string }
  | { readonly verb: "watch" };

/** A request that could not be parsed, with the reply's code and text. */
export type Rejection = { readonly verb: "error"; readonly code: ErrorCode; readonly text: string };

const VERBS: Record<string, Command["verb"]> = {
  blink: "blink",
  clignote: "blink",
  on: "on",
  allume: "on",
  off: "off",
  eteindre: "off",
  "éteindre": "off",
  eteins: "off",
  eteind: "off",
  status: "status",
  etat: "status",
  "état": "status",
  hello: "hello",
  help: "help",
  quit: "quit",
  bye: "quit",
  auth: "auth",
  watch: "watch",
};

// ignoreBOM: keep a BOM in the text, so that parseCommand decides where one may stand.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
// C0 controls except TAB, DEL, and C1 controls.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
const NUMBER = /^(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$/;
/** The unit a frequency may carry, in any case: `Hz`, `hz`, `HZ`, `hZ`. */
const UNIT = /^hz$/i;
const WITH_UNIT = /^(.+)hz$/i;
/** U+FEFF, the byte order mark (EF BB BF in UTF-8) some Windows tools send first. */
const BOM = "\uFEFF";

/**
 * Cuts `word` to its first 32 UTF-8 bytes (at a character boundary) and
 * appends `...` when it was longer, for echoing it in a reply.
 *
 * @example
 * ```ts
 * import { echo } from "./command.ts";
 * echo("a".repeat(40)); // "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."
 * ```
 */
export function echo(word: string): string {
  const bytes = encoder.encode(word);
  if (bytes.length <= 32) return word;
  let end = 32;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end)) + "...";
}

/**
 * Compares the decimal `int.frac` (digit strings, either may be empty) with
 * `bound`, written `[int, frac]` without leading zeros in its `int` or
 * trailing zeros in its `frac`, exactly: -1, 0 or 1.
 */
function compareDecimal(int: string, frac: string, bound: readonly [string, string]): number {
  const i = int.replace(/^0+/, "");
  const f = frac.replace(/0+$/, "");
  const [bi, bf] = bound;
  if (i.length !== bi.length) return i.length < bi.length ? -1 : 1;
  if (i !== bi) return i < bi ? -1 : 1;
  // Without trailing zeros, string order is numeric order for fractions.
  return f === bf ? 0 : f < bf ? -1 : 1;
}

/** Options for {@linkcode parseHz}. */
export interface ParseHzOptions {
  /** Accept the unit `Hz` (any case) right after the digits, as in `2.5Hz`. Default true. */
  unit?: boolean;
}

/**
 * Parses a frequency as the protocol writes it: digits with `.` or `,` as
 * the decimal separator, any number of them, optionally followed by `Hz`
 * in any case (`2.5Hz`). The range check is on the exact decimal value
 * (`500.00000000000001` is out of range); the number returned is the
 * nearest double to the value rounded half-up to {@linkcode HZ_DIGITS}
 * significant digits. Returns the number, or a {@linkcode Rejection}.
 *
 * @example
 * ```ts
 * import { parseHz } from "./command.ts";
 * parseHz("2,5"); // 2.5
 * parseHz("2.5Hz"); // 2.5
 * parseHz("500.00000000000001"); // { verb: "error", code: "bad-argument", … }
 * ```
 */
export function parseHz(word: string, options: ParseHzOptions = {}): number | Rejection {
  const number = (options.unit ?? true) ? (WITH_UNIT.exec(word)?.[1] ?? word) : word;
  if (!NUMBER.test(number)) {
    return reject(
      "bad-argument",
      `"${echo(word)}" is not a frequency: write digits, e.g. 2.5 or 2,5`,
    );
  }
  const [int, frac = ""] = number.split(/[.,]/);
  if (
    compareDecimal(int, frac, ["", "05"]) < 0 || compareDecimal(int, frac, ["500", ""]) > 0
  ) {
    return reject(
      "bad-argument",
      `${echo(number)} Hz is out of range: use ${MIN_HZ} to ${MAX_HZ} Hz`,
    );
  }
  const digits = int + frac;
  const cut = digits.search(/[1-9]/) + HZ_DIGITS; // in range: there is a nonzero digit
  if (!/[1-9]/.test(digits.slice(cut))) return Number(number.replace(",", "."));
  const rounded = BigInt(digits.slice(0, cut)) + (digits[cut] >= "5" ? 1n : 0n);
  return Number(`${rounded}e${int.length - cut}`);
}

function reject(code: ErrorCode, text: string): Rejection {
  return { verb: "error", code, text };
}

/** True when `bytes` is short, plain ASCII (then it is valid UTF-8 as it is). */
function isAscii(bytes: Uint8Array): boolean {
  if (bytes.length > 256) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

/** Folds a verb's case the way the firmware can too: ASCII letters and É. */
function foldVerb(word: string): string {
  let v = word.replace(/[A-Z]/g, (c) => c.toLowerCase()).replaceAll("É", "é");
  const stripped = v.replace(/[,.;:!?]+$/, "");
  if (stripped !== "") v = stripped;
  return v;
}

/**
 * Parses one request line (bytes without the LF; one trailing CR allowed).
 * A byte order mark (U+FEFF) at the very start of the line is ignored; one
 * anywhere else is refused with a `bad-encoding` error.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command.ts";
 * parseCommand(new TextEncoder().encode("clignote 2,5")); // { verb: "blink", hz: 2.5 }
 * parseCommand("dance"); // { verb: "error", code: "unknown-command", … }
 * ```
 */
export function parseCommand(line: Uint8Array | string): Command | Rejection {
  let text: string;
  if (typeof line === "string") {
    text = line;
  } else if (isAscii(line)) {
    // Nearly every request: skip the decoder (a runtime call) for short ASCII lines.
    text = String.fromCharCode.apply(null, line as unknown as number[]);
  } else {
    try {
      text = utf8.decode(line);
    } catch {
      return reject("bad-encoding", "line is not valid UTF-8: send UTF-8 text");
    }
  }
  if (text.endsWith("\r")) text = text.slice(0, -1);
  if (text.startsWith(BOM)) text = text.slice(1);
  if (CONTROL.test(text)) {
    return reject("bad-encoding", "line contains control characters: send plain text");
  }
  if (text.includes(BOM)) {
    return reject(
      "bad-encoding",
      "line has a byte order mark (U+FEFF) after its start: remove it",
    );
  }
  const words = text.split(/[ \t]+/).filter((w) => w !== "");
  if (words.length === 0) return reject("unknown-command", "empty line (try: help)");
  const verbWord = Object.hasOwn(VERBS, words[0]) ? words[0] : foldVerb(words[0]);
  const verb = Object.hasOwn(VERBS, verbWord) ? VERBS[verbWord] : undefined;
  const args = words.slice(1);
  switch (verb) {
    case undefined:
      return reject("unknown-command", `"${echo(verbWord)}" (try: help)`);
    case "blink": {
      if (args.length === 0) {
        return reject("bad-argument", 'blink needs a frequency in Hz, e.g. "blink 2.5"');
      }
      // The unit as its own word (`blink 2.5 Hz`, the reply's own words); then not twice.
      const unitWord = args.length === 2 && UNIT.test(args[1]);
      if (args.length > 1 && !unitWord) {
        return reject("bad-argument", `blink takes one frequency, got ${args.length} arguments`);
      }
      const hz = parseHz(args[0], { unit: !unitWord });
      return typeof hz === "number" ? { verb, hz } : hz;
    }
    case "hello":
      return { verb, text: args.join(" ") };
    case "auth":
      if (args.length !== 1) {
        return reject("bad-argument", 'auth takes one token, e.g. "auth s3cret"');
      }
      return { verb, token: args[0] };
    default:
      if (args.length > 0) return reject("bad-argument", `${verb} takes no argument`);
      return { verb };
  }
}

/**
 * The name a `hello` gives its sender: the words after the last `from`, else
 * all its words, else `fallback`. `Hello, server! from Client 1` → `Client 1`.
 *
 * @example
 * ```ts
 * import { helloName } from "./command.ts";
 * helloName("server! from Client 1", "client #3"); // "Client 1"
 * ```
 */
export function helloName(text: string, fallback: string): string {
  const m = /^(?:.*\s)?from\s+(.+)$/i.exec(text);
  const name = (m ? m[1] : text).trim();
  return name === "" ? fallback : echo(name);
}
