/**
 * Full ids of containers already found to belong to this installation. A container's
 * labels never change and ids are never reused, so a call that needs nothing else of a
 * container (start, attach, archive reads and writes) may skip the inspect that checks
 * ownership; an id that went answers "not found" from the call itself. Only full ids are
 * kept: names are reused. Bounded: past `max`, the oldest is forgotten (and looked up
 * again if it comes back).
 */
export class OwnedIds {
  readonly #ids = new Set<string>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > this.#max) {
      // A Set keeps insertion order: the first is the oldest.
      const [oldest] = this.#ids;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }

  delete(id: string): void {
    this.#ids.delete(id);
  }
}
