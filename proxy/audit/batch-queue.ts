/** What every batch of audit writes carries: how many writes it holds and the promise its writers wait on. */
export interface QueuedBatch {
  size: number;
  readonly done: Promise<void>;
}

export interface BatchQueueOptions<B extends QueuedBatch> {
  /** A batch is sealed at this many writes ... */
  readonly maxBatch: number;
  /** ... or this long after its first (0: on the next turn of the event loop, which strict durability uses). */
  readonly maxDelayMs: number;
  readonly newBatch: () => B;
  /** Called as a batch is sealed, before it waits its turn (e.g. to number it). */
  readonly onSeal?: (batch: B) => void;
  /** Writes one sealed batch; must not reject (a store reports its own failures) and must settle the batch. */
  readonly write: (batch: B) => Promise<void>;
}

/**
 * Groups a store's writes into batches and writes the sealed ones in order, one at a time: the
 * part the SQLite and PostgreSQL writers share. A batch stays first in `waiting` until its write
 * returns, so what an outage holds back is counted there.
 */
export class BatchQueue<B extends QueuedBatch> {
  #open: B | undefined;
  readonly #sealed: B[] = [];
  #draining = false;
  #cancelTimer: (() => void) | undefined;
  #lastDone: Promise<void> = Promise.resolve();

  constructor(private readonly options: BatchQueueOptions<B>) {}

  /** Sealed batches not written yet, oldest first. */
  get waiting(): readonly B[] {
    return this.#sealed;
  }

  /** Adds one write to the open batch (`put` files it there); resolves once that batch is written. */
  add(put: (batch: B) => void): Promise<void> {
    let batch = this.#open;
    if (!batch) {
      batch = this.#open = this.options.newBatch();
      this.#lastDone = batch.done;
    }
    put(batch);
    batch.size++;
    if (batch.size >= this.options.maxBatch) this.seal();
    else if (!this.#cancelTimer) this.#cancelTimer = this.#startTimer();
    return batch.done;
  }

  /** Seals what is open; resolves when everything queued so far is written (or given up). */
  flush(): Promise<void> {
    this.seal();
    return this.#lastDone;
  }

  seal(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#open) {
      this.options.onSeal?.(this.#open);
      this.#sealed.push(this.#open);
      this.#open = undefined;
    }
    if (!this.#draining && this.#sealed.length > 0) {
      this.#draining = true;
      void this.#drain();
    }
  }

  #startTimer(): () => void {
    if (this.options.maxDelayMs > 0) {
      const timeout = setTimeout(() => this.seal(), this.options.maxDelayMs);
      return () => clearTimeout(timeout);
    }
    const immediate = setImmediate(() => this.seal());
    return () => clearImmediate(immediate);
  }

  /**
   * Writes the sealed batches in order. `draining` is cleared in the same synchronous step that
   * finds the queue empty: a caller resuming from a batch's promise may seal the next batch
   * before any later microtask runs, and must then start a new drain.
   */
  async #drain(): Promise<void> {
    try {
      for (let batch = this.#sealed[0]; batch; batch = this.#sealed[0]) {
        await this.options.write(batch);
        this.#sealed.shift();
      }
    } finally {
      this.#draining = false;
    }
  }
}
