/**
 * Test helper shared by the GPIO backend's tests.
 *
 * @module
 */
import { equal, match } from "node:assert/strict";
import { HalError } from "../types.ts";

/**
 * A predicate for `assert.throws`/`rejects`: the error is a
 * {@linkcode HalError} of `kind` whose message matches `re`.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { halError } from "./testing.ts";
 * import { HalError } from "../types.ts";
 * throws(() => { throw new HalError("busy", "GPIO17 is used"); }, halError("busy", /used/));
 * ```
 */
export function halError(kind: string, re: RegExp): (e: unknown) => true {
  return (e: unknown) => {
    if (!(e instanceof HalError)) throw new Error(`not a HalError: ${e}`);
    equal(e.kind, kind);
    match(e.message, re);
    return true;
  };
}
