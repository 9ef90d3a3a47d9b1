/**
 * The newest `capacity` items, oldest first, in a fixed array: adding is O(1) whatever the
 * size. (The access log kept an array and cut it with splice on every request, which cost
 * the daemon about 7 µs per request at the default 2,048 entries: most of its share of the
 * router's CPU in bench/router.) Pure.
 */
export class RecentRing<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  /** Index of the oldest item once the ring is full. */
  #start = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, not ${String(capacity)}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(item);
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.#capacity;
  }

  /** The newest `limit` items (all by default), oldest first. */
  last(limit: number = this.#capacity): T[] {
    const n = Math.max(0, Math.min(limit, this.#items.length));
    const out = new Array<T>(n);
    const first = this.#items.length - n; // position (in age order) of the first item returned
    for (let i = 0; i < n; i++)
      out[i] = this.#items[(this.#start + first + i) % this.#items.length] as T;
    return out;
  }
}
