/**
 * Open descriptors and their generations: the epoll engine's guard
 * against descriptor reuse. The kernel hands out the lowest free number,
 * so a descriptor closed while handling one batch of events is often the
 * very number the next `accept4` returns. An event still in the batch, or
 * a reply coming back from the main thread, names the number; only the
 * generation (bumped at each close, carried in epoll's 64-bit data) tells
 * the old connection from the new one.
 *
 * @module
 */

/**
 * Items by descriptor, each with the generation it was added under.
 *
 * @example
 * ```ts
 * import { FdTable } from "./fd_table.ts";
 * const t = new FdTable<string>();
 * const gen = t.add(7, "first");
 * t.remove(7);
 * const again = t.add(7, "second"); // the same number, reused
 * t.get(7, gen);   // undefined: a stale event for the first
 * t.get(7, again); // "second"
 * ```
 */
export class FdTable<T> {
  #items: (T | undefined)[] = [];
  #gens = new Uint32Array(64);
  #size = 0;

  /** Items held. */
  get size(): number {
    return this.#size;
  }

  /**
   * Holds `item` under `fd`; returns its generation (never 0, so 0 can
   * mark descriptors outside the table). Throws if `fd` is held: a
   * descriptor the kernel just returned cannot be open twice.
   */
  add(fd: number, item: T): number {
    if (!(Number.isInteger(fd) && fd >= 0)) throw new RangeError(`not a descriptor: ${fd}`);
    if (this.#items[fd] !== undefined) throw new Error(`descriptor ${fd} is already held`);
    if (fd >= this.#gens.length) {
      let n = this.#gens.length;
      while (n <= fd) n *= 2;
      const gens = new Uint32Array(n);
      gens.set(this.#gens);
      this.#gens = gens;
    }
    if (this.#gens[fd] === 0) this.#gens[fd] = 1;
    this.#items[fd] = item;
    this.#size++;
    return this.#gens[fd];
  }

  /** The item under `fd` if it is still the one of generation `gen`. */
  get(fd: number, gen: number): T | undefined {
    return this.#gens[fd] === gen ? this.#items[fd] : undefined;
  }

  /** Drops the item under `fd` and bumps its generation. Idempotent. */
  remove(fd: number): void {
    if (this.#items[fd] === undefined) return;
    this.#items[fd] = undefined;
    this.#size--;
    // Wraps after 2^32 - 1 reuses, skipping 0.
    this.#gens[fd] = (this.#gens[fd] + 1) >>> 0 || 1;
  }

  /** Every item held (a snapshot: removing while iterating is safe). */
  values(): T[] {
    return this.#items.filter((x): x is T => x !== undefined);
  }
}
