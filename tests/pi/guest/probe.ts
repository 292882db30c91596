/**
 * Test-side probes of a GPIO line from outside the process under test:
 * its line info, and its level once it is free (requested as an input: on
 * the BCM2835 the level register keeps what was last driven).
 *
 * @module
 */
import { findChip, readLineInfo } from "../../../hal/gpio/chip.ts";
import { closeFd, ioctl, O_RDWR, openFd } from "../../../hal/gpio/libc.ts";
import {
  decodeLineValue,
  encodeInputRequest,
  encodeLineValues,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  type LineInfo,
  requestFd,
} from "../../../hal/gpio/uapi.ts";

/** Line info of `offset` on the Pi's pin controller. */
export function lineInfo(offset: number): LineInfo {
  const chip = findChip(undefined, "probe");
  const fd = openFd(chip.path, O_RDWR);
  try {
    return readLineInfo(fd, offset);
  } finally {
    closeFd(fd);
  }
}

/** Requests `offset` as an input, reads its level, releases it. Throws when busy. */
export function readFreeLine(offset: number): boolean {
  const chip = findChip(undefined, "probe");
  const fd = openFd(chip.path, O_RDWR);
  try {
    const req = encodeInputRequest(offset, "ledctl-probe");
    ioctl(fd, GPIO_V2_GET_LINE_IOCTL, req, "GPIO_V2_GET_LINE_IOCTL");
    const line = requestFd(req);
    try {
      const values = encodeLineValues(false);
      ioctl(line, GPIO_V2_LINE_GET_VALUES_IOCTL, values, "GPIO_V2_LINE_GET_VALUES_IOCTL");
      return decodeLineValue(values);
    } finally {
      closeFd(line);
    }
  } finally {
    closeFd(fd);
  }
}

/** What the sampler Worker is asked to do. */
export interface SampleRequest {
  /** The line's name in debugfs, e.g. `GPIO17`. */
  name: string;
  /** The line fd to read with GET_VALUES too (same process), if any. */
  fd?: number;
  /** How long to sample, ms. */
  forMs: number;
  /** Sleep between samples, ms. */
  everyMs: number;
  /** The expected time between level changes, ms: for {@linkcode EdgeStats.blindEdges}. */
  halfMs: number;
  /** debugfs file, for trying the sampler off a Pi. Default `/sys/kernel/debug/gpio`. */
  debugfsPath?: string;
}

/** The level changes one source showed. */
export interface SampleTrack {
  /** `debugfs` or `GET_VALUES`. */
  label: string;
  /** Times of the level changes seen, ms from the start of sampling. */
  changes: number[];
  /** The levels seen. */
  seen: boolean[];
}

/** The Worker's answer. */
export type WorkerReply =
  | { ok: true; gapsMs: number[]; tracks: SampleTrack[] }
  | { ok: false; error: string };

/** One source's sampling summed up. */
export interface EdgeStats {
  /** Level changes seen in the window. */
  edges: number;
  /** Median time between consecutive changes, ms (NaN with fewer than 2). */
  medianHalfMs: number;
  /** Shortest and longest time between consecutive changes, ms. */
  minHalfMs: number;
  maxHalfMs: number;
  /** Both levels seen. */
  bothLevels: boolean;
  /** Samples taken, and the longest gap between two, ms: the sampler's resolution. */
  samples: number;
  maxGapMs: number;
  /**
   * How many level changes the sampler could have missed, from its own
   * gaps: a gap of g ms holds at most ⌊g / half⌋ + 1 changes of a line
   * toggling every `half` ms, and shows only their parity, so an even
   * number of them is lost. Gaps shorter than a half-period lose none.
   */
  blindEdges: number;
}

/** {@linkcode EdgeStats.blindEdges} for sample gaps `gapsMs` and half-period `halfMs`. */
export function blindEdges(gapsMs: readonly number[], halfMs: number): number {
  let blind = 0;
  for (const g of gapsMs) {
    const most = Math.floor(g / halfMs) + 1;
    blind += most - (most % 2);
  }
  return blind;
}

/**
 * Samples line `name` (and its fd, if given) on a Worker: a thread with
 * its own event loop, independent of the blinker's timers in this one.
 * Resolves with one {@linkcode EdgeStats} per source, keyed by label.
 */
export function sampleInWorker(req: SampleRequest): Promise<Record<string, EdgeStats>> {
  const worker = new Worker(new URL("./sampler_worker.ts", import.meta.url), { type: "module" });
  return new Promise<Record<string, EdgeStats>>((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`the sampler did not answer within ${req.forMs + 30_000} ms`));
    }, req.forMs + 30_000);
    worker.onerror = (e) => {
      clearTimeout(timer);
      e.preventDefault();
      worker.terminate();
      reject(new Error(`sampler worker: ${e.message}`));
    };
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      clearTimeout(timer);
      worker.terminate();
      const r = e.data;
      if (!r.ok) return reject(new Error(`sampler worker: ${r.error}`));
      const out: Record<string, EdgeStats> = {};
      for (const t of r.tracks) {
        const halves = t.changes.slice(1).map((c, i) => c - t.changes[i]).sort((a, b) => a - b);
        const mid = halves.length >> 1;
        out[t.label] = {
          edges: t.changes.length,
          medianHalfMs: halves.length === 0
            ? NaN
            : halves.length % 2
            ? halves[mid]
            : (halves[mid - 1] + halves[mid]) / 2,
          minHalfMs: halves[0] ?? NaN,
          maxHalfMs: halves.at(-1) ?? NaN,
          bothLevels: t.seen.length === 2,
          samples: r.gapsMs.length + 1,
          maxGapMs: Math.max(0, ...r.gapsMs),
          blindEdges: blindEdges(r.gapsMs, req.halfMs),
        };
      }
      resolve(out);
    };
    worker.postMessage(req);
  });
}

/** `EdgeStats` on one line, for the log and assertion messages. */
export function describeStats(label: string, s: EdgeStats): string {
  const f = (n: number) => n.toFixed(1);
  return `${label}: ${s.edges} edges, half-period median ${f(s.medianHalfMs)} ms ` +
    `(min ${f(s.minHalfMs)}, max ${f(s.maxHalfMs)}), ${s.samples} samples, ` +
    `longest gap ${f(s.maxGapMs)} ms, up to ${s.blindEdges} edges hidden in gaps`;
}

/**
 * Edges the blinker may lose by design: it skips an edge its timer fired
 * too late for (a stalled event loop) instead of replaying it. Calibration
 * (the first run of these sampling tests, tests/suites/40-pi.sh: QEMU
 * raspi3b on a 2-CPU host at load average 5): in-process at 5 Hz, 16 of 20
 * edges seen over 2 s, with one 219 ms sample gap hiding 2, so at most 2
 * lost by the blinker; through `ledctl serve` at 3 Hz, 12 of 12 (longest
 * gap 38 ms). Allowed: twice the worst, per 2 s window.
 */
export const SKIP_ALLOWANCE = 4;
/**
 * Tolerance on the median time between edges, as a fraction of the
 * expected half-period. Calibration (same run): medians 101.3 ms and 97.5 ms
 * for 100 ms, 168.7 ms for 166.7 ms: within 2.5 %. Allowed: 15 %, which
 * still fails a blinker off by a fifth of its frequency or more.
 */
export const HALF_TOLERANCE = 0.15;

/**
 * Checks one source's {@linkcode EdgeStats} for a line blinking at `hz`
 * for `windowMs`: both levels; at most 2·hz·window + 2 edges (a steady
 * blinker puts EDGES or EDGES + 1 in any window, +1 for jitter at an end);
 * at least that minus the edges hidden in this run's sample gaps minus
 * {@linkcode SKIP_ALLOWANCE}; median half-period within
 * {@linkcode HALF_TOLERANCE}.
 */
export function assertBlinks(label: string, s: EdgeStats, hz: number, windowMs: number): void {
  const edges = Math.round(2 * hz * windowMs / 1000);
  const half = 500 / hz;
  const what = describeStats(label, s);
  console.log(`blink-measurement ${hz} Hz ${what}`);
  if (!s.bothLevels) throw new Error(`${what}: only one level seen`);
  const least = edges - s.blindEdges - SKIP_ALLOWANCE;
  if (s.edges > edges + 2 || s.edges < least) {
    throw new Error(`${what}: want ${least} to ${edges + 2} edges (${edges} at ${hz} Hz)`);
  }
  if (!(Math.abs(s.medianHalfMs - half) <= HALF_TOLERANCE * half)) {
    throw new Error(
      `${what}: want a median half-period of ${half.toFixed(1)} ms ± ${HALF_TOLERANCE * 100} %`,
    );
  }
}
