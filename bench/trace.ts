/**
 * Blink timing from a mock LED trace (`time_ms,level` per edge, server's
 * monotonic clock): how far the edges are from where a drift-free schedule
 * puts them, how that changes over the run (drift), the spread of the half
 * periods, and the edges skipped.
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
   * does not, whatever the jitter of single edges — so drift alone cannot
   * show late timers: the columns below do.
   */
  driftMs: number;
  /** Schedule error of the last edge alone, ms (jitter included). */
  lastErrMs: number;
  /** Largest |edge − schedule| over the edges that happened, ms. */
  maxScheduleErrMs: number;
  /**
   * 99th percentile of |edge − schedule|, ms, over every scheduled edge: a
   * skipped edge counts as one half period late (the least it was). How
   * late the main thread's timers fire.
   */
  p99ScheduleErrMs: number;
  /** 99th percentile of |half period − 1/(2·hz)|, ms. */
  p99HalfErrMs: number;
  /** Scheduled edges that never happened (the blinker skips edges it is too late for). */
  skipped: number;
  /**
   * Share of the scheduled edges (0…1) more than `lateMs` from their
   * schedule, skipped ones included: how often the main thread's timers
   * miss, which a p99 capped at a half period (100 Hz: 5 ms) cannot say.
   */
  offShare: number;
  /** The threshold of {@linkcode offShare}, ms. */
  lateMs: number;
}

/**
 * Analyses the edges from the first rising edge at or after `fromMs` for
 * `windowMs`. Edge k is expected at `t0 + k / (2·hz)`; the line is high for
 * even k. An edge more than `lateMs` off its schedule (or skipped) counts
 * in {@linkcode BlinkStats.offShare}.
 *
 * Each recorded edge is given the k the blinker gave it: the blinker sets
 * the latest edge already due when its timer fires late (skipping the ones
 * before it) and the next one when it fires early, and the trace records
 * only changes of level (a skip of one edge leaves the level as it was). So
 * edge i is the latest k of its level's parity whose time has come (allowing
 * for timers that fire a little early), and at least one past edge i−1. An
 * edge up to a half period late is measured as late (not as an early edge of
 * the next k), and a skip is counted only when edges are missing.
 */
export function blinkStats(
  edges: Edge[],
  hz: number,
  fromMs: number,
  windowMs: number,
  lateMs = 3,
): BlinkStats {
  const start = edges.findIndex((e) => e.t >= fromMs && e.level === 1);
  if (start < 0) throw new Error(`no rising edge after ${fromMs} ms in the trace`);
  const t0 = edges[start].t;
  const win = edges.slice(start).filter((e) => e.t <= t0 + windowMs);
  const half = 1000 / (2 * hz);
  const halfErrs: number[] = [];
  const schedErrs: number[] = [];
  let maxErr = 0;
  let skipped = 0;
  let off = 0;
  let last = 0;
  let prevK = 0;
  const early: number[] = [];
  const late: number[] = [];
  const end = win.length ? win[win.length - 1].t : t0;
  for (let i = 0; i < win.length; i++) {
    let k = 0;
    if (i > 0) {
      // The latest edge whose time has come, give or take half a half period:
      // timers fire up to ~1 ms early, and an edge is never a half period late
      // (the blinker would have set a later one), so this cannot pick k + 2.
      const due = Math.floor((win[i].t - t0 + half / 2) / half);
      const parity = win[i].level === 1 ? 0 : 1;
      const latest = due - (((due - parity) % 2) + 2) % 2; // latest k ≤ due of that parity
      k = Math.max(prevK + 1, latest);
      if ((k - parity) % 2 !== 0) k++; // keeps the level's parity (prevK + 1 has it)
      skipped += k - prevK - 1;
      for (let j = prevK + 1; j < k; j++) schedErrs.push(half);
    }
    prevK = k;
    const err = win[i].t - (t0 + k * half);
    maxErr = Math.max(maxErr, Math.abs(err));
    schedErrs.push(Math.abs(err));
    if (Math.abs(err) > lateMs) off++;
    last = err;
    if (win[i].t <= t0 + 1000) early.push(err);
    if (win[i].t >= end - 1000) late.push(err);
    if (i > 0) {
      const d = win[i].t - win[i - 1].t;
      halfErrs.push(Math.abs(d - half));
    }
  }
  const p99 = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length ? v[Math.min(v.length - 1, Math.floor(0.99 * v.length))] : 0;
  };
  return {
    hz,
    edges: win.length,
    spanS: (win[win.length - 1].t - t0) / 1000,
    driftMs: median(late) - median(early),
    lastErrMs: last,
    maxScheduleErrMs: maxErr,
    p99ScheduleErrMs: p99(schedErrs),
    p99HalfErrMs: p99(halfErrs),
    skipped,
    offShare: (off + skipped) / Math.max(1, win.length + skipped),
    lateMs,
  };
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
