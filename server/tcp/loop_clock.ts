/**
 * The clock of an event loop that owns its thread: timers kept in a heap
 * and run by the loop itself, whose nearest deadline is the loop's wait
 * timeout (`epoll_wait`). The epoll engine's worker blocks in `epoll_wait`
 * and runs no runtime timer meanwhile, so every timer there (the
 * sessions' idle and frame timeouts, lingering closes) goes through one
 * {@linkcode LoopClock}.
 *
 * @module
 */
import type { Clock, TimerId } from "../../hal/clock.ts";

interface Timer {
  due: number;
  seq: number;
  id: number;
  fn: (() => void) | undefined;
}

/**
 * Timers run by their loop: {@linkcode LoopClock.timeoutMs} says how long
 * the loop may wait, {@linkcode LoopClock.runDue} runs what fell due.
 * Cancelled timers are dropped lazily (compacted when they are the
 * majority), so arming and clearing a timer per request costs O(log n).
 *
 * @example
 * ```ts
 * import { LoopClock } from "./loop_clock.ts";
 * const clock = new LoopClock();
 * clock.setTimeout(() => console.log("due"), 50);
 * // the loop: epoll_wait(…, clock.timeoutMs()); then clock.runDue();
 * clock.timeoutMs(); // 50 (ms, rounded up), or -1 with no timer
 * ```
 */
export class LoopClock implements Clock {
  readonly #now: () => number;
  #heap: Timer[] = [];
  readonly #live = new Map<number, Timer>();
  #nextId = 1;
  #seq = 0;

  /** `now` is the time source in ms (default `performance.now`), injectable for tests. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Milliseconds on the monotonic clock. */
  now(): number {
    return this.#now();
  }

  /** Calls `fn` once, `ms` from now (negative counts as 0), from {@linkcode LoopClock.runDue}. */
  setTimeout(fn: () => void, ms: number): number {
    const t: Timer = {
      due: this.#now() + Math.max(0, ms),
      seq: this.#seq++,
      id: this.#nextId++,
      fn,
    };
    this.#live.set(t.id, t);
    this.#push(t);
    return t.id;
  }

  /** Cancels a pending timer; unknown handles are ignored. */
  clearTimeout(id: TimerId): void {
    const t = this.#live.get(id as number);
    if (!t) return;
    this.#live.delete(t.id);
    t.fn = undefined;
    if (this.#heap.length > 64 && this.#live.size * 2 < this.#heap.length) this.#compact();
  }

  /** Timers pending (not run, not cleared). */
  get pending(): number {
    return this.#live.size;
  }

  /**
   * How long the loop may wait for events, in whole ms: 0 when a timer is
   * due, -1 (forever) when none is pending. Rounded up, so a wait that
   * ends on time finds its timer due instead of spinning on a 0 ms wait.
   */
  timeoutMs(): number {
    this.#dropCancelled();
    const head = this.#heap[0];
    if (!head) return -1;
    const left = head.due - this.#now();
    if (left <= 0) return 0;
    // epoll_wait takes an int: cap far below 2^31 ms.
    return Math.min(Math.ceil(left), 0x3fffffff);
  }

  /**
   * Runs every timer due now, in due order (ties in arming order). Timers
   * armed meanwhile run at a later call even when already due, so a
   * timer that re-arms itself cannot keep the loop here. Returns how many ran.
   */
  runDue(): number {
    const now = this.#now();
    const seqLimit = this.#seq;
    let ran = 0;
    for (;;) {
      this.#dropCancelled();
      const head = this.#heap[0];
      if (!head || head.due > now || head.seq >= seqLimit) break;
      this.#pop();
      this.#live.delete(head.id);
      const fn = head.fn!;
      head.fn = undefined;
      ran++;
      fn();
    }
    return ran;
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0].fn === undefined) this.#pop();
  }

  #compact(): void {
    this.#heap = this.#heap.filter((t) => t.fn !== undefined);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  static #before(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(t: Timer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!LoopClock.#before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.#down(0);
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && LoopClock.#before(h[l], h[m])) m = l;
      if (r < h.length && LoopClock.#before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
