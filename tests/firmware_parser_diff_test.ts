/**
 * Differential test: the firmware's C parser (firmware/app/protocol.c, run
 * as `firmware/build/proto_cli`) and the Deno parser (protocol/command.ts)
 * must give the same reply to the same `led`-subset request, on thousands of
 * generated lines (seeded, so a failure is reproducible): verbs and aliases
 * in any case, punctuation, numbers of every shape, the unit `Hz` after
 * them (any case, its own word or stuck to the digits, and near misses),
 * whitespace, CR, invalid UTF-8 and control characters, byte order marks
 * (first, in the middle, alone, twice).
 *
 * Numbers include long ones (17 and more significant digits, runs of zeros
 * or nines) at and around the range edges 0.05 and 500, with `.` and `,`:
 * both parsers check the range on the exact decimal value and round past 15
 * significant digits before printing 6.
 *
 * Rounding ties at the 7th significant digit ("0.1234565", "99.99995") get
 * a share of the lines: the firmware rounds them the way the nearest double
 * lies, as Deno's toPrecision does, without floating point.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseCommand } from "../protocol/command.ts";
import { err, ok } from "../protocol/reply.ts";
import { formatState } from "../core/state.ts";
import { prng } from "./harness.ts";

const root = new URL("..", import.meta.url).pathname;
const enc = new TextEncoder();
// ignoreBOM: keep byte order marks, which some generated lines hold.
const dec = new TextDecoder("utf-8", { ignoreBOM: true });

/** A line for a message: JSON, with the invisible U+FEFF spelled out. */
function show(line: Uint8Array): string {
  return JSON.stringify(dec.decode(line)).replaceAll("\uFEFF", "\\uFEFF");
}

/** The Deno server's reply to `line` from a fresh LED (off), LED subset only. */
function denoReply(line: Uint8Array): string | undefined {
  const cmd = parseCommand(line);
  switch (cmd.verb) {
    case "error":
      return err(cmd.code, cmd.text);
    case "blink":
      return ok(formatState({ mode: "blink", hz: cmd.hz }));
    case "on":
    case "off":
      return ok(cmd.verb);
    case "status":
      return ok("off");
    case "quit":
      return ok("bye");
    default:
      return undefined; // hello, help, auth: server-only (the board answers differently)
  }
}

const VERBS = [
  "blink",
  "clignote",
  "on",
  "allume",
  "off",
  "eteindre",
  "éteindre",
  "ÉTEINDRE",
  "eteins",
  "eteind",
  "status",
  "etat",
  "état",
  "ÉTAT",
  "quit",
  "bye",
  "dance",
  "hello",
  "help",
  "99",
  "!!!",
  "x".repeat(40),
  "é".repeat(20),
];
const PUNCT = [",", ".", ";", ":", "!", "?"];

function generator(seed: number) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const digits = (n: number) =>
    Array.from({ length: n }, () => String(Math.floor(rnd() * 10))).join("");
  const run = (c: string, min: number) => c.repeat(min + Math.floor(rnd() * 25));
  const sep = () => pick([".", ","]);
  const number = (): string => {
    switch (Math.floor(rnd() * 15)) {
      case 0:
        return digits(1 + Math.floor(rnd() * 3));
      case 1:
        return `${digits(1 + Math.floor(rnd() * 3))}${pick([".", ","])}${
          digits(Math.floor(rnd() * 8))
        }`;
      case 2:
        return `${pick([".", ","])}${digits(1 + Math.floor(rnd() * 9))}`;
      case 3:
        return `0.0${digits(1 + Math.floor(rnd() * 12))}`;
      case 4:
        return `${"0".repeat(Math.floor(rnd() * 5))}${digits(1 + Math.floor(rnd() * 4))}`;
      case 5:
        return digits(5 + Math.floor(rnd() * 40));
      case 6:
        return pick([
          "499.9999",
          "500",
          "500.0",
          "500.0001",
          "0.05",
          "0.0499999",
          "0,05",
          "0.05000001",
        ]);
      case 7:
        return `${digits(1 + Math.floor(rnd() * 3))}.${digits(10 + Math.floor(rnd() * 30))}`;
      case 8:
        return pick([
          "-1",
          "+2",
          "1e3",
          "0x10",
          "NaN",
          "inf",
          "2.5.1",
          "1,5,5",
          ",",
          ".",
          "3Hz",
          "٣",
        ]);
      case 9:
        return `${digits(1 + Math.floor(rnd() * 2))}${pick(["", ".", ","])}${
          digits(Math.floor(rnd() * 3))
        }${pick(["", "x", "é", " ", "\t"])}`;
      case 10:
        return rnd() < 0.5
          ? `${digits(3)}.${digits(3)}${pick(["5", "50", "500", "49", "51"])}`
          : `${pick(["9", "99", "0.9", "0.09", "1", "4", "0.0"])}${rnd() < 0.5 ? "." : ""}${
            "9".repeat(1 + Math.floor(rnd() * 6))
          }${pick(["5", "50", "4", "6"])}`;
      case 11: // at and around the range edges, 17+ significant digits
        switch (Math.floor(rnd() * 7)) {
          case 0:
            return `500${sep()}${run("0", 14)}${
              pick(["", "1", digits(1 + Math.floor(rnd() * 5))])
            }`;
          case 1:
            return `499${sep()}${run("9", 14)}${digits(Math.floor(rnd() * 4))}`;
          case 2: // 500 or 499.999 after rounding to 6 digits
            return `499${sep()}999${pick(["4", "5"])}${run(pick(["0", "9"]), 10)}${
              digits(Math.floor(rnd() * 3))
            }`;
          case 3:
            return `${pick(["0", "", "000"])}${sep()}05${run("0", 14)}${
              pick(["", "1", digits(1 + Math.floor(rnd() * 5))])
            }`;
          case 4:
            return `${pick(["0", ""])}${sep()}04${run("9", 15)}${digits(Math.floor(rnd() * 4))}`;
          case 5: // 0.05 or 0.0500001 after rounding to 6 digits
            return `0${sep()}0500000${pick(["4", "5"])}${run(pick(["0", "9"]), 8)}${
              digits(Math.floor(rnd() * 3))
            }`;
          default:
            return pick(["500", "0", "0.05", "499", "0,04", "0.0"]) + run(pick(["0", "9"]), 10) +
              digits(Math.floor(rnd() * 3));
        }
      case 12: // 17+ significant digits, some of them rounding at the 15th into a 7th-digit tie
        switch (Math.floor(rnd() * 3)) {
          case 0:
            return `${1 + Math.floor(rnd() * 9)}${digits(Math.floor(rnd() * 3))}${sep()}${
              digits(14 + Math.floor(rnd() * 20))
            }`;
          case 1:
            return `${1 + Math.floor(rnd() * 9)}${digits(Math.floor(rnd() * 3))}${sep()}${
              digits(5 - Math.floor(rnd() * 3))
            }${pick(["4", "5"])}${run(pick(["0", "9"]), 8)}${pick(["", "1", "4", "5", "9"])}`;
          default:
            return `${pick(["0", ""])}${sep()}${pick(["0", "00", "1", "3"])}${digits(5)}${
              pick(["4", "5"])
            }${run(pick(["0", "9"]), 8)}${digits(Math.floor(rnd() * 4))}`;
        }
      case 13: // long runs of zeros before and after
        return `${run("0", 10)}${digits(1 + Math.floor(rnd() * 3))}${
          pick(["", sep(), `${sep()}${run("0", 10)}${pick(["", "1", digits(2)])}`])
        }`;
      default:
        return String(Math.floor(rnd() * 600));
    }
  };
  const space = () => pick([" ", "  ", "\t", " \t "]);
  /** Mostly nothing; else the unit `Hz` (any case, its own word or not) or a near miss. */
  const unit = () =>
    rnd() < 0.8 ? "" : pick([
      "Hz",
      "hz",
      "HZ",
      "hZ",
      " Hz",
      " hz",
      "\tHZ",
      "  Hz",
      "HzHz",
      " Hz Hz",
      "kHz",
      " kHz",
      "H",
      " Hertz",
      "Hz.",
      " Hz,",
    ]);
  const noise = (): Uint8Array =>
    new Uint8Array(
      Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
        pick([
          0x00,
          0x07,
          0x0b,
          0x1b,
          0x7f,
          0x80,
          0xc2,
          0x85,
          0xc3,
          0x28,
          0xed,
          0xa0,
          0xff,
          0xe2,
          0x82,
          0xac,
        ])),
    );
  return (): Uint8Array => {
    if (rnd() < 0.5) {
      return enc.encode(`${pick(["blink", "clignote", "BLINK"])} ${number()}${unit()}`);
    }
    let verb = pick(VERBS);
    if (rnd() < 0.3) verb = verb.toUpperCase();
    if (rnd() < 0.2) verb = verb[0].toUpperCase() + verb.slice(1);
    if (rnd() < 0.15) verb += pick(PUNCT).repeat(1 + Math.floor(rnd() * 2));
    const words = [verb];
    const nargs = rnd() < 0.7 ? 1 : Math.floor(rnd() * 4);
    for (let i = 0; i < nargs; i++) {
      words.push(rnd() < 0.85 ? number() + unit() : pick(["now", "Ada", "2 3", "Hz", "hz"]));
    }
    let text = (rnd() < 0.2 ? space() : "") + words.join(space()) + (rnd() < 0.2 ? space() : "");
    if (rnd() < 0.1) text += "\r";
    let bytes = enc.encode(text);
    if (rnd() < 0.1) {
      const n = noise();
      const at = Math.floor(rnd() * (bytes.length + 1));
      const out = new Uint8Array(bytes.length + n.length);
      out.set(bytes.subarray(0, at));
      out.set(n, at);
      out.set(bytes.subarray(at), at + n.length);
      bytes = out;
    }
    if (rnd() < 0.02) bytes = new Uint8Array(0);
    if (rnd() < 0.12) bytes = withBom(bytes, Math.floor(rnd() * 6), rnd());
    return bytes;
  };
}

const BOM = [0xef, 0xbb, 0xbf];

/** A byte order mark put into `line`: `how` picks where, `at` (0–1) where in the middle. */
function withBom(line: Uint8Array, how: number, at: number): Uint8Array<ArrayBuffer> {
  switch (how) {
    case 0:
    case 1: // first: ignored
      return new Uint8Array([...BOM, ...line]);
    case 2: { // in the middle (sometimes inside a character)
      const i = Math.floor(at * (line.length + 1));
      return new Uint8Array([...line.subarray(0, i), ...BOM, ...line.subarray(i)]);
    }
    case 3: { // alone, or with blanks only: an empty line
      const blanks = ["", "\r", " ", "\t", "  ", " \t\r", "\t\t", " \r"];
      return new Uint8Array([...BOM, ...enc.encode(blanks[Math.floor(at * blanks.length)])]);
    }
    case 4: // twice
      return new Uint8Array([...BOM, ...BOM, ...line]);
    default: // last, before any CR
      return line.at(-1) === 13
        ? new Uint8Array([...line.subarray(0, -1), ...BOM, 13])
        : new Uint8Array([...line, ...BOM]);
  }
}

/** True when `line` holds a byte order mark. */
function hasBom(line: Uint8Array): boolean {
  for (let i = 0; i + 3 <= line.length; i++) {
    if (line[i] === 0xef && line[i + 1] === 0xbb && line[i + 2] === 0xbf) return true;
  }
  return false;
}

/** True for a frequency word with 17 or more significant digits. */
function isLongNumber(line: Uint8Array): boolean {
  const m = /[ \t]0*[.,]?0*([0-9]*[.,]?[0-9]*)[ \t\r]*$/.exec(dec.decode(line));
  return m !== null && m[1].replace(/[.,]/, "").replace(/0+$/, "").length >= 17;
}

/** True for a frequency word whose digits after the 6th significant one are 5, 0, 0, … */
function isRoundingTie(line: Uint8Array): boolean {
  const words = dec.decode(line).replace(/\r$/, "").split(/[ \t]+/).filter((w) => w !== "");
  const hz = words[1];
  if (
    words.length !== 2 || hz === undefined || !/^(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$/.test(hz)
  ) return false;
  const sig = hz.replace(/[.,]/, "").replace(/^0+/, "");
  return sig.length > 6 && /^50*$/.test(sig.slice(6));
}

const LINES = 40000;

Deno.test(`firmware parser: same replies as the Deno parser on ${LINES} generated lines`, async () => {
  const build = await new Deno.Command("make", {
    args: ["-s", "-C", `${root}firmware`, "build/proto_cli"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(build.success, dec.decode(build.stderr));

  const next = generator(20261122);
  const lines: Uint8Array[] = [];
  const seen = new Set<string>();
  while (lines.length < LINES) {
    const line = next();
    const key = Array.from(line, (b) => b.toString(16).padStart(2, "0")).join("");
    if (seen.has(key) || denoReply(line) === undefined) continue;
    seen.add(key);
    lines.push(line);
  }
  const input = [...seen].join("\n") + "\n";
  const out = await new Deno.Command(`${root}firmware/build/proto_cli`, {
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Write and read at once: the replies would fill the pipe and block the writer.
  const writing = (async () => {
    const writer = out.stdin.getWriter();
    await writer.write(enc.encode(input));
    await writer.close();
  })();
  const [result] = await Promise.all([out.output(), writing]);
  assert.ok(result.success, dec.decode(result.stderr));
  const cReplies = dec.decode(result.stdout).split("\n");
  const mismatches: string[] = [];
  let ties = 0;
  lines.forEach((line, i) => {
    const want = denoReply(line)!;
    if (cReplies[i] === want) return;
    if (isRoundingTie(line)) ties++;
    mismatches.push(`${show(line)}: C "${cReplies[i]}" vs Deno "${want}"`);
  });
  const kinds = new Map<string, number>();
  for (const r of cReplies.slice(0, lines.length)) {
    const k = r.split(" ").slice(0, 2).join(" ");
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  const tieShaped = lines.filter(isRoundingTie).length;
  const cByLine = new Map(lines.map((l, i) => [l, cReplies[i]]));
  const shapes = {
    bomFirst: lines.filter((l) => l[0] === 0xef && l[1] === 0xbb && l[2] === 0xbf).length,
    bomElsewhere: lines.filter((l) => hasBom(l.subarray(1))).length,
    bomAlone: lines.filter((l) => /^\uFEFF[ \t]*\r?$/.test(dec.decode(l))).length,
    long: lines.filter(isLongNumber).length,
    edge: lines.filter((l) => /[ \t]0*(?:500|499|[.,]0[45])[.,0-9]{15}/.test(dec.decode(l))).length,
    unitOk: lines.filter((l) => /^OK blink/.test(cByLine.get(l) ?? "") && /hz/i.test(dec.decode(l)))
      .length,
    unitWord: lines.filter((l) => /[0-9][ \t]+hz[ \t\r]*$/i.test(dec.decode(l))).length,
  };
  console.log(
    `${lines.length} lines; ${ties} of ${tieShaped} rounding ties differ; shapes: ${
      JSON.stringify(shapes)
    }; replies: ${JSON.stringify(Object.fromEntries(kinds))}`,
  );
  // The generator must keep producing the inputs the parsers once disagreed on.
  for (const [shape, n] of Object.entries(shapes)) {
    assert.ok(n >= (shape === "bomAlone" ? 6 : 50), `only ${n} ${shape} lines`);
  }
  assert.deepStrictEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches`);
});
