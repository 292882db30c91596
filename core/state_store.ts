/**
 * The LED's last requested state, kept in a file across restarts: after a
 * crash, `kill -9`, a reboot or a power cut, `ledctl serve --restore last`
 * (the default) brings the LED back as it was last asked to be.
 *
 * Each change is written atomically: a temporary file beside the target,
 * fsync, rename over the target, fsync of the directory. A reader (the next
 * start) sees the old file or the new one, never a torn one. Writes are
 * coalesced: at most one is under way and one waits, holding the newest
 * state, so a client sending thousands of commands a second costs a few
 * writes, not thousands.
 *
 * @module
 */
import { dirname } from "node:path";
import { formatState, type LedState } from "./state.ts";
import { MAX_HZ, MIN_HZ } from "../protocol/command.ts";

/** What the file holds (version 1). */
interface StateFileV1 {
  version: 1;
  state: LedState;
  /** Who asked for it, for the log. */
  by: string;
  /** When, ISO 8601. */
  time: string;
}

/** What {@linkcode loadState} found. */
export type LoadResult =
  | { readonly ok: true; readonly state: LedState; readonly by: string; readonly time: string }
  | { readonly ok: false; readonly missing: boolean; readonly why: string };

/**
 * Reads the saved state. A missing file is `{ok: false, missing: true}`; a
 * file that cannot be read or does not hold a valid state is `{ok: false,
 * missing: false, why}` — never an exception, so a bad file cannot keep the
 * server from starting.
 *
 * @example
 * ```ts
 * import { loadState } from "./state_store.ts";
 * const saved = await loadState("/var/lib/ledctl/state.json");
 * if (saved.ok) console.log(saved.state);
 * ```
 */
export async function loadState(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { ok: false, missing: true, why: "no file" };
    return { ok: false, missing: false, why: (e as Error).message };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, missing: false, why: "not valid JSON" };
  }
  const d = doc as Partial<StateFileV1>;
  const state = checkState(d?.state);
  if (d?.version !== 1 || !state) {
    return { ok: false, missing: false, why: "not a ledctl state file (version 1)" };
  }
  return {
    ok: true,
    state,
    by: typeof d.by === "string" ? d.by : "?",
    time: typeof d.time === "string" ? d.time : "?",
  };
}

/** A valid LedState from untrusted JSON, or undefined. */
function checkState(s: unknown): LedState | undefined {
  const v = s as { mode?: unknown; hz?: unknown } | undefined;
  if (v?.mode === "off" || v?.mode === "on") return { mode: v.mode };
  if (
    v?.mode === "blink" && typeof v.hz === "number" && v.hz >= MIN_HZ && v.hz <= MAX_HZ
  ) {
    return { mode: "blink", hz: v.hz };
  }
  return undefined;
}

/** Options of {@linkcode StateStore}. */
export interface StateStoreOptions {
  /** Where write failures are reported (once per kind of failure). Default: `console.error`. */
  warn?: (line: string) => void;
}

/**
 * Saves states to one file, atomically and coalesced (see the module doc).
 *
 * @example
 * ```ts
 * import { StateStore } from "./state_store.ts";
 * const store = new StateStore("/tmp/state.json");
 * store.save({ mode: "blink", hz: 2 }, "client #1");
 * await store.flush();
 * ```
 */
export class StateStore {
  readonly path: string;
  readonly #warn: (line: string) => void;
  #pending: StateFileV1 | undefined;
  #writing: Promise<void> | undefined;
  #lastError = "";
  #dirReady = false;

  /** Makes a store for `path`; nothing is written until {@linkcode save}. */
  constructor(path: string, options: StateStoreOptions = {}) {
    this.path = path;
    this.#warn = options.warn ?? ((l) => console.error(l));
  }

  /** Records `state`, asked for by `by`; the write happens in the background. */
  save(state: LedState, by: string): void {
    this.#pending = { version: 1, state, by, time: new Date().toISOString() };
    if (!this.#writing) this.#writing = this.#drain();
  }

  /** Resolves once every state saved so far is on disk (or its write failed). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending) {
        const doc = this.#pending;
        this.#pending = undefined;
        try {
          await this.#write(doc);
          if (this.#lastError) this.#warn(`state file ${this.path}: written again`);
          this.#lastError = "";
        } catch (e) {
          const why = (e as Error).message;
          if (why !== this.#lastError) {
            this.#warn(
              `cannot save the LED state to ${this.path} (${why}): ` +
                `after a restart the LED will not come back as ${formatState(doc.state)}; ` +
                "check the directory's permissions or pick another --state-file",
            );
          }
          this.#lastError = why;
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(doc: StateFileV1): Promise<void> {
    const dir = dirname(this.path);
    if (!this.#dirReady) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      this.#dirReady = true;
    }
    const tmp = `${this.path}.tmp-${Deno.pid}`;
    const data = new TextEncoder().encode(JSON.stringify(doc) + "\n");
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      let off = 0;
      while (off < data.length) off += await f.write(data.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, this.path);
    // The rename is durable once the directory is synced too.
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  }
}
