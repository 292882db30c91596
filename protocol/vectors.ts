/**
 * Reads `testdata/vectors.tsv`, the request → reply vectors shared with the
 * firmware (format in `testdata/README.md`).
 *
 * @module
 */

/** One vector: a request line's bytes and the exact reply expected. */
export interface Vector {
  /** `led`: the server and the firmware; `server`: the Deno server only. */
  readonly scope: "led" | "server";
  /** The request line's bytes, without its LF. */
  readonly request: Uint8Array;
  /** The exact reply line, without its LF. */
  readonly reply: string;
  /** 1-based line number in the file, for messages. */
  readonly lineNo: number;
}

/**
 * Decodes the escapes `\t`, `\r`, `\\`, `\xHH` into bytes.
 *
 * @example
 * ```ts
 * import { unescapeField } from "./vectors.ts";
 * unescapeField("a\\x00b"); // Uint8Array [97, 0, 98]
 * ```
 */
export function unescapeField(field: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c !== "\\") {
      const cp = field.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out.push(...enc.encode(ch));
      i += ch.length - 1;
      continue;
    }
    const n = field[++i];
    if (n === "t") out.push(9);
    else if (n === "r") out.push(13);
    else if (n === "\\") out.push(92);
    else if (n === "x" && /^[0-9a-fA-F]{2}$/.test(field.slice(i + 1, i + 3))) {
      out.push(parseInt(field.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new SyntaxError(`bad escape "\\${n ?? ""}" in vector field: ${field}`);
  }
  return new Uint8Array(out);
}

/**
 * Parses the vectors file's text.
 *
 * @example
 * ```ts
 * import { parseVectors } from "./vectors.ts";
 * parseVectors("led\ton\tOK on\n")[0].reply; // "OK on"
 * ```
 */
export function parseVectors(text: string): Vector[] {
  const vectors: Vector[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split("\t");
    if (fields.length !== 3 || (fields[0] !== "led" && fields[0] !== "server")) {
      throw new SyntaxError(`vectors line ${i + 1}: want "led|server TAB request TAB reply"`);
    }
    vectors.push({
      scope: fields[0],
      request: unescapeField(fields[1]),
      reply: new TextDecoder().decode(unescapeField(fields[2])),
      lineNo: i + 1,
    });
  });
  return vectors;
}

/** Loads the vectors that ship in `protocol/testdata/`. */
export async function loadVectors(): Promise<Vector[]> {
  return parseVectors(
    await Deno.readTextFile(new URL("./testdata/vectors.tsv", import.meta.url)),
  );
}
