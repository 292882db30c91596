/**
 * Differential test: the firmware's C parser (firmware/app/protocol.c, run
 * as `firmware/build/proto_cli`) and the Deno parser (protocol/command.ts)
 * must give the same reply to the same `led`-subset request, on thousands of
 * generated lines (seeded, so a failure is reproducible): verbs and aliases
 * in any case, punctuation, numbers of every shape, whitespace, CR, invalid
 * UTF-8 and control characters.
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
import { formatState } from "../hal/types.ts";

const root = new URL("..", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

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

/** Mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
  const number = (): string => {
    switch (Math.floor(rnd() * 12)) {
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
      default:
        return String(Math.floor(rnd() * 600));
    }
  };
  const space = () => pick([" ", "  ", "\t", " \t "]);
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
    if (rnd() < 0.5) return enc.encode(`${pick(["blink", "clignote", "BLINK"])} ${number()}`);
    let verb = pick(VERBS);
    if (rnd() < 0.3) verb = verb.toUpperCase();
    if (rnd() < 0.2) verb = verb[0].toUpperCase() + verb.slice(1);
    if (rnd() < 0.15) verb += pick(PUNCT).repeat(1 + Math.floor(rnd() * 2));
    const words = [verb];
    const nargs = rnd() < 0.7 ? 1 : Math.floor(rnd() * 4);
    for (let i = 0; i < nargs; i++) {
      words.push(rnd() < 0.85 ? number() : pick(["now", "Ada", "2 3"]));
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
    return bytes;
  };
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

Deno.test("firmware parser: same replies as the Deno parser on 30000 generated lines", async () => {
  const build = await new Deno.Command("make", {
    args: ["-s", "-C", `${root}firmware`, "build/proto_cli"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(build.success, dec.decode(build.stderr));

  const next = generator(20261122);
  const lines: Uint8Array[] = [];
  const seen = new Set<string>();
  while (lines.length < 30000) {
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
    mismatches.push(`${JSON.stringify(dec.decode(line))}: C "${cReplies[i]}" vs Deno "${want}"`);
  });
  const kinds = new Map<string, number>();
  for (const r of cReplies.slice(0, lines.length)) {
    const k = r.split(" ").slice(0, 2).join(" ");
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  const tieShaped = lines.filter(isRoundingTie).length;
  console.log(
    `${lines.length} lines; ${ties} of ${tieShaped} rounding ties differ; replies: ${
      JSON.stringify(Object.fromEntries(kinds))
    }`,
  );
  assert.deepStrictEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches`);
});
