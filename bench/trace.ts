/**
 * Blink timing from a mock LED trace (`time_ms,level` per edge, server's
 * monotonic clock): how far the last edge is from where a drift-free
 * schedule puts it, and the spread of the half periods.
 *
 * @module
 */

/** One edge of the trace. */
export interface Edge {
  t: number;
  level: 0 | 1;
}

/** Parses a trace file's text; skips lines that are not `number,0|1`. */
export function parseTrace(text: string): Edge[] {
  const edges: Edge[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*([0-9.]+),([01])\s*$/.exec(line);
    if (m) edges.push({ t: Number(m[1]), level: m[2] === "1" ? 1 : 0 });
  }
  return edges;
}

/** Timing of a blink run. */
export interface BlinkStats {
  hz: number;
  /** Edges analysed (the window after the first rising edge). */
  edges: number;
  /** Seconds between the first and the last analysed edge. */
  spanS: number;
  /**
   * Drift: median schedule error of the edges in the last second minus that
   * of the edges in the first second, ms. The error of an edge is its time
   * minus `t0 + k·half` (t0 = the first rising edge). A schedule that adds up
   * sleeps drifts by the sum of its timer delays; one kept on `t0 + k·half`
   * does not, whatever the jitter of single edges.
   */
  driftMs: number;
  /** Schedule error of the last edge alone, ms (jitter included). */
  lastErrMs: number;
  /** Largest |edge − schedule| over the window, ms. */
  maxScheduleErrMs: number;
  /** 99th percentile of |half period − 1/(2·hz)|, ms. */
  p99HalfErrMs: number;
  /** Scheduled edges that never happened (the blinker skips edges it is too late for). */
  skipped: number;
}

/**
 * Analyses the edges from the first rising edge at or after `fromMs` for
 * `windowMs`. Edge k is expected at `t0 + k / (2·hz)`.
 */
export function blinkStats(
  edges: Edge[],
  hz: number,
  fromMs: number,
  windowMs: number,
): BlinkStats {
  const start = edges.findIndex((e) => e.t >= fromMs && e.level === 1);
  if (start < 0) throw new Error(`no rising edge after ${fromMs} ms in the trace`);
  const t0 = edges[start].t;
  const win = edges.slice(start).filter((e) => e.t <= t0 + windowMs);
  const half = 1000 / (2 * hz);
  const halfErrs: number[] = [];
  let maxErr = 0;
  let skipped = 0;
  let last = 0;
  let prevK = 0;
  const early: number[] = [];
  const late: number[] = [];
  const end = win.length ? win[win.length - 1].t : t0;
  for (let i = 0; i < win.length; i++) {
    const k = Math.round((win[i].t - t0) / half);
    if (i > 0) skipped += Math.max(0, k - prevK - 1);
    prevK = k;
    const err = win[i].t - (t0 + k * half);
    maxErr = Math.max(maxErr, Math.abs(err));
    last = err;
    if (win[i].t <= t0 + 1000) early.push(err);
    if (win[i].t >= end - 1000) late.push(err);
    if (i > 0) {
      const d = win[i].t - win[i - 1].t;
      halfErrs.push(Math.abs(d - half));
    }
  }
  halfErrs.sort((a, b) => a - b);
  const p99 = halfErrs.length
    ? halfErrs[Math.min(halfErrs.length - 1, Math.floor(0.99 * halfErrs.length))]
    : 0;
  return {
    hz,
    edges: win.length,
    spanS: (win[win.length - 1].t - t0) / 1000,
    driftMs: median(late) - median(early),
    lastErrMs: last,
    maxScheduleErrMs: maxErr,
    p99HalfErrMs: p99,
    skipped,
  };
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
