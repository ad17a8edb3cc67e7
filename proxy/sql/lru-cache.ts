/**
 * A bounded map that forgets the least recently used entries: at most `capacity` entries and,
 * when `maxWeight` is given, at most that total weight (the classifier weighs entries by text
 * length, so ten thousand bulk INSERTs of 100 kB each cannot pin a gigabyte). An entry heavier
 * than a sixteenth of `maxWeight` is not kept at all. A Map iterates in insertion order, so
 * re-inserting on every hit keeps the oldest entry first.
 */
export class LruCache<K, V> {
  readonly #entries = new Map<K, { readonly value: V; readonly weight: number }>();
  #weight = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxWeight = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`An LRU cache needs a capacity of at least 1, got ${capacity}.`);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V, weight = 1): void {
    this.delete(key);
    if (weight > this.maxWeight / 16) return;
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    while (this.#entries.size > this.capacity || this.#weight > this.maxWeight) {
      this.delete(this.#entries.keys().next().value!);
    }
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }
}
