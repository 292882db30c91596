/**
 * Minimal assertions for the guest tests (no JSR here).
 *
 * @module
 */

/** Throws when `cond` is falsy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x) ?? String(v);
}

/** Deep equality through JSON (plain data and bigints). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  const a = show(actual);
  const e = show(expected);
  if (a !== e) throw new Error(`${msg ? msg + ": " : ""}expected ${e}, got ${a}`);
}

/** Throws unless `s` matches `re`. */
export function assertMatch(s: string, re: RegExp, msg?: string): void {
  if (!re.test(s)) {
    throw new Error(`${msg ? msg + ": " : ""}${JSON.stringify(s)} does not match ${re}`);
  }
}
