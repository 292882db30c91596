/**
 * What the main thread and the epoll engine's worker tell each other, and
 * the shared memory between them.
 *
 * Main → worker: `postMessage`, then {@linkcode POSTED} is incremented,
 * then the eventfd is written. A worker blocked in `epoll_wait` runs no
 * `onmessage`; the eventfd wakes it, and it yields to its event loop until
 * it has handled as many messages as {@linkcode POSTED} says were sent.
 *
 * Worker → main: `postMessage` (the main thread's loop is never blocked).
 * The two reads the worker must have synchronously (the driver's note on
 * a board link, the wrong-token limiter's verdict) are queries answered
 * through the shared memory: the worker waits on {@linkcode ANSWERED}
 * with `Atomics.wait`, bounded by {@linkcode QUERY_TIMEOUT_MS}.
 *
 * @module
 */
import type { LogLevel } from "../../core/log.ts";
import type { LedState } from "../../core/state.ts";

/** Int32 slot: messages the main thread has posted to the worker. */
export const POSTED = 0;
/** Int32 slot: the sequence number of the last query answered. */
export const ANSWERED = 1;
/** Int32 slot: a query's numeric answer (retry-after seconds). */
export const RESULT = 2;
/** Int32 slot: the note's length in bytes, -1 for none. */
export const NOTE_LENGTH = 3;
/** Byte offset of the note's UTF-8 text. */
export const NOTE_OFFSET = 64;
/** The shared buffer's size; a note is cut to what fits after {@linkcode NOTE_OFFSET}. */
export const SHARED_BYTES = 1024;
/** How long a query may block the worker, in ms (then: no note, not locked out). */
export const QUERY_TIMEOUT_MS = 250;

/** The engine's settings, fixed at start. */
export interface WorkerSettings {
  /** An IP literal (the main thread resolved any name). */
  host: string;
  port: number;
  idleTimeoutMs: number;
  frameTimeoutMs: number;
  maxClients: number;
  maxWatchers: number;
  verbose: boolean;
  token?: string;
  /** The driver may have a note that changes without an event: ask for it. */
  liveNote: boolean;
}

/** The LED as the worker sees it. */
export interface LedCopy {
  state: LedState;
  description: string;
  note: string | undefined;
  clients: number;
}

/** Main → worker. */
export type ToWorker =
  | {
    t: "init";
    settings: WorkerSettings;
    led: LedCopy;
    shared: SharedArrayBuffer;
    wakeFd: number;
  }
  | { t: "state"; state: LedState; by: string; note: string | undefined; clients: number }
  | { t: "reply"; id: number; ok: true; note: string | undefined }
  | { t: "reply"; id: number; ok: false; kind?: string; message: string }
  /** Send the counts now, then `synced` (before `/metrics` reads them). */
  | { t: "sync"; id: number }
  | { t: "close" };

/** Worker → main. */
export type FromWorker =
  | { t: "listening"; address: string; port: number }
  | { t: "failed"; call: string; errno: number; message: string }
  | { t: "log"; line: string; level?: LogLevel }
  | { t: "logFdUse"; before: string; after: string }
  /** The client count's change, and the `/metrics` counts since the last (`core/tally.ts`). */
  | { t: "count"; delta: number; tallies?: [string, number][] }
  | { t: "synced"; id: number }
  | { t: "request"; id: number; state: LedState; by: string }
  | { t: "authFail"; address: string }
  | { t: "query"; seq: number; op: "note" }
  | { t: "query"; seq: number; op: "retryAfter"; address: string }
  | { t: "closed" };
