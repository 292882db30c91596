/**
 * Reading a request body with a size bound, as JSON or form fields.
 *
 * @module
 */

/** Largest request body accepted, in bytes. */
export const MAX_BODY = 4096;

/** A body that cannot be used; `status` is the HTTP status to answer with. */
export class BodyError extends Error {
  /** 400, 413 or 415. */
  readonly status: number;
  /** Makes an error answered with `status`. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "BodyError";
    this.status = status;
  }
}

/** The fields of a body: strings or numbers by name (anything else is kept as is). */
export type Fields = Record<string, unknown>;

/**
 * Reads at most `limit` bytes of `request`'s body; throws {@linkcode BodyError}
 * (413) as soon as it is longer, without reading the rest.
 *
 * @example
 * ```ts
 * import { readBody } from "./body.ts";
 * const bytes = await readBody(new Request("http://x/", { method: "POST", body: "on" }));
 * bytes.length; // 2
 * ```
 */
export async function readBody(request: Request, limit = MAX_BODY): Promise<Uint8Array> {
  const tooLarge = () =>
    new BodyError(413, `request body too large: at most ${limit} bytes are accepted`);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Reads a JSON object or an `application/x-www-form-urlencoded` body into
 * fields. Throws {@linkcode BodyError}: 413 too long, 415 another type,
 * 400 not parseable.
 *
 * @example
 * ```ts
 * import { readFields } from "./body.ts";
 * const req = new Request("http://x/", {
 *   method: "POST",
 *   headers: { "content-type": "application/x-www-form-urlencoded" },
 *   body: "command=blink&hz=2%2C5",
 * });
 * await readFields(req); // { command: "blink", hz: "2,5" }
 * ```
 */
export async function readFields(request: Request, limit = MAX_BODY): Promise<Fields> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const isJson = type === "application/json" || type.endsWith("+json");
  const isForm = type === "application/x-www-form-urlencoded";
  if (!isJson && !isForm) {
    throw new BodyError(
      415,
      `send JSON (Content-Type: application/json) or a form (application/x-www-form-urlencoded), not ${
        JSON.stringify(type || "no Content-Type")
      }`,
    );
  }
  const bytes = await readBody(request, limit);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BodyError(400, "request body is not valid UTF-8: send UTF-8 text");
  }
  if (isForm) return Object.fromEntries(new URLSearchParams(text));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BodyError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BodyError(400, 'send a JSON object, e.g. {"command":"blink","hz":"2,5"}');
  }
  return value as Fields;
}
